"""Cross-file validation of one data year, and the clean tables later stages read.

Runs after ingest (and again on demand): structure first (is every department's file there, is
there a register), then rows — duplicates within a file, matching to the register by credit code,
firms missing from a department that must report them, and plausibility against peers. It rebuilds
``enterprises``, ``facts`` (one row per register firm), ``land`` and ``events`` for the year and the
per-department ``match_report``. Re-running gives the same tables and issues.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from mujun.ingest.core import register_names, source_table
from mujun.ingest.profiles import SourceProfile
from mujun.ingest.suggest import RegisterIndex
from mujun.reference.divisions import city_of, division_status
from mujun.reference.industries import industry_division, traditional_industry_of
from mujun.store import PLAIN_STRINGS, Store

# Plausibility against peers, in decades (log10): see docs/ingest.md.
IMPLAUSIBLE_DECADES = 1.6
UNIT_MISMATCH_DECADES = 2.4
UNIT_FACTOR_TOLERANCE = 0.6
MIN_PEERS = 30
UNIT_FACTORS = {
    "×10000, e.g. 元 for 万元 or 千瓦时 for 万千瓦时": 4.0,
    "×1000, e.g. 元 for 千元 or 千克 for 吨": 3.0,
    "×666.67, 平方米 for 亩": math.log10(10000 / 15),
}

# Tables rebuilt per year by validation, in the order they are written.
DERIVED = ("enterprises", "facts", "land", "events")
# Near-unique strings of the derived tables, stored uncompressed (see mujun.store.PLAIN_STRINGS).
_PLAIN = frozenset({"uscc", "name", "parcel_id"})


@dataclass
class ValidationReport:
    """Counts per department and issue code for one year."""

    year: int
    counts: list[tuple] = field(default_factory=list)  # (source, code, severity, n)
    match: list[tuple] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """Number of error-level issues (ingest and validation) for the year."""
        return sum(n for _, _, sev, n in self.counts if sev == "error")


def _current_files(store: Store, year: int) -> dict[str, dict]:
    rows = store.rows(
        "SELECT source, file_id, name, sheet, columns FROM files "
        "WHERE year = ? AND status = 'current' ORDER BY file_id",
        [year],
    )
    return {
        r[0]: {"file_id": r[1], "name": r[2], "sheet": r[3], "columns": json.loads(r[4] or "{}")}
        for r in rows
    }


def _current_file_ids(store: Store, year: int) -> dict[str, list[int]]:
    rows = store.rows(
        "SELECT source, list(file_id ORDER BY file_id) FROM files "
        "WHERE year = ? AND status = 'current' AND source IS NOT NULL GROUP BY source",
        [year],
    )
    return {source: ids for source, ids in rows}


def _replace_year(store: Store, table: str, year: int, source: str | None = None) -> None:
    """Write temp table or view ``source`` (default ``t_<table>``) into ``table`` for ``year``
    (creating the table or adding columns)."""
    source = source or f"t_{table}"
    types = store.rows(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = 'temp' AND table_name = ? ORDER BY ordinal_position",
        [source],
    )
    columns = [
        f'"{name}" {dtype}{PLAIN_STRINGS if name in _PLAIN and dtype == "VARCHAR" else ""}'
        for name, dtype in types
    ]
    if not store.table_exists(table):
        store.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        store.execute(f"INSERT INTO {table} SELECT * FROM {source}")
        return
    have = set(store.table_columns(table))
    for (name, _), column in zip(types, columns, strict=True):
        if name not in have:
            store.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
    store.execute(f"DELETE FROM {table} WHERE year = ?", [year])
    store.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {source}")


def _write_year(store: Store, table: str, year: int, query: str) -> None:
    """Write the year's rows of ``table`` from ``query`` at once and make ``t_<table>`` a view
    over them: the rows are written once, and the later checks read a stored table, which both
    cores scan (a temporary one is a single row group). ``table`` must then not be rewritten
    from ``t_<table>`` (validate_year's loop skips the tables written this way)."""
    store.execute(f"CREATE OR REPLACE TEMP VIEW new_{table} AS {query}")
    _replace_year(store, table, year, f"new_{table}")
    store.execute(
        f"CREATE OR REPLACE TEMP VIEW t_{table} AS SELECT * FROM {table} WHERE year = {int(year)}"
    )


def validate_year(store: Store, year: int, profiles: dict[str, SourceProfile]) -> ValidationReport:
    """Run every cross-file check for ``year`` and rebuild its clean tables."""
    files = _current_files(store, year)
    with store.transaction():
        store.execute("DELETE FROM issues WHERE year = ? AND stage = 'validate'", [year])
        store.execute("DELETE FROM match_report WHERE year = ?", [year])
        _file_columns(store, files)
        issues: list[dict] = []
        _structure_checks(year, files, profiles, issues)
        file_ids = _current_file_ids(store, year)
        _mark_duplicates(store, profiles["register"], file_ids.get("register", []), matched=False)
        _build_enterprises(store, year)
        for source, prof in profiles.items():
            if source != "register":
                _mark_duplicates(store, prof, file_ids.get(source, []), matched=True)
        reg = _LazyRegister(store, year)
        for source, prof in profiles.items():
            if source == "register" or source not in files:
                continue
            _match_rows(store, year, prof, files[source], reg, issues)
        _missing_enterprises(store, year, profiles, files, issues)
        store.execute(
            "CREATE OR REPLACE TEMP TABLE flagged (source VARCHAR, file_id INTEGER, "
            "row_no INTEGER, field VARCHAR)"
        )
        _plausibility(store, year, profiles, files, issues)
        _dup_issues(store, year, profiles, files)
        if issues:
            store.insert_arrow("issues", pa.Table.from_pylist(issues))
        _build_facts(store, year, profiles, files)
        for table in DERIVED:
            if table not in ("enterprises", "land"):  # written by _write_year
                _replace_year(store, table, year)
        _match_report(store, year, profiles, files)
    return summarise(store, year)


def summarise(store: Store, year: int) -> ValidationReport:
    """Issue counts per department and code, and the match report, for ``year``."""
    report = ValidationReport(year)
    report.counts = store.rows(
        "SELECT coalesce(source, '-') AS source, code, severity, count(*) FROM issues i "
        "WHERE year = ? AND (stage = 'validate' OR file_id IN "
        "(SELECT file_id FROM files WHERE status IN ('current', 'rejected'))) "
        "GROUP BY ALL ORDER BY 1, 3, 2",
        [year],
    )
    report.match = store.rows(
        "SELECT source, file, rows_stored, firms, matched, unmatched, duplicate_rows, "
        "duplicate_keys, missing_enterprises, quarantined FROM match_report WHERE year = ? "
        "ORDER BY source",
        [year],
    )
    return report


def _file_columns(store: Store, files: dict[str, dict]) -> None:
    rows = [(info["file_id"], f, h) for info in files.values() for f, h in info["columns"].items()]
    store.execute(
        "CREATE OR REPLACE TEMP TABLE file_cols (file_id INTEGER, field VARCHAR, header VARCHAR)"
    )
    if rows:
        store.insert_arrow(
            "file_cols",
            pa.table(
                {
                    "file_id": pa.array([r[0] for r in rows], pa.int32()),
                    "field": [r[1] for r in rows],
                    "header": [r[2] for r in rows],
                }
            ),
        )


def _issue(year: int, source: str | None, code: str, severity: str, message: str, **kw) -> dict:
    base = {
        "year": year,
        "stage": "validate",
        "source": source,
        "file_id": None,
        "file": None,
        "sheet": None,
        "row_no": None,
        "column_name": None,
        "field": None,
        "value": None,
        "code": code,
        "severity": severity,
        "message": message,
        "uscc": None,
        "suggestion": None,
    }
    base.update(kw)
    return base


def _structure_checks(
    year: int, files: dict[str, dict], profiles: dict[str, SourceProfile], issues: list[dict]
) -> None:
    if "register" not in files:
        issues.append(
            _issue(
                year,
                "register",
                "missing-file",
                "error",
                f"no enterprise register for {year}: nothing can be matched / 缺少企业名录",
            )
        )
    for source, prof in profiles.items():
        if source not in files and prof.must_report != "none":
            issues.append(
                _issue(
                    year,
                    source,
                    "missing-file",
                    "warning",
                    f"no {prof.department} file ({prof.title}) for {year} / "
                    f"缺少{prof.department}数据文件",
                )
            )


def _cols(prof: SourceProfile, *, exclude: tuple[str, ...] = ()) -> list[str]:
    return [f for f in prof.fields if f not in exclude]


class _LazyRegister:
    """The register index for suggestions, read from the store only if a row needs it."""

    def __init__(self, store: Store, year: int) -> None:
        self.store, self.year = store, year
        self._index: RegisterIndex | None = None
        self._conflicted: dict[str, str] | None = None

    def suggest_many(self, codes: list, names: list) -> list[list[str]]:
        """Suggestions from :class:`RegisterIndex`, for many rows at once."""
        return self._get().suggest_many(codes, names)

    def describe(self, codes: list[str]) -> str | None:
        """Codes with names, for a message."""
        return self._get().describe(codes)

    def conflicted(self) -> dict[str, str]:
        """Codes whose register rows conflict, with those row numbers."""
        if self._conflicted is None:
            self._conflicted = dict(
                self.store.rows(
                    "SELECT uscc, string_agg(row_no::VARCHAR, ', ' ORDER BY row_no) "
                    "FROM cur_register WHERE conflict GROUP BY uscc"
                )
            )
        return self._conflicted

    def _get(self) -> RegisterIndex:
        if self._index is None:
            firms = self.store.arrow("SELECT uscc, name, file_id, row_no FROM t_enterprises")
            self._index = RegisterIndex.from_arrow(
                _with_normalised_names(self.store, self.year, firms)
            )
        return self._index


def _with_normalised_names(store: Store, year: int, firms: pa.Table) -> pa.Table:
    """``firms`` (register rows) with the normalised names computed at ingest, when every row
    is found there; otherwise as it is (the index then normalises the names itself)."""
    names = register_names(store, year)
    if names is None or names.num_rows == 0 or firms.num_rows == 0:
        return firms
    key = np.asarray(names.column("file_id"), dtype=np.int64) << 32 | np.asarray(
        names.column("row_no"), dtype=np.int64
    )
    want = np.asarray(firms.column("file_id"), dtype=np.int64) << 32 | np.asarray(
        firms.column("row_no"), dtype=np.int64
    )
    pos = np.minimum(np.searchsorted(key, want), len(key) - 1)
    if not (key[pos] == want).all():
        return firms
    take = pa.array(pos)
    return firms.append_column("norm", names.column("norm").take(take)).append_column(
        "core", names.column("core").take(take)
    )


def _mark_duplicates(
    store: Store, prof: SourceProfile, file_ids: list[int], *, matched: bool
) -> None:
    """Temp table ``cur_<id>``: the rows of the current files with copy_no (exact copies > 1),
    conflict flag and, with ``matched``, whether the firm is in the register (``_matched``) and
    its peer group for plausibility (``_grp``: size class, and tenure for land). Outside the
    register, the name (which only labels a row) is kept for unmatched rows alone.

    Window functions run only over the rows whose key occurs more than once, which in a clean
    file is none of them.
    """
    tenure = "|| '/' || coalesce(cur.tenure, '')" if "tenure" in prof.fields else ""
    extra = (
        f""", e.uscc IS NOT NULL AS _matched,
               coalesce(e.above_size::VARCHAR, 'unregistered') {tenure} AS _grp"""
        if matched
        else ""
    )
    join = "LEFT JOIN t_enterprises e ON e.uscc = cur.uscc" if matched else ""
    columns = "cur.*"
    if matched and "name" in prof.fields:
        columns = "cur.* REPLACE (CASE WHEN e.uscc IS NULL THEN cur.name END AS name)"
    table = source_table(prof)
    ids = ", ".join(str(int(f)) for f in file_ids)

    def in_files(alias: str) -> str:
        return f"{alias}.file_id IN ({ids})" if file_ids else "FALSE"

    part_cols = list(prof.key)
    if prof.account and prof.account not in part_cols:
        part_cols.append(prof.account)
    key = ", ".join(f'"{k}"' for k in part_cols)
    same_key = " AND ".join(f'c."{k}" IS NOT DISTINCT FROM dk."{k}"' for k in part_cols)
    # In the register the name is data; elsewhere it only labels the row.
    exclude = () if prof.id == "register" else ("name",)
    values = ", ".join(f'c."{c}"' for c in _cols(prof, exclude=exclude))
    name = 'c."name"' if "name" in prof.fields else "NULL::VARCHAR"
    # Rows of a `sum` source without an account number are separate accounts: never a conflict.
    conflict = f"min(rh) OVER (PARTITION BY {key}) <> max(rh) OVER (PARTITION BY {key})"
    if prof.duplicates == "sum" and prof.account and prof.account not in prof.key:
        conflict += f' AND "{prof.account}" IS NOT NULL'
    elif prof.duplicates == "sum" and len(prof.key) == 1:
        conflict = "FALSE"
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cur_{prof.id} AS
        WITH dk AS (
            SELECT {key} FROM "{table}" s WHERE {in_files("s")} GROUP BY ALL HAVING count(*) > 1
        ), d AS (
            SELECT file_id, row_no,
                row_number() OVER (PARTITION BY {key}, rh ORDER BY row_no) AS copy_no,
                min(row_no) OVER (PARTITION BY {key}, rh) AS first_row,
                first_value(_name) OVER (PARTITION BY {key}, rh ORDER BY row_no) AS first_name,
                _name,
                {conflict} AS conflict,
                count(*) OVER (PARTITION BY {key}) AS n_key
            FROM (
                SELECT c.*, hash({values}) AS rh, {name} AS _name
                FROM "{table}" c SEMI JOIN dk ON {same_key}
                WHERE {in_files("c")}
            )
        )
        SELECT {columns}, coalesce(d.copy_no, 1) AS copy_no,
               coalesce(d.first_row, cur.row_no) AS first_row,
               d.first_name IS DISTINCT FROM d._name AND d.copy_no > 1 AS name_differs,
               d.first_name,
               coalesce(d.conflict, FALSE) AS conflict, coalesce(d.n_key, 1) AS n_key {extra}
        FROM "{table}" cur LEFT JOIN d USING (file_id, row_no) {join}
        WHERE {in_files("cur")}
        """
    )


def _build_enterprises(store: Store, year: int) -> None:
    counties = [
        r[0]
        for r in store.rows(
            "SELECT DISTINCT county_code FROM cur_register WHERE county_code IS NOT NULL"
        )
    ]
    industries = [
        r[0]
        for r in store.rows(
            "SELECT DISTINCT industry_code FROM cur_register WHERE industry_code IS NOT NULL"
        )
    ]
    store.execute(
        "CREATE OR REPLACE TEMP TABLE map_county (code VARCHAR, city VARCHAR, status VARCHAR)"
    )
    store.execute(
        "CREATE OR REPLACE TEMP TABLE map_industry (code VARCHAR, division VARCHAR, "
        "traditional VARCHAR)"
    )
    if counties:
        store.insert_arrow(
            "map_county",
            pa.table(
                {
                    "code": counties,
                    "city": [city_of(c) for c in counties],
                    "status": [division_status(c, year) for c in counties],
                }
            ),
        )
    if industries:
        store.insert_arrow(
            "map_industry",
            pa.table(
                {
                    "code": industries,
                    "division": [industry_division(c) for c in industries],
                    "traditional": [traditional_industry_of(c) for c in industries],
                }
            ),
        )
    # Written first: the other checks read the year's firms from ``enterprises``.
    _write_year(
        store,
        "enterprises",
        year,
        f"""
        SELECT {int(year)}::INTEGER AS year, r.uscc, r.name, r.county_code, mc.city AS city_code,
               mc.status AS division_status, r.town, r.industry_code,
               mi.division AS industry_division, mi.traditional AS traditional_industry,
               r.above_size, r.established, r.contact_phone, r.file_id, r.row_no
        FROM cur_register r
        LEFT JOIN map_county mc ON mc.code = r.county_code
        LEFT JOIN map_industry mi ON mi.code = r.industry_code
        WHERE r.copy_no = 1 AND NOT r.conflict
        ORDER BY r.uscc
        """,
    )


def _header_of(info: dict, fld: str) -> str | None:
    return info["columns"].get(fld)


def _match_rows(
    store: Store,
    year: int,
    prof: SourceProfile,
    info: dict,
    reg: _LazyRegister,
    issues: list[dict],
) -> None:
    has_name = "name" in prof.fields
    rows = store.rows(
        f"""
        SELECT c.row_no, c.uscc, {"c.name" if has_name else "NULL"} FROM cur_{prof.id} c
        WHERE c.copy_no = 1 AND NOT c._matched ORDER BY c.row_no
        """
    )
    column = _header_of(info, "uscc")
    all_sugg = reg.suggest_many([r[1] for r in rows], [r[2] for r in rows]) if rows else []
    # A firm whose register rows conflict is in the register file but cannot be matched.
    conflicted = reg.conflicted()
    for (row_no, uscc, _name), sugg in zip(rows, all_sugg, strict=True):
        text = reg.describe(sugg)
        msg = "credit code is valid but not in the enterprise register / 信用代码不在企业名录中"
        if uscc in conflicted:
            msg = (
                f"the firm's register rows {conflicted[uscc]} conflict (duplicate-key), so it "
                "cannot be matched until the register is corrected / 名录中该企业存在冲突记录"
            )
        if text:
            msg += f"; did you mean / 是否为: {text}"
        issues.append(
            _issue(
                year,
                prof.id,
                "unknown-enterprise",
                "warning",
                msg,
                file_id=info["file_id"],
                file=info["name"],
                sheet=info["sheet"],
                row_no=row_no,
                column_name=column,
                field="uscc",
                value=uscc,
                uscc=uscc,
                suggestion=",".join(sugg) or None,
            )
        )


def _missing_enterprises(
    store: Store,
    year: int,
    profiles: dict[str, SourceProfile],
    files: dict[str, dict],
    issues: list[dict],
) -> None:
    """Register firms absent from a department file that must cover them; every department in
    one query."""
    wanted = [
        (source, prof)
        for source, prof in profiles.items()
        if source != "register" and source in files and prof.must_report != "none"
    ]
    if not wanted:
        return
    parts = []
    for k, (source, prof) in enumerate(wanted):
        cond = "AND e.above_size" if prof.must_report == "above_size" else ""
        parts.append(
            f"""
            SELECT {k} AS part, e.uscc, e.name FROM t_enterprises e
            WHERE NOT EXISTS (SELECT 1 FROM cur_{source} c WHERE c.uscc = e.uscc) {cond}
            """
        )
    rows = store.rows(
        "SELECT part, uscc, name FROM (" + " UNION ALL ".join(parts) + ") ORDER BY part, uscc"
    )
    # A row quarantined for a mistyped code often is the missing firm: say which row.
    fids = [int(files[source]["file_id"]) for source, _ in wanted]
    likely: dict[int, dict[str, list[str]]] = {fid: {} for fid in fids}
    for fid, row_no, sugg in store.rows(
        f"SELECT file_id, row_no, suggestion FROM issues WHERE file_id IN "
        f"({', '.join(map(str, fids))}) AND suggestion IS NOT NULL "
        "AND code IN ('bad-credit-code', 'mangled-credit-code') ORDER BY file_id, row_no"
    ):
        for code in sugg.split(","):
            likely[fid].setdefault(code, []).append(str(row_no))
    for part, uscc, name in rows:
        source, prof = wanted[part]
        info = files[source]
        scope = "above-size firms" if prof.must_report == "above_size" else "every register firm"
        hint = ""
        rows_of = likely[int(info["file_id"])].get(uscc)
        if rows_of:
            hint = (
                f"; probably row {', '.join(rows_of)}, quarantined for a mistyped "
                "credit code / 可能是信用代码填错的第" + "、".join(rows_of) + "行"
            )
        issues.append(
            _issue(
                year,
                prof.id,
                "missing-enterprise",
                "error",
                f"{name or uscc} is in the register but not in this {prof.department} file, "
                f"which must cover {scope} / 名录企业在{prof.department}数据中缺失{hint}",
                file_id=info["file_id"],
                file=info["name"],
                sheet=info["sheet"],
                uscc=uscc,
            )
        )


def _nearest_unit_factor(d: float) -> str | None:
    for label, f in UNIT_FACTORS.items():
        if abs(abs(d) - f) <= UNIT_FACTOR_TOLERANCE:
            return label
    return None


def _plausibility(
    store: Store,
    year: int,
    profiles: dict[str, SourceProfile],
    files: dict[str, dict],
    issues: list[dict],
) -> None:
    """Flag values far from the median of their peers: all quantities of every department in
    one query (one pass per file; DuckDB runs the files' passes in parallel)."""
    wanted = [
        (source, prof)
        for source, prof in profiles.items()
        if source in files and prof.numeric_fields
    ]
    if not wanted:
        return
    parts = []
    for k, (_, prof) in enumerate(wanted):
        fields = prof.numeric_fields
        cols = ", ".join(f'"{f}"::DOUBLE AS "{f}"' for f in fields)
        parts.append(
            f"""
            SELECT {k} AS part, * FROM (
                WITH v AS (
                    UNPIVOT (SELECT row_no, uscc, _grp, {cols} FROM cur_{prof.id}
                             WHERE copy_no = 1)
                    ON {", ".join(f'"{f}"' for f in fields)} INTO NAME field VALUE x
                ), p AS (
                    SELECT field, row_no, uscc, _grp, x, log10(x) AS lx FROM v WHERE x > 0
                ), m AS (
                    SELECT field, _grp, median(lx) AS med, count(*) AS n FROM p GROUP BY ALL
                )
                SELECT p.field, p.row_no, p.uscc, p.x, p.lx - m.med AS d,
                       power(10, m.med) AS med
                FROM p JOIN m USING (field, _grp)
                WHERE m.n >= {MIN_PEERS} AND abs(p.lx - m.med) >= {IMPLAUSIBLE_DECADES}
            )
            """
        )
    rows = store.rows(
        "SELECT * FROM (" + " UNION ALL ".join(parts) + ") ORDER BY part, field, row_no"
    )
    flagged: list[tuple] = []
    for part, fld, row_no, uscc, x, d, med in rows:
        source, prof = wanted[part]
        info = files[source]
        spec = prof.fields[fld]
        column = _header_of(info, fld)
        factor = _nearest_unit_factor(d) if abs(d) >= UNIT_MISMATCH_DECADES else None
        ratio = 10 ** abs(d)
        direction = "larger" if d > 0 else "smaller"
        common = dict(
            file_id=info["file_id"],
            file=info["name"],
            sheet=info["sheet"],
            row_no=row_no,
            column_name=column,
            field=fld,
            value=f"{x:.6g}",
            uscc=uscc,
        )
        if factor:
            issues.append(
                _issue(
                    year,
                    prof.id,
                    "unit-mismatch",
                    "error",
                    f"{x:.6g} {spec.unit} is {ratio:,.0f}× {direction} than the peer median "
                    f"{med:.4g}: looks like a unit error ({factor}); the value is not used / "
                    "疑似单位错误",
                    **common,
                )
            )
            flagged.append((prof.id, info["file_id"], row_no, fld))
        else:
            issues.append(
                _issue(
                    year,
                    prof.id,
                    "implausible-value",
                    "warning",
                    f"{x:.6g} {spec.unit} is {ratio:,.0f}× {direction} than the peer median "
                    f"{med:.4g}; please check / 数值异常，请核实",
                    **common,
                )
            )
    if flagged:
        cols_ = list(zip(*flagged, strict=True))
        store.insert_arrow(
            "flagged",
            pa.table(
                {
                    "source": pa.array(cols_[0], pa.string()),
                    "file_id": pa.array(cols_[1], pa.int32()),
                    "row_no": pa.array(cols_[2], pa.int32()),
                    "field": pa.array(cols_[3], pa.string()),
                }
            ),
        )


def _dup_issues(
    store: Store, year: int, profiles: dict[str, SourceProfile], files: dict[str, dict]
) -> None:
    """Duplicate rows and keys of every department, in one statement."""
    parts, params = [], []
    for source, prof in profiles.items():
        if source not in files:
            continue
        info = files[source]
        key_desc = " + ".join(prof.key)
        parts.append(
            f"""
            SELECT {len(parts)} AS part, ?::INTEGER AS year, 'validate' AS stage,
                   ?::VARCHAR AS source, c.file_id, ?::VARCHAR AS file, ?::VARCHAR AS sheet,
                   c.row_no, fc.header AS column_name, 'uscc' AS field, c.uscc AS value,
                   CASE WHEN c.copy_no > 1 THEN 'duplicate-row' ELSE 'duplicate-key' END AS code,
                   CASE WHEN c.copy_no > 1 THEN 'warning' ELSE 'error' END AS severity,
                   CASE WHEN c.copy_no > 1 AND c.name_differs
                        THEN 'same figures as row ' || c.first_row || ' but the name differs ('
                             || coalesce(c.first_name, '') || '); the copy is not used / 数据重复但名称不同'
                        WHEN c.copy_no > 1
                        THEN 'exact copy of row ' || c.first_row || '; the copy is not used / 重复行'
                        ELSE c.n_key || ' rows share {key_desc} with different values; none is used '
                             || 'until the file is corrected / 同一主键多行且数值不一致'
                   END AS message,
                   c.uscc, NULL::VARCHAR AS suggestion
            FROM cur_{prof.id} c
            LEFT JOIN file_cols fc ON fc.file_id = c.file_id AND fc.field = 'uscc'
            WHERE c.copy_no > 1 OR c.conflict
            """
        )
        params += [year, source, info["name"], info["sheet"]]
    if parts:
        store.execute(
            "INSERT INTO issues SELECT * EXCLUDE (part) FROM ("
            + " UNION ALL ".join(parts)
            + ") ORDER BY part, row_no",
            params,
        )


def _build_facts(
    store: Store, year: int, profiles: dict[str, SourceProfile], files: dict[str, dict]
) -> None:
    joins, selects = [], []
    for source, prof in profiles.items():
        if source in ("register", "land", "events") or not prof.numeric_fields:
            continue
        present = source in files
        for fld in prof.numeric_fields:
            if not present:
                selects.append(f'NULL::DOUBLE AS "{fld}"')
        if not present:
            selects.append(f"FALSE AS in_{source}")
            continue
        clean = ", ".join(
            f"""CASE WHEN fl_{fld}.row_no IS NULL THEN c."{fld}" END AS "{fld}" """
            for fld in prof.numeric_fields
        )
        flag_joins = " ".join(
            f"LEFT JOIN flagged fl_{fld} ON fl_{fld}.source = '{source}' AND "
            f"fl_{fld}.file_id = c.file_id AND fl_{fld}.row_no = c.row_no AND "
            f"fl_{fld}.field = '{fld}'"
            for fld in prof.numeric_fields
        )
        if prof.duplicates == "sum":
            aggs = ", ".join(
                f'CASE WHEN bool_or(conflict) OR count(*) > count("{f}") THEN NULL '
                f'ELSE sum("{f}") END AS "{f}"'
                for f in prof.numeric_fields
            )
        else:
            aggs = ", ".join(
                f'CASE WHEN bool_or(conflict) THEN NULL ELSE max("{f}") END AS "{f}"'
                for f in prof.numeric_fields
            )
        store.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE agg_{source} AS
            SELECT uscc, {aggs}, count(*) AS n_rows FROM (
                SELECT c.uscc, c.conflict, {clean} FROM cur_{source} c {flag_joins}
                WHERE c.copy_no = 1
            ) GROUP BY uscc
            """
        )
        joins.append(f"LEFT JOIN agg_{source} ON agg_{source}.uscc = e.uscc")
        for fld in prof.numeric_fields:
            selects.append(f'agg_{source}."{fld}"')
        selects.append(f"agg_{source}.uscc IS NOT NULL AS in_{source}")
        if prof.duplicates == "sum":
            selects.append(f"coalesce(agg_{source}.n_rows, 0) AS n_{source}_rows")
    # Land: parcels per firm, area in 亩 (unit-mismatch cells nulled), own vs leased.
    if "land" in files:
        _write_year(
            store,
            "land",
            year,
            f"""
            WITH c AS (
                SELECT * FROM cur_land
                WHERE copy_no = 1 AND uscc IN (SELECT uscc FROM t_enterprises)
            ), p AS (
                -- Parcels held by more than one firm (a grouping, cheaper than a window).
                SELECT parcel_id FROM c GROUP BY parcel_id HAVING count(*) > 1
            )
            SELECT {int(year)}::INTEGER AS year, c.uscc, c.parcel_id,
                   CASE WHEN fl.row_no IS NULL THEN c.area END AS area_mu,
                   c.tenure, c.lessor_uscc, c.lessor_name, c.floor_area, c.supply_date,
                   p.parcel_id IS NOT NULL OR (c.parcel_id IS NULL AND EXISTS (
                       SELECT 1 FROM p WHERE p.parcel_id IS NULL)) AS shared_parcel,
                   c.conflict, c.file_id, c.row_no
            FROM c
            LEFT JOIN p ON p.parcel_id = c.parcel_id
            LEFT JOIN flagged fl ON fl.source = 'land' AND fl.file_id = c.file_id
                 AND fl.row_no = c.row_no AND fl.field = 'area'
            ORDER BY c.uscc, c.parcel_id
            """,
        )
        store.execute(
            """
            CREATE OR REPLACE TEMP TABLE agg_land AS
            SELECT uscc,
                CASE WHEN bool_or(conflict) OR count(*) > count(area_mu) THEN NULL
                     ELSE sum(area_mu) FILTER (WHERE tenure = 'own') END AS land_own_mu,
                CASE WHEN bool_or(conflict) OR count(*) > count(area_mu) THEN NULL
                     ELSE sum(area_mu) FILTER (WHERE tenure = 'leased') END AS land_leased_mu,
                count(*) AS n_parcels
            FROM t_land GROUP BY uscc
            """
        )
        joins.append("LEFT JOIN agg_land ON agg_land.uscc = e.uscc")
        selects += [
            "coalesce(agg_land.land_own_mu, CASE WHEN agg_land.uscc IS NOT NULL AND "
            "agg_land.land_leased_mu IS NOT NULL THEN 0 END) AS land_own_mu",
            "agg_land.land_leased_mu",
            "coalesce(agg_land.n_parcels, 0) AS n_parcels",
            "agg_land.uscc IS NOT NULL AS in_land",
        ]
    else:
        _write_year(
            store,
            "land",
            year,
            f"SELECT {int(year)}::INTEGER AS year, "
            "NULL::VARCHAR AS uscc, NULL::VARCHAR AS parcel_id, NULL::DOUBLE AS area_mu, "
            "NULL::VARCHAR AS tenure, NULL::VARCHAR AS lessor_uscc, NULL::VARCHAR AS lessor_name, "
            "NULL::DOUBLE AS floor_area, NULL::DATE AS supply_date, NULL::BOOLEAN AS "
            "shared_parcel, NULL::BOOLEAN AS conflict, NULL::INTEGER AS file_id, "
            "NULL::INTEGER AS row_no LIMIT 0",
        )
        selects += [
            "NULL::DOUBLE AS land_own_mu",
            "NULL::DOUBLE AS land_leased_mu",
            "0 AS n_parcels",
            "FALSE AS in_land",
        ]
    if "events" in files:
        store.execute(
            """
            CREATE OR REPLACE TEMP TABLE t_events AS
            SELECT ?::INTEGER AS year, c.uscc, c.event, c.event_year, c.doc_no, c.detail,
                   c.file_id, c.row_no
            FROM cur_events c WHERE c.copy_no = 1 AND NOT c.conflict
              AND c.uscc IN (SELECT uscc FROM t_enterprises)
            ORDER BY c.uscc, c.event, c.doc_no
            """,
            [year],
        )
    else:
        store.execute(
            "CREATE OR REPLACE TEMP TABLE t_events AS SELECT ?::INTEGER AS year, "
            "NULL::VARCHAR AS uscc, NULL::VARCHAR AS event, NULL::DOUBLE AS event_year, "
            "NULL::VARCHAR AS doc_no, NULL::VARCHAR AS detail, NULL::INTEGER AS file_id, "
            "NULL::INTEGER AS row_no LIMIT 0",
            [year],
        )
    store.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW t_facts AS
        SELECT e.year, e.uscc, {", ".join(selects)}
        FROM t_enterprises e {" ".join(joins)}
        ORDER BY e.uscc
        """
    )


def _match_report(
    store: Store, year: int, profiles: dict[str, SourceProfile], files: dict[str, dict]
) -> None:
    """One row per department file, every department in one statement (DuckDB scans the
    departments' rows in parallel)."""
    parts, params = [], []
    for source in profiles:
        if source not in files:
            continue
        info = files[source]
        matched = "TRUE" if source == "register" else "c._matched"
        parts.append(
            f"""
            SELECT ?::INTEGER, ?::VARCHAR, ?::INTEGER, ?::VARCHAR, count(*),
                   count(DISTINCT c.uscc), count(DISTINCT c.uscc) FILTER (WHERE {matched}),
                   count(*) FILTER (WHERE NOT {matched} AND c.copy_no = 1),
                   count(*) FILTER (WHERE c.copy_no > 1),
                   count(*) FILTER (WHERE c.conflict AND c.copy_no = 1),
                   (SELECT count(*) FROM issues WHERE year = ? AND stage = 'validate'
                    AND source = ? AND code = 'missing-enterprise'),
                   (SELECT count(*) FROM quarantine q WHERE q.file_id = ?)
            FROM cur_{source} c
            """
        )
        params += [year, source, info["file_id"], info["name"], year, source, info["file_id"]]
    if parts:
        store.execute("INSERT INTO match_report " + " UNION ALL ".join(parts), params)
