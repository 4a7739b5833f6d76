"""The authorization matrix: every endpoint × every role × own / other region / other enterprise ×
draft / published run. Out-of-scope requests get 403 or 404 and never data."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from mujun.auth import Actor, Role
from mujun.evaluation import evaluate
from mujun.loweff import identify, parse_loweff_rules
from mujun.paths import compute_paths
from mujun.policy import load_policy
from mujun.policy.ledger import apply_policy
from mujun.robustness.analysis import RobustnessSettings, analyse
from mujun.robustness.runscore import load_run_scoring
from mujun.robustness.tables import write_analysis
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.testing import FakeClock, create_accounts, logged_in_client, post

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
        rs = load_run_scoring(store, published)  # a small robustness analysis with paths
        write_analysis(
            store, rs, analyse(rs, RobustnessSettings(draws=8, sobol_n=0)), compute_paths(rs)
        )
        k1, c1 = busiest_county(store)
        county_draft = evaluate(store, 2023, rules=rules, region=k1).run_id
        # The policy ledger of the published run and of the county draft (every firm gets rows).
        policy = load_policy(ROOT / "rules" / "policies" / "zhejiang-default.yaml")
        for run_id in (published, county_draft):
            apply_policy(store, run_id, policy, applied_by="setup")
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
        # Low-efficiency list of the published run that lists every firm, so each has a case.
        everyone = parse_loweff_rules(
            {
                "version": "1",
                "name": "全部企业",
                "region": "330000",
                "source": "test",
                "statuses": ["evaluated", "provisional", "not-evaluated"],
                "rules": [
                    {
                        "code": "scored",
                        "name": "有得分",
                        "all": [{"indicator": "total", "at_least": -1e12}],
                    },
                    {
                        "code": "unscored",
                        "name": "无得分",
                        "all": [{"indicator": "total", "below": -1e12, "missing": "hit"}],
                    },
                ],
            },
            "test",
        )
        identify(store, 2023, everyone, actor=Actor("test", "cli"), now=clock(), run_id=published)
        cases = {
            name: store.scalar("SELECT case_id FROM loweff_cases WHERE uscc = ?", [u])
            for name, u in (("case_e1", e1), ("case_e2", e2), ("case_e3", e3))
        }
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
        create_accounts(store, accounts, settings=settings, now=clock(), password=PASSWORD)
    app = create_app(settings, clock=clock)
    clients = {}
    for name in accounts:
        clients[name] = logged_in_client(app, name, PASSWORD)
    yield {
        "app": app,
        "clients": clients,
        "runs": {"draft": draft, "published": published, "county_draft": county_draft},
        "regions": {"k1": k1, "k2": k2, "c1": c1, "c2": c2},
        "firms": {"e1": e1, "e2": e2, "e3": e3},
        "cases": cases,
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
    "robust-published": "/api/v1/runs/{published}/robustness/firms?fragile=false&page_size=500",
    "robust-e1": "/api/v1/runs/{published}/results/{e1}/robustness",
    "robust-e3": "/api/v1/runs/{published}/results/{e3}/robustness",
    "divisions": "/api/v1/divisions",
    "users": "/api/v1/users",
    "audit": "/api/v1/audit",
    "audit-verify": "/api/v1/audit/verify",
    "audit-export": "/api/v1/audit/export?format=csv",
    "audit-archives": "/api/v1/audit/archives",
    "sms-outbox": "/api/v1/sms/outbox",
    "notifications": "/api/v1/notifications",
    "files": "/api/v1/files",
    "issues-tax": "/api/v1/files/{tax}/issues",
    "issues-env": "/api/v1/files/{env}/issues",
}
# k1 and k2 are two counties of city c1; e1 is in k1, e2 in k2, e3 in another city c2.
# Columns follow REQUESTS.
# Everyone logged in reads their own notifications.
NO_DATA = dict.fromkeys(REQUESTS, 403) | {"notifications": 200}
AUDIT = {"audit": 403, "audit-verify": 403, "audit-export": 403, "audit-archives": 403}
READER = {"users": 403, **AUDIT, "sms-outbox": 403, "files": 403}
READER |= {"issues-tax": 403, "issues-env": 403}
EXPECTED = {
    "prov": dict.fromkeys(REQUESTS, 200) | {"users": 403, **AUDIT, "sms-outbox": 403},
    "city": dict.fromkeys(REQUESTS, 200)
    | READER
    | {
        "run-draft": 404,
        "results-draft": 404,
        "results-other-city": 403,
        "firm-e3": 404,
        "robust-e3": 404,
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
        "robust-e3": 404,
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
        "robust-e1": 404,
        "robust-e3": 404,
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
        "robust-e3": 404,
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
        "robust-e1": 404,
        "robust-e3": 404,
        "firm-e1-draft": 404,
        "divisions": 403,
    },
    "uploader": NO_DATA | {"files": 200, "issues-tax": 200, "issues-env": 404},
    "sysadmin": NO_DATA | {"divisions": 200, "users": 200, "sms-outbox": 200},
    "secadmin": NO_DATA | {"users": 200},
    "auditor": NO_DATA | dict.fromkeys(AUDIT, 200),
}


def _fill(world: dict, template: str) -> str:
    values = world["runs"] | world["regions"] | world["firms"] | world["files"] | world["cases"]
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
        "/api/v1/audit/export",
        "/api/v1/audit/archives",
        "/api/v1/sms/outbox",
        "/api/v1/notifications",
        "/api/v1/files",
        "/api/v1/files/{file_id}/issues",
        "/api/v1/runs/{run_id}/robustness/firms",
        "/api/v1/runs/{run_id}/results/{uscc}/robustness",
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
    # Low-efficiency tracking: in WORKFLOW_REQUESTS below.
    covered |= {
        "/api/v1/loweff/lists",
        "/api/v1/loweff/entries",
        "/api/v1/loweff/cases/{case_id}",
        "/api/v1/loweff/summary",
    }
    # The policy ledger: in WORKFLOW_REQUESTS below.
    covered |= {
        "/api/v1/runs/{run_id}/policy",
        "/api/v1/runs/{run_id}/policy/ledger",
        "/api/v1/runs/{run_id}/policy/{uscc}",
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
        # The audit export is a download (CSV), every other answer JSON.
        is_json = res.headers.get("content-type", "").startswith("application/json")
        body = res.json() if is_json else {}
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


# -- workflow endpoints and pages ---------------------------------------------------------------

# Workflow reads (publication, confirmations, objections, uploads, diff) and every page route.
# Values: the status each role gets; ``ANALYSTS`` and friends below keep the table short.
WORKFLOW_REQUESTS = {
    "diff-published-county-draft": "/api/v1/runs/{published}/diff/{county_draft}",
    "diff-draft-published": "/api/v1/runs/{draft}/diff/{published}",
    "publication-published": "/api/v1/runs/{published}/publication",
    "publication-draft": "/api/v1/runs/{draft}/publication",
    "publications": "/api/v1/publications",
    "annex-draft": "/api/v1/runs/{draft}/publication/annexes/x.xlsx",
    "confirmations": "/api/v1/confirmations",
    "confirmations-draft": "/api/v1/confirmations?run={draft}",
    "objections-published": "/api/v1/objections?run={published}",
    "objections-draft": "/api/v1/objections?run={draft}",
    "objection-1": "/api/v1/objections/1",
    "evidence-1": "/api/v1/objections/1/evidence",
    "uploads": "/api/v1/uploads",
    "upload-1": "/api/v1/uploads/1",
    "loweff-lists": "/api/v1/loweff/lists",
    "loweff-entries": "/api/v1/loweff/entries?year=2023&page_size=500",
    "loweff-entries-other-city": "/api/v1/loweff/entries?year=2023&region={c2}&page_size=500",
    "loweff-summary": "/api/v1/loweff/summary",
    "loweff-case-e1": "/api/v1/loweff/cases/{case_e1}",
    "loweff-case-e2": "/api/v1/loweff/cases/{case_e2}",
    "loweff-case-e3": "/api/v1/loweff/cases/{case_e3}",
    "policy-published": "/api/v1/runs/{published}/policy",
    "policy-draft": "/api/v1/runs/{draft}/policy",
    "policy-other-city": "/api/v1/runs/{published}/policy?region={c2}",
    "policy-ledger": "/api/v1/runs/{published}/policy/ledger?page_size=500",
    "policy-ledger-county-draft": "/api/v1/runs/{county_draft}/policy/ledger?page_size=500",
    "policy-firm-e1": "/api/v1/runs/{published}/policy/{e1}",
    "policy-firm-e3": "/api/v1/runs/{published}/policy/{e3}",
}
PAGE_REQUESTS = {
    "page-overview": "/",
    "page-overview-own-county": "/?region={k1}",
    "page-overview-other-city": "/?region={c2}",
    "page-overview-xlsx": "/overview.xlsx",
    "page-rankings": "/rankings",
    "page-rankings-other-city": "/rankings?region={c2}",
    "page-rankings-xlsx": "/rankings.xlsx",
    "page-firm-e1": "/firm/{e1}",
    "page-firm-e2": "/firm/{e2}",
    "page-firm-e3": "/firm/{e3}",
    "page-sheet-e1": "/firm/{e1}/sheet.xlsx?run={published}",
    "page-sheet-e1-draft": "/firm/{e1}/sheet.xlsx?run={draft}",
    "page-quality": "/quality",
    "page-quality-xlsx": "/quality.xlsx",
    "page-loweff": "/loweff?year=2023&page_size=100",
    "page-loweff-other-city": "/loweff?region={c2}",
    "page-loweff-xlsx": "/loweff.xlsx?year=2023&listed=all",
    "page-loweff-case-e1": "/loweff/cases/{case_e1}",
    "page-loweff-case-e3": "/loweff/cases/{case_e3}",
    "page-home": "/home",
    "page-notifications": "/notifications",
    "page-policy": "/policy",
    "page-policy-other-city": "/policy?region={c2}",
    "page-policy-xlsx": "/policy.xlsx",
    "page-policy-overview": "/policy/overview",
    "page-policy-firm-e1": "/policy/firm/{e1}?run={published}",
    "page-policy-firm-e3": "/policy/firm/{e3}?run={published}",
    "page-whatif": "/whatif",
    "page-whatif-result": "/whatif/result?w_above_tax_mu=60&w_above_va_mu=0",
}
OFFICIALS = ("prov", "city", "county", "county2")
ADMINS = ("sysadmin", "secadmin", "auditor")
ENTERPRISES = ("ent", "ent2")


def _expected_workflow(user: str) -> dict[str, int | tuple[int, ...]]:
    """What each role gets from the workflow reads (no publication or filing exists yet, so a
    visible one answers 404 as well: what matters is that nothing is ever 200 out of scope)."""
    if user in ADMINS:
        return dict.fromkeys(WORKFLOW_REQUESTS, 403)
    if user == "uploader":
        return dict.fromkeys(WORKFLOW_REQUESTS, 403) | {"uploads": 200, "upload-1": 404}
    firm_scope = {
        "prov": {"e1", "e2", "e3"},
        "city": {"e1", "e2"},
        "county": {"e1"},
        "county2": {"e2"},
        "ent": {"e1"},
        "ent2": {"e2"},
    }[user]
    official = user in OFFICIALS
    sees_draft = user == "prov"
    sees_county_draft = user in ("prov", "city", "county")
    out: dict[str, int | tuple[int, ...]] = {
        "diff-published-county-draft": 200 if sees_county_draft else 404,
        "diff-draft-published": 200 if sees_draft else 404,
        "publication-published": 404,  # visible, but never published through the workflow
        "publication-draft": 404,
        "publications": 200,
        "annex-draft": 404,
        "confirmations": 403 if official else 200,
        "confirmations-draft": 403 if official else 404,
        "objections-published": 200 if official else 403,
        "objections-draft": (200 if sees_draft else 404) if official else 403,
        "objection-1": 404 if official else 403,
        "evidence-1": 404,
        "uploads": 200 if official else 403,
        "upload-1": 404 if official else 403,
        "loweff-lists": 200 if official else 403,
        "loweff-entries": 200,
        "loweff-entries-other-city": 200 if user == "prov" else 403,
        "loweff-summary": 200 if official else 403,
        **{f"loweff-case-{e}": 200 if e in firm_scope else 404 for e in ("e1", "e2", "e3")},
        "policy-published": 200,
        "policy-draft": 200 if sees_draft else 404,
        "policy-other-city": 200 if user == "prov" else (403 if official else 200),
        "policy-ledger": 200,
        "policy-ledger-county-draft": 200 if sees_county_draft else 404,
        **{f"policy-firm-{e}": 200 if e in firm_scope else 404 for e in ("e1", "e3")},
    }
    return out


def _expected_pages(user: str) -> dict[str, int | tuple[int, ...]]:
    """What each role gets from the pages (303: sent to its own page)."""
    firm_scope = {
        "prov": {"e1", "e2", "e3"},
        "city": {"e1", "e2"},
        "county": {"e1"},
        "county2": {"e2"},
        "ent": {"e1"},
        "ent2": {"e2"},
    }.get(user, set())
    if user in OFFICIALS:
        return {
            "page-overview": 200,
            "page-overview-own-county": 200 if user != "county2" else 403,
            "page-overview-other-city": 200 if user == "prov" else 403,
            "page-overview-xlsx": 200,
            "page-rankings": 200,
            "page-rankings-other-city": 200 if user == "prov" else 403,
            "page-rankings-xlsx": 200,
            **{f"page-firm-{e}": 200 if e in firm_scope else 404 for e in ("e1", "e2", "e3")},
            "page-sheet-e1": 200 if "e1" in firm_scope else 404,
            "page-sheet-e1-draft": 200 if user == "prov" else 404,
            "page-quality": 200,
            "page-quality-xlsx": 200,
            "page-loweff": 200,
            "page-loweff-other-city": 200 if user == "prov" else 403,
            "page-loweff-xlsx": 200,
            "page-loweff-case-e1": 200 if "e1" in firm_scope else 404,
            "page-loweff-case-e3": 200 if "e3" in firm_scope else 404,
            "page-home": 303,  # the enterprise home page only: officials go to "/"
            "page-notifications": 200,
            "page-policy": 200,
            "page-policy-other-city": 200 if user == "prov" else 403,
            "page-policy-xlsx": 200,
            "page-policy-overview": 200,
            "page-policy-firm-e1": 200 if "e1" in firm_scope else 404,
            "page-policy-firm-e3": 200 if "e3" in firm_scope else 404,
            "page-whatif": 200,
            "page-whatif-result": 200,
        }
    if user in ENTERPRISES:
        return dict.fromkeys(PAGE_REQUESTS, 403) | {
            "page-overview": 303,
            "page-overview-own-county": 303,
            "page-overview-other-city": 303,
            **{f"page-firm-{e}": 200 if e in firm_scope else 404 for e in ("e1", "e2", "e3")},
            "page-sheet-e1": 200 if "e1" in firm_scope else 404,
            "page-sheet-e1-draft": 404,
            "page-loweff": 200,
            "page-loweff-xlsx": 200,
            "page-loweff-case-e1": 200 if "e1" in firm_scope else 404,
            "page-loweff-case-e3": 404,
            "page-home": 200,
            "page-notifications": 200,
            "page-policy-firm-e1": 200 if "e1" in firm_scope else 404,
            "page-policy-firm-e3": 404,
        }
    # Administrators see the chrome of the overview and no data; an uploader goes to /quality.
    overview = 303 if user == "uploader" else 200
    quality = 200 if user == "uploader" else 403
    return dict.fromkeys(PAGE_REQUESTS, 403) | {
        "page-overview": overview,
        "page-overview-own-county": overview,
        "page-overview-other-city": overview,
        "page-quality": quality,
        "page-quality-xlsx": quality,
        "page-home": 303,
        "page-notifications": 200,
    }


def _allowed_firms(world: dict, user: str) -> set[str]:
    """Credit codes the user may see (its scope's firms in the runs it sees)."""
    scope = world["scopes"][user]
    with world["app"].state.db.reader() as r:
        if user == "prov":
            return {u for (u,) in r.rows("SELECT DISTINCT uscc FROM results")}
        if "uscc" in scope:
            return {scope["uscc"]}
        if "scope" in scope:
            col = "city_code" if scope["scope"].endswith("00") else "county_code"
            return {
                u
                for (u,) in r.rows(
                    f"SELECT DISTINCT uscc FROM results WHERE {col} = ?", [scope["scope"]]
                )
            }
    return set()


def _firms_in(world: dict, res) -> set[str]:
    """Credit codes of evaluated firms that an answer (JSON, HTML or a workbook) shows."""
    import io
    import re

    from python_calamine import CalamineWorkbook

    if "spreadsheetml" in res.headers.get("content-type", ""):
        book = CalamineWorkbook.from_filelike(io.BytesIO(res.content))
        text = " ".join(
            str(cell)
            for name in book.sheet_names
            for row in book.get_sheet_by_name(name).to_python()
            for cell in row
        )
    else:
        text = res.text
    with world["app"].state.db.reader() as r:
        known = {u for (u,) in r.rows("SELECT DISTINCT uscc FROM results")}
    return set(re.findall(r"[0-9A-Z]{18}", text)) & known


def test_the_matrix_covers_every_api_endpoint_and_page(world):
    paths = world["app"].openapi()["paths"]
    gets = {path for path, ops in paths.items() if "get" in ops}
    templates = {t.split("?")[0] for t in (*REQUESTS.values(), *WORKFLOW_REQUESTS.values())}
    covered = {
        p
        for p in gets
        if any(
            re.fullmatch(
                re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)), t.replace("{", "").replace("}", "")
            )
            for t in templates
        )
    }
    assert gets - covered - {"/api/v1/health", "/api/v1/csrf", "/api/v1/me"} == set()
    pages = {t.split("?")[0] for t in PAGE_REQUESTS.values()}
    for route in ("/", "/overview.xlsx", "/rankings", "/rankings.xlsx", "/quality"):
        assert route in pages
    assert {"/firm/{e1}", "/firm/{e1}/sheet.xlsx", "/quality.xlsx"} <= pages


