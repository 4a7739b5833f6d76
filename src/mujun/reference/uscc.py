"""Unified social credit code (统一社会信用代码, GB 32100-2015).

Eighteen characters from a 31-symbol alphabet (0-9 and A-Y without I, O, S, V, Z):
position 1 registration authority, 2 organisation type, 3-8 administrative division,
9-17 the organisation code (GB 11714, with its own check character at position 17) and 18 the
check character over positions 1-17.

Checks run in this order and the first failure is reported: length, illegal character,
organisation-code check, USCC check. Positions 1-8 are not checked beyond the alphabet:
registration authorities and organisation types vary and unusual values occur in real data.
``validate_uscc`` never cleans its input; ingest calls ``normalise_uscc_text`` first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ALPHABET",
    "CHAR_VALUES",
    "STATUS_LABELS",
    "UsccResult",
    "make_uscc",
    "normalise_uscc_text",
    "org_code_check_char",
    "uscc_check_char",
    "validate_uscc",
    "validate_uscc_arrow",
    "validate_uscc_many",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

VALID, BAD_LENGTH, BAD_CHAR, BAD_ORG_CHECK, BAD_USCC_CHECK = range(5)
STATUS_LABELS = {
    VALID: "valid",
    BAD_LENGTH: "length",
    BAD_CHAR: "illegal character",
    BAD_ORG_CHECK: "organisation code check",
    BAD_USCC_CHECK: "USCC check",
}

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE = {ch: i for i, ch in enumerate(_ORG_CHARS)}
_ORG_CHECK = {10: "X", 11: "0"}
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_np_strings = getattr(np, "strings", np.char)  # numpy >= 2 has np.strings

# Lookup tables over ASCII code points for the vectorised validator (and the typo search in
# mujun.ingest.suggest): a character's check value, -1 outside the alphabet. Code points >= 128
# are clipped to 127 (DEL), which is illegal like every other character outside the alphabet.
CHAR_VALUES = _LUT = np.full(128, -1, dtype=np.int16)
_ORG_LUT = np.zeros(128, dtype=np.int16)
for _ch, _v in _VALUE.items():
    _LUT[ord(_ch)] = _v
for _ch, _v in _ORG_VALUE.items():
    _ORG_LUT[ord(_ch)] = _v
# Organisation check code point for c = 11 - (sum mod 11), c in 1..11.
_ORG_CHECK_CP = np.array(
    [0] + [ord(_ORG_CHECK.get(c, str(c))) for c in range(1, 12)], dtype=np.uint32
)
_USCC_W = np.array(USCC_WEIGHTS, dtype=np.int64)
_ORG_W = np.array(ORG_WEIGHTS, dtype=np.int64)


@dataclass(frozen=True)
class UsccResult:
    """Outcome of :func:`validate_uscc`; ``status`` matches :func:`validate_uscc_many`."""

    valid: bool
    code: str
    reason: str | None = None
    expected: str | None = None
    status: int = VALID


def uscc_check_char(first17: str) -> str:
    """Check character (position 18) for the first 17 characters of a USCC."""
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError(f"need 17 characters from {ALPHABET}, got {first17!r}")
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """Check character of a GB 11714 organisation code from its first 8 characters."""
    if len(first8) != 8 or any(ch not in _ORG_VALUE for ch in first8):
        raise ValueError(f"need 8 characters from 0-9 and A-Z, got {first8!r}")
    total = sum(_ORG_VALUE[ch] * w for ch, w in zip(first8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return _ORG_CHECK.get(check, str(check))


def make_uscc(prefix2: str, division6: str, org8: str) -> str:
    """Build a valid USCC from authority+type, division code and organisation-code body."""
    if len(prefix2) != 2 or any(ch not in _VALUE for ch in prefix2):
        raise ValueError(f"prefix2 must be 2 characters from {ALPHABET}, got {prefix2!r}")
    if len(division6) != 6 or not division6.isascii() or not division6.isdigit():
        raise ValueError(f"division6 must be 6 digits, got {division6!r}")
    if len(org8) != 8 or any(ch not in _VALUE for ch in org8):
        raise ValueError(f"org8 must be 8 characters from {ALPHABET}, got {org8!r}")
    first17 = prefix2 + division6 + org8 + org_code_check_char(org8)
    return first17 + uscc_check_char(first17)


def _illegal_reason(ch: str, position: int) -> str:
    hint = ""
    if ch in "IOSVZ":
        hint = f"; {ch} is excluded from the alphabet"
    elif ch.isascii() and ch.isalpha() and ch.islower():
        hint = "; letters must be upper-case"
    return (
        f"illegal character {ch!r} at position {position} "
        f"(allowed: 0-9 and A-Y without I, O, S, V, Z{hint}) / "
        f"第 {position} 位字符 {ch!r} 不合法（只允许 0-9 和除 I、O、S、V、Z 以外的大写字母）"
    )


def validate_uscc(code: str) -> UsccResult:
    """Validate one code exactly as given; the reason names the first check that failed."""
    if not isinstance(code, str):
        raise TypeError(f"validate_uscc expects str, got {type(code).__name__}")
    if len(code) != 18:
        reason = (
            f"wrong length: {len(code)} characters, expected 18 / "
            f"长度错误：{len(code)} 位，应为 18 位"
        )
        return UsccResult(False, code, reason, None, BAD_LENGTH)
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            return UsccResult(False, code, _illegal_reason(ch, position), None, BAD_CHAR)
    org_expected = org_code_check_char(code[8:16])
    if code[16] != org_expected:
        reason = (
            f"organisation code check failed (positions 9-17): position 17 is {code[16]!r}, "
            f"expected {org_expected!r} / 组织机构代码校验失败（第 9-17 位）："
            f"第 17 位为 {code[16]}，应为 {org_expected}"
        )
        return UsccResult(False, code, reason, org_expected, BAD_ORG_CHECK)
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        reason = (
            f"check character failed (position 18): got {code[17]!r}, expected {expected!r} / "
            f"校验码错误（第 18 位）：为 {code[17]}，应为 {expected}"
        )
        return UsccResult(False, code, reason, expected, BAD_USCC_CHECK)
    return UsccResult(True, code)


def _as_unicode_array(codes: Iterable[object] | np.ndarray) -> np.ndarray:
    if isinstance(codes, str):
        codes = [codes]
    arr = np.asarray(codes if isinstance(codes, np.ndarray) else list(codes))
    if arr.dtype.kind == "S":
        return _np_strings.decode(arr, "latin-1")
    if arr.dtype.kind == "O":
        arr = np.where(arr == None, "", arr)  # noqa: E711 - elementwise comparison
    if arr.dtype.kind != "U":
        arr = arr.astype(str)
    return arr


def validate_uscc_many(codes: Iterable[object] | np.ndarray) -> np.ndarray:
    """Vectorised validation: int8 status per code (0 valid, 1 length, 2 char, 3 org, 4 check).

    Agrees with :func:`validate_uscc` on every string without NUL characters (numpy's
    fixed-width strings drop trailing NULs). ``None`` counts as an empty string.
    """
    arr = _as_unicode_array(codes).ravel()
    status = np.full(arr.shape[0], BAD_LENGTH, dtype=np.int8)
    if arr.size == 0:
        return status
    rows = np.flatnonzero(_np_strings.str_len(arr) == 18)
    if rows.size == 0:
        return status
    points = arr[rows].astype("<U18").view(np.uint32).reshape(-1, 18)
    index = np.minimum(points, 127)
    values = _LUT[index].astype(np.int64)
    legal = (values >= 0).all(axis=1)
    status[rows[~legal]] = BAD_CHAR
    rows, points, index, values = rows[legal], points[legal], index[legal], values[legal]

    org_sum = _ORG_LUT[index[:, 8:16]].astype(np.int64) @ _ORG_W
    org_ok = points[:, 16] == _ORG_CHECK_CP[11 - org_sum % 11]
    uscc_ok = values[:, 17] == (31 - (values[:, :17] @ _USCC_W) % 31) % 31
    status[rows] = np.where(~org_ok, BAD_ORG_CHECK, np.where(~uscc_ok, BAD_USCC_CHECK, VALID))
    return status


def validate_uscc_arrow(codes: pa.Array) -> np.ndarray:
    """Like :func:`validate_uscc_many` for an Arrow string array, reading its bytes in place.

    Only codes of exactly 18 ASCII characters reach the checks; everything else is a length
    failure (or, for 18 characters with non-ASCII among them, an illegal character) as in the
    scalar function. Nulls count as empty strings.
    """
    arr = codes.cast(pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    status = np.full(n, BAD_LENGTH, dtype=np.int8)
    if n == 0:
        return status
    nbytes = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)
    chars = pc.fill_null(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)
    if arr.null_count == 0 and (nbytes == 18).all() and (chars == 18).all():
        sub, rows = arr, np.arange(n)  # the common case: read the buffer as it is
    else:
        status[(chars == 18) & (nbytes != 18)] = BAD_CHAR
        rows = np.flatnonzero((chars == 18) & (nbytes == 18))
        if rows.size == 0:
            return status
        sub = pc.take(arr, pa.array(rows))
    offsets = np.frombuffer(sub.buffers()[1], dtype=np.int32)
    start = int(offsets[sub.offset])
    data = np.frombuffer(sub.buffers()[2], dtype=np.uint8)[start : start + 18 * rows.size]
    # ASCII bytes, 18 per code; one contiguous row per character position, so each weighted
    # sum is a handful of vector operations (an integer matrix product is far slower).
    points = np.ascontiguousarray(data.reshape(-1, 18).T)
    values = _LUT[points]
    legal = values.min(axis=0) >= 0
    org_sum = np.zeros(rows.size, dtype=np.int32)
    for k, weight in enumerate(ORG_WEIGHTS):
        org_sum += _ORG_LUT[points[8 + k]] * weight
    total = np.zeros(rows.size, dtype=np.int32)
    for k, weight in enumerate(USCC_WEIGHTS):
        total += values[k] * weight
    org_ok = points[16] == _ORG_CHECK_CP[11 - org_sum % 11]
    uscc_ok = values[17] == (31 - total % 31) % 31
    status[rows] = np.where(
        ~legal,
        BAD_CHAR,
        np.where(~org_ok, BAD_ORG_CHECK, np.where(~uscc_ok, BAD_USCC_CHECK, VALID)),
    )
    return status


def normalise_uscc_text(text: object) -> str:
    """Clean a code typed or pasted by a person: full-width to ASCII, no spaces, upper-case."""
    if text is None:
        return ""
    cleaned = unicodedata.normalize("NFKC", str(text)).translate(_INVISIBLE)
    return "".join(cleaned.split()).upper()
