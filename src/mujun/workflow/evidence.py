"""Evidence files attached to objections: checked for type and size, kept in the store with
their SHA-256 so a correction and its proof are written (and backed up) together."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from mujun.store import Store
from mujun.workflow.errors import WorkflowError

# Suffix -> (content type, leading bytes the file must start with).
ALLOWED_EVIDENCE = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
}


@dataclass(frozen=True)
class EvidenceFile:
    """A checked evidence file, ready to store."""

    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        """SHA-256 of the content."""
        return hashlib.sha256(self.data).hexdigest()


def check_evidence(filename: str, data: bytes, max_bytes: int) -> EvidenceFile:
    """The file as evidence, or a refusal naming the allowed types and the size limit."""
    name = PurePath(filename or "").name[:200]
    suffix = PurePath(name).suffix.lower()
    if suffix not in ALLOWED_EVIDENCE:
        raise WorkflowError(
            "unsupported",
            f"证明材料只接受 PDF、JPG、PNG、XLSX 文件，收到 {name or '(无文件名)'} / evidence "
            "must be a PDF, JPG, PNG or XLSX file",
        )
    if len(data) > max_bytes:
        raise WorkflowError(
            "too-large",
            f"证明材料超过 {max_bytes // (1024 * 1024)} MB / evidence is larger than "
            f"{max_bytes} bytes",
        )
    content_type, magic = ALLOWED_EVIDENCE[suffix]
    if not data.startswith(magic):
        raise WorkflowError(
            "invalid",
            f"{name} 的内容不是 {suffix[1:].upper()} 文件 / {name} is not a valid "
            f"{suffix[1:].upper()} file",
        )
    return EvidenceFile(name, content_type, data)


def store_evidence(store: Store, evidence: EvidenceFile, *, by: str, now: datetime) -> int:
    """Keep the file in the store; return its id."""
    evidence_id = int(store.scalar("SELECT nextval('evidence_id_seq')"))
    store.execute(
        "INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            evidence_id,
            evidence.filename,
            evidence.content_type,
            len(evidence.data),
            evidence.sha256,
            evidence.data,
            now,
            by,
        ],
    )
    return evidence_id


def read_evidence(store: Store, evidence_id: int) -> EvidenceFile:
    """A stored evidence file (not-found when there is none)."""
    rows = store.rows(
        "SELECT filename, content_type, data FROM evidence WHERE evidence_id = ?", [evidence_id]
    )
    if not rows:
        raise WorkflowError("not-found", f"未找到证明材料 {evidence_id} / evidence not found")
    name, ctype, data = rows[0]
    return EvidenceFile(name, ctype, bytes(data))
