"""Identification: screen one run's results with a low-efficiency rule set into the year's list.

The list of a year holds one entry per firm: ``listed`` firms (a rule hit) with the rules that
hit and their figures, and ``followed`` firms — those with an open case that the rules no longer
hit, so the case shows the year it left the list. A firm still on the list in a later year keeps
its case; a firm whose case was closed (upgraded, merged, exited) opens a new one. Identifying a
year again replaces that year's entries for the region screened (cases keep their numbers; a case
made by the replaced list and never acted on disappears with it).

Everything is set-oriented SQL over ``results`` and ``result_items``; the rules become SQL
expressions built from validated numbers and codes only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mujun.auth.audit import Actor, record
from mujun.auth.roles import PROVINCE_CODE
from mujun.auth.scope import covers, region_condition
from mujun.errors import ConfigError, InputError
from mujun.loweff.rules import BUILTIN_INDICATORS, Condition, LowEffRuleSet, loweff_rules_hash
from mujun.store import Store

OPEN_STATUSES = ("identified", "plan_agreed")
# Figures kept with every entry besides those the rules read.
ALWAYS_FIGURES = ("tax_mu", "va_mu")
_OPS = {"below": "<", "at_most": "<=", "above": ">", "at_least": ">="}
_RUN_PREFERENCE = {"final": 0, "published": 1, "draft": 2}


@dataclass
class IdentifyReport:
    """What an identification produced."""

    list_id: int
    year: int
    run_id: str
    region: str
    rules_name: str
    rules_hash: str
    screened: int
    listed: int
    new_cases: int
    continuing: int
    left_list: int
    replaced: int
    by_rule: dict[str, int] = field(default_factory=dict)
    by_county: list[tuple[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (for the audit log and the API)."""
        return {
            "list_id": self.list_id,
            "year": self.year,
            "run_id": self.run_id,
            "region": self.region,
            "rules_name": self.rules_name,
            "rules_hash": self.rules_hash,
            "screened": self.screened,
            "listed": self.listed,
            "new_cases": self.new_cases,
            "continuing": self.continuing,
            "left_list": self.left_list,
            "replaced": self.replaced,
            "by_rule": self.by_rule,
            "by_county": [list(x) for x in self.by_county],
        }


def _run_region(params: str | None) -> str:
    data = json.loads(params) if params else {}
    return (data or {}).get("region") or PROVINCE_CODE


def choose_run(store: Store, year: int, run_id: str | None = None) -> tuple[str, str, str]:
    """(run id, status, region) of the run to screen: ``run_id`` when given, else the newest
    final run of the year, else the newest published one, else the newest draft."""
    rows = store.rows(
        "SELECT run_id, year, status, params::VARCHAR FROM runs WHERE kind = 'evaluation' "
        + ("AND run_id = ?" if run_id else "AND year = ?")
        + " ORDER BY created_at DESC, run_id DESC",
        [run_id or year],
    )
    if run_id and not rows:
        raise InputError(
            f"评价批次 {run_id} 不存在 / run {run_id} not found", "list runs: mujun runs"
        )
    if run_id:
        rid, run_year, status, params = rows[0]
        if int(run_year) != year:
            raise InputError(
                f"评价批次 {run_id} 是 {run_year} 年度的，不是 {year} 年度 / run {run_id} is of "
                f"{run_year}, not {year}"
            )
        return rid, status, _run_region(params)
    if not rows:
        raise InputError(
            f"{year} 年度没有评价批次 / no evaluation run for {year}",
            f"run `mujun evaluate --year {year} --rules …` first",
        )
    best = min(rows, key=lambda r: _RUN_PREFERENCE.get(r[2], 3))
    return best[0], best[2], _run_region(best[3])


def screen_region(rules_region: str, run_region: str) -> str:
    if covers(rules_region, run_region):
        return run_region
    if covers(run_region, rules_region):
        return rules_region
    raise InputError(
        f"规则适用地区 {rules_region} 与评价批次范围 {run_region} 不重叠 / the rules apply to "
        f"{rules_region}, outside the run's region {run_region}"
    )


def _column(code: str) -> str:
    return f'"{code}"'


def _condition_sql(cond: Condition) -> str:
    if cond.class_in is not None:
        codes = ", ".join("'" + c.replace("'", "''") + "'" for c in cond.class_in)
        test = f"klass IN ({codes})"
    else:
        assert cond.indicator is not None
        key = next(k for k in _OPS if getattr(cond, k) is not None)
        test = f"{_column(cond.indicator)} {_OPS[key]} {float(getattr(cond, key))!r}"
    return f"coalesce({test}, TRUE)" if cond.missing == "hit" else f"coalesce({test}, FALSE)"


