"""The one-firm sheet (一企一单) of a run evaluated with accepted corrections shows the corrected
figures the run used, each marked 已更正 with the original value and the objection; the sheet of
the run the firm contested still shows the stored figure."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from python_calamine import CalamineWorkbook

from mujun.auth import Role
from mujun.reports import write_enterprise_sheet
from mujun.reports.common import load_run
from mujun.reports.sheet_data import gather_sheets
from mujun.store import open_store
from mujun.web import WebSettings, create_app
from mujun.web.demo import build_demo_store
from mujun.web.testing import FakeClock, create_accounts, logged_in_client
from mujun.workflow.confirmations import firm_sheet, open_round
from mujun.workflow.rerun import rerun_with_corrections
from mujun.workflow.runs import get_run
from tests.corrections import ANALYST, accept_correction

PASSWORD = "Sheet-fix-pass-2030"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
NOW = datetime(2030, 1, 7, 2, 0)
TAX_ADDED, VA_ADDED = 100.0, 250.0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Run 1 (stored facts); the firm's tax is contested and accepted → run 2; on run 2 its
    value added is contested and accepted, and another firm's exemption application → run 3."""
    base = tmp_path_factory.mktemp("sheet-corrections")
    db = base / "c.duckdb"
    run1 = build_demo_store(db, base / "data", enterprises=300)
    settings = WebSettings(db=db, **FAST_HASH)
    with open_store(db) as store:
        (firm, tax, va), (other, *_) = store.rows(
            "SELECT r.uscc, f.tax_paid, f.value_added FROM results r JOIN facts f "
            "ON f.year = r.year AND f.uscc = r.uscc WHERE r.run_id = ? AND r.status = "
            "'evaluated' AND r.land_mu > 0 AND f.tax_paid IS NOT NULL AND f.value_added IS NOT "
            "NULL ORDER BY r.uscc LIMIT 2",
            [run1],
        )
        open_round(store, run1, "sheet", closes_on=date(2030, 1, 20), actor=ANALYST, now=NOW)
        tax_cid = accept_correction(store, run1, firm, "tax_paid", tax + TAX_ADDED, NOW)
        run2 = rerun_with_corrections(store, run1, actor=ANALYST, now=NOW)["run_id"]
        open_round(store, run2, "sheet", closes_on=date(2030, 1, 20), actor=ANALYST, now=NOW)
        va_cid = accept_correction(store, run2, firm, "value_added", va + VA_ADDED, NOW)
        ex_cid = accept_correction(store, run2, other, "exemption", None, NOW)
        run3 = rerun_with_corrections(store, run2, actor=ANALYST, now=NOW)["run_id"]
        create_accounts(
            store,
            {
                "prov": (Role.PROVINCE_ADMIN, {}),
                "ent": (Role.ENTERPRISE, {"uscc": firm}),
            },
            settings=settings,
            now=NOW,
            password=PASSWORD,
        )
        yield {
            "store": store,
            "settings": settings,
            "base": base,
            "runs": (run1, run2, run3),
            "firm": firm,
            "other": other,
            "tax": tax,
            "va": va,
            "cids": {"tax_paid": tax_cid, "value_added": va_cid, "exemption": ex_cid},
        }


def _sheet_data(world, run: str, uscc: str):
    store = world["store"]
    batch = gather_sheets(store, load_run(store, run), "r.uscc = ?", [uscc])
    assert len(batch.firms) == 1
    return batch.firms[0]


def _rows(content_or_path) -> list[list]:
    """The sheet's cells, row by row (python-calamine: the project's reader of workbooks)."""
    if isinstance(content_or_path, bytes):
        book = CalamineWorkbook.from_filelike(io.BytesIO(content_or_path))
    else:
        book = CalamineWorkbook.from_path(str(content_or_path))
    return book.get_sheet_by_name("一企一单").to_python()


def _row(rows: list[list], label: str) -> list:
    found = [r for r in rows if r and r[0] == label]
    assert len(found) == 1, f"{label}: {len(found)} rows"
    return found[0]


def _notes(rows: list[list]) -> str:
    return next(str(r[0]) for r in rows if r and str(r[0]).startswith("数据期间"))


