"""The policy ledger of a run: each lever applied to each classed firm for the year, in the store.

Quantities come from the facts the run was evaluated with (the run's accepted corrections replace
the stored facts, as in the evaluation); consecutive years in the same class come from earlier
PUBLISHED runs (status published or final) — drafts never count. ``apply_policy`` writes one
application (run × policy set); re-applying the same policy set replaces its rows.
"""

from __future__ import annotations

import getpass
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter

from mujun.errors import InputError
from mujun.policy.engine import M2_PER_MU, compute_ledger, consecutive_years
from mujun.policy.spec import PolicySet, policy_hash
from mujun.store import Store

PUBLISHED = ("published", "final")
# How many earlier years are searched for consecutive years in the same class.
MAX_LOOKBACK = 10
FACT_COLUMNS = (
    "land_own_mu", "land_leased_mu", "electricity", "water", "energy", "cod", "ammonia", "so2",
    "nox",
)  # fmt: skip


@dataclass
class PolicyInputs:
    """The classed firms of a run with the quantities the levers read (sorted by credit code)."""

    run_id: str
    year: int
    table: pa.Table  # uscc, name, county_code, city_code, industry_code, size, class + QUANTITIES
    previous: list[np.ndarray] = field(default_factory=list)  # last year's classes first
    previous_runs: list[str] = field(default_factory=list)

    def consecutive(self, classes: np.ndarray | None = None) -> np.ndarray:
        """Years in a row in ``classes`` (default: the run's classes) per firm."""
        if classes is None:
            classes = np.asarray(self.table.column("class").to_pylist(), dtype=object)
        return consecutive_years(classes, self.previous)


def _run_year(store: Store, run_id: str) -> int:
    rows = store.rows("SELECT year, kind FROM runs WHERE run_id = ?", [run_id])
    if not rows or rows[0][1] != "evaluation":
        raise InputError(f"run {run_id} not found", "list runs in the web app or with the API")
    return int(rows[0][0])


