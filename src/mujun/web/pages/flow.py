"""What the workflow pages share: workflow refusals shown on the page, the analyst's region and
the runs it may act on, objections in scope, and masking of personal data.

The pages call the domain functions of :mod:`mujun.workflow` through the one writer, as the JSON
API does, with the same scope rules (:mod:`mujun.web.workflow_scope`, shared with the API).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from mujun.auth.roles import REGION_ROLES
from mujun.store import Store
from mujun.web import workflow_scope as scope
from mujun.web.errors import HttpError, forbidden
from mujun.web.pages.common import Viewer
from mujun.web.workflow_scope import STATUS_OF_KIND
from mujun.workflow import WorkflowError
from mujun.workflow.runs import RunRef

RUN_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")


class PageRefusal(Exception):
    """A workflow step refused: the page shows the message with the matching status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Turn a :class:`WorkflowError` into a :class:`PageRefusal` (message and hint)."""
    try:
        yield
    except WorkflowError as exc:
        message = exc.message + (f"（{exc.hint}）" if exc.hint else "")
        raise PageRefusal(STATUS_OF_KIND[exc.kind], message) from None


def valid_run_id(run_id: str | None) -> str | None:
    """``run_id`` when it looks like a run id (else None)."""
    if run_id and len(run_id) <= 64 and set(run_id) <= RUN_ID_CHARS:
        return run_id
    return None


def require_analyst(viewer: Viewer) -> None:
    """403 for roles other than the province administrator and the analysts."""
    if viewer.user.role not in REGION_ROLES:
        raise forbidden("您的角色无权办理该事项 / your role may not do this")


def may_act_on(viewer: Viewer, run_region: str) -> bool:
    """Whether the analyst's region covers the run's region (publish, finalise, rerun)."""
    return scope.may_act_on(viewer.user, run_region)


def acting_run(store: Store, viewer: Viewer, run_id: str) -> RunRef:
    """A run the analyst may act on: an analyst's role (else 403), visible (else 404) and
    inside its region (else 403)."""
    require_analyst(viewer)
    return scope.acting_run(store, viewer.user, run_id)


def filing_in_scope(store: Store, viewer: Viewer, filing_id: int) -> dict[str, Any]:
    """An objection whose firm lies in the analyst's region (404 otherwise)."""
    require_analyst(viewer)
    return scope.filing_in_scope(store, viewer.user, filing_id)


def parse_id(text: str) -> int:
    """A positive id from a path segment (404 for anything else)."""
    if not text.isdigit() or not 1 <= int(text) < 2**31:
        raise HttpError(404, "未找到 / not found")
    return int(text)


def mask_name(name: str | None) -> str:
    """A person's name with all but the first character hidden: 张** ."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_code(code: str | None) -> str:
    """A credit code or phone with its middle hidden: 9133************1X ."""
    if not code:
        return ""
    if len(code) <= 6:
        return code[0] + "*" * (len(code) - 1)
    return code[:4] + "*" * (len(code) - 6) + code[-2:]
