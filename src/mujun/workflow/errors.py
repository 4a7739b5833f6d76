"""Errors of the workflow: each says what kind of refusal it is, so an interface can map it
(the web API to a 4xx status) without the domain knowing about HTTP."""

from __future__ import annotations

from mujun.errors import MujunError

# Kinds of refusal: the API maps them to 400, 403, 404, 409, 413 and 415.
KINDS = ("invalid", "forbidden", "not-found", "conflict", "too-large", "unsupported")


class WorkflowError(MujunError):
    """A workflow step that cannot be done as asked (a message Chinese first, then English)."""

    def __init__(self, kind: str, message: str, hint: str | None = None) -> None:
        assert kind in KINDS, kind
        super().__init__(message, hint)
        self.kind = kind
