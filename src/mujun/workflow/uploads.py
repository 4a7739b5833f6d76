"""Upload of a department file from the browser: check it, recognise its department, then ingest
and validate its year through the one writer, all or nothing.

A wrong type, an oversized or unreadable file, or a file of another department is refused before
anything is stored. A file that is accepted is kept under the upload folder and ingested as the
only file of a delivery (``ingest_directory``), then the year is validated (``validate_year``); if
either fails, the store is rolled back and the kept copy removed, so no table is left half-way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from mujun.auth.audit import Actor, record
from mujun.ingest import ingest_directory, load_profiles
from mujun.ingest.core import identify
from mujun.ingest.profiles import SourceProfile
from mujun.ingest.reader import UnreadableFile, read_grids
from mujun.store import Store
from mujun.validate import summarise, validate_year
from mujun.workflow.errors import WorkflowError

UPLOAD_SUFFIXES = (".xlsx", ".xls", ".csv")
FIRST_PROBLEMS = 20
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@functools.lru_cache(maxsize=4)
def source_profiles(rules_dir: Path) -> dict[str, SourceProfile]:
    """The source profiles of ``rules_dir/sources`` (read once per folder)."""
    return load_profiles(Path(rules_dir) / "sources")


def safe_name(filename: str) -> str:
    """The file's own name, without folders or characters unsafe in a file name."""
    name = _UNSAFE.sub("_", PurePath((filename or "").replace("\\", "/")).name).strip(" .")
    return name[:150] or "upload"


def check_upload_name(filename: str) -> str:
    """The upload's safe name when its type is a department file (XLSX, XLS, CSV)."""
    name = safe_name(filename)
    if PurePath(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise WorkflowError(
            "unsupported",
            f"只接受 XLSX、XLS、CSV 格式的部门数据文件，收到 {name} / only XLSX, XLS or CSV "
            "department files are accepted",
        )
    return name


def check_size(size: int, limit: int) -> None:
    """Refuse a file larger than ``limit`` bytes."""
    if size > limit:
        raise WorkflowError(
            "too-large",
            f"文件超过 {limit / (1024 * 1024):g} MB 上限 / the file is larger than the "
            f"{limit} byte limit",
        )


@dataclass(frozen=True)
class Recognised:
    """What a readable department file holds: its source profile and sheets."""

    source: str
    department: str
    sheets: int


def recognise(path: Path, profiles: dict[str, SourceProfile]) -> Recognised:
    """Read the file and say which department's data it is; invalid when unreadable or unknown."""
    try:
        grids = read_grids(path)
    except UnreadableFile as exc:
        raise WorkflowError(
            "invalid", f"无法读取文件 {path.name} / cannot read {path.name}: {exc}"
        ) from None
    except Exception as exc:
        raise WorkflowError(
            "invalid",
            f"文件 {path.name} 已损坏或格式不正确 / {path.name} is malformed: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
        ) from None
    found = {}
    for grid in grids:
        prof, header = identify(path, grid, profiles)
        if prof is not None and header is not None:
            found[prof.id] = prof
    if not found:
        raise WorkflowError(
            "invalid",
            f"{path.name} 中没有可识别的部门数据表头 / no sheet of {path.name} has the header of "
            "a known department file",
            "表头需与 rules/sources 中的别名一致 / headers must match the aliases in rules/sources",
        )
    if len(found) > 1:
        raise WorkflowError(
            "invalid",
            f"{path.name} 含有多个部门的数据（{', '.join(sorted(found))}）/ the file holds "
            "several departments' data; upload one department per file",
        )
    prof = next(iter(found.values()))
    return Recognised(prof.id, prof.department, len(grids))


def begin_upload(
    store: Store,
    *,
    year: int,
    filename: str,
    size: int | None,
    sha256: str | None,
    department: str | None,
    status: str,
    actor: Actor,
    now: datetime,
    message: str | None = None,
) -> int:
    """Record an upload (``ingesting``, or ``failed`` when refused at the door); its id."""
    upload_id = int(store.scalar("SELECT nextval('upload_id_seq')"))
    with store.transaction():
        store.execute(
            "INSERT INTO uploads (upload_id, year, department, filename, size, sha256, status, "
            "message, uploaded_at, uploaded_by, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                upload_id,
                year,
                department,
                filename,
                size,
                sha256,
                status,
                message,
                now,
                actor.name,
                now if status == "failed" else None,
            ],
        )
        record(
            store,
            actor,
            now,
            "upload.refuse" if status == "failed" else "upload.receive",
            f"upload:{upload_id}",
            result="ok" if status != "failed" else f"refused: {message}",
            after={"year": year, "file": filename, "size": size, "department": department},
        )
    return upload_id


