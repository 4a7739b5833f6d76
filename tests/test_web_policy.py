"""The policy ledger and what-if on the web: JSON API with scoping, pages, partials loaded by the
portrait and the overview, the Excel export, applying a preset, and a what-if that writes
nothing."""

from __future__ import annotations

import io

import pytest
from python_calamine import CalamineWorkbook

from mujun.auth import Actor, Role, create_user
from mujun.evaluation import evaluate
from mujun.policy import load_policy
from mujun.policy.ledger import apply_policy
from mujun.rules import load_rules
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import busiest_county
from mujun.web.testing import FakeClock, logged_in_client, post

from .conftest import ROOT

PASSWORD = "Policy-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
RULES = load_rules(ROOT / "rules" / "zhejiang-default.yaml")
POLICY = load_policy(ROOT / "rules" / "policies" / "zhejiang-default.yaml")
COUNTS = ("runs", "results", "result_items", "policy_ledger", "policy_applications")


@pytest.fixture(scope="module")
def world(small_province, tmp_path_factory):
    """The generated province: 2022 and 2023 published, the default policy applied to both;
    a province admin, a county analyst, an enterprise of that county and an uploader."""
    _, src = small_province
    db = tmp_path_factory.mktemp("webpolicy") / "w.duckdb"
    db.write_bytes(src.read_bytes())
    clock = FakeClock()
    settings = WebSettings(db=db, **FAST_HASH)
    with open_store(db) as store:
        runs = {y: evaluate(store, y, rules=RULES).run_id for y in (2022, 2023)}
        store.execute("UPDATE runs SET status = 'published'")
        for y in (2022, 2023):
            apply_policy(store, runs[y], POLICY, applied_by="setup")
        county, _ = busiest_county(store, 2023)
        own = store.scalar(
            "SELECT min(uscc) FROM policy_ledger WHERE run_id = ? AND county_code = ? "
            "AND lever = 'land_tax_relief' AND amount_wan < 0",
            [runs[2023], county],
        )
        other = store.scalar(
            "SELECT min(uscc) FROM policy_ledger WHERE run_id = ? AND county_code <> ?",
            [runs[2023], county],
        )
        for name, role, attrs in (
            ("prov", Role.PROVINCE_ADMIN, {}),
            ("county", Role.COUNTY_ANALYST, {"scope": county}),
            ("uploader", Role.DEPARTMENT_UPLOADER, {"department": "land"}),
            (own, Role.ENTERPRISE, {"uscc": own}),
        ):
            create_user(
                store, username=name, role=role, now=clock(), actor=Actor("setup", "cli"),
                settings=settings, password=PASSWORD, must_change_password=False, **attrs,
            )  # fmt: skip
    app = create_app(settings, clock=clock)
    clients = {}
    for name in ("prov", "county", "uploader", own):
        clients[name] = logged_in_client(app, name, PASSWORD)
    yield {"app": app, "runs": runs, "county": county, "own": own, "other": other, "c": clients}
    app.state.db.close()


def _counts(app) -> dict[str, int]:
    with app.state.db.reader() as r:
        return {t: int(r.scalar(f"SELECT count(*) FROM {t}")) for t in COUNTS}


def test_api_totals_follow_the_scope(world):
    run = world["runs"][2023]
    prov = world["c"]["prov"].get(f"/api/v1/runs/{run}/policy").json()
    assert prov["application"]["name"] == POLICY.name and "zhejiang-default" in prov["presets"]
    assert len({t["area"] for t in prov["totals"]}) > 1
    county = world["c"]["county"].get(f"/api/v1/runs/{run}/policy").json()
    assert {t["area"] for t in county["totals"]} == {world["county"]}
    whole = world["c"]["prov"].get(f"/api/v1/runs/{run}/policy?region={world['county']}").json()
    assert whole["totals"] == county["totals"]
    # The A-class relief in the county equals the sum of its ledger rows.
    with world["app"].state.db.reader() as r:
        want = r.scalar(
            "SELECT sum(amount_wan) FROM policy_ledger WHERE run_id = ? AND county_code = ? "
            "AND \"class\" = 'A' AND lever = 'land_tax_relief'",
            [run, world["county"]],
        )
    got = {(t["class"], t["lever"]): t["amount_wan"] for t in county["totals"]}
    assert got[("A", "land_tax_relief")] == pytest.approx(want) and want < 0
    ent = world["c"][world["own"]].get(f"/api/v1/runs/{world['runs'][2022]}/policy").json()
    assert all(t["firms"] == 1 for t in ent["totals"])
    assert world["c"]["uploader"].get(f"/api/v1/runs/{run}/policy").status_code == 403
    assert world["c"]["prov"].get("/api/v1/runs/E2023-0999/policy").status_code == 404
    res = world["c"]["county"].get(f"/api/v1/runs/{run}/policy?region=330100")
    assert res.status_code == 403


