"""The authorization matrix: every endpoint × every role × own / other region / other enterprise ×
draft / published run. Out-of-scope requests get 403 or 404 and never data."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mujun.auth import Actor, Role, create_user
from mujun.evaluation import evaluate
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.testing import FakeClock, login, post

from .conftest import ROOT

PASSWORD = "Matrix-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 1,000-firm province with a province draft, a published run and a county draft, and
    one or two accounts per role."""
    base = tmp_path_factory.mktemp("authz")
    db = base / "authz.duckdb"
    draft = build_demo_store(db, base / "data", enterprises=1000)
    clock = FakeClock()
    settings = WebSettings(db=db, **FAST_HASH)
    with open_store(db) as store:
        rules = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
        published = evaluate(store, 2023, rules=rules).run_id
        store.execute("UPDATE runs SET status = 'published' WHERE run_id = ?", [published])
        k1, c1 = busiest_county(store)
        county_draft = evaluate(store, 2023, rules=rules, region=k1).run_id
        k2 = store.scalar(
            "SELECT county_code FROM results WHERE run_id = ? AND city_code = ? "
            "AND county_code <> ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            [published, c1, k1],
        )
        k3, c2 = store.rows(
            "SELECT county_code, city_code FROM results WHERE run_id = ? AND city_code <> ? "
            "AND city_code <> '' GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1",
            [published, c1],
        )[0]

        def firm_in(county: str) -> str:
            return store.scalar(
                "SELECT min(uscc) FROM results WHERE run_id = ? AND county_code = ?",
                [published, county],
            )

        e1, e2, e3 = firm_in(k1), firm_in(k2), firm_in(k3)
        tax_file = store.scalar("SELECT min(file_id) FROM files WHERE source = 'tax'")
        env_file = store.scalar("SELECT min(file_id) FROM files WHERE source = 'env'")
        accounts = {
            "prov": (Role.PROVINCE_ADMIN, {}),
            "city": (Role.CITY_ANALYST, {"scope": c1}),
            "county": (Role.COUNTY_ANALYST, {"scope": k1}),
            "county2": (Role.COUNTY_ANALYST, {"scope": k2}),
            "ent": (Role.ENTERPRISE, {"uscc": e1}),
            "ent2": (Role.ENTERPRISE, {"uscc": e2}),
            "uploader": (Role.DEPARTMENT_UPLOADER, {"department": "tax"}),
            "sysadmin": (Role.SYSTEM_ADMIN, {}),
            "secadmin": (Role.SECURITY_ADMIN, {}),
            "auditor": (Role.AUDIT_ADMIN, {}),
        }
        for name, (role, attrs) in accounts.items():
            create_user(
                store,
                username=name,
                role=role,
                now=clock(),
                actor=Actor("test", "cli"),
                settings=settings,
                password=PASSWORD,
                must_change_password=False,
                **attrs,
            )
    app = create_app(settings, clock=clock)
    clients = {}
    for name in accounts:
        client = TestClient(app)
        assert login(client, name, PASSWORD).status_code == 200
        clients[name] = client
    yield {
        "app": app,
        "clients": clients,
        "runs": {"draft": draft, "published": published, "county_draft": county_draft},
        "regions": {"k1": k1, "k2": k2, "c1": c1, "c2": c2},
        "firms": {"e1": e1, "e2": e2, "e3": e3},
        "files": {"tax": tax_file, "env": env_file},
        "scopes": {name: attrs for name, (_, attrs) in accounts.items()},
    }
    app.state.db.close()


