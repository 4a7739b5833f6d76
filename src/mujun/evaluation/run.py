"""`evaluate`: run rule sets over a year's validated data and write an immutable draft run.

Each county is scored by its own rule set (a rules map) or all by one; results carry the run id
and the hash of the rules that made them. The same inputs and rules give byte-identical results.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mujun.errors import InputError
from mujun.evaluation.inputs import Firms, Overrides, load_firms
from mujun.evaluation.scoring import (
    Scored,
    previous_year_means,
    score_rules,
    uses_previous_year,
    without_previous_year,
)
from mujun.rules import RuleSet, rules_hash
from mujun.store import Store

SIZE_ZH = {"above": "规上", "below": "规下"}


@dataclass
class RunSummary:
    """What an evaluation produced, for printing."""

    run_id: str
    year: int
    firms: int
    by_status: dict[str, int] = field(default_factory=dict)
    by_class: list[tuple] = field(default_factory=list)  # (city, county, size, class, n)
    top: list[tuple] = field(default_factory=list)
    bottom: list[tuple] = field(default_factory=list)


def next_run_id(store: Store, year: int) -> str:
    """Sequential run id per data year: E2023-0001, E2023-0002, …"""
    n = store.scalar("SELECT count(*) FROM runs WHERE year = ? AND kind = 'evaluation'", [year])
    return f"E{year}-{int(n) + 1:04d}"


def _rules_for_counties(
    counties: np.ndarray, rules: RuleSet | None, rules_map: dict[str, RuleSet] | None
) -> dict[str, RuleSet]:
    if rules is not None:
        return dict.fromkeys(np.unique(counties.astype(str)).tolist(), rules)
    assert rules_map is not None
    out = {}
    for c in np.unique(counties.astype(str)).tolist():
        r = rules_map.get(c) or rules_map.get(c[:4] + "00") or rules_map.get("default")
        if r is None:
            raise InputError(
                f"the rules map gives no rule set for county {c or '(unknown)'}",
                "add the county or a `default` entry to the map",
            )
        out[c] = r
    return out


def evaluate(
    store: Store,
    year: int,
    *,
    rules: RuleSet | None = None,
    rules_map: dict[str, RuleSet] | None = None,
    region: str | None = None,
    params: dict | None = None,
    overrides: Overrides | None = None,
) -> RunSummary:
    """Score and classify every register firm of ``year`` (in ``region``) into a new draft run;
    ``overrides`` (accepted corrections) replace those firms' facts for this run only."""
    if (rules is None) == (rules_map is None):
        raise InputError("give exactly one of --rules and --rules-map")
    firms = load_firms(store, year, region, overrides)
    assignment = _rules_for_counties(firms["county_code"], rules, rules_map)
    # Group counties by rule set so one engine run covers all counties sharing rules.
    by_hash: dict[str, tuple[RuleSet, list[str]]] = {}
    for county, rs in assignment.items():
        by_hash.setdefault(rules_hash(rs), (rs, []))[1].append(county)
    run_id = next_run_id(store, year)
    scored: list[tuple[str, RuleSet, Scored]] = []
    previous_firms = None
    for h, (rs, counties) in sorted(by_hash.items()):
        idx = np.flatnonzero(np.isin(firms["county_code"].astype(str), counties))
        previous = None
        if uses_previous_year(rs):
            # k × last year's cohort mean: score last year's firms under the same rules first.
            if previous_firms is None:
                try:
                    previous_firms = load_firms(store, year - 1, region)
                except InputError as exc:
                    raise InputError(
                        f"the rules benchmark against {year - 1}, which has no validated data",
                        "ingest the previous year's files first",
                    ) from exc
            pidx = np.flatnonzero(np.isin(previous_firms["county_code"].astype(str), counties))
            plain = without_previous_year(rs)
            previous = previous_year_means(score_rules(previous_firms, plain, pidx, year - 1))
        scored.append((h, rs, score_rules(firms, rs, idx, year, previous)))
    with store.transaction():
        for h, rs, _ in scored:
            if not store.scalar("SELECT count(*) FROM rule_sets WHERE rules_hash = ?", [h]):
                store.execute(
                    "INSERT INTO rule_sets VALUES (?, ?, ?, ?, ?)",
                    [
                        h,
                        rs.name,
                        rs.version,
                        rs.region,
                        json.dumps(rs.model_dump(mode="json"), ensure_ascii=False, sort_keys=True),
                    ],
                )
        for county, rs in sorted(assignment.items()):
            store.execute(
                "INSERT INTO run_rules VALUES (?, ?, ?)", [run_id, county, rules_hash(rs)]
            )
        for h, rs, sc in scored:
            _write_results(store, run_id, firms, rs, h, sc)
        store.execute(
            "INSERT INTO runs VALUES (?, 'evaluation', ?, 'draft', now()::TIMESTAMP, ?, ?, ?, NULL)",
            [
                run_id,
                year,
                getpass.getuser(),
                scored[0][0] if len(scored) == 1 else "map:" + ",".join(h for h, _, _ in scored),
                json.dumps(
                    {
                        "region": region,
                        "data_year": year,
                        # A county that scores the previous calendar year evaluates in year + 1.
                        "evaluation_years": sorted(
                            {year + 1 if rs.score_previous_year else year for _, rs, _ in scored}
                        ),
                        **(params or {}),
                    },
                    ensure_ascii=False,
                ),
            ],
        )
        summary = summarise_run(store, run_id)
        store.execute(
            "UPDATE runs SET summary = ? WHERE run_id = ?",
            [json.dumps({"by_status": summary.by_status}, ensure_ascii=False), run_id],
        )
    return summary


