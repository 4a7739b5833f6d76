"""The objection workflow as a library: answering rules, the review state machine, exemption
applications, and corrections carried through a chain of reruns."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from mujun.auth.audit import Actor
from mujun.store import open_store
from mujun.web.demo import build_demo_store
from mujun.workflow import WorkflowError
from mujun.workflow.confirmations import file_answer, open_round, review_objection
from mujun.workflow.evidence import check_evidence
from mujun.workflow.rerun import rerun_with_corrections, run_diff

NOW = datetime(2030, 1, 7, 2, 0)
ANALYST = Actor("county", "county_analyst")
PDF = check_evidence("proof.pdf", b"%PDF-1.7\n%%EOF\n", 1000)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A 300-firm province with one draft run (province-wide)."""
    base = tmp_path_factory.mktemp("corrections")
    run = build_demo_store(base / "c.duckdb", base / "data", enterprises=300)
    s = open_store(base / "c.duckdb")
    s.run = run
    yield s
    s.close()


def _firm(store, offset=0):
    return store.scalar(
        "SELECT uscc FROM results WHERE run_id = ? AND status = 'evaluated' AND land_mu > 0 "
        "ORDER BY uscc LIMIT 1 OFFSET ?",
        [store.run, offset],
    )


def _contest(store, run, uscc, field, value=None):
    firm = Actor(uscc, "enterprise")
    return file_answer(
        store,
        run_id=run,
        uscc=uscc,
        field=field,
        contest=True,
        actor=firm,
        now=NOW,
        proposed_value=value,
        reason="数据有误",
        evidence=PDF,
    )


def test_evidence_must_be_an_allowed_type_within_the_size_limit():
    assert check_evidence("a.PNG", b"\x89PNG\r\n\x1a\nxx", 100).content_type == "image/png"
    for name, data, kind in [
        ("a.exe", b"MZ", "unsupported"),
        ("a.docx", b"PK\x03\x04", "unsupported"),
        ("a.pdf", b"%PDF-" + b"x" * 200, "too-large"),
        ("a.jpg", b"%PDF-1.4", "invalid"),
    ]:
        with pytest.raises(WorkflowError) as err:
            check_evidence(name, data, 100)
        assert err.value.kind == kind, name


def test_a_contest_needs_a_reason_a_value_and_evidence_and_a_review_needs_a_note(store):
    run = store.run
    open_round(store, run, "sheet", closes_on=date(2030, 1, 20), actor=ANALYST, now=NOW)
    uscc = _firm(store)
    with pytest.raises(WorkflowError, match="correct value"):
        _contest(store, run, uscc, "tax_paid")
    with pytest.raises(WorkflowError, match="unknown field"):
        _contest(store, run, uscc, "password", 1)
    filing = _contest(store, run, uscc, "tax_paid", 12.5)
    with pytest.raises(WorkflowError, match="note"):
        review_objection(
            store, filing["confirmation_id"], accept=True, note=" ", actor=ANALYST, now=NOW
        )
    done = review_objection(
        store,
        filing["confirmation_id"],
        accept=False,
        note="与税务数据一致",
        actor=ANALYST,
        now=NOW,
    )
    assert done["status"] == "rejected" and done["accepted_value"] is None
    with pytest.raises(WorkflowError) as err:
        review_objection(
            store, filing["confirmation_id"], accept=True, note="改判", actor=ANALYST, now=NOW
        )
    assert err.value.kind == "conflict"
    # Past the round's closing date nothing more is accepted.
    late = datetime(2030, 1, 21, 2, 0)
    with pytest.raises(WorkflowError, match="closed on 2030-01-20; late answers"):
        file_answer(
            store,
            run_id=run,
            uscc=uscc,
            field="rd",
            contest=False,
            actor=Actor(uscc, "e"),
            now=late,
        )


def test_corrections_carry_through_a_chain_of_reruns_and_exemptions_apply(store):
    run = store.run
    a, b = _firm(store, 1), _firm(store, 2)
    if not store.scalar(
        "SELECT count(*) FROM confirmation_rounds WHERE run_id = ? AND stage = 'sheet'", [run]
    ):
        open_round(store, run, "sheet", closes_on=None, actor=ANALYST, now=NOW)
    land = store.scalar("SELECT land_mu FROM results WHERE run_id = ? AND uscc = ?", [run, a])
    first = _contest(store, run, a, "land_own_mu", land * 2)
    review_objection(
        store,
        first["confirmation_id"],
        accept=True,
        note="采纳",
        value=land * 3,
        actor=ANALYST,
        now=NOW,
    )
    second_run = rerun_with_corrections(store, run, actor=ANALYST, now=NOW)["run_id"]
    assert store.scalar(
        "SELECT land_mu FROM results WHERE run_id = ? AND uscc = ?", [second_run, a]
    ) == pytest.approx(land * 3)

    # The rerun is a draft; opened for confirmation, firm b's exemption application is accepted.
    open_round(store, second_run, "sheet", closes_on=None, actor=ANALYST, now=NOW)
    app = _contest(store, second_run, b, "exemption")
    assert app["proposed_value"] == 1.0 and app["original_value"] == 0.0
    review_objection(
        store, app["confirmation_id"], accept=True, note="批准豁免", actor=ANALYST, now=NOW
    )
    third_run = rerun_with_corrections(store, second_run, actor=ANALYST, now=NOW)["run_id"]
    rows = dict(
        store.rows(
            "SELECT uscc, status || ':' || coalesce(status_reason, '') FROM results "
            "WHERE run_id = ? AND uscc IN (?, ?)",
            [third_run, a, b],
        )
    )
    assert rows[b] == "not-evaluated:豁免申请已获批准"
    # Firm a's land correction is carried into the third run, with its first original value.
    assert store.rows(
        "SELECT uscc, field, value, base_run_id FROM overrides WHERE run_id = ? ORDER BY uscc",
        [third_run],
    ) == sorted([(a, "land_own_mu", land * 3, second_run), (b, "exemption", 1.0, second_run)])
    diff = {r["uscc"]: r for r in run_diff(store, second_run, third_run)}
    assert b in diff and "豁免申请" in diff[b]["why"] and a not in diff