def rule_sql(rules: LowEffRuleSet) -> list[tuple[str, str]]:
    """(rule code, SQL boolean expression) per rule, over the screened table's columns."""
    out = []
    for rule in rules.rules:
        sizes = ", ".join(f"'{s}'" for s in rule.sizes)
        parts = [f"size IN ({sizes})", *(_condition_sql(c) for c in rule.all)]
        out.append((rule.code, "(" + " AND ".join(parts) + ")"))
    return out


def check_indicators(rules: LowEffRuleSet, available: set[str], origin: str) -> None:
    """ConfigError naming the key path of every indicator the run does not offer."""
    problems = []
    for i, rule in enumerate(rules.rules):
        for j, cond in enumerate(rule.all):
            code = cond.indicator
            if code and code not in available and code not in BUILTIN_INDICATORS:
                problems.append(f"rules.{i}.all.{j}.indicator: unknown indicator {code!r}")
    if problems:
        known = ", ".join(sorted(available | set(BUILTIN_INDICATORS)))
        raise ConfigError(
            f"invalid low-efficiency rule set {origin}: " + "; ".join(problems),
            f"the run offers: {known}",
        )


def screened_sql(
    rules: LowEffRuleSet, available: set[str], region: str
) -> tuple[str, list[Any], list[str]]:
    """SQL selecting the screened firms of a run (parameter 1 and 2: the run id) with their
    figures, the codes of the rules that hit (``hits``) and whether the firm is listed."""
    used = rules.indicators()
    pivot = [c for c in (*used, *ALWAYS_FIGURES) if c not in BUILTIN_INDICATORS]
    if "energy_intensity" in used:
        pivot.append("va_energy")
    if "emission_intensity" in used:
        pivot.append("va_emissions")
    pivot = list(dict.fromkeys(pivot))
    pivot_cols = ",\n".join(
        f"max(value) FILTER (WHERE indicator = '{c}') AS {_column(c)}"
        if c in available
        else f"NULL::DOUBLE AS {_column(c)}"
        for c in pivot
    )

    def intensity(ratio: str) -> str:
        # energy ÷ value added from value added ÷ energy; no or negative value added = ∞.
        return (
            f"CASE WHEN iv.{ratio} > 0 THEN 1.0 / iv.{ratio} "
            f"WHEN iv.{ratio} IS NOT NULL THEN 'inf'::DOUBLE END"
        )

    figures = list(dict.fromkeys([*ALWAYS_FIGURES, *used, "land_mu"]))
    fig_sql = ", ".join(
        f"'{c}', CASE WHEN isfinite({_column(c)}) THEN round({_column(c)}, 6) END" for c in figures
    )
    rules_sql = rule_sql(rules)
    hit_cols = ", ".join(f"{expr} AS {_column('hit_' + code)}" for code, expr in rules_sql)
    hits = ", ".join(
        f"CASE WHEN {_column('hit_' + code)} THEN '{code}' END" for code, _ in rules_sql
    )
    labels = {r.code: r.name.replace("'", "''") for r in rules.rules}
    hit_names = ", ".join(
        f"CASE WHEN {_column('hit_' + code)} THEN '{labels[code]}' END" for code, _ in rules_sql
    )
    listed = (" OR " if rules.match == "any" else " AND ").join(
        _column("hit_" + code) for code, _ in rules_sql
    )
    reg_cond, reg_params = region_condition(region, "r")
    statuses = ", ".join(f"'{s}'" for s in rules.statuses)
    sql = f"""
        WITH iv AS (
            SELECT uscc, {pivot_cols} FROM result_items WHERE run_id = ? GROUP BY uscc
        ), f AS (
            SELECT r.uscc, r.name, r.county_code, r.city_code, r.industry_code, r.size,
                   r.status, r."class" AS klass, r.land_mu, r.total, r.percentile,
                   iv.* EXCLUDE (uscc),
                   {intensity("va_energy") if "energy_intensity" in used else "NULL::DOUBLE"}
                       AS energy_intensity,
                   {intensity("va_emissions") if "emission_intensity" in used else "NULL::DOUBLE"}
                       AS emission_intensity
            FROM results r LEFT JOIN iv USING (uscc)
            WHERE r.run_id = ? AND {reg_cond} AND r.status IN ({statuses})
        ), h AS (SELECT *, {hit_cols} FROM f)
        SELECT uscc, name, county_code, city_code, industry_code, size, klass, land_mu, total,
               concat_ws(',', {hits}) AS hits, concat_ws('；', {hit_names}) AS hit_names,
               ({listed}) AS listed,
               json_object({fig_sql})::VARCHAR AS figures
        FROM h
    """
    return sql, reg_params, [code for code, _ in rules_sql]