def _class_names(rs: RuleSet, k: np.ndarray, attr: str) -> np.ndarray:
    names = np.array([getattr(c, attr) for c in rs.classes] + [""], dtype=object)
    return names[np.where(k >= 0, k, len(rs.classes))]


def _item_table(run_id: str, uscc: np.ndarray, codes: list[str], meta, it) -> pa.Table:
    """Long table firm × indicator, built with Arrow take/dictionary (no per-row Python)."""
    n, k = uscc.size, len(codes)
    firm = pc.take(pa.array(uscc, pa.string()), pa.array(np.repeat(np.arange(n), k)))
    ind = np.tile(np.arange(k, dtype=np.int32), n)

    def per_indicator(values: list) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(ind), pa.array(values, pa.string()))

    return pa.table(
        {
            "run_id": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n * k, dtype=np.int32)), pa.array([run_id])
            ).cast(pa.string()),
            "uscc": firm,
            "indicator": per_indicator(codes).cast(pa.string()),
            "name": per_indicator([meta[c].name for c in codes]).cast(pa.string()),
            "unit": per_indicator([meta[c].unit for c in codes]).cast(pa.string()),
            "value": pa.array(it["value"].ravel(), from_pandas=True),
            "benchmark": pa.array(it["benchmark"].ravel(), from_pandas=True),
            "score": pa.array(it["score"].ravel(), from_pandas=True),
            "weight": pa.array(np.tile(np.array([meta[c].weight for c in codes], float), n)),
            "imputed": pa.array(it["imputed"].ravel()),
        }
    )


def _write_results(
    store: Store, run_id: str, firms: Firms, rs: RuleSet, h: str, sc: Scored
) -> None:
    idx, c = sc.idx, sc.cols
    n = idx.size
    imputed = np.full(n, "", dtype=object)
    zeroed = np.full(n, "", dtype=object)
    item_tables = []
    for size, it in sc.items.items():
        codes = list(it["codes"])
        spec = rs.size_rules(size).composite  # type: ignore[union-attr]
        meta = {i.code: i for i in spec.indicators}
        rows = it["rows"]
        for j, code in enumerate(codes):
            imp = it["imputed"][:, j]
            imputed[rows[imp]] = imputed[rows[imp]] + (meta[code].name or code) + "；"
            zer = it["zeroed"][:, j]
            zeroed[rows[zer]] = zeroed[rows[zer]] + (meta[code].name or code) + "；"
        item_tables.append(_item_table(run_id, firms["uscc"][idx][rows], codes, meta, it))

    def txt(a: np.ndarray) -> pa.Array:
        return pa.array(a if a.dtype == object else a.astype(object), pa.string())

    def num(a: np.ndarray) -> pa.Array:
        return pa.array(a, pa.float64(), from_pandas=True)

    klass = c["klass"]
    table = pa.table(
        {
            "run_id": pa.array([run_id] * n),
            "year": pa.array(np.full(n, firms.year, dtype=np.int32)),
            "uscc": txt(firms["uscc"][idx]),
            "name": txt(firms["name"][idx]),
            "county_code": txt(firms["county_code"][idx]),
            "city_code": txt(firms["city_code"][idx]),
            "industry_code": txt(firms["industry_code"][idx]),
            "size": txt(c["size"]),
            "category": txt(c["category"]),
            "status": txt(c["status"]),
            "status_reason": txt(c["status_reason"]),
            "cohort": txt(c["cohort"]),
            "rules_hash": pa.array([h] * n),
            "land_mu": num(c["land_mu"]),
            "land_rule": txt(c["land_rule"]),
            "composite_total": num(c["composite_total"]),
            "bonus": num(c["bonus"]),
            "penalty": num(c["penalty"]),
            "total": num(c["total"]),
            "band_class": txt(_class_names(rs, c["band_class"], "code")),
            "class": txt(_class_names(rs, klass, "code")),
            "class_name": txt(_class_names(rs, klass, "name")),
            "rank": pa.array(c["rank"].astype(np.int32)),
            "cohort_size": pa.array(c["cohort_size"].astype(np.int32)),
            "percentile": num(c["percentile"]),
            "cap": txt(_class_names(rs, c["cap"], "code")),
            "floor": txt(_class_names(rs, c["floor"], "code")),
            "adjust_reason": txt(c["adjust_reason"]),
            "limit_reason": txt(c["limit_reason"]),
            "imputed": txt(imputed),
            "zeroed": txt(zeroed),
            "tenant_of": txt(c["tenant_of"]),
            "flags": txt(c["flags"]),
        }
    )
    # The reason text is built in SQL as the rows go in, not by a second pass over the table.
    store.con.register("_mujun_results", table)
    try:
        store.execute(
            f"INSERT INTO results BY NAME SELECT *, {REASONS_SQL} AS reasons FROM _mujun_results"
        )
    finally:
        store.con.unregister("_mujun_results")
    for t in item_tables:
        store.insert_arrow("result_items", t)