def set_upload_department(store: Store, upload_id: int, department: str) -> None:
    """Record the department an upload was recognised as (once its file has been read)."""
    store.execute("UPDATE uploads SET department = ? WHERE upload_id = ?", [department, upload_id])


def ingest_upload(
    store: Store,
    upload_id: int,
    path: Path,
    *,
    year: int,
    profiles: dict[str, SourceProfile],
    actor: Actor,
    now: datetime,
    progress: Callable[[str, str], None] | None = None,
) -> dict[str, Any]:
    """Ingest the kept file (alone in its folder) and validate the year, in one transaction;
    return the validation report. Raises (and rolls back) when the file is rejected.
    ``progress(step, detail)`` hears ``ingesting`` and ``validating``."""
    before = {"files": _file_ids(store, year)}
    with store.transaction():
        if progress:
            progress("ingesting", path.name)
        report = ingest_directory(
            store,
            path.parent,
            year,
            profiles,
            progress=(lambda text: progress("ingesting", text)) if progress else None,
        )
        rejected = [f for f in report.files if f.status == "rejected"]
        if rejected or not report.files:
            codes = ", ".join(f.message for f in rejected) or "no data"
            raise WorkflowError(
                "invalid",
                f"{path.name} 未能导入（{codes}）/ {path.name} was rejected: {codes}",
            )
        if progress:
            progress("validating", str(year))
        validate_year(store, year, profiles)
        out = upload_report(store, year, [int(i) for i in _new_file_ids(store, year, before)])
        out["files"] = [
            {
                "status": f.status,
                "source": f.source,
                "sheet": f.sheet,
                "rows_read": f.rows_read,
                "rows_stored": f.rows_stored,
                "rows_quarantined": f.rows_quarantined,
                "rows_skipped": f.rows_skipped,
                "issues": f.issues,
            }
            for f in report.files
        ]
        store.execute(
            "UPDATE uploads SET status = 'done', file_ids = ?, report = ?, stored_path = ?, "
            "finished_at = ? WHERE upload_id = ?",
            [
                json.dumps(out["file_ids"]),
                json.dumps(out, ensure_ascii=False, default=str),
                str(path),
                now,
                upload_id,
            ],
        )
        record(
            store,
            actor,
            now,
            "upload.ingest",
            f"upload:{upload_id}",
            after={"file_ids": out["file_ids"], "files": out["files"], "errors": out["errors"]},
        )
    return out


def _file_ids(store: Store, year: int) -> set[int]:
    return {r[0] for r in store.rows("SELECT file_id FROM files WHERE year = ?", [year])}


def _new_file_ids(store: Store, year: int, before: dict) -> list[int]:
    return sorted(_file_ids(store, year) - before["files"])