def identify(
    store: Store,
    year: int,
    rules: LowEffRuleSet,
    *,
    actor: Actor,
    now: datetime,
    run_id: str | None = None,
    origin: str = "(rules)",
) -> IdentifyReport:
    """Screen the year's run with ``rules`` into the year's list and follow the cases; audited."""
    rid, _status, run_region = choose_run(store, year, run_id)
    region = screen_region(rules.region, run_region)
    available = {
        r[0]
        for r in store.rows("SELECT DISTINCT indicator FROM result_items WHERE run_id = ?", [rid])
    }
    check_indicators(rules, available, origin)
    sql, reg_params, codes = screened_sql(rules, available, region)
    h = loweff_rules_hash(rules)
    ent_cond, ent_params = region_condition(region, "e")
    with store.transaction():
        list_id = int(store.scalar("SELECT nextval('loweff_list_id_seq')"))
        store.execute("DROP TABLE IF EXISTS _lw_screen")
        store.execute(f"CREATE TEMP TABLE _lw_screen AS {sql}", [rid, rid, *reg_params])
        screened = int(store.scalar("SELECT count(*) FROM _lw_screen"))
        # The firm's case: the one its entry of this year had (identifying again), else its
        # open case, else none yet (a new one for listed firms).
        store.execute("DROP TABLE IF EXISTS _lw_case")
        store.execute(
            f"""
            CREATE TEMP TABLE _lw_case AS
            SELECT s.uscc, s.listed,
                   coalesce(prev.case_id, op.case_id) AS case_id
            FROM _lw_screen s
            LEFT JOIN (SELECT uscc, case_id FROM loweff_entries e
                       WHERE e.year = ? AND {ent_cond}) prev USING (uscc)
            LEFT JOIN (SELECT uscc, max(case_id) AS case_id FROM loweff_cases
                       WHERE status IN ('identified', 'plan_agreed') GROUP BY uscc) op USING (uscc)
            """,
            [year, *ent_params],
        )
        replaced = int(
            store.scalar(
                f"SELECT count(*) FROM loweff_entries e WHERE e.year = ? AND {ent_cond}",
                [year, *ent_params],
            )
        )
        earlier = {
            int(r[0])
            for r in store.rows(
                "SELECT DISTINCT case_id FROM loweff_entries WHERE year < ? AND listed", [year]
            )
        }
        store.execute(
            f"DELETE FROM loweff_entries e WHERE e.year = ? AND {ent_cond}", [year, *ent_params]
        )
        # New cases for listed firms without one, numbered in credit-code order.
        base = int(store.scalar("SELECT coalesce(max(case_id), 0) FROM loweff_cases"))
        store.execute(
            """
            UPDATE _lw_case SET case_id = n.case_id FROM (
                SELECT uscc, ? + row_number() OVER (ORDER BY uscc) AS case_id
                FROM _lw_case WHERE listed AND case_id IS NULL) n
            WHERE _lw_case.uscc = n.uscc
            """,
            [base],
        )
        new_cases = int(
            store.scalar("SELECT count(*) FROM _lw_case WHERE case_id > ?", [base]) or 0
        )
        store.execute(
            """
            INSERT INTO loweff_cases (case_id, uscc, name, county_code, city_code, status,
                                      first_year, last_year, last_listed_year, last_listed,
                                      land_mu, created_at, updated_at)
            SELECT c.case_id, s.uscc, s.name, s.county_code, s.city_code, 'identified',
                   ?, ?, ?, TRUE, s.land_mu, ?, ?
            FROM _lw_case c JOIN _lw_screen s USING (uscc) WHERE c.case_id > ?
            """,
            [year, year, year, now, now, base],
        )
        store.execute(
            """
            INSERT INTO loweff_entries (year, uscc, case_id, list_id, listed, name, county_code,
                city_code, industry_code, size, "class", land_mu, total, hits, hit_names, figures)
            SELECT ?, s.uscc, c.case_id, ?, s.listed, s.name, s.county_code, s.city_code,
                   s.industry_code, s.size, s.klass, s.land_mu, s.total, s.hits, s.hit_names,
                   s.figures
            FROM _lw_screen s JOIN _lw_case c USING (uscc)
            WHERE c.case_id IS NOT NULL
            """,
            [year, list_id],
        )
        refresh_cases(store, now)
        counts = store.rows(
            "SELECT count(*) FILTER (WHERE listed), count(*) FILTER (WHERE NOT listed) "
            "FROM loweff_entries WHERE list_id = ?",
            [list_id],
        )[0]
        listed, left = int(counts[0]), int(counts[1])
        continuing = int(
            store.scalar(
                "SELECT count(*) FROM loweff_entries WHERE list_id = ? AND listed "
                "AND list_contains(?, case_id)",
                [list_id, sorted(earlier)],
            )
        )
        by_rule = {
            code: int(
                store.scalar(
                    "SELECT count(*) FROM _lw_screen WHERE list_contains(string_split(hits, ','), ?)",
                    [code],
                )
            )
            for code in codes
        }
        by_county = [
            (str(k), int(n))
            for k, n in store.rows(
                "SELECT county_code, count(*) FROM loweff_entries WHERE list_id = ? AND listed "
                "GROUP BY 1 ORDER BY 1",
                [list_id],
            )
        ]
        report = IdentifyReport(
            list_id=list_id,
            year=year,
            run_id=rid,
            region=region,
            rules_name=rules.name,
            rules_hash=h,
            screened=screened,
            listed=listed,
            new_cases=new_cases,
            continuing=continuing,
            left_list=left,
            replaced=replaced,
            by_rule=by_rule,
            by_county=by_county,
        )
        store.execute(
            "INSERT INTO loweff_lists (list_id, year, run_id, region, rules_hash, rules_name, "
            "rules_body, summary, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                list_id,
                year,
                rid,
                region,
                h,
                rules.name,
                json.dumps(rules.model_dump(mode="json"), ensure_ascii=False, sort_keys=True),
                json.dumps(report.as_dict(), ensure_ascii=False),
                now,
                actor.name,
            ],
        )
        store.execute("DROP TABLE _lw_screen")
        store.execute("DROP TABLE _lw_case")
        record(
            store,
            actor,
            now,
            "loweff.identify",
            f"loweff-list:{list_id}",
            before={"replaced_entries": replaced} if replaced else None,
            after={k: v for k, v in report.as_dict().items() if k != "by_county"},
        )
    return report