REASONS_SQL = """
concat_ws('；',
            CASE WHEN status <> 'evaluated' THEN
                CASE status WHEN 'provisional' THEN '暂评：' ELSE '不评：' END || status_reason
            WHEN class = '' THEN '无有效得分，未分类'
            ELSE (CASE size WHEN 'above' THEN '规上' ELSE '规下' END) || '企业在队列 ' || cohort
                 || ' 共' || cohort_size || '家中排名第' || rank || '（前'
                 || printf('%.1f', 100.0 * rank / cohort_size) || '%），得分' || printf('%.2f', total)
                 || '，按分档为' || band_class || '类'
                 || CASE WHEN class <> band_class THEN '，最终为' || class || '类' ELSE '' END
            END,
            nullif(rtrim(adjust_reason, '；'), ''),
            nullif(rtrim(limit_reason, '；'), ''),
            CASE WHEN imputed <> '' THEN '缺少数据、取队列平均得分：' || rtrim(imputed, '；') END,
            CASE WHEN zeroed <> '' THEN '缺少数据、按0分计：' || rtrim(zeroed, '；') END,
            CASE land_rule WHEN 'leased-parcel-share' THEN '用地按租赁面积计'
                           WHEN 'leased-floor-space' THEN '用地按租赁厂房面积折算'
                           WHEN 'own+leased' THEN '用地含自有与租赁'
                           WHEN 'none' THEN '无用地数据' END,
            CASE WHEN tenant_of <> '' THEN '与出租方 ' || tenant_of || ' 合并评价' END
        )
"""


def summarise_run(store: Store, run_id: str) -> RunSummary:
    """Class counts per city and county, and the top and bottom firms of a run."""
    year, firms = store.rows(
        "SELECT any_value(year), count(*) FROM results WHERE run_id = ?", [run_id]
    )[0]
    if firms == 0:
        raise InputError(f"run {run_id} not found", "list runs with `mujun runs`")
    s = RunSummary(run_id, int(year), int(firms))
    s.by_status = dict(
        store.rows(
            "SELECT status, count(*) FROM results WHERE run_id = ? GROUP BY 1 ORDER BY 1", [run_id]
        )
    )
    s.by_class = store.rows(
        "SELECT city_code, county_code, size, class, count(*) FROM results "
        "WHERE run_id = ? AND class <> '' GROUP BY ALL ORDER BY ALL",
        [run_id],
    )
    cols = "uscc, name, county_code, size, total, class, rank, cohort_size"
    s.top = store.rows(
        f"SELECT {cols} FROM results WHERE run_id = ? AND class <> '' "
        "ORDER BY total DESC, uscc LIMIT 5",
        [run_id],
    )
    s.bottom = store.rows(
        f"SELECT {cols} FROM results WHERE run_id = ? AND class <> '' "
        "ORDER BY total ASC, uscc LIMIT 5",
        [run_id],
    )
    return s