def upload_report(store: Store, year: int, file_ids: list[int]) -> dict[str, Any]:
    """Issue counts per department and code for the year, and the first problems of the files."""
    summary = summarise(store, year)
    counts = [
        {"source": s, "code": c, "severity": sev, "count": int(n)}
        for s, c, sev, n in summary.counts
    ]
    problems = []
    if file_ids:
        marks = ", ".join("?" for _ in file_ids)
        problems = store.arrow(
            "SELECT file, row_no, column_name, value, code, severity, message, uscc FROM issues "
            f"WHERE year = ? AND (file_id IN ({marks}) OR stage = 'validate') "
            "ORDER BY severity = 'error' DESC, stage, row_no NULLS FIRST, column_name, code "
            f"LIMIT {FIRST_PROBLEMS}",
            [year, *file_ids],
        ).to_pylist()
    return {
        "year": year,
        "file_ids": file_ids,
        "counts": counts,
        "errors": summary.errors,
        "first_problems": problems,
    }


def fail_upload(store: Store, upload_id: int, message: str, *, actor: Actor, now: datetime) -> None:
    """Mark an upload failed (after its ingest was rolled back) and audit it."""
    with store.transaction():
        store.execute(
            "UPDATE uploads SET status = 'failed', message = ?, finished_at = ? WHERE upload_id = ?",
            [message, now, upload_id],
        )
        record(store, actor, now, "upload.ingest", f"upload:{upload_id}", f"failed: {message}")


def fail_stale_uploads(store: Store, *, now: datetime, actor: Actor) -> int:
    """Mark uploads still ``ingesting`` failed: called when a server starts, since an ingest
    left unfinished by a stopped server was rolled back with it. How many."""
    stale = [r[0] for r in store.rows("SELECT upload_id FROM uploads WHERE status = 'ingesting'")]
    for upload_id in stale:
        fail_upload(
            store,
            upload_id,
            "服务器在导入过程中停止，未保存任何数据，请重新上传 / the server stopped during the "
            "ingest; nothing was stored, upload the file again",
            actor=actor,
            now=now,
        )
    return len(stale)


def keep_file(data_path: Path, upload_dir: Path, upload_id: int, name: str) -> Path:
    """Move a checked file to ``upload_dir/<id>/<name>`` (its own folder, so it is ingested alone)."""
    folder = Path(upload_dir) / f"U{upload_id:06d}"
    folder.mkdir(parents=True, exist_ok=False)
    target = folder / name
    shutil.move(str(data_path), target)
    return target


def spool(data: bytes, upload_dir: Path, name: str) -> Path:
    """Write received bytes to a private temporary folder under the upload folder."""
    Path(upload_dir).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".incoming-", dir=upload_dir))
    path = folder / name
    path.write_bytes(data)
    return path


def sha256_of(data: bytes) -> str:
    """SHA-256 of the bytes."""
    return hashlib.sha256(data).hexdigest()


_UPLOAD_COLUMNS = (
    "upload_id, year, department, filename, size, sha256, status, message, file_ids::VARCHAR, "
    "report::VARCHAR, uploaded_at, uploaded_by, finished_at"
)


def get_upload(store: Store, upload_id: int) -> dict[str, Any]:
    """One upload with its status and report (not-found when unknown)."""
    rows = store.rows(f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?", [upload_id])
    if not rows:
        raise WorkflowError("not-found", f"未找到上传记录 {upload_id} / upload not found")
    return _upload(rows[0])


def list_uploads(store: Store, *, by: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Recent uploads, newest first (one user's when ``by`` is given)."""
    cond, params = ("uploaded_by = ?", [by]) if by else ("TRUE", [])
    rows = store.rows(
        f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE {cond} ORDER BY upload_id DESC LIMIT ?",
        [*params, limit],
    )
    return [_upload(r) for r in rows]


def _upload(row: tuple) -> dict[str, Any]:
    names = [c.split("::")[0].strip() for c in _UPLOAD_COLUMNS.split(",")]
    out = dict(zip(names, row, strict=True))
    out["file_ids"] = json.loads(out["file_ids"]) if out["file_ids"] else []
    out["report"] = json.loads(out["report"]) if out["report"] else None
    return out
