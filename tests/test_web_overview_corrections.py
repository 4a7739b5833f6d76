"""The overview's per-mu figures of a run evaluated with accepted corrections sum the corrected
facts the run was evaluated on, not the stored facts the firm contested."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest

from mujun.auth import Role
from mujun.auth.scope import DataScope
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store, busiest_county
from mujun.web.pages.data import region_stats
from mujun.web.testing import FakeClock, create_accounts, logged_in_client
from mujun.workflow.confirmations import open_round
from mujun.workflow.rerun import rerun_with_corrections
from tests.corrections import ANALYST, accept_correction

PASSWORD = "Corrected-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PER_MU = "r.status = 'evaluated' AND r.size = 'above' AND r.land_mu > 0"
NOW = datetime(2030, 1, 7, 2, 0)
# What the corrections add to the firm's stored figures (万元): large enough to move the
# county's totals well beyond the two decimals the page shows.
TAX_ADDED, VA_ADDED = 5000.0, 8000.0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 300-firm province run; one above-size firm of the busiest county has its tax and value
    added corrected (contested, accepted) and the corrected rerun is published."""
    base = tmp_path_factory.mktemp("overview-corrections")
    db = base / "c.duckdb"
    run = build_demo_store(db, base / "data", enterprises=300)
    settings = WebSettings(db=db, **FAST_HASH)
    with open_store(db) as store:
        county, _city = busiest_county(store)
        firm, tax, va = store.rows(
            "SELECT r.uscc, f.tax_paid, f.value_added FROM results r JOIN facts f "
            "ON f.year = r.year AND f.uscc = r.uscc WHERE r.run_id = ? AND r.county_code = ? "
            f"AND {PER_MU} AND f.tax_paid IS NOT NULL AND f.value_added IS NOT NULL "
            "ORDER BY r.uscc LIMIT 1",
            [run, county],
        )[0]
        open_round(store, run, "sheet", closes_on=date(2030, 1, 20), actor=ANALYST, now=NOW)
        accept_correction(store, run, firm, "tax_paid", tax + TAX_ADDED, NOW)
        accept_correction(store, run, firm, "value_added", va + VA_ADDED, NOW)
        new = rerun_with_corrections(store, run, actor=ANALYST, now=NOW)["run_id"]
        store.execute("UPDATE runs SET status = 'published' WHERE run_id = ?", [new])
        create_accounts(
            store,
            {"prov": (Role.PROVINCE_ADMIN, {})},
            settings=settings,
            now=NOW,
            password=PASSWORD,
        )
    app = create_app(settings, clock=FakeClock())
    client = logged_in_client(app, "prov", PASSWORD)
    yield {"app": app, "client": client, "run": run, "new": new, "county": county, "firm": firm}
    app.state.db.close()


def _stored_totals(world, run: str) -> tuple[float, float, float, float]:
    """The county's tax, its land, value added and its land in ``run``, from the stored facts."""
    with world["app"].state.db.reader() as r:
        return r.rows(
            f"SELECT sum(f.tax_paid) FILTER ({PER_MU} AND f.tax_paid IS NOT NULL), "
            f"sum(r.land_mu) FILTER ({PER_MU} AND f.tax_paid IS NOT NULL), "
            f"sum(f.value_added) FILTER ({PER_MU} AND f.value_added IS NOT NULL), "
            f"sum(r.land_mu) FILTER ({PER_MU} AND f.value_added IS NOT NULL) "
            "FROM results r LEFT JOIN facts f ON f.year = r.year AND f.uscc = r.uscc "
            "WHERE r.run_id = ? AND r.county_code = ?",
            [run, world["county"]],
        )[0]


def test_the_rerun_was_evaluated_on_the_corrected_figures(world):
    with world["app"].state.db.reader() as r:
        overrides = dict(
            r.rows(
                "SELECT field, value - original_value FROM overrides WHERE run_id = ? AND uscc = ?",
                [world["new"], world["firm"]],
            )
        )
        # The firm's tax per mu in the new run is its corrected tax over the run's land.
        tax_mu = r.rows(
            "SELECT (SELECT value FROM result_items WHERE run_id = ? AND uscc = ? "
            "AND indicator = 'tax_mu'), (SELECT land_mu FROM results WHERE run_id = ? "
            "AND uscc = ?), (SELECT tax_paid FROM facts WHERE year = 2023 AND uscc = ?)",
            [world["new"], world["firm"], world["new"], world["firm"], world["firm"]],
        )[0]
    assert overrides == {
        "tax_paid": pytest.approx(TAX_ADDED),
        "value_added": pytest.approx(VA_ADDED),
    }
    item, land, stored_tax = tax_mu
    assert item == pytest.approx((stored_tax + TAX_ADDED) / land, rel=1e-6)


def test_overview_figures_of_the_corrected_run_sum_the_corrected_facts(world):
    tax, tax_land, va, va_land = _stored_totals(world, world["new"])
    want_tax_mu = (tax + TAX_ADDED) / tax_land
    want_va_mu = (va + VA_ADDED) / va_land
    scope = DataScope("all", "330000")
    with world["app"].state.db.reader() as r:
        got = region_stats(r, world["new"], scope, world["county"])[""]
        by_county = region_stats(r, world["new"], scope, None, by="county_code")
        # The run evaluated on the stored facts still sums the stored facts.
        before = region_stats(r, world["run"], scope, world["county"])[""]
    assert got["tax_mu"] == pytest.approx(want_tax_mu, rel=1e-12)
    assert got["va_mu"] == pytest.approx(want_va_mu, rel=1e-12)
    assert by_county[world["county"]]["tax_mu"] == pytest.approx(want_tax_mu, rel=1e-12)
    stored = _stored_totals(world, world["run"])
    assert before["tax_mu"] == pytest.approx(stored[0] / stored[1], rel=1e-12)
    assert before["va_mu"] == pytest.approx(stored[2] / stored[3], rel=1e-12)


def test_the_overview_page_shows_the_corrected_runs_figures(world):
    tax, tax_land, va, va_land = _stored_totals(world, world["new"])
    page = world["client"].get("/", params={"year": 2023, "region": world["county"]})
    assert page.status_code == 200
    assert world["new"] in page.text  # the published rerun is the run in force
    found = re.search(r'<script type="application/json" id="charts-data">(.*?)</script>', page.text)
    assert found, "no chart data on the page"
    trends = {t["year"]: t for t in json.loads(found.group(1))["trends"]}
    assert trends[2023]["tax_mu"] == pytest.approx((tax + TAX_ADDED) / tax_land, rel=1e-12)
    assert trends[2023]["tax_mu"] != pytest.approx(tax / tax_land, rel=1e-6)
    assert f"{(va + VA_ADDED) / va_land:,.2f}" in page.text