def refresh_cases(store: Store, now: datetime) -> None:
    """Recompute each case's years from its entries; drop cases left without entries that no
    one acted on (made by a list that was replaced)."""
    store.execute(
        """
        DELETE FROM loweff_cases c
        WHERE NOT EXISTS (SELECT 1 FROM loweff_entries e WHERE e.case_id = c.case_id)
          AND NOT EXISTS (SELECT 1 FROM loweff_events v WHERE v.case_id = c.case_id)
        """
    )
    store.execute(
        """
        UPDATE loweff_cases SET
            first_year = a.first_year, last_year = a.last_year,
            last_listed_year = a.last_listed_year, last_listed = a.last_listed,
            name = a.name, county_code = a.county_code, city_code = a.city_code,
            land_mu = a.land_mu, updated_at = ?
        FROM (
            SELECT case_id,
                   min(year) FILTER (WHERE listed) AS first_year,
                   max(year) AS last_year,
                   max(year) FILTER (WHERE listed) AS last_listed_year,
                   arg_max(listed, year) AS last_listed,
                   arg_max(name, year) AS name,
                   arg_max(county_code, year) AS county_code,
                   arg_max(city_code, year) AS city_code,
                   arg_max(land_mu, year) FILTER (WHERE listed) AS land_mu
            FROM loweff_entries GROUP BY case_id
        ) a
        WHERE loweff_cases.case_id = a.case_id
          AND (loweff_cases.first_year IS DISTINCT FROM a.first_year
               OR loweff_cases.last_year IS DISTINCT FROM a.last_year
               OR loweff_cases.last_listed_year IS DISTINCT FROM a.last_listed_year
               OR loweff_cases.last_listed IS DISTINCT FROM a.last_listed
               OR loweff_cases.land_mu IS DISTINCT FROM a.land_mu)
        """,
        [now],
    )