# Requests as templates over the world's runs, regions, firms and files.
REQUESTS = {
    "runs": "/api/v1/runs",
    "run-draft": "/api/v1/runs/{draft}",
    "run-published": "/api/v1/runs/{published}",
    "run-county-draft": "/api/v1/runs/{county_draft}",
    "results-published": "/api/v1/runs/{published}/results?page_size=500",
    "results-draft": "/api/v1/runs/{draft}/results",
    "results-county-draft": "/api/v1/runs/{county_draft}/results?page_size=500",
    "results-own-county": "/api/v1/runs/{published}/results?region={k1}&page_size=500",
    "results-other-city": "/api/v1/runs/{published}/results?region={c2}&page_size=500",
    "firm-e1": "/api/v1/runs/{published}/results/{e1}",
    "firm-e2": "/api/v1/runs/{published}/results/{e2}",
    "firm-e3": "/api/v1/runs/{published}/results/{e3}",
    "firm-e1-draft": "/api/v1/runs/{draft}/results/{e1}",
    "divisions": "/api/v1/divisions",
    "users": "/api/v1/users",
    "audit": "/api/v1/audit",
    "audit-verify": "/api/v1/audit/verify",
    "files": "/api/v1/files",
    "issues-tax": "/api/v1/files/{tax}/issues",
    "issues-env": "/api/v1/files/{env}/issues",
}
# k1 and k2 are two counties of city c1; e1 is in k1, e2 in k2, e3 in another city c2.
# Columns follow REQUESTS.
NO_DATA = dict.fromkeys(REQUESTS, 403)
READER = {"users": 403, "audit": 403, "audit-verify": 403, "files": 403}
READER |= {"issues-tax": 403, "issues-env": 403}
EXPECTED = {
    "prov": dict.fromkeys(REQUESTS, 200) | {"users": 403, "audit": 403, "audit-verify": 403},
    "city": dict.fromkeys(REQUESTS, 200)
    | READER
    | {
        "run-draft": 404,
        "results-draft": 404,
        "results-other-city": 403,
        "firm-e3": 404,
        "firm-e1-draft": 404,
    },
    "county": dict.fromkeys(REQUESTS, 200)
    | READER
    | {
        "run-draft": 404,
        "results-draft": 404,
        "results-other-city": 403,
        "firm-e2": 404,
        "firm-e3": 404,
        "firm-e1-draft": 404,
    },
    "county2": dict.fromkeys(REQUESTS, 200)
    | READER
    | {
        "run-draft": 404,
        "run-county-draft": 404,
        "results-draft": 404,
        "results-county-draft": 404,
        "results-own-county": 403,  # k1 is not county2's county
        "results-other-city": 403,
        "firm-e1": 404,
        "firm-e3": 404,
        "firm-e1-draft": 404,
    },
    "ent": dict.fromkeys(REQUESTS, 200)
    | READER
    | {
        "run-draft": 404,
        "run-county-draft": 404,
        "results-draft": 404,
        "results-county-draft": 404,
        "firm-e2": 404,
        "firm-e3": 404,
        "firm-e1-draft": 404,
        "divisions": 403,
    },
    "ent2": dict.fromkeys(REQUESTS, 200)
    | READER
    | {
        "run-draft": 404,
        "run-county-draft": 404,
        "results-draft": 404,
        "results-county-draft": 404,
        "firm-e1": 404,
        "firm-e3": 404,
        "firm-e1-draft": 404,
        "divisions": 403,
    },
    "uploader": NO_DATA | {"files": 200, "issues-tax": 200, "issues-env": 404},
    "sysadmin": NO_DATA | {"divisions": 200, "users": 200},
    "secadmin": NO_DATA | {"users": 200},
    "auditor": NO_DATA | {"audit": 200, "audit-verify": 200},
}


def _fill(world: dict, template: str) -> str:
    values = world["runs"] | world["regions"] | world["firms"] | world["files"]
    return template.format(**values)


def _rows_in_scope(world: dict, user: str, body: dict) -> list[str]:
    """Rows of a 200 answer that the user should not have seen (empty when all is well)."""
    scope = world["scopes"][user]
    rows = body.get("rows") or ([body["result"]] if "result" in body else [])
    bad = []
    for row in rows:
        if "uscc" in scope and row["uscc"] != scope["uscc"]:
            bad.append(row["uscc"])
        elif "scope" in scope:
            code = scope["scope"]
            col = "city_code" if code.endswith("00") else "county_code"
            if row[col] != code:
                bad.append(row["uscc"])
    return bad


def test_the_matrix_covers_every_get_endpoint_of_the_api(world):
    paths = world["app"].openapi()["paths"]
    api_gets = {path for path, ops in paths.items() if "get" in ops}
    covered = {
        "/api/v1/runs",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/results",
        "/api/v1/runs/{run_id}/results/{uscc}",
        "/api/v1/divisions",
        "/api/v1/users",
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/api/v1/files",
        "/api/v1/files/{file_id}/issues",
    }
    # Publication, confirmation and upload lists are covered by their own matrix and scope
    # tests in test_api_workflow.py and test_api_upload.py.
    covered |= {
        "/api/v1/runs/{run_a}/diff/{run_b}",
        "/api/v1/runs/{run_id}/publication",
        "/api/v1/publications",
        "/api/v1/runs/{run_id}/publication/annexes/{name}",
        "/api/v1/confirmations",
        "/api/v1/objections",
        "/api/v1/objections/{filing_id}",
        "/api/v1/objections/{filing_id}/evidence",
        "/api/v1/uploads",
        "/api/v1/uploads/{upload_id}",
    }
    # Open by design: no data behind them.
    public = {"/api/v1/health", "/api/v1/csrf", "/api/v1/me"}
    assert api_gets - public == covered
    assert set(EXPECTED) == set(world["clients"])


