"""Cases of low-efficiency firms: their status workflow, the yearly lists as read back, and the
summary of cases by status and land freed per year and region.

Status moves one way: identified (已认定) → plan_agreed (已定整治方案) → upgraded (提升) /
merged (兼并重组) / exited (腾退关停). Each move has a date, an actor and a note, and merged or
exited cases record the land freed (亩). A case whose firm the rules no longer hit shows as
upgraded by data (数据达标出列) until someone sets another status. Every move is one row in
``loweff_events`` and one entry in the audit log, in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime
from typing import Any

from mujun.auth.audit import Actor, record
from mujun.auth.roles import PROVINCE_CODE
from mujun.reference.divisions import division_name
from mujun.store import Store
from mujun.workflow.errors import WorkflowError
from mujun.workflow.runs import local_today

# code: (中文, English)
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "identified": ("已认定", "identified"),
    "plan_agreed": ("已定整治方案", "plan agreed"),
    "upgraded": ("提升达标", "upgraded"),
    "upgraded_by_data": ("数据达标出列", "upgraded by data"),
    "merged": ("兼并重组", "merged"),
    "exited": ("腾退关停", "exited"),
}
STATUSES = tuple(STATUS_LABELS)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "identified": ("plan_agreed",),
    "plan_agreed": ("upgraded", "merged", "exited"),
}
SETTABLE = ("plan_agreed", "upgraded", "merged", "exited")
FREES_LAND = ("merged", "exited")

# The status a case shows: the one set, or upgraded-by-data for an open case whose latest
# entry is no longer listed.
EFFECTIVE_STATUS_SQL = (
    "CASE WHEN c.status IN ('identified', 'plan_agreed') AND c.last_listed = FALSE "
    "THEN 'upgraded_by_data' ELSE c.status END"
)


def status_label(code: str | None, lang: str = "zh") -> str:
    """The status in words ('已认定' or 'identified')."""
    pair = STATUS_LABELS.get(code or "")
    return (pair[1] if lang == "en" else pair[0]) if pair else (code or "")


@dataclass(frozen=True)
class Transition:
    """A requested status change."""

    to: str
    on: Date
    note: str
    land_freed_mu: float | None = None


_CASE_COLUMNS = (
    "c.case_id, c.uscc, c.name, c.county_code, c.city_code, c.status, "
    f"{EFFECTIVE_STATUS_SQL} AS effective_status, c.status_date, c.land_freed_mu, c.land_mu, "
    "c.first_year, c.last_year, c.last_listed_year, c.last_listed"
)
_CASE_NAMES = [
    "case_id",
    "uscc",
    "name",
    "county_code",
    "city_code",
    "status",
    "effective_status",
    "status_date",
    "land_freed_mu",
    "land_mu",
    "first_year",
    "last_year",
    "last_listed_year",
    "last_listed",
]


def _not_found(case_id: int) -> WorkflowError:
    return WorkflowError("not-found", f"未找到低效企业案件 {case_id} / case {case_id} not found")


def get_case(store: Store, case_id: int) -> dict[str, Any]:
    """A case with its yearly entries and its events (not-found when there is none)."""
    rows = store.rows(f"SELECT {_CASE_COLUMNS} FROM loweff_cases c WHERE c.case_id = ?", [case_id])
    if not rows:
        raise _not_found(case_id)
    case = dict(zip(_CASE_NAMES, rows[0], strict=True))
    case["county_name"] = division_name(case["county_code"] or "") or case["county_code"]
    case["entries"] = [
        {
            "year": y,
            "listed": bool(listed),
            "list_id": lid,
            "run_id": run_id,
            "run_status": run_status,
            "rules_name": rules_name,
            "class": klass,
            "size": size,
            "land_mu": land,
            "total": total,
            "hits": hits.split(",") if hits else [],
            "hit_names": hit_names or "",
            "figures": json.loads(fig) if fig else {},
        }
        for (
            y,
            listed,
            lid,
            run_id,
            run_status,
            rules_name,
            klass,
            size,
            land,
            total,
            hits,
            hit_names,
            fig,
        ) in store.rows(
            'SELECT e.year, e.listed, e.list_id, l.run_id, r.status, l.rules_name, e."class", '
            "e.size, e.land_mu, e.total, e.hits, e.hit_names, e.figures::VARCHAR "
            "FROM loweff_entries e JOIN loweff_lists l USING (list_id) "
            "LEFT JOIN runs r ON r.run_id = l.run_id WHERE e.case_id = ? ORDER BY e.year",
            [case_id],
        )
    ]
    case["events"] = [
        dict(
            zip(
                (
                    "event_id",
                    "from_status",
                    "to_status",
                    "event_date",
                    "note",
                    "land_freed_mu",
                    "actor",
                    "role",
                    "recorded_at",
                ),
                r,
                strict=True,
            )
        )
        for r in store.rows(
            "SELECT event_id, from_status, to_status, event_date, note, land_freed_mu, actor, "
            "role, recorded_at FROM loweff_events WHERE case_id = ? ORDER BY event_id",
            [case_id],
        )
    ]
    return case


def _refuse(case: dict[str, Any], to: str) -> WorkflowError:
    now_zh, to_zh = status_label(case["status"]), status_label(to)
    allowed = TRANSITIONS.get(case["status"], ())
    if allowed:
        next_zh = "、".join(status_label(s) for s in allowed)
        next_en = ", ".join(allowed)
        zh = f"案件 {case['case_id']} 当前为「{now_zh}」，只能改为「{next_zh}」"
        en = f"case {case['case_id']} is {case['status']}; it can only become {next_en}"
    else:
        zh = f"案件 {case['case_id']} 已办结（{now_zh}），不能再改为「{to_zh}」"
        en = f"case {case['case_id']} is closed ({case['status']}); it cannot become {to}"
    return WorkflowError(
        "conflict",
        f"{zh} / {en}",
        "流程：已认定 → 已定整治方案 → 提升达标 / 兼并重组 / 腾退关停 "
        "(identified → plan_agreed → upgraded / merged / exited)",
    )


def change_status(
    store: Store, case_id: int, change: Transition, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    """Move a case to its next status; refused (with the allowed moves named) otherwise.
    Call from the store's one writer: the case, the event and the audit entry are one
    transaction."""
    case = get_case(store, case_id)
    problems = []
    if change.to not in SETTABLE:
        raise WorkflowError(
            "invalid",
            f"未知状态 {change.to!r} / unknown status; one of: {', '.join(SETTABLE)}",
        )
    if change.to not in TRANSITIONS.get(case["status"], ()):
        raise _refuse(case, change.to)
    note = (change.note or "").strip()
    if not note:
        problems.append("请填写说明 / a note is required")
    today = local_today(now)
    if change.on > today:
        problems.append(f"日期 {change.on} 晚于今天 {today} / the date is in the future")
    last = case["events"][-1]["event_date"] if case["events"] else None
    if last is not None and change.on < last:
        problems.append(
            f"日期 {change.on} 早于上一次状态变更 {last} / the date is before the last change"
        )
    first = case["first_year"]
    if first is not None and change.on.year < first:
        problems.append(
            f"日期 {change.on} 早于认定年度 {first} / the date is before the year identified"
        )
    land = change.land_freed_mu
    if change.to in FREES_LAND:
        if land is None:
            problems.append(
                f"「{status_label(change.to)}」须填写腾出土地面积（亩）/ {change.to} needs the "
                "land freed (mu)"
            )
        elif land < 0:
            problems.append(f"腾出土地 {land:g} 亩不能为负 / land freed cannot be negative")
        elif case["land_mu"] is not None and land > case["land_mu"] + 1e-6:
            problems.append(
                f"腾出土地 {land:g} 亩超过企业计亩面积 {case['land_mu']:.2f} 亩 / land freed "
                f"{land:g} exceeds the firm's land {case['land_mu']:.2f} mu"
            )
    elif land is not None:
        problems.append(
            f"只有兼并重组或腾退关停才填写腾出土地 / land freed only for merged or exited, not "
            f"{change.to}"
        )
    if problems:
        raise WorkflowError("invalid", "; ".join(problems))
    with store.transaction():
        event_id = int(store.scalar("SELECT nextval('loweff_event_id_seq')"))
        store.execute(
            "INSERT INTO loweff_events (event_id, case_id, from_status, to_status, event_date, "
            "note, land_freed_mu, actor, role, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                event_id,
                case_id,
                case["status"],
                change.to,
                change.on,
                note,
                land,
                actor.name,
                actor.role,
                now,
            ],
        )
        store.execute(
            "UPDATE loweff_cases SET status = ?, status_date = ?, land_freed_mu = ?, "
            "updated_at = ? WHERE case_id = ?",
            [change.to, change.on, land, now, case_id],
        )
        record(
            store,
            actor,
            now,
            "loweff.status",
            f"loweff-case:{case_id}",
            before={"status": case["status"], "effective_status": case["effective_status"]},
            after={
                "status": change.to,
                "date": change.on.isoformat(),
                "note": note,
                "land_freed_mu": land,
                "uscc": case["uscc"],
                "event_id": event_id,
            },
        )
    return get_case(store, case_id)


# -- lists as read back ------------------------------------------------------------------------


def visible_list_ids(store: Store, may_see_run) -> list[int]:
    """Lists whose run ``may_see_run(status, run_region)`` allows (the caller's scope rule)."""
    out = []
    for lid, status, params in store.rows(
        "SELECT l.list_id, coalesce(r.status, 'draft'), r.params::VARCHAR FROM loweff_lists l "
        "LEFT JOIN runs r USING (run_id) ORDER BY l.list_id"
    ):
        # The run's region, not the region screened: a draft is seen where the run is.
        region = (json.loads(params) if params else {}).get("region") or PROVINCE_CODE
        if may_see_run(status, region):
            out.append(int(lid))
    return out


def list_years(store: Store, cond: str, params: list, list_ids: list[int]) -> list[int]:
    """Years with entries visible under ``cond`` (on entries ``e``), newest first."""
    return [
        int(y)
        for (y,) in store.rows(
            f"SELECT DISTINCT e.year FROM loweff_entries e WHERE {cond} "
            "AND list_contains(?, e.list_id) ORDER BY 1 DESC",
            [*params, list_ids],
        )
    ]


@dataclass(frozen=True)
class EntryQuery:
    """Filters of a year's list."""

    year: int
    region: str | None = None  # a condition is built by the caller; kept for links
    status: str | None = None  # an effective status
    listed: bool | None = True  # True: on the list; False: followed (left it); None: both
    rule: str | None = None
    size: str | None = None
    q: str | None = None
    page: int = 1
    page_size: int = 50


ENTRY_COLUMNS = [
    "case_id",
    "year",
    "uscc",
    "name",
    "county_code",
    "city_code",
    "industry_code",
    "size",
    "klass",
    "land_mu",
    "total",
    "listed",
    "hits",
    "hit_names",
    "figures",
    "status",
    "effective_status",
    "status_date",
    "land_freed_mu",
    "first_year",
    "years_listed",
    "run_id",
]


def list_entries(
    store: Store,
    query: EntryQuery,
    cond: str,
    params: list,
    list_ids: list[int],
    *,
    everything: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """A year's entries under the caller's condition (on entries ``e``) and filters, with their
    cases; (matching rows, the requested page or every row)."""
    where = [cond, "e.year = ?", "list_contains(?, e.list_id)"]
    args: list[Any] = [*params, query.year, list_ids]
    if query.listed is not None:
        where.append("e.listed = ?")
        args.append(query.listed)
    if query.status:
        where.append(f"{EFFECTIVE_STATUS_SQL} = ?")
        args.append(query.status)
    if query.rule:
        where.append("list_contains(string_split(e.hits, ','), ?)")
        args.append(query.rule)
    if query.size:
        where.append("e.size = ?")
        args.append(query.size)
    if query.q:
        where.append("(e.uscc = upper(?) OR e.name LIKE '%' || ? || '%')")
        args += [query.q, query.q]
    sql_where = " AND ".join(where)
    base = (
        "FROM loweff_entries e JOIN loweff_cases c USING (case_id) "
        f"JOIN loweff_lists l ON l.list_id = e.list_id WHERE {sql_where}"
    )
    total = int(store.scalar(f"SELECT count(*) {base}", args))
    limit = (
        ""
        if everything
        else f"LIMIT {int(query.page_size)} OFFSET {int((query.page - 1) * query.page_size)}"
    )
    rows = store.rows(
        "SELECT c.case_id, e.year, e.uscc, e.name, e.county_code, e.city_code, e.industry_code, "
        'e.size, e."class", e.land_mu, e.total, e.listed, e.hits, e.hit_names, '
        f"e.figures::VARCHAR, c.status, {EFFECTIVE_STATUS_SQL}, c.status_date, c.land_freed_mu, "
        "c.first_year, (SELECT count(*) FROM loweff_entries x WHERE x.case_id = c.case_id "
        "AND x.listed), l.run_id "
        f"{base} ORDER BY e.county_code, e.uscc {limit}",
        args,
    )
    out = []
    for r in rows:
        row = dict(zip(ENTRY_COLUMNS, r, strict=True))
        row["figures"] = json.loads(row["figures"]) if row["figures"] else {}
        row["county_name"] = division_name(row["county_code"] or "") or row["county_code"]
        out.append(row)
    return total, out


def summarise(
    store: Store, cond: str, params: list, list_ids: list[int], region: str | None, year: int | None
) -> list[dict[str, Any]]:
    """Cases listed per year and area below ``region`` (its cities, or its counties, or the
    county itself), by current status, with the land freed; one row per year and area plus a
    total row per year (area None)."""
    from mujun.auth.scope import region_level

    level = region_level(region) if region else "province"
    area = {"province": "e.city_code", "city": "e.county_code", "county": "e.county_code"}[level]
    where = [cond, "e.listed", "list_contains(?, e.list_id)"]
    args: list[Any] = [*params, list_ids]
    if year is not None:
        where.append("e.year = ?")
        args.append(year)
    counts = ", ".join(
        f"count(*) FILTER (WHERE {EFFECTIVE_STATUS_SQL} = '{s}') AS {s}" for s in STATUSES
    )
    rows = store.rows(
        f"SELECT e.year, {area} AS area, count(*) AS cases, "
        "count(*) FILTER (WHERE c.first_year = e.year) AS new_cases, "
        f"{counts}, coalesce(sum(c.land_freed_mu), 0) AS land_freed_mu "
        "FROM loweff_entries e JOIN loweff_cases c USING (case_id) "
        f"WHERE {' AND '.join(where)} GROUP BY GROUPING SETS ((e.year, {area}), (e.year)) "
        "ORDER BY e.year DESC, area NULLS FIRST",
        args,
    )
    names = ["year", "area", "cases", "new_cases", *STATUSES, "land_freed_mu"]
    out = []
    for r in rows:
        row = dict(zip(names, r, strict=True))
        row["land_freed_mu"] = round(float(row["land_freed_mu"]), 4)
        row["area_name"] = division_name(row["area"]) if row["area"] else None
        out.append(row)
    return out