@pytest.mark.parametrize("user", list(EXPECTED))
def test_workflow_reads_and_pages_give_each_role_only_its_scope(world, user):
    client = world["clients"][user]
    allowed = _allowed_firms(world, user)
    want = _expected_workflow(user) | _expected_pages(user)
    wrong, leaked = [], []
    for name, template in (WORKFLOW_REQUESTS | PAGE_REQUESTS).items():
        res = client.get(_fill(world, template), follow_redirects=False)
        expected = want[name]
        if res.status_code not in (expected if isinstance(expected, tuple) else (expected,)):
            wrong.append((name, expected, res.status_code, res.text[:120]))
        if res.status_code >= 400:
            body = res.json()
            if set(body) != {"ok", "error", "errors", "status"}:
                leaked.append((name, sorted(body)))
        elif res.status_code == 200:
            leaked += [(name, u) for u in sorted(_firms_in(world, res) - allowed)]
    assert [w[:3] for w in wrong] == []
    assert leaked == []


# -- writes ------------------------------------------------------------------------------------

PUBLISH = {
    "basis": [{"title": "亩均评价办法", "doc_no": "浙经信〔2030〕1号"}],
    "contact_phone": "0571-1234567",
}
WRITE_REQUESTS = {
    # First, while the published run is the year's only published one (the list it makes
    # covers the province, so only the province administrator may make it).
    "loweff-identify": ("/api/v1/loweff/identify", {"year": 2023, "rules": "tax-under-1"}),
    "publish-draft": ("/api/v1/runs/{draft}/publish", PUBLISH),
    "publish-county-draft": ("/api/v1/runs/{county_draft}/publish", PUBLISH),
    "open-land-draft": ("/api/v1/runs/{draft}/confirmation/land", {}),
    "open-land-county-draft": ("/api/v1/runs/{county_draft}/confirmation/land", {}),
    "finalise-published": ("/api/v1/runs/{published}/finalise", None),
    "rerun-draft": ("/api/v1/runs/{draft}/rerun", None),
    "confirm-published": ("/api/v1/confirmations/{published}/tax_paid/confirm", None),
    "confirm-draft": ("/api/v1/confirmations/{draft}/tax_paid/confirm", None),
    "accept-1": ("/api/v1/objections/1/accept", {"note": "ok"}),
    "loweff-status-e1": (
        "/api/v1/loweff/cases/{case_e1}/status",
        {"to": "plan_agreed", "date": "2029-12-01", "note": "整治方案"},
    ),
}
ANALYST_WRITES = {"publish", "open", "finalise", "rerun", "accept", "loweff"}


