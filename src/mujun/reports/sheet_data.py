"""What a one-firm sheet (一企一单) shows, gathered for a whole batch in a handful of queries.

A county batch runs the same eight queries whether it holds one firm or five thousand: results,
items, facts, the run's accepted corrections, parcels, the cohort class minima for the gap to the
next class, the year's files, and the rule sets. Nothing is queried per firm.

The figures are those the run was evaluated on: the stored facts with the run's corrections
(``overrides``) applied (:func:`run_facts`, shared with the confirmation pages).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mujun.reports.common import RuleInfo, RunInfo, departments, rules_of
from mujun.store import Store


@dataclass(frozen=True)
class Figure:
    """A source figure shown on the sheet: the facts column, label, unit, source profile, format."""

    field: str
    label: str
    unit: str
    source: str
    num_format: str


FIGURES = (
    Figure("tax_paid", "实缴税金", "万元", "tax", "#,##0.00"),
    Figure("value_added", "工业增加值", "万元", "stats", "#,##0.00"),
    Figure("revenue", "主营业务收入", "万元", "stats", "#,##0.00"),
    Figure("employees", "年平均从业人员", "人", "stats", "#,##0"),
    Figure("energy", "综合能耗", "吨标煤", "stats", "#,##0.00"),
    Figure("rd", "R&D经费支出", "万元", "stats", "#,##0.00"),
    Figure("electricity", "用电量", "千瓦时", "power", "#,##0"),
    Figure("cod", "化学需氧量（COD）", "吨", "env", "#,##0.0000"),
    Figure("ammonia", "氨氮", "吨", "env", "#,##0.0000"),
    Figure("so2", "二氧化硫", "吨", "env", "#,##0.0000"),
    Figure("nox", "氮氧化物", "吨", "env", "#,##0.0000"),
    Figure("water", "年用水量", "立方米", "water", "#,##0"),
    Figure("land_own_mu", "自有土地面积", "亩", "land", "#,##0.00"),
    Figure("land_leased_mu", "租赁土地面积", "亩", "land", "#,##0.00"),
)

RESULT_FIELDS = (
    "uscc", "name", "county_code", "industry_code", "size", "category", "status",
    "status_reason", "cohort", "rules_hash", "land_mu", "land_rule", "composite_total", "bonus",
    "penalty", "total", "band_class", "class", "class_name", "rank", "cohort_size", "percentile",
    "adjust_reason", "limit_reason", "tenant_of", "reasons",
)  # fmt: skip
ITEM_FIELDS = ("indicator", "name", "unit", "value", "benchmark", "score", "weight", "imputed")
PARCEL_FIELDS = ("parcel_id", "area_mu", "tenure", "lessor_uscc", "lessor_name", "supply_date")


@dataclass(frozen=True)
class Correction:
    """An accepted correction a run was evaluated with: the corrected value (None clears the
    fact), the stored value it replaced, and the objection behind it with the run it was filed
    on (an earlier run of the chain for a correction carried through several reruns)."""

    field: str
    value: float | None
    original: float | None
    confirmation_id: int
    objection_run_id: str


@dataclass
class RunFacts:
    """One firm's facts record as a run used it, and the corrections applied to it."""

    values: dict = field(default_factory=dict)
    corrections: dict[str, Correction] = field(default_factory=dict)


def run_facts(
    store: Store, run_id: str, year: int, firms_sql: str, params: list
) -> dict[str, RunFacts]:
    """Each firm's facts as run ``run_id`` used them: the stored ``facts`` row of ``year`` with
    the run's accepted corrections (``overrides``) in place, for firms whose credit code
    satisfies ``firms_sql`` (a condition on ``uscc``). Two queries whatever the number of firms.

    A firm with a correction but no facts row gets a record of its corrections only; the
    exemption pseudo-field appears in ``values`` only when corrected.
    """
    out: dict[str, RunFacts] = {}
    cur = store.con.execute(
        f"SELECT * FROM facts WHERE year = ? AND ({firms_sql})", [year, *params]
    )
    names = [d[0] for d in cur.description]
    for row in cur.fetchall():
        record = dict(zip(names, row, strict=True))
        out[record["uscc"]] = RunFacts(record)
    for uscc, fld, value, original, cid, filed_on in store.rows(
        "SELECT o.uscc, o.field, o.value, o.original_value, o.confirmation_id, "
        "coalesce(c.run_id, o.base_run_id) FROM (SELECT * FROM overrides WHERE run_id = ? "
        f"AND ({firms_sql})) o LEFT JOIN confirmations c USING (confirmation_id) "
        "ORDER BY o.uscc, o.field",
        [run_id, *params],
    ):
        firm = out.setdefault(uscc, RunFacts({"uscc": uscc}))
        firm.values[fld] = value
        firm.corrections[fld] = Correction(fld, value, original, cid, filed_on)
    return out


@dataclass(frozen=True)
class Gap:
    """Distance to the nearest better class held by a firm of the same cohort."""

    klass: str
    class_name: str
    lowest_total: float
    points: float


