"""Input and output models of the JSON API (stored models live in ``mujun.auth``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from mujun.auth.roles import ROLE_NAMES
from mujun.auth.users import User

# -- input -----------------------------------------------------------------------------------


class LoginIn(BaseModel):
    """Credentials for ``POST /login``."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class PasswordIn(BaseModel):
    """A password change by the user."""

    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


class UserIn(BaseModel):
    """A new account made by the system administrator."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64)
    role: str
    scope: str | None = None
    department: str | None = None
    uscc: str | None = None
    display_name: str | None = Field(None, max_length=200)


# -- output ----------------------------------------------------------------------------------


class UserOut(BaseModel):
    """An account as the API shows it (never the password hash)."""

    username: str
    display_name: str | None
    role: str
    role_name: str
    scope: str | None
    department: str | None
    uscc: str | None
    phone: str | None = Field(None, description="指定联系人手机（脱敏）/ designated phone, masked")
    must_change_password: bool
    disabled: bool
    locked_until: datetime | None
    password_changed_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        """Build from the stored account."""
        data = user.public()
        data["role_name"] = ROLE_NAMES[user.role]
        return cls.model_validate({k: data[k] for k in cls.model_fields})


class MeOut(BaseModel):
    """``GET /me``: the user, whether a password change is pending, and the CSRF token."""

    ok: bool = True
    user: UserOut
    password_change_required: str | None
    csrf_token: str


class LoginOut(MeOut):
    """A successful login."""


class CsrfOut(BaseModel):
    """A CSRF token to echo in the ``X-CSRF-Token`` header."""

    ok: bool = True
    csrf_token: str


class OkOut(BaseModel):
    """A plain acknowledgement."""

    ok: bool = True
    message: str | None = None


class CreatedUserOut(BaseModel):
    """A new account and its one-time initial password."""

    ok: bool = True
    user: UserOut
    initial_password: str


class UsersOut(BaseModel):
    """A list of accounts."""

    ok: bool = True
    users: list[UserOut]


class RunOut(BaseModel):
    """One evaluation run as the user may see it."""

    run_id: str
    kind: str
    year: int | None
    status: str
    region: str | None
    created_at: datetime
    rules_hash: str | None
    firms: int = Field(description="在您权限范围内的企业数 / firms of this run within your scope")


class RunsOut(BaseModel):
    """Runs visible to the user, newest first."""

    ok: bool = True
    runs: list[RunOut]


class RunDetailOut(BaseModel):
    """One run."""

    ok: bool = True
    run: RunOut


class ResultRow(BaseModel):
    """One firm's result in a list (confidential: carries tax-based scores)."""

    uscc: str
    name: str | None
    county_code: str | None
    county_name: str | None
    city_code: str | None
    industry_code: str | None
    size: str | None
    category: str | None
    status: str
    land_mu: float | None
    total: float | None
    klass: str | None = Field(serialization_alias="class")
    class_name: str | None
    rank: int | None
    cohort: str | None
    cohort_size: int | None
    percentile: float | None


class ResultsPage(BaseModel):
    """A page of results with the total count of matching firms."""

    ok: bool = True
    run_id: str
    total: int
    page: int
    page_size: int
    sort: str
    order: str
    rows: list[ResultRow]


class ResultItem(BaseModel):
    """One indicator of a firm's result."""

    indicator: str
    name: str | None
    unit: str | None
    value: float | None
    benchmark: float | None
    score: float | None
    weight: float | None
    imputed: bool | None


class FirmResultOut(BaseModel):
    """One firm in one run: the full results row and its indicator items."""

    ok: bool = True
    run_id: str
    result: dict[str, Any]
    items: list[ResultItem]


class DivisionNode(BaseModel):
    """A division with the divisions below it."""

    code: str
    name: str
    level: str
    children: list[DivisionNode] = []


class DivisionsOut(BaseModel):
    """The user's region tree."""

    ok: bool = True
    tree: DivisionNode


class AuditEntryOut(BaseModel):
    """One audit entry."""

    seq: int
    logged_at: datetime
    actor: str
    role: str | None
    action: str
    object: str | None
    result: str
    before: Any
    after: Any
    ip: str | None
    hash: str


class AuditPage(BaseModel):
    """A page of the audit log, newest first."""

    ok: bool = True
    total: int
    page: int
    page_size: int
    entries: list[AuditEntryOut]


