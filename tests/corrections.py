"""An enterprise contests a figure of a run with evidence and the county analyst accepts it,
through the real workflow (for the tests of what a corrected run shows)."""

from __future__ import annotations

from datetime import datetime

from mujun.auth import Actor
from mujun.store import Store
from mujun.workflow.confirmations import file_answer, review_objection
from mujun.workflow.evidence import check_evidence

ANALYST = Actor("county", "county_analyst")
PDF = check_evidence("proof.pdf", b"%PDF-1.7\n%%EOF\n", 1000)


def accept_correction(
    store: Store, run: str, uscc: str, field: str, value: float | None, now: datetime
) -> int:
    """File the firm's objection to ``field`` of ``run`` (``value`` proposed) and accept it;
    return the objection's number."""
    filing = file_answer(
        store,
        run_id=run,
        uscc=uscc,
        field=field,
        contest=True,
        actor=Actor(uscc, "enterprise"),
        now=now,
        proposed_value=value,
        reason="数据有误",
        evidence=PDF,
    )
    review_objection(
        store, filing["confirmation_id"], accept=True, note="采纳", actor=ANALYST, now=now
    )
    return filing["confirmation_id"]