@dataclass
class FirmSheet:
    """Everything one firm's sheet shows."""

    result: dict
    rules: RuleInfo
    town: str | None = None
    established: object = None
    items: list[dict] = field(default_factory=list)
    parcels: list[dict] = field(default_factory=list)
    facts: dict = field(default_factory=dict)  # as the run used them: corrections applied
    corrections: dict[str, Correction] = field(default_factory=dict)
    gap: Gap | None = None


@dataclass
class SheetBatch:
    """Firms of one batch plus what is shared: the run, the sources delivered, department names."""

    run: RunInfo
    firms: list[FirmSheet]
    sources: set[str]
    data_changed_after_run: bool
    departments: dict[str, str]


def gather_sheets(store: Store, run: RunInfo, where: str, params: list) -> SheetBatch:
    """Gather sheets for the run's firms matching ``where`` (a condition on results ``r``)."""
    scope = f"r.run_id = ? AND ({where})"
    args = [run.run_id, *params]
    rows = store.rows(
        f"SELECT {', '.join('r.' + c for c in RESULT_FIELDS)}, e.town, e.established "
        "FROM results r LEFT JOIN (SELECT uscc, min(town) AS town, min(established) AS "
        "established FROM enterprises WHERE year = ? GROUP BY uscc) e USING (uscc) "
        f"WHERE {scope} ORDER BY r.uscc",
        [run.year, *args],
    )
    rule_cache: dict[str, RuleInfo] = {}
    firms: dict[str, FirmSheet] = {}
    for row in rows:
        result = dict(zip(RESULT_FIELDS, row[: len(RESULT_FIELDS)], strict=True))
        h = result["rules_hash"]
        if h not in rule_cache:
            rule_cache[h] = rules_of(store, h)
        firms[result["uscc"]] = FirmSheet(result, rule_cache[h], row[-2], row[-1])

    for row in store.rows(
        f"SELECT i.uscc, {', '.join('i.' + c for c in ITEM_FIELDS)} FROM result_items i "
        f"JOIN results r ON r.run_id = i.run_id AND r.uscc = i.uscc WHERE {scope}",
        args,
    ):
        firms[row[0]].items.append(dict(zip(ITEM_FIELDS, row[1:], strict=True)))
    for f in firms.values():
        # Rule order, not storage order: the sheet lists indicators as the rule set does.
        order = [c for c, _, _ in f.rules.indicators.get(f.result["size"], ())]
        f.items.sort(
            key=lambda it: order.index(it["indicator"]) if it["indicator"] in order else 99
        )

    in_batch = f"SELECT r.uscc FROM results r WHERE {scope}"
    for row in store.rows(
        f"SELECT uscc, {', '.join(PARCEL_FIELDS)} FROM land WHERE year = ? AND uscc IN "
        f"({in_batch}) ORDER BY uscc, tenure DESC, parcel_id, row_no",
        [run.year, *args],
    ):
        firms[row[0]].parcels.append(dict(zip(PARCEL_FIELDS, row[1:], strict=True)))

    for uscc, facts in run_facts(
        store, run.run_id, run.year, f"uscc IN ({in_batch})", args
    ).items():
        firms[uscc].facts, firms[uscc].corrections = facts.values, facts.corrections

    _attach_gaps(store, run, list(firms.values()), scope, args)
    sources = {
        r[0]
        for r in store.rows(
            "SELECT DISTINCT source FROM files WHERE year = ? AND status = 'current'", [run.year]
        )
    }
    changed = bool(
        store.scalar(
            "SELECT count(*) FROM files WHERE year = ? AND status = 'current' AND ingested_at > ?",
            [run.year, run.created_at],
        )
    )
    return SheetBatch(run, list(firms.values()), sources, changed, departments())


def _attach_gaps(store: Store, run: RunInfo, firms: list[FirmSheet], scope: str, args) -> None:
    """Gap to the next class: the lowest total among the cohort's firms of the nearest better
    class, minus the firm's own total (one query for every cohort of the batch)."""
    lowest = {
        (cohort, klass): low
        for cohort, klass, low in store.rows(
            "SELECT cohort, class, min(total) FROM results WHERE run_id = ? AND class <> '' "
            "AND total IS NOT NULL AND cohort IN "
            f"(SELECT DISTINCT r.cohort FROM results r WHERE {scope}) GROUP BY ALL",
            [run.run_id, *args],
        )
    }
    for f in firms:
        f.gap = next_class_gap(f.result, f.rules, lowest)


def next_class_gap(
    result: dict, rules: RuleInfo, lowest: dict[tuple[str, str], float]
) -> Gap | None:
    """The gap for one firm, or None when it is unclassed, already best or took another's class."""
    klass, total = result["class"], result["total"]
    # A tenant that takes its landlord's class did not earn it by its own score: no gap to show.
    if not klass or total is None or result["tenant_of"]:
        return None
    pos = rules.class_order(klass)
    # Walk upwards: a class nobody in the cohort holds (an empty C−) is skipped.
    for code, name in reversed(rules.classes[:pos]):
        low = lowest.get((result["cohort"], code))
        if low is not None:
            return Gap(code, name, low, round(low - total, 6))
    return None