@pytest.mark.parametrize("user", list(EXPECTED))
def test_each_role_gets_exactly_what_its_scope_allows(world, user):
    client = world["clients"][user]
    wrong, leaked = [], []
    for name, template in REQUESTS.items():
        res = client.get(_fill(world, template))
        want = EXPECTED[user][name]
        body = res.json()
        if res.status_code != want:
            wrong.append((name, want, res.status_code, body.get("error")))
        if res.status_code >= 400:
            # An error answer has the error shape and nothing else.
            if set(body) != {"ok", "error", "errors", "status"}:
                leaked.append((name, sorted(body)))
        else:
            leaked += [(name, uscc) for uscc in _rows_in_scope(world, user, body)]
    assert wrong == []
    assert leaked == []


def test_run_lists_show_drafts_only_to_those_whose_region_covers_them(world):
    runs = world["runs"]

    def listed(user: str) -> set[str]:
        body = world["clients"][user].get("/api/v1/runs").json()
        return {r["run_id"] for r in body["runs"]}

    assert listed("prov") == set(runs.values())
    assert listed("city") == {runs["published"], runs["county_draft"]}
    assert listed("county") == {runs["published"], runs["county_draft"]}
    assert listed("county2") == {runs["published"]}
    assert listed("ent") == {runs["published"]}


def test_an_enterprise_sees_only_its_own_credit_code_in_every_list(world):
    client, e1 = world["clients"]["ent"], world["firms"]["e1"]
    body = client.get(_fill(world, REQUESTS["results-published"])).json()
    assert body["total"] == 1
    assert [r["uscc"] for r in body["rows"]] == [e1]
    # Searching for another firm finds nothing rather than that firm.
    other = world["firms"]["e2"]
    body = client.get(f"/api/v1/runs/{world['runs']['published']}/results?q={other}").json()
    assert body["total"] == 0 and body["rows"] == []
    runs = client.get("/api/v1/runs").json()["runs"]
    assert [r["firms"] for r in runs] == [1]


def test_a_county_analyst_counts_only_firms_of_its_county(world):
    published = world["runs"]["published"]
    county = world["clients"]["county"].get(f"/api/v1/runs/{published}").json()["run"]
    prov = world["clients"]["prov"].get(f"/api/v1/runs/{published}").json()["run"]
    body = world["clients"]["county"].get(f"/api/v1/runs/{published}/results?page_size=500").json()
    assert 0 < county["firms"] == body["total"] < prov["firms"]
    assert {r["county_code"] for r in body["rows"]} == {world["regions"]["k1"]}


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("sysadmin", 201),
        ("prov", 403),
        ("city", 403),
        ("county", 403),
        ("ent", 403),
        ("uploader", 403),
        ("secadmin", 403),
        ("auditor", 403),
    ],
)
def test_only_the_system_administrator_creates_accounts(world, user, status):
    res = post(
        world["clients"][user],
        "/api/v1/users",
        {"username": f"new-{user}", "role": "county_analyst", "scope": world["regions"]["k1"]},
    )
    assert res.status_code == status, res.json()
    if status == 201:
        assert res.json()["user"]["must_change_password"] is True
        assert len(res.json()["initial_password"]) >= 12


def test_the_system_administrator_cannot_create_or_change_administrators(world):
    client = world["clients"]["sysadmin"]
    res = post(client, "/api/v1/users", {"username": "rogue-auditor", "role": "audit_admin"})
    assert res.status_code == 403
    assert post(client, "/api/v1/users/auditor/disable").status_code == 403
    assert post(client, "/api/v1/users/auditor/reset-password").status_code == 403


@pytest.mark.parametrize(
    ("user", "status"),
    [("secadmin", 200), ("sysadmin", 403), ("prov", 403), ("auditor", 403), ("ent", 403)],
)
def test_only_the_security_administrator_clears_lockouts(world, user, status):
    assert post(world["clients"][user], "/api/v1/users/county2/unlock").status_code == status


def test_no_administrator_can_read_scores(world):
    published = world["runs"]["published"]
    for user in ("sysadmin", "secadmin", "auditor", "uploader"):
        client = world["clients"][user]
        for path in (
            f"/api/v1/runs/{published}/results",
            f"/api/v1/runs/{published}/results/{world['firms']['e1']}",
        ):
            res = client.get(path)
            assert res.status_code == 403
            assert "rows" not in res.json() and "result" not in res.json()