def _quantities(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Canonical lever quantities from fact columns (land in 亩 → m²)."""
    em = np.stack([raw[k] for k in ("cod", "ammonia", "so2", "nox")])
    return {
        "own_land_m2": raw["land_own_mu"] * M2_PER_MU,
        "leased_land_m2": raw["land_leased_mu"] * M2_PER_MU,
        "electricity_kwh": raw["electricity"],
        "water_m3": raw["water"],
        "energy_tce": raw["energy"],
        "emissions_t": np.where(np.isnan(em).all(axis=0), np.nan, np.nansum(em, axis=0)),
    }


def load_policy_inputs(store: Store, run_id: str) -> PolicyInputs:
    """The run's classed firms, their quantities and their classes in earlier published runs."""
    year = _run_year(store, run_id)
    have = set(store.table_columns("facts")) if store.table_exists("facts") else set()
    facts = ", ".join(
        f"f.{c}::DOUBLE AS {c}" if c in have else f"NULL::DOUBLE AS {c}" for c in FACT_COLUMNS
    )
    join = (
        "LEFT JOIN facts f ON f.year = r.year AND f.uscc = r.uscc"
        if have
        else "LEFT JOIN (SELECT NULL::VARCHAR AS uscc) f ON FALSE"
    )
    t = store.arrow(
        f"SELECT r.uscc, r.name, r.county_code, r.city_code, r.industry_code, r.size, "
        f'r."class", {facts} FROM results r {join} '
        "WHERE r.run_id = ? AND r.\"class\" <> '' ORDER BY r.uscc",
        [run_id],
    )
    uscc = np.asarray(t.column("uscc").to_pylist(), dtype=str)
    raw = {c: t.column(c).to_numpy(zero_copy_only=False).astype(float) for c in FACT_COLUMNS}
    # The run's own corrected facts (overrides) replace the stored ones, as in its evaluation.
    if store.table_exists("overrides"):
        for code, fld, value in store.rows(
            "SELECT uscc, field, value FROM overrides WHERE run_id = ? ORDER BY uscc, field",
            [run_id],
        ):
            pos = int(np.searchsorted(uscc, code))
            if fld in raw and pos < uscc.size and uscc[pos] == code:
                raw[fld][pos] = np.nan if value is None else float(value)
    q = _quantities(raw)
    table = t.drop_columns(list(FACT_COLUMNS))
    for name, values in q.items():
        table = table.append_column(name, pa.array(values, from_pandas=True))
    previous, runs = _previous_classes(store, year, uscc)
    return PolicyInputs(run_id, year, table, previous, runs)


def _previous_classes(
    store: Store, year: int, uscc: np.ndarray
) -> tuple[list[np.ndarray], list[str]]:
    """Each firm's class in the newest published run of each of the previous years."""
    t = store.arrow(
        """
        SELECT r.year, r.uscc, r."class", r.run_id FROM results r
        JOIN runs u ON u.run_id = r.run_id
        WHERE u.kind = 'evaluation' AND u.status IN ('published', 'final')
          AND r.year < ? AND r.year >= ?
        QUALIFY row_number() OVER (
            PARTITION BY r.year, r.uscc ORDER BY u.created_at DESC, r.run_id DESC) = 1
        ORDER BY r.year DESC, r.uscc
        """,
        [year, year - MAX_LOOKBACK],
    )
    years = t.column("year").to_numpy() if t.num_rows else np.zeros(0, dtype=int)
    codes = np.asarray(t.column("uscc").to_pylist(), dtype=str)
    classes = np.asarray(t.column("class").to_pylist(), dtype=object)
    runs = sorted(set(t.column("run_id").to_pylist()))
    out = []
    for y in range(year - 1, year - MAX_LOOKBACK - 1, -1):
        m = years == y
        prev = np.full(uscc.size, "", dtype=object)
        if m.any() and uscc.size:
            c, k = codes[m], classes[m]
            pos = np.clip(np.searchsorted(c, uscc), 0, c.size - 1)
            hit = c[pos] == uscc
            prev[hit] = k[pos[hit]]
        out.append(prev)
    while out and not (out[-1] != "").any():  # drop empty years at the far end
        out.pop()
    return out, runs


def build_ledger(inputs: PolicyInputs, policy: PolicySet) -> pa.Table:
    """The ledger rows of a run under ``policy`` (not written), with the firms' identity."""
    t = inputs.table
    ledger = compute_ledger(policy, t, consecutive=inputs.consecutive())
    rows = ledger.column("row")
    meta = {
        c: pc.take(t.column(c), rows)
        for c in ("name", "county_code", "city_code", "industry_code", "size")
    }
    n = ledger.num_rows
    out = ledger.drop_columns(["row"])
    out = out.add_column(0, "period", pa.array([str(inputs.year)] * n, pa.string()))
    out = out.add_column(0, "year", pa.array(np.full(n, inputs.year, dtype=np.int32)))
    out = out.add_column(0, "run_id", pa.array([inputs.run_id] * n, pa.string()))
    for i, (name, col) in enumerate(meta.items()):
        out = out.add_column(5 + i, name, col)
    return out


def apply_policy(
    store: Store, run_id: str, policy: PolicySet, *, applied_by: str | None = None
) -> dict[str, Any]:
    """Compute and write the run's ledger under ``policy``; return the application summary."""
    inputs = load_policy_inputs(store, run_id)
    ledger = build_ledger(inputs, policy)
    h = policy_hash(policy)
    ledger = ledger.add_column(1, "policy_hash", pa.array([h] * ledger.num_rows, pa.string()))
    firms = inputs.table.num_rows
    with store.transaction():
        if not store.scalar("SELECT count(*) FROM policy_sets WHERE policy_hash = ?", [h]):
            store.execute(
                "INSERT INTO policy_sets VALUES (?, ?, ?, ?, ?)",
                [
                    h,
                    policy.name,
                    policy.version,
                    policy.region,
                    json.dumps(policy.model_dump(mode="json"), ensure_ascii=False, sort_keys=True),
                ],
            )
        store.execute("DELETE FROM policy_ledger WHERE run_id = ? AND policy_hash = ?", [run_id, h])
        store.execute(
            "DELETE FROM policy_applications WHERE run_id = ? AND policy_hash = ?", [run_id, h]
        )
        store.insert_arrow("policy_ledger", ledger)
        store.execute(
            "INSERT INTO policy_applications VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                h,
                inputs.year,
                datetime.now().replace(microsecond=0),
                applied_by or getpass.getuser(),
                firms,
                ledger.num_rows,
                json.dumps(inputs.previous_runs),
            ],
        )
    return {
        "run_id": run_id,
        "policy_hash": h,
        "policy": policy.name,
        "year": inputs.year,
        "firms": firms,
        "rows": ledger.num_rows,
        "previous_runs": inputs.previous_runs,
        "unknown_classes": sorted(policy.class_codes() - set(_run_classes(store, run_id))),
    }


def _run_classes(store: Store, run_id: str) -> list[str]:
    return [
        r[0]
        for r in store.rows(
            'SELECT DISTINCT "class" FROM results WHERE run_id = ? AND "class" <> \'\'', [run_id]
        )
    ]


def latest_application(store: Store, run_id: str) -> dict[str, Any] | None:
    """The newest policy application of a run (None when no policy was applied)."""
    if not store.table_exists("policy_applications"):
        return None
    rows = store.rows(
        "SELECT a.policy_hash, s.name, s.version, a.year, a.applied_at, a.applied_by, a.firms, "
        "a.ledger_rows FROM policy_applications a JOIN policy_sets s USING (policy_hash) "
        "WHERE a.run_id = ? ORDER BY a.applied_at DESC, a.policy_hash LIMIT 1",
        [run_id],
    )
    if not rows:
        return None
    keys = ("policy_hash", "name", "version", "year", "applied_at", "applied_by", "firms", "rows")
    return dict(zip(keys, rows[0], strict=True))


