"""Ingest one year's department files into the store, idempotently per department × year slot.

For each file: read every sheet, recognise the source profile, find the header, skip and record
blank/totals/note rows, parse cells into canonical units, quarantine rows with unusable keys and
record every problem in ``issues``. Row accounting holds for every sheet:
``rows_read = rows_stored + rows_quarantined + rows_skipped``.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mujun.errors import InputError
from mujun.ingest import cells
from mujun.ingest.columns import SQL_TYPES, parse_block
from mujun.ingest.header import Header, find_header
from mujun.ingest.profiles import SourceProfile
from mujun.ingest.reader import SUPPORTED_SUFFIXES, Grid, UnreadableFile, file_sha256, read_grids
from mujun.ingest.suggest import RegisterIndex, core_names, normalise_names
from mujun.ingest.units import unit_factor
from mujun.store import PLAIN_STRINGS, Store

# Totals and sub-totals: 合计, 合计（40户）, 全县合计, 其中：出口企业, 小计 …
_TOTALS = r"^(全[省市县区镇]?合\s*计|总\s*计|合\s*计|小\s*计|共\s*计|总合计|其中|TOTAL)"
_NOTES = (
    r"^(注|说明|备注|填表|填报人|制表|审核|负责人|单位负责人|统计负责人|联系人|联系电话|"
    r"电话|数据来源|报送日期|填报日期)"
)
_YEAR_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(?!\d)")

Progress = Callable[[str], None]
READ_THREADS = 2


@dataclass
class FileOutcome:
    """What happened to one file (or sheet) in an ingest."""

    path: str
    status: str  # ingested | unchanged | replaced | rejected | skipped
    source: str | None = None
    sheet: str | None = None
    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    issues: int = 0
    message: str = ""


@dataclass
class IngestReport:
    """Outcome of ``ingest_directory``."""

    year: int
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Data rows read over all files."""
        return sum(f.rows_read for f in self.files)


def source_table(profile: SourceProfile) -> str:
    """Name of the table holding every stored row of a source."""
    return f"src_{profile.id}"


def _column_sql(profile: SourceProfile, name: str) -> str:
    """Column definition; identifiers and names are stored uncompressed (see
    :data:`mujun.store.PLAIN_STRINGS`)."""
    spec = profile.fields[name]
    ident = spec.type in ("uscc", "text") and (
        name == "name" or name in profile.key or name == profile.account
    )
    return f'"{name}" {SQL_TYPES[spec.type]}{PLAIN_STRINGS if ident else ""}'


def ensure_source_table(store: Store, profile: SourceProfile) -> None:
    """Create the source table, or add columns a profile gained since it was created."""
    table = source_table(profile)
    cols = [_column_sql(profile, n) for n in profile.fields]
    if not store.table_exists(table):
        store.execute(
            f'CREATE TABLE "{table}" (file_id INTEGER NOT NULL, row_no INTEGER NOT NULL, '
            + ", ".join(cols)
            + ")"
        )
        return
    have = set(store.table_columns(table))
    for n in profile.fields:
        if n not in have:
            store.execute(f'ALTER TABLE "{table}" ADD COLUMN {_column_sql(profile, n)}')


def identify(path: Path, grid: Grid, profiles: dict[str, SourceProfile]):
    """Pick the profile whose signature the header carries; the file name breaks ties."""
    found = []
    for prof in profiles.values():
        header = find_header(grid, prof)
        if header is None:
            continue
        name_hit = any(w.lower() in path.name.lower() for w in prof.match.filename)
        found.append((len(header.fields), name_hit, prof.id, prof, header))
    if not found:
        return None, None
    found.sort(key=lambda t: (t[1], t[0]), reverse=True)
    return found[0][3], found[0][4]