def _refused_writes(user: str) -> set[str]:
    """Writes the user must be refused (403 or 404): wrong role, or a run outside its region."""
    if user in ADMINS or user == "uploader":
        return set(WRITE_REQUESTS)
    if user in ENTERPRISES:
        # Its own firm in the published run may be confirmed; drafts are never its business.
        return {n for n in WRITE_REQUESTS if n.split("-")[0] in ANALYST_WRITES} | {"confirm-draft"}
    refused = {n for n in WRITE_REQUESTS if n.startswith("confirm-")}
    if user != "prov":
        refused |= {"publish-draft", "open-land-draft", "rerun-draft", "finalise-published"}
        refused |= {"loweff-identify"}  # a province list needs the province's scope
    if user == "county2":
        refused |= {"publish-county-draft", "open-land-county-draft", "loweff-status-e1"}
    return refused


@pytest.fixture
def scratch(world, tmp_path):
    """A client factory on a second app over a throwaway copy of the store (one per test, so
    one role's writes never change what another role may do)."""
    import shutil

    db = tmp_path / "copy.duckdb"
    with world["app"].state.db.writer() as w:
        w.execute("CHECKPOINT")
    shutil.copy(world["app"].state.settings.db, db)
    app = create_app(WebSettings(db=db, **FAST_HASH), clock=FakeClock())

    def client_for(name: str) -> TestClient:
        return logged_in_client(app, name, PASSWORD)

    yield client_for
    app.state.db.close()


@pytest.mark.parametrize("user", list(EXPECTED))
def test_writes_outside_role_or_region_are_refused_and_the_rest_never_fail(world, scratch, user):
    refused = _refused_writes(user)
    client = scratch(user)
    wrong = []
    for name, (template, body) in WRITE_REQUESTS.items():
        res = post(client, _fill(world, template), body)
        if res.status_code >= 500:
            wrong.append((name, res.status_code))
        elif name in refused:
            if res.status_code not in (403, 404):
                wrong.append((name, "403/404", res.status_code))
            elif set(res.json()) != {"ok", "error", "errors", "status"}:
                wrong.append((name, sorted(res.json())))
        elif res.status_code in (401, 403):
            wrong.append((name, "allowed", res.status_code, res.json()["error"][:80]))
    assert wrong == []