def ledger_totals(
    store: Store,
    run_ids: list[str],
    *,
    by: str = "county_code",
    where: str = "TRUE",
    params: list | None = None,
) -> list[dict[str, Any]]:
    """Totals of the newest application of each run, per area (``by``: county_code, city_code
    or '' for all), class and lever: firms, amount in 万元, physical amount."""
    if not run_ids:
        return []
    if by not in ("county_code", "city_code", ""):
        raise InputError(f"cannot total by {by!r}")
    area = by or "''"
    latest = _latest_hashes(store, run_ids)
    if not latest:
        return []
    pairs = " OR ".join("(run_id = ? AND policy_hash = ?)" for _ in latest)
    args = [v for pair in latest for v in pair]
    return store.arrow(
        f"""
        SELECT {area} AS area, "class", lever, any_value(lever_name) AS lever_name,
               any_value(kind) AS kind, count(*) AS firms,
               count(*) FILTER (WHERE amount IS NULL AND kind <> 'measure') AS not_computed,
               sum(amount_wan) AS amount_wan, sum(amount) AS amount,
               any_value(amount_unit) AS amount_unit
        FROM policy_ledger WHERE ({pairs}) AND {where}
        GROUP BY ALL ORDER BY area, "class", lever
        """,
        [*args, *(params or [])],
    ).to_pylist()


def _latest_hashes(store: Store, run_ids: list[str]) -> list[tuple[str, str]]:
    out = []
    for run_id in run_ids:
        app = latest_application(store, run_id)
        if app is not None:
            out.append((run_id, app["policy_hash"]))
    return out


def ledger_rows(
    store: Store,
    run_id: str,
    *,
    where: str = "TRUE",
    params: list | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Rows of the run's newest application (filtered by ``where``), ordered by firm and lever."""
    app = latest_application(store, run_id)
    if app is None:
        return 0, []
    base = f"FROM policy_ledger WHERE run_id = ? AND policy_hash = ? AND {where}"
    args = [run_id, app["policy_hash"], *(params or [])]
    total = int(store.scalar(f"SELECT count(*) {base}", args))
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = store.arrow(
        f"SELECT * EXCLUDE (policy_hash) {base} ORDER BY county_code, uscc, lever{page}", args
    ).to_pylist()
    return total, rows


LEDGER_HEADERS = (
    ("uscc", "统一社会信用代码", 22, True),
    ("name", "企业名称", 30, False),
    ("county_code", "区县代码", 10, True),
    ("industry_code", "行业代码", 10, True),
    ("period", "期间", 8, True),
    ("class", "分类", 6, False),
    ("consecutive_years", "连续年数", 8, False),
    ("lever_name", "政策", 16, False),
    ("base_quantity", "基数", 14, False),
    ("base_unit", "基数单位", 10, False),
    ("rate", "标准", 10, False),
    ("rate_unit", "标准单位", 14, False),
    ("amount", "数量", 12, False),
    ("amount_unit", "数量单位", 8, False),
    ("amount_wan", "金额（万元，+缴纳/−减免）", 16, False),
    ("rule", "适用规则", 60, False),
)
TOTAL_HEADERS = (
    ("area", "地区代码", 10, True),
    ("class", "分类", 6, False),
    ("lever_name", "政策", 16, False),
    ("firms", "企业数", 8, False),
    ("not_computed", "缺数据未计算", 12, False),
    ("amount_wan", "金额（万元）", 14, False),
    ("amount", "数量", 14, False),
    ("amount_unit", "单位", 8, False),
)


def write_ledger_workbook(
    out: Path | BinaryIO, ledger: list[dict[str, Any]], totals: list[dict[str, Any]], title: str
) -> None:
    """An Excel workbook: totals by area and class, then the ledger; codes written as text."""
    wb = xlsxwriter.Workbook(out if isinstance(out, io.IOBase) else str(out), {"in_memory": True})
    head = wb.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    text = wb.add_format({"num_format": "@"})
    money = wb.add_format({"num_format": "#,##0.0000"})
    for sheet, headers, rows in (("汇总", TOTAL_HEADERS, totals), ("台账", LEDGER_HEADERS, ledger)):
        ws = wb.add_worksheet(sheet)
        ws.write_string(0, 0, title)
        for c, (_, label, width, is_text) in enumerate(headers):
            ws.set_column(c, c, width, text if is_text else None)
            ws.write_string(1, c, label, head)
        for r, row in enumerate(rows, start=2):
            for c, (key, _, _, is_text) in enumerate(headers):
                v = row.get(key)
                if v is None or (isinstance(v, float) and np.isnan(v)):
                    continue
                if is_text or isinstance(v, str):
                    ws.write_string(r, c, str(v), text if is_text else None)
                else:
                    ws.write_number(r, c, v, money if key.startswith("amount") else None)
        ws.freeze_panes(2, 0)
    wb.close()