class _RegisterCache:
    """The year's register index, built on first need and shared by every file of a delivery."""

    def __init__(self, store: Store, year: int) -> None:
        self.store, self.year = store, year
        self._index: RegisterIndex | Future | None = None

    def get(self) -> RegisterIndex:
        """The index (empty when there is no register for the year)."""
        if isinstance(self._index, Future):
            self._index = self._index.result()
        if self._index is None:
            self._index = _register_index(self.store, self.year) or RegisterIndex.empty()
        return self._index

    def reset(self, stored: pa.Table | None = None, helper: ThreadPoolExecutor | None = None):
        """Forget the index (the register slot changed). With the rows just stored (see
        :func:`_remember_register_names`), the new index is built from them in ``helper``."""
        self._index = None
        if stored is not None and stored.num_rows and helper is not None:
            self._index = helper.submit(RegisterIndex.from_arrow, stored)


@dataclass
class _Pending:
    path: Path
    sha: str
    grid: Grid
    profile: SourceProfile
    header: Header
    encoding: str | None
    fmt: str
    parsed: tuple | None = None  # (kinds, start, ParsedBlock), computed in a worker thread
    # Register: normalised and core names (or the task computing them).
    names: tuple[pa.Array, pa.Array] | Future | None = None


def _issue_rows(**cols) -> pa.Table:
    return pa.table(cols)