def test_the_sheet_data_of_a_rerun_carries_the_corrected_figures_and_where_they_come_from(world):
    run1, run2, run3 = world["runs"]
    firm, tax, va, cids = world["firm"], world["tax"], world["va"], world["cids"]

    first = _sheet_data(world, run1, firm)
    assert first.facts["tax_paid"] == pytest.approx(tax)
    assert first.facts["value_added"] == pytest.approx(va)
    assert first.corrections == {}

    second = _sheet_data(world, run2, firm)
    assert second.facts["tax_paid"] == pytest.approx(tax + TAX_ADDED)
    assert second.facts["value_added"] == pytest.approx(va)  # contested on run 2, not yet used
    assert set(second.corrections) == {"tax_paid"}

    third = _sheet_data(world, run3, firm)
    assert third.facts["tax_paid"] == pytest.approx(tax + TAX_ADDED)
    assert third.facts["value_added"] == pytest.approx(va + VA_ADDED)
    tax_c, va_c = third.corrections["tax_paid"], third.corrections["value_added"]
    assert (tax_c.original, tax_c.value) == (pytest.approx(tax), pytest.approx(tax + TAX_ADDED))
    assert (va_c.original, va_c.value) == (pytest.approx(va), pytest.approx(va + VA_ADDED))
    # A correction carried through two reruns still names the run its objection was filed on.
    assert (tax_c.confirmation_id, tax_c.objection_run_id) == (cids["tax_paid"], run1)
    assert (va_c.confirmation_id, va_c.objection_run_id) == (cids["value_added"], run2)
    # The sheet's figures are those the run was evaluated on: its tax per mu item.
    land = world["store"].scalar(
        "SELECT land_mu FROM results WHERE run_id = ? AND uscc = ?", [run3, firm]
    )
    item = next(it for it in third.items if it["indicator"] == "tax_mu")
    assert item["value"] == pytest.approx(third.facts["tax_paid"] / land, rel=1e-9)


def test_the_written_sheet_shows_the_corrected_figure_marked_and_the_original_run_the_stored(
    world,
):
    run1, _, run3 = world["runs"]
    firm, tax, cids = world["firm"], world["tax"], world["cids"]
    out = world["base"] / "cli-sheets"
    corrected = _rows(write_enterprise_sheet(world["store"], run3, firm, out / "3"))
    row = _row(corrected, "实缴税金")
    assert row[1] == pytest.approx(tax + TAX_ADDED)
    assert row[5] == f"已更正：原值 {tax:,.2f}万元（异议 #{cids['tax_paid']} 已采纳，批次 {run1}）"
    assert _row(corrected, "工业增加值")[5].startswith("已更正：原值 ")
    assert "标注“已更正”的数据为采纳异议后的更正值" in _notes(corrected)
    # Figures nobody contested carry no mark.
    assert not str(_row(corrected, "年平均从业人员")[5]).startswith("已更正")

    original = _rows(write_enterprise_sheet(world["store"], run1, firm, out / "1"))
    row = _row(original, "实缴税金")
    assert row[1] == pytest.approx(tax)
    assert "已更正" not in str(row[5])
    assert "已更正" not in _notes(original)


def test_a_corrected_exemption_is_named_in_the_notes(world):
    _, run2, run3 = world["runs"]
    rows = _rows(write_enterprise_sheet(world["store"], run3, world["other"], world["base"] / "ex"))
    cid = world["cids"]["exemption"]
    assert f"已更正：豁免申请 予以豁免（异议 #{cid} 已采纳，批次 {run2}）。" in _notes(rows)


@pytest.fixture(scope="module")
def app(world):
    app = create_app(world["settings"], clock=FakeClock())
    yield app
    app.state.db.close()


def test_the_downloaded_sheet_of_the_rerun_shows_the_corrected_figure(world, app):
    run1, _, run3 = world["runs"]
    firm, tax = world["firm"], world["tax"]
    client = logged_in_client(app, "prov", PASSWORD)
    got = {}
    for run in (run1, run3):
        res = client.get(f"/firm/{firm}/sheet.xlsx", params={"run": run})
        assert res.status_code == 200, res.text[:300]
        got[run] = _row(_rows(res.content), "实缴税金")
    assert got[run3][1] == pytest.approx(tax + TAX_ADDED)
    assert got[run3][5].startswith(f"已更正：原值 {tax:,.2f}万元")
    assert got[run1][1] == pytest.approx(tax)
    assert "已更正" not in str(got[run1][5])


def test_the_confirmation_page_shows_the_runs_figure_with_the_mark(world, app):
    run1, run2, _ = world["runs"]
    firm, tax, cid = world["firm"], world["tax"], world["cids"]["tax_paid"]
    store = world["store"]
    fields = {
        f["field"]: f for f in firm_sheet(store, get_run(store, run2), firm, NOW.date())["fields"]
    }
    assert fields["tax_paid"]["value"] == pytest.approx(tax + TAX_ADDED)
    assert fields["tax_paid"]["correction"] == {
        "original": pytest.approx(tax),
        "confirmation_id": cid,
        "objection_run_id": run1,
    }
    assert fields["value_added"]["correction"] is None

    client = logged_in_client(app, "ent", PASSWORD)
    page = client.get("/confirm", params={"run": run2})
    assert page.status_code == 200
    assert f"已更正：原值 {tax:,.2f} 万元（异议 #{cid} 已采纳，批次 {run1}）" in page.text
    first = client.get("/confirm", params={"run": run1})
    assert first.status_code == 200 and "已更正" not in first.text