def test_api_ledger_rows_and_one_firm_stay_in_scope(world):
    run = world["runs"][2023]
    page = world["c"]["county"].get(f"/api/v1/runs/{run}/policy/ledger?page_size=500").json()
    assert page["total"] > 0 and {r["county_code"] for r in page["rows"]} == {world["county"]}
    d = (
        world["c"]["prov"]
        .get(f"/api/v1/runs/{run}/policy/ledger?class=D&lever=electricity_surcharge&page_size=500")
        .json()
    )
    # Fenghua's escalation: D firms that were D in the published 2022 run pay 0.3 元/kWh.
    rates = {(r["consecutive_years"], r["rate"]) for r in d["rows"] if r["class"] == "D"}
    assert len(d["rows"]) == d["total"] > 0 and rates == {(1, 0.1), (2, 0.3)}
    own = world["c"]["county"].get(f"/api/v1/runs/{run}/policy/{world['own']}").json()
    relief = next(r for r in own["rows"] if r["lever"] == "land_tax_relief")
    # Own land (m²) × the default placeholder rate 4 元/m² × the class share, in 万元.
    share = {"A": 1.0, "B": 0.8}[relief["class"]]
    assert relief["amount_wan"] == pytest.approx(-relief["base_quantity"] * 4 * share / 10000)
    assert (
        world["c"]["county"].get(f"/api/v1/runs/{run}/policy/{world['other']}").status_code == 404
    )
    # The enterprise sees only itself.
    ent = world["c"][world["own"]]
    assert ent.get(f"/api/v1/runs/{run}/policy/{world['own']}").status_code == 200
    mine = ent.get(f"/api/v1/runs/{run}/policy/ledger").json()
    assert mine["total"] > 0 and {r["uscc"] for r in mine["rows"]} == {world["own"]}
    assert ent.get(f"/api/v1/runs/{run}/policy/{world['other']}").status_code == 404


def test_applying_a_preset_through_the_api(world):
    run = world["runs"][2023]
    before = _counts(world["app"])
    res = post(world["c"]["county"], f"/api/v1/runs/{run}/policy", {"preset": "zhejiang-default"})
    assert res.status_code == 403  # the run covers the province, beyond the county
    res = post(world["c"]["prov"], f"/api/v1/runs/{run}/policy", {"preset": "nope"})
    assert res.status_code == 422 and "zhejiang-default" in res.json()["error"]
    res = post(world["c"]["prov"], f"/api/v1/runs/{run}/policy", {"preset": "zhejiang-default"})
    assert res.status_code == 200, res.text
    assert res.json()["previous_runs"] == [world["runs"][2022]]
    assert _counts(world["app"]) == before  # the same preset again: its rows are replaced


def test_pages_ledger_export_and_partials(world):
    prov, county = world["c"]["prov"], world["c"]["county"]
    page = county.get("/policy")
    assert (
        page.status_code == 200 and "城镇土地使用税减免" in page.text and world["own"] in page.text
    )
    assert world["other"] not in page.text
    xlsx = county.get("/policy.xlsx")
    assert xlsx.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content))
    rows = book.get_sheet_by_name("台账").to_python()
    header = rows[1]
    codes = {r[header.index("统一社会信用代码")] for r in rows[2:]}
    assert world["own"] in codes and world["other"] not in codes
    assert {r[header.index("区县代码")] for r in rows[2:]} == {world["county"]}  # text, not 3.3e5
    firm = county.get(f"/firm/{world['own']}")
    assert f'hx-get="/policy/firm/{world["own"]}?run=' in firm.text
    part = county.get(f"/policy/firm/{world['own']}?run={world['runs'][2023]}")
    assert part.status_code == 200 and "减免城镇土地使用税" in part.text
    other = county.get(f"/policy/firm/{world['other']}?run={world['runs'][2023]}")
    assert other.status_code == 404
    overview = prov.get("/")
    assert 'hx-get="/policy/overview' in overview.text
    summary = prov.get("/policy/overview")
    assert summary.status_code == 200 and "差别电价" in summary.text
    assert "<td>A、B</td>" in summary.text  # the classes the land-use tax relief applies to
    ent = world["c"][world["own"]]
    assert ent.get("/policy").status_code == 403
    assert ent.get(f"/policy/firm/{world['own']}?run={world['runs'][2022]}").status_code == 200
    home = ent.get("/home")  # the enterprise home page's policy slot loads the same panel
    assert f'hx-get="/policy/firm/{world["own"]}?run={world["runs"][2023]}"' in home.text
    english = prov.get("/policy?lang=en")
    assert english.status_code == 200 and "Differentiated policies" in english.text
    assert "差别化政策" in prov.get("/policy?lang=zh").text  # back to Chinese for the next tests


def test_whatif_page_moves_firms_and_writes_nothing(world):
    before = _counts(world["app"])
    prov, county = world["c"]["prov"], world["c"]["county"]
    page = prov.get("/whatif")
    assert page.status_code == 200 and "没有企业的分类发生变化" in page.text
    assert 'name="w_above_tax_mu"' in page.text and 'hx-get="/whatif/result"' in page.text
    moved = prov.get(
        "/whatif/result?w_above_tax_mu=60&w_above_va_mu=0", headers={"HX-Request": "true"}
    )
    assert moved.status_code == 200 and "家企业分类变化" in moved.text
    assert "weights.above.tax_mu=60" in moved.text and 'id="whatif-matrix"' in moved.text
    rates = prov.get("/whatif/result?p_electricity_surcharge_D=0.2,0.6,1")
    assert "没有企业的分类发生变化" in rates.text and "差别电价" in rates.text
    # The county analyst sees the county's firms only.
    mine = county.get("/whatif/result?w_above_tax_mu=60&w_above_va_mu=0")
    with world["app"].state.db.reader() as r:
        n = r.scalar(
            "SELECT count(*) FROM results WHERE run_id = ? AND county_code = ?",
            [world["runs"][2023], world["county"]],
        )
    assert f"共 {n} 家" in mine.text or "没有企业的分类发生变化" in mine.text
    refused = prov.get("/whatif/result?bands_above=0.5,0.5")  # refused, and the page says why
    assert refused.status_code == 200 and "above.bands: 2 shares for 4 classes" in refused.text
    assert prov.get("/whatif/result?w_above_tax_mu=abc").status_code == 422
    assert world["c"][world["own"]].get("/whatif").status_code == 403
    assert _counts(world["app"]) == before