def ingest_directory(
    store: Store,
    directory: Path,
    year: int,
    profiles: dict[str, SourceProfile],
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest every department file directly inside ``directory`` as data of ``year``."""
    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory", "pass the folder holding the files")
    if not 1990 <= year <= 2100:
        raise InputError(f"year {year} is out of range", "pass the data year, e.g. --year 2023")
    report = IngestReport(year)
    for p in profiles.values():
        ensure_source_table(store, p)
    pending: list[_Pending] = []
    paths = [
        p for p in sorted(directory.iterdir()) if p.is_file() and not p.name.startswith((".", "~$"))
    ]
    current = dict(
        store.rows("SELECT source, sha256 FROM files WHERE year = ? AND status = 'current'", [year])
    )
    # Reading and recognising files touches no store, so two files are read at a time (the
    # Arrow and calamine readers release the GIL); results are handled in file-name order.
    # The register is stored first and every later file waits for it, so its cells are parsed
    # in its read task, while the other worker reads the rest (files that look like a register
    # are read first, then the largest). Other files are parsed once every slot is known, in
    # worker threads, while the main thread stores the files before them.
    with (
        ThreadPoolExecutor(max_workers=READ_THREADS) as pool,
        ThreadPoolExecutor(max_workers=1) as helper,
    ):
        # pyarrow imports pandas (installed for SALib) on its first conversion of a Python
        # list, about 0.25 s during which every other such conversion waits: started first,
        # in the helper, it runs while the files are hashed and read.
        helper.submit(_import_arrow_pandas_bridge)
        submitted = {
            path: pool.submit(_read_file, path, profiles, year, current.get("register"), pool)
            for path in sorted(paths, key=lambda p: _read_priority(p, profiles))
        }
        futures = [submitted[path] for path in paths]
        for path, future in zip(paths, futures, strict=True):
            if progress:
                progress(f"reading {path.name}")
            read = future.result()
            if read.rejection is not None:
                code, message, severity = read.rejection
                _record_rejected(
                    store, path, year, read.sha, code, message, read.fmt, severity=severity
                )
                report.files.append(FileOutcome(str(path), "rejected", message=code))
            pending.extend(read.pending)
        # Two files claiming one slot in a delivery: report both, ingest neither (never a
        # silent pick).
        by_slot: dict[str, list[_Pending]] = {}
        for item in pending:
            by_slot.setdefault(item.profile.id, []).append(item)
        ordered = sorted(by_slot.items(), key=lambda kv: (kv[0] != "register", kv[0]))
        parsing = {
            source: pool.submit(_prepare, items[0], year)
            for source, items in ordered
            if len(items) == 1 and current.get(source) != items[0].sha and items[0].parsed is None
        }
        register = _RegisterCache(store, year)
        for source, items in ordered:
            if len(items) > 1:
                _reject_ambiguous(store, report, source, items, year)
                continue
            item = items[0]
            if progress:
                progress(f"ingesting {item.path.name} as {source}")
            if source in parsing:
                item.parsed, item.names = parsing[source].result()
            outcome = _ingest_one(store, item, year, register, helper)
            report.files.append(outcome)
            if source == "register":
                # Just stored (and remembered): its index is built at once, in the helper.
                stored = outcome.status in ("ingested", "replaced") and item.names is not None
                memo = _REGISTER_NAMES.get(store) if stored else None
                register.reset(memo[1] if memo is not None else None, helper)
    return report


def _reject_ambiguous(
    store: Store, report: IngestReport, source: str, items: list[_Pending], year: int
) -> None:
    names = ", ".join(
        f"{i.path.name}[{i.grid.sheet}]" if i.grid.sheet else i.path.name for i in items
    )
    # Years in the file names often tell which one is misplaced.
    stray = [
        i.path.name
        for i in items
        if (y := _YEAR_IN_NAME.findall(i.path.name)) and str(year) not in y
    ]
    hint = f"; {', '.join(stray)} is named for another year" if stray else ""
    for item in items:
        _record_rejected(
            store,
            item.path,
            year,
            item.sha,
            "ambiguous-slot",
            f"{len(items)} files or sheets look like {source} data for {year} ({names})"
            f"{hint}; keep one file with one data sheet per department and year "
            "(merge sheets such as 规上/规下 into one) / 同一部门同一年度有多个文件或工作表",
            item.fmt,
            source=source,
        )
        report.files.append(
            FileOutcome(str(item.path), "rejected", source, message="ambiguous-slot")
        )


@dataclass
class _ReadResult:
    sha: str
    fmt: str
    pending: list[_Pending]
    rejection: tuple[str, str, str] | None = None  # code, message, severity


def _read_priority(path: Path, profiles: dict[str, SourceProfile]) -> tuple[bool, int]:
    """Sort key for reading: a file named like a register first, then the largest files."""
    register = profiles.get("register")
    words = register.match.filename if register is not None else []
    named = any(w.lower() in path.name.lower() for w in words)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return (not named, -size)


def _import_arrow_pandas_bridge() -> None:
    pa.array([], pa.string())


def _read_file(
    path: Path,
    profiles: dict[str, SourceProfile],
    year: int,
    current_register: str | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> _ReadResult:
    """Read a file and recognise its sheets; no store access (runs in a worker thread). A new
    register sheet is parsed here too (its normalised names, needed only once it is stored,
    in another task of ``pool``); it is discarded if another file claims the register slot."""
    sha = file_sha256(path)
    fmt = path.suffix.lower().lstrip(".") or "other"
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        msg = f"{path.name}: not an XLSX, XLS or CSV file / 不支持的文件类型"
        return _ReadResult(sha, "other", [], ("unsupported-file", msg, "warning"))
    try:
        grids = read_grids(path)
    except UnreadableFile as exc:
        return _ReadResult(sha, fmt, [], (exc.code, f"{path.name}: {exc}", "error"))
    pending = []
    for grid in grids:
        prof, header = identify(path, grid, profiles)
        if prof is not None and header is not None:
            pending.append(_Pending(path, sha, grid, prof, header, grid.encoding, fmt))
    registers = [item for item in pending if item.profile.id == "register"]
    if len(registers) == 1 and sha != current_register:
        register = registers[0]
        register.parsed = _parse(register, year)
        names = register.parsed[2].columns["name"]
        register.names = pool.submit(_name_columns, names) if pool else _name_columns(names)
    if not pending:
        msg = (
            f"{path.name}: no sheet has the header of a known department file; "
            "add header aliases to a profile in rules/sources/ / 无法识别的文件"
        )
        return _ReadResult(sha, fmt, [], ("unrecognised-file", msg, "error"))
    return _ReadResult(sha, fmt, pending)


def _record_rejected(
    store: Store,
    path: Path,
    year: int,
    sha: str,
    code: str,
    message: str,
    fmt: str,
    *,
    source: str | None = None,
    severity: str = "error",
) -> None:
    with store.transaction():
        fid = store.scalar("SELECT nextval('file_id_seq')")
        store.execute(
            "INSERT INTO files (file_id, year, source, path, name, sha256, format, status, "
            "ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'rejected', now()::TIMESTAMP)",
            [fid, year, source, str(path), path.name, sha, fmt],
        )
        store.execute(
            "INSERT INTO issues (year, stage, source, file_id, file, code, severity, message) "
            "VALUES (?, 'ingest', ?, ?, ?, ?, ?, ?)",
            [year, source, fid, path.name, code, severity, message],
        )


def _row_kinds(grid: Grid, header: Header, key_col: int | None) -> tuple[np.ndarray, int]:
    """Classify data rows: 0 data, 1 blank, 2 totals, 3 note. Returns (kinds, start).

    A row with a credit code is data; only rows without one are looked at further, which keeps
    this cheap on large files.
    """
    start = header.data_start
    n = grid.nrows - start
    kinds = np.zeros(max(n, 0), dtype=np.int8)
    if n <= 0:
        return kinds, start
    if key_col is not None:
        key = cells.clean_text(grid.columns[key_col].slice(start), fold=False)
        candidates = np.flatnonzero(cells.to_mask(pc.is_null(key)))
        # A totals or note line may sit in the code column itself (合计, 其中：…, 注：…). Of the
        # cells made of ASCII letters and digits (the codes), only TOTAL… can be one.
        maybe = np.flatnonzero(
            ~cells.to_mask(pc.ascii_is_alnum(key))
            | cells.to_mask(pc.starts_with(key, "total", ignore_case=True))
        )
        if maybe.size:
            some = pc.take(key, pa.array(maybe))
            marker = pc.or_(
                pc.match_substring_regex(some, _TOTALS, ignore_case=True),
                pc.match_substring_regex(some, _NOTES),
            )
            candidates = np.union1d(candidates, maybe[cells.to_mask(marker)])
    else:
        candidates = np.arange(n)
    if candidates.size == 0:
        return kinds, start
    idx = pa.array(candidates)
    cleaned = [cells.clean_text(pc.take(c.slice(start), idx), fold=False) for c in grid.columns]
    nonblank = np.zeros(candidates.size, dtype=np.int32)
    for c in cleaned:
        nonblank += ~cells.to_mask(pc.is_null(c))
    sub = np.zeros(candidates.size, dtype=np.int8)
    sub[nonblank == 0] = 1
    totals = np.zeros(candidates.size, dtype=bool)
    for c in cleaned[:3]:
        totals |= cells.to_mask(pc.match_substring_regex(c, _TOTALS, ignore_case=True))
    sub[(sub == 0) & totals] = 2
    notes = np.zeros(candidates.size, dtype=bool)
    for c in cleaned:
        notes |= cells.to_mask(pc.match_substring_regex(c, _NOTES))
    sub[(sub == 0) & notes & (nonblank <= 2)] = 3
    kinds[candidates] = sub
    return kinds, start


_KIND_NAMES = {1: "blank-row", 2: "totals-row", 3: "note-row"}
# Problems whose rows get register suggestions.
_SUGGESTED = ("bad-credit-code", "mangled-credit-code")


# Register rows with their normalised names, per store and register file: stored rows never
# change, so ingest (suggestions for mistyped codes) and validation (unknown firms) share them.
_REGISTER_NAMES: weakref.WeakKeyDictionary[Store, tuple[tuple[int, ...], pa.Table]] = (
    weakref.WeakKeyDictionary()
)


def register_names(store: Store, year: int) -> pa.Table | None:
    """The year's current register rows that carry a credit code, in file order: ``file_id``,
    ``row_no``, ``uscc``, ``name`` and the normalised and core names (``norm``, ``core``)."""
    if not store.table_exists("src_register"):
        return None
    fids = tuple(
        r[0]
        for r in store.rows(
            "SELECT file_id FROM files WHERE year = ? AND source = 'register' "
            "AND status = 'current' ORDER BY file_id",
            [year],
        )
    )
    if not fids:
        return None
    memo = _REGISTER_NAMES.get(store)
    if memo is None or memo[0] != fids:
        marks = ", ".join("?" * len(fids))
        table = store.arrow(
            f"SELECT file_id, row_no, uscc, name FROM src_register WHERE file_id IN ({marks}) "
            "AND uscc IS NOT NULL ORDER BY file_id, row_no",
            list(fids),
        )
        norm = normalise_names(table.column("name").combine_chunks())
        table = table.append_column("norm", norm).append_column("core", core_names(norm))
        memo = _REGISTER_NAMES[store] = (fids, table)
    return memo[1]


def _register_index(store: Store, year: int) -> RegisterIndex | None:
    names = register_names(store, year)
    return RegisterIndex.from_arrow(names) if names is not None and names.num_rows else None


def _parse(item: _Pending, year: int):
    """Row kinds and parsed columns of a recognised sheet (pure: no store access)."""
    header, grid = item.header, item.grid
    kinds, start = _row_kinds(grid, header, header.fields.get("uscc"))
    n = len(kinds)
    raw = {f: grid.columns[j].slice(start) for f, j in header.fields.items()}
    for f in header.bad_units:
        raw[f] = pa.nulls(n, pa.string())
    block = parse_block(raw, item.profile, header.units, year)
    _fill_from_duplicate_columns(item, block, start)
    return kinds, start, block


def _prepare(item: _Pending, year: int) -> tuple[tuple, tuple[pa.Array, pa.Array] | None]:
    """:func:`_parse`, plus the register's normalised names (for suggestions), in a worker."""
    parsed = _parse(item, year)
    names = None
    if item.profile.id == "register":
        names = _name_columns(parsed[2].columns["name"])
    return parsed, names


def _name_columns(names: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Normalised and core names of the register's name column."""
    norm = normalise_names(names)
    return norm, core_names(norm)


def _remember_register_names(store: Store, item: _Pending, fid: int, table: pa.Table) -> None:
    """Seed :func:`register_names` with the register rows just stored (the same rows, in the
    same order, as reading them back would give)."""
    if item.names is None:
        return
    norm, core = item.names.result() if isinstance(item.names, Future) else item.names
    stored_rows = (table.column("row_no").to_numpy() - item.header.data_start - 1).astype(np.int64)
    with_code = np.flatnonzero(~cells.to_mask(pc.is_null(table.column("uscc"))))
    at = pa.array(stored_rows[with_code])
    names = pa.table(
        {
            "file_id": table.column("file_id").take(pa.array(with_code)),
            "row_no": table.column("row_no").take(pa.array(with_code)),
            "uscc": table.column("uscc").take(pa.array(with_code)),
            "name": table.column("name").take(pa.array(with_code)),
            "norm": norm.take(at),
            "core": core.take(at),
        }
    )
    _REGISTER_NAMES[store] = ((fid,), names)


def _fill_from_duplicate_columns(item: _Pending, block, start: int) -> None:
    """Fill a quantity's empty cells from a second column with a known unit."""
    header, prof = item.header, item.profile
    for name, j in header.duplicate_columns:
        spec = prof.fields[name]
        if spec.type not in ("number", "integer") or j not in header.extra_units:
            continue
        extra = cells.parse_number(item.grid.columns[j].slice(start))
        factor = unit_factor(header.extra_units[j], spec.unit)  # type: ignore[arg-type]
        values = pc.multiply(extra.values, factor) if factor != 1.0 else extra.values
        filled = cells.to_mask(pc.and_(pc.is_null(block.columns[name]), pc.is_valid(values)))
        block.columns[name] = pc.coalesce(block.columns[name], values)
        for prob in block.problems:
            if prob.field == name and prob.code == "missing-value":
                prob.rows = prob.rows[~filled[prob.rows]]


def _needs_register(item: _Pending, block, data: np.ndarray) -> bool:
    """Whether :func:`_collect_issues` will look up suggestions in the register index."""
    return item.profile.id != "register" and any(
        prob.code in _SUGGESTED and data[prob.rows].any() for prob in block.problems
    )


def _ingest_one(
    store: Store,
    item: _Pending,
    year: int,
    register: _RegisterCache,
    helper: ThreadPoolExecutor | None = None,
) -> FileOutcome:
    prof, header, grid, path = item.profile, item.header, item.grid, item.path
    current = store.rows(
        "SELECT file_id, sha256, name, rows_stored, version FROM files "
        "WHERE year = ? AND source = ? AND status = 'current'",
        [year, prof.id],
    )
    if current and current[0][1] == item.sha:
        return FileOutcome(
            str(path), "unchanged", prof.id, grid.sheet, message=f"same content as {current[0][2]}"
        )
    kinds, start, block = item.parsed if item.parsed is not None else _parse(item, year)
    n = len(kinds)
    data = kinds == 0
    missing_key_cols = [k for k in prof.key if k not in header.fields]
    quarantine = data & (block.quarantine if block.quarantine is not None else False)
    if missing_key_cols:
        quarantine = data.copy()
    stored = data & ~quarantine
    row_no = np.arange(start + 1, start + n + 1, dtype=np.int32)  # spreadsheet row numbers

    with store.transaction():
        fid = int(store.scalar("SELECT nextval('file_id_seq')"))
        version = (current[0][4] or 1) + 1 if current else 1
        # The issues (Python work, with suggestions for mistyped codes) are collected in the
        # helper thread while the rows are stored here; the register index is read from the
        # store first, as the helper must not touch it.
        if _needs_register(item, block, data):
            register.get()
        args = (item, fid, year, block, data, row_no, missing_key_cols, register)
        collecting = helper.submit(_collect_issues, *args) if helper is not None else None
        # Stored rows.
        idx = pa.array(np.flatnonzero(stored))
        table = {"file_id": pa.array(np.full(int(stored.sum()), fid, dtype=np.int32))}
        table["row_no"] = pa.array(row_no[stored])
        for name in prof.fields:
            table[name] = pc.take(block.columns[name], idx)
        stored_table = pa.table(table)
        store.insert_arrow(source_table(prof), stored_table)
        issues = collecting.result() if collecting is not None else _collect_issues(*args)
        # Quarantined rows keep every raw cell, keyed by the header as written.
        q_rows = np.flatnonzero(quarantine)
        if len(q_rows):
            codes_by_row = issues.error_codes_by_row()
            keys = [header.names[j] or f"col{j + 1}" for j in range(len(grid.columns))]
            at_rows = pa.array(q_rows + start)
            raw_cells = [c.take(at_rows).to_pylist() for c in grid.columns]
            raws = [
                json.dumps(dict(zip(keys, values, strict=True)), ensure_ascii=False)
                for values in zip(*raw_cells, strict=True)
            ]
            store.insert_arrow(
                "quarantine",
                pa.table(
                    {
                        "file_id": pa.array([fid] * len(q_rows), pa.int32()),
                        "year": pa.array([year] * len(q_rows), pa.int32()),
                        "source": pa.array([prof.id] * len(q_rows)),
                        "row_no": pa.array(row_no[q_rows]),
                        "codes": pa.array(
                            [
                                ",".join(sorted(set(codes_by_row.get(int(row_no[i]), []))))
                                for i in q_rows
                            ]
                        ),
                        "raw": pa.array(raws),
                    }
                ),
            )
        # Skipped rows (blank, totals, notes) are recorded, not silently dropped.
        skipped = np.flatnonzero(kinds != 0)
        if len(skipped):
            first_col = (
                cells.clean_text(grid.columns[0].slice(start), fold=False) if grid.columns else None
            )
            texts = pc.take(first_col, pa.array(skipped)) if first_col is not None else None
            store.insert_arrow(
                "skipped_rows",
                pa.table(
                    {
                        "file_id": pa.array([fid] * len(skipped), pa.int32()),
                        "row_no": pa.array(row_no[skipped]),
                        "kind": pa.array([_KIND_NAMES[int(kinds[i])] for i in skipped]),
                        "text": texts,
                    }
                ),
            )
        if len(issues):
            store.insert_arrow("issues", issues.table())
        columns_json = json.dumps(
            {f: header.names[j] for f, j in header.fields.items()}, ensure_ascii=False
        )
        units_json = json.dumps(header.units, ensure_ascii=False)
        store.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "'current', ?, NULL, now()::TIMESTAMP)",
            [
                fid,
                year,
                prof.id,
                str(path),
                path.name,
                item.sha,
                item.fmt,
                item.encoding,
                grid.sheet,
                header.top,
                header.rows,
                grid.nrows,
                n,
                int(stored.sum()),
                int(quarantine.sum()),
                int((kinds != 0).sum()),
                columns_json,
                units_json,
                version,
            ],
        )
        status = "ingested"
        if current:
            old_id = current[0][0]
            store.execute(
                "UPDATE files SET status = 'superseded', superseded_by = ? WHERE file_id = ?",
                [fid, old_id],
            )
            store.execute(
                "INSERT INTO slot_changes VALUES (nextval('change_id_seq'), ?, ?, ?, ?, ?, ?, ?, "
                "?, now()::TIMESTAMP)",
                [
                    year,
                    prof.id,
                    old_id,
                    fid,
                    current[0][2],
                    path.name,
                    current[0][3],
                    int(stored.sum()),
                ],
            )
            status = "replaced"
    _remember_register_names(store, item, fid, stored_table)
    return FileOutcome(
        str(path),
        status,
        prof.id,
        grid.sheet,
        rows_read=n,
        rows_stored=int(stored.sum()),
        rows_quarantined=int(quarantine.sum()),
        rows_skipped=int((kinds != 0).sum()),
        issues=len(issues),
        message=f"replaces {current[0][2]}" if current else "",
    )


class _Issues:
    """Issues of one file, kept as columns (one list per ``issues`` column): a file with
    thousands of problem rows needs no dictionary per row."""

    COLUMNS = (
        "year", "stage", "source", "file_id", "file", "sheet", "uscc", "suggestion",
        "row_no", "column_name", "field", "value", "code", "severity", "message",
    )  # fmt: skip

    def __init__(self, **constant) -> None:
        self.constant = constant
        self.cols: dict[str, list] = {c: [] for c in self.COLUMNS if c not in constant}
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def add(self, code, severity, message, row=None, column=None, field=None, value=None, **kw):
        """One issue."""
        self.extend(
            1, code=[code], severity=[severity], message=[message], row_no=[row],
            column_name=[column], field=[field], value=[value], **{k: [v] for k, v in kw.items()},
        )  # fmt: skip

    def extend(self, n: int, **columns: list) -> None:
        """``n`` issues; each column is a list of ``n`` values, or absent (all None)."""
        for name, values in self.cols.items():
            values.extend(columns.get(name) or [None] * n)
        self.n += n

    def error_codes_by_row(self) -> dict[int, list[str]]:
        """Codes of the error-level issues per row number."""
        out: dict[int, list[str]] = {}
        for row, severity, code in zip(
            self.cols["row_no"], self.cols["severity"], self.cols["code"], strict=True
        ):
            if row is not None and severity == "error":
                out.setdefault(row, []).append(code)
        return out

    def table(self) -> pa.Table:
        """The issues as an Arrow table for the ``issues`` table."""
        cols = {
            name: [value] * self.n if name in self.constant else self.cols[name]
            for name, value in {**self.constant, **self.cols}.items()
        }
        types = {"year": pa.int32(), "file_id": pa.int32(), "row_no": pa.int32()}
        return pa.table(
            {name: pa.array(cols[name], types.get(name, pa.string())) for name in self.COLUMNS}
        )


def _collect_issues(
    item: _Pending,
    fid: int,
    year: int,
    block,
    data: np.ndarray,
    row_no: np.ndarray,
    missing_key_cols: list[str],
    register: _RegisterCache,
) -> _Issues:
    prof, header, grid, path = item.profile, item.header, item.grid, item.path
    start = header.data_start
    out = _Issues(
        year=year, stage="ingest", source=prof.id, file_id=fid, file=path.name, sheet=grid.sheet
    )
    add = out.add

    # Structure first.
    years_in_name = {int(y) for y in _YEAR_IN_NAME.findall(path.name)}
    if years_in_name and year not in years_in_name:
        add(
            "year-mismatch",
            "warning",
            f"file name says {sorted(years_in_name)} but it is ingested as {year} data / "
            "文件名年份与导入年度不一致",
        )
    for name, spec in prof.fields.items():
        if name not in header.fields and (spec.required or name in prof.key):
            aliases = "、".join(spec.aliases)
            add(
                "missing-column",
                "error",
                f"column for {name} not found in {path.name}; known aliases: {aliases}; "
                f"add one in rules/sources/{prof.id}.yaml / 缺少必需列",
                field=name,
            )
    for name, unit in header.bad_units.items():
        add(
            "bad-unit",
            "error",
            f"unit {unit} in the header of {name} cannot measure {prof.fields[name].unit}; "
            "the column was not read / 单位与字段不符",
            column=header.names[header.fields[name]],
            field=name,
        )
    for name, j in header.duplicate_columns:
        add(
            "duplicate-column",
            "warning",
            (
                f"a second column also maps to {name}; it fills the first column's empty cells "
                f"(unit {header.extra_units[j]}) / 重复列，用于补充空值"
                if j in header.extra_units
                else f"a second column also maps to {name}; only the first is read / 重复列"
            ),
            column=header.names[j],
            field=name,
        )
    mapped = set(header.fields.values()) | {j for _, j in header.duplicate_columns}
    for j, name in enumerate(header.names):
        if j not in mapped and name:
            add("unknown-column", "info", f"column {name} is not used / 未使用的列", column=name)
    # Then rows.
    reg = None
    uscc_parsed = block.columns.get("uscc")
    name_raw = grid.columns[header.fields["name"]].slice(start) if "name" in header.fields else None
    for prob in block.problems:
        rows = [int(i) for i in prob.rows if data[i]]
        if not rows:
            continue
        col_text = header.names[header.fields[prob.field]]
        raw_col = grid.columns[header.fields[prob.field]].slice(start)
        values = pc.take(raw_col, pa.array(rows)).to_pylist()
        usccs = (
            pc.take(uscc_parsed, pa.array(rows)).to_pylist() if uscc_parsed is not None else None
        )
        names = pc.take(name_raw, pa.array(rows)).to_pylist() if name_raw is not None else None
        suggestions: list[list[str]] = [[] for _ in rows]
        if prob.code in _SUGGESTED and prof.id != "register":
            if reg is None:
                reg = register.get()
            queries = [None if v is None else str(v) for v in values]
            suggestions = reg.suggest_many(queries, names or [None] * len(rows))
        messages, suggestion_col = [], []
        for k in range(len(rows)):
            msg = prob.message
            detail = prob.details[k] if prob.details else None
            if detail:
                msg = f"{msg}: {detail}"
            sugg = suggestions[k]
            if sugg and reg is not None:
                suggestion_col.append(",".join(sugg))
                msg = f"{msg}; did you mean / 是否为: {reg.describe(sugg)}"
            else:
                suggestion_col.append(None)
            messages.append(msg)
        out.extend(
            len(rows),
            code=[prob.code] * len(rows),
            severity=[prob.severity] * len(rows),
            message=messages,
            row_no=[int(row_no[i]) for i in rows],
            column_name=[col_text] * len(rows),
            field=[prob.field] * len(rows),
            value=[None if v is None else str(v) for v in values],
            uscc=usccs if usccs is not None and prob.field != "uscc" else None,
            suggestion=suggestion_col,
        )
    if missing_key_cols:
        add(
            "missing-key-column",
            "error",
            f"key column(s) {', '.join(missing_key_cols)} missing: every row is quarantined / "
            "缺少主键列",
        )
    return out