class AuditVerifyOut(BaseModel):
    """The result of checking the hash chain."""

    ok: bool
    problems: list[str]
    head_seq: int | None
    head_hash: str | None


class FileOut(BaseModel):
    """A department file as ingested."""

    file_id: int
    year: int
    source: str | None
    name: str
    status: str
    rows_total: int | None
    rows_stored: int | None
    rows_quarantined: int | None
    ingested_at: datetime
    issues: int


class FilesOut(BaseModel):
    """Department files visible to the user."""

    ok: bool = True
    files: list[FileOut]


class IssueRow(BaseModel):
    """One validation issue of a file."""

    row_no: int | None
    column_name: str | None
    value: str | None
    code: str
    severity: str
    message: str
    uscc: str | None


class IssuesPage(BaseModel):
    """A page of a file's validation report."""

    ok: bool = True
    file_id: int
    total: int
    page: int
    page_size: int
    issues: list[IssueRow]


# -- errors ----------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    """The one error shape of the API (every 4xx and 5xx)."""

    ok: bool = Field(False, description="always false")
    error: str = Field(description="every message joined with '; ' (Chinese first)")
    errors: list[str] = Field(description="the messages one by one")
    status: int = Field(description="the HTTP status again")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the error shape for ``statuses``."""
    return {s: {"model": ErrorOut, "description": _ERROR_TEXT.get(s, "error")} for s in statuses}


_ERROR_TEXT = {
    400: "invalid request or refused input",
    401: "not logged in, or the session ended",
    403: "role or scope forbids it, CSRF token missing or wrong, or a password change is due",
    404: "unknown, or outside your scope",
    409: "not allowed in the current state",
    413: "file too large",
    415: "file of the wrong type",
    422: "parameters or body do not match the schema",
    429: "too many requests: wait the Retry-After seconds",
}
# Every router documents these; workflow routers add 409/413/415.
COMMON_ERRORS = error_responses(400, 401, 403, 404, 422)
WORKFLOW_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 415, 422)


def plain(data: Any) -> Any:
    """Workflow rows as JSON values (dates as ISO text, decimals as numbers), exactly as the
    API answered before it had typed models: the typed envelope then passes them unchanged."""
    return jsonable_encoder(data)


# -- workflow output (the rows come from ``mujun.workflow``; their columns are documented
# in docs/web.md, the envelopes are typed here) --------------------------------------------

Row = dict[str, Any]


class DiffOut(BaseModel):
    """Firms whose class differs between two runs (or that were corrected in one), with why."""

    run_a: str
    run_b: str
    total: int
    rows: list[Row] = Field(description="uscc, name, classes, totals and `why` per firm")


class PublicationActionOut(BaseModel):
    """A publication notice after publishing or finalising."""

    ok: bool = True
    publication: Row = Field(description="the notice: window, basis, contact, counts by class")


class PublicationOut(BaseModel):
    """A run's newest publication notice."""

    publication: Row = Field(description="the notice, with `window_open`")


class PublicationsOut(BaseModel):
    """Every notice of the runs you see, newest first."""

    total: int
    publications: list[Row]


class RoundOut(BaseModel):
    """A confirmation round just opened."""

    ok: bool = True
    round: Row


class SheetsOut(BaseModel):
    """An enterprise's sheets: every figure with unit, source, period and state."""

    uscc: str
    today: date
    sheets: list[Row]


class FilingOut(BaseModel):
    """An enterprise's answer (confirmation or objection) just filed."""

    ok: bool = True
    filing: Row


class ObjectionsOut(BaseModel):
    """Objections to a run from firms in your region."""

    run_id: str
    total: int
    objections: list[Row]


class ObjectionOut(BaseModel):
    """One objection."""

    objection: Row


class ReviewOut(BaseModel):
    """An objection after the analyst's decision."""

    ok: bool = True
    objection: Row


class RerunOut(BaseModel):
    """The new draft run evaluated with the accepted corrections."""

    ok: bool = True
    run_id: str
    base_run: str
    corrections: list[Row] = Field(description="the corrections applied, one per firm and field")


class UploadDoneOut(BaseModel):
    """An upload ingested and validated, with its report."""

    ok: bool = True
    upload_id: int
    status: str
    report: Row = Field(description="outcome per file, issue counts per department and code")


class UploadsOut(BaseModel):
    """Recent uploads you may see."""

    uploads: list[Row]


class UploadOut(BaseModel):
    """One upload's status and report."""

    upload: Row
