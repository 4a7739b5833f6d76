"""Turn the data rows of a recognised sheet into canonical typed columns and row problems."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mujun.ingest import cells
from mujun.ingest.profiles import FieldSpec, SourceProfile
from mujun.ingest.units import unit_factor
from mujun.reference.divisions import division_codes_by_name, division_status
from mujun.reference.industries import normalise_industry_code
from mujun.reference.uscc import validate_uscc, validate_uscc_arrow

ARROW_TYPES = {
    "uscc": pa.string(),
    "text": pa.string(),
    "number": pa.float64(),
    "integer": pa.float64(),
    "date": pa.date32(),
    "bool": pa.bool_(),
    "division": pa.string(),
    "industry": pa.string(),
    "choice": pa.string(),
}

SQL_TYPES = {
    "uscc": "VARCHAR",
    "text": "VARCHAR",
    "number": "DOUBLE",
    "integer": "DOUBLE",
    "date": "DATE",
    "bool": "BOOLEAN",
    "division": "VARCHAR",
    "industry": "VARCHAR",
    "choice": "VARCHAR",
}

_USCC_REASONS = {
    1: "length is not 18 characters / 长度不是18位",
    2: "illegal character / 含非法字符",
    3: "organisation-code check (position 17) failed / 组织机构代码校验位错误",
    4: "check character (position 18) failed / 校验码错误",
}


@dataclass
class CellProblem:
    """Problems of one kind in one column: the rows (indices into the data block) and detail."""

    field: str
    code: str
    severity: str
    rows: np.ndarray
    message: str
    details: list[str | None] | None = None


@dataclass
class ParsedBlock:
    """Canonical columns of a data block plus every cell problem found."""

    columns: dict[str, pa.Array]
    problems: list[CellProblem] = field(default_factory=list)
    quarantine: np.ndarray | None = None  # bool mask of rows whose key is unusable


def _float_artefacts(codes: pa.Array) -> np.ndarray:
    """Codes that are the exact decimal of a float (913310812344999936): a number Excel stored
    in place of the code, with its last digits lost to binary rounding."""
    out = np.zeros(len(codes), dtype=bool)
    for i, c in enumerate(codes.to_pylist()):  # only the few invalid codes reach here
        if c and c.isdigit() and len(c) >= 15:
            out[i] = int(float(c)) == int(c)
    return out


def _division_code(year: int):
    by_name = division_codes_by_name(year)

    def norm(v: str) -> str | None:
        code = v[:-2] if v.endswith(".0") else v
        if len(code) != 6 or not code.isdigit():
            # A county written by name (温岭市) is looked up in the division list.
            return by_name.get(code)
        return code if division_status(code, year) != "unknown" else None

    return norm


def _parse_uscc(raw: pa.Array) -> tuple[cells.Parsed, np.ndarray, list[str | None]]:
    s = pc.utf8_upper(cells.clean_text(raw))
    # Excel's text prefix (') and invisible or inner spaces are artefacts of copying, not part
    # of the code. A cell of ASCII letters and digits only (nearly all) has none of them.
    rest = np.flatnonzero(~cells.to_mask(pc.ascii_is_alnum(s)) & ~cells.to_mask(pc.is_null(s)))
    if rest.size:
        sub = pc.take(s, pa.array(rest))
        sub = pc.replace_substring_regex(sub, r"[\s\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}]", "")
        sub = pc.replace_substring_regex(sub, r"^[\'‘’`]+", "")
        sub = pc.if_else(pc.equal(sub, ""), pa.scalar(None, pa.string()), sub)
        s = cells.scatter(s, rest, sub)
    blank = cells.to_mask(pc.is_null(s))
    status = validate_uscc_arrow(s)
    bad = ~blank & (status != 0)
    bad_rows = np.flatnonzero(bad)
    mangled = np.zeros(len(s), dtype=bool)
    details: list[str | None] = [None] * len(s)
    if bad_rows.size:
        bad_text = pc.take(s, pa.array(bad_rows))
        mangled[bad_rows] = cells.mangled_code_mask(bad_text) | _float_artefacts(bad_text)
        for k, i in enumerate(bad_rows):
            if not mangled[i]:
                code = bad_text[k].as_py()
                details[i] = validate_uscc(code).reason or _USCC_REASONS.get(int(status[i]))
    values = pc.if_else(pa.array(bad), pa.scalar(None, pa.string()), s)
    return cells.Parsed(values, blank, bad & ~mangled, code="bad-credit-code"), mangled, details


def parse_block(
    raw: dict[str, pa.Array], profile: SourceProfile, units: dict[str, str], year: int
) -> ParsedBlock:
    """Parse every mapped column; collect problems; mark rows whose key cannot be used."""
    n = len(next(iter(raw.values()))) if raw else 0
    out: dict[str, pa.Array] = {}
    problems: list[CellProblem] = []
    quarantine = np.zeros(n, dtype=bool)
    for name, spec in profile.fields.items():
        if name not in raw:
            # A column the file does not have: its default (e.g. 自有 land) or empty.
            if spec.default is not None:
                out[name] = pa.array([spec.default] * n, ARROW_TYPES[spec.type])
            else:
                out[name] = pa.nulls(n, ARROW_TYPES[spec.type])
            continue
        is_key = name in profile.key
        severity = "error" if is_key else spec.severity
        col = raw[name]
        if spec.type == "uscc":
            parsed, mangled, details = _parse_uscc(col)
            if mangled.any():
                problems.append(
                    CellProblem(
                        name,
                        "mangled-credit-code",
                        severity,
                        np.flatnonzero(mangled),
                        "credit code turned into a number by Excel (digits lost) / "
                        "信用代码被Excel转成数字，位数已丢失",
                    )
                )
                if is_key:
                    quarantine |= mangled
            if parsed.bad.any():
                rows = np.flatnonzero(parsed.bad)
                problems.append(
                    CellProblem(
                        name,
                        "bad-credit-code",
                        severity,
                        rows,
                        "invalid credit code / 统一社会信用代码无效",
                        [details[i] for i in rows],
                    )
                )
            if is_key:
                quarantine |= parsed.bad
            bad_any = parsed.bad | mangled
        else:
            parsed = _parse_other(col, spec, year)
            bad_any = parsed.bad
            if parsed.bad.any():
                problems.append(
                    CellProblem(
                        name,
                        parsed.code,
                        severity,
                        np.flatnonzero(parsed.bad),
                        _TYPE_MESSAGES.get(spec.type)
                        if parsed.code == "type-error"
                        else _BAD_MESSAGES.get(parsed.code, "unreadable value"),
                    )
                )
                if is_key:
                    quarantine |= parsed.bad
        values = parsed.values
        if spec.type in ("number", "integer") and name in units:
            factor = unit_factor(units[name], spec.unit)  # type: ignore[arg-type]
            if factor != 1.0:
                values = pc.multiply(values, factor)
            if not spec.allow_negative:
                neg = cells.to_mask(pc.less(values, 0.0))
                if neg.any():
                    problems.append(
                        CellProblem(
                            name,
                            "out-of-range",
                            severity,
                            np.flatnonzero(neg),
                            "negative value where only zero or more is possible / 不应为负数",
                        )
                    )
                    values = pc.if_else(pa.array(neg), pa.scalar(None, pa.float64()), values)
        blank = parsed.blank & ~bad_any
        if blank.any() and (spec.required or is_key):
            if spec.type == "choice" and spec.default is not None and not is_key:
                fill = pa.array(np.where(blank, spec.default, None), pa.string())
                values = pc.coalesce(values, fill)
            else:
                problems.append(
                    CellProblem(
                        name,
                        "missing-key" if is_key else "missing-value",
                        severity,
                        np.flatnonzero(blank),
                        "required value is empty / 必填项为空",
                    )
                )
                if is_key:
                    quarantine |= blank
        elif blank.any() and spec.type == "choice" and spec.default is not None:
            fill = pa.array(np.where(blank, spec.default, None), pa.string())
            values = pc.coalesce(values, fill)
        out[name] = values.cast(ARROW_TYPES[spec.type])
    return ParsedBlock(out, problems, quarantine)


_TYPE_MESSAGES = {
    "number": "not a number / 不是有效数值",
    "integer": "not a whole number / 不是有效整数",
    "date": "not a date / 不是有效日期",
    "bool": "not a yes/no value (是/否, 规上/规下) / 不是有效的是否值",
}
_BAD_MESSAGES = {
    "type-error": "not a readable value for this column / 无法识别的数值或日期",
    "invalid-choice": "not one of the allowed values / 不在允许的取值范围内",
    "unknown-division": "not a Zhejiang division code / 不是浙江省行政区划代码",
    "unknown-industry": "not a GB/T 4754-2017 industry code / 不是国民经济行业代码",
}


def _parse_other(col: pa.Array, spec: FieldSpec, year: int) -> cells.Parsed:
    if spec.type == "text":
        return cells.parse_text(col)
    if spec.type in ("number", "integer"):
        return cells.parse_number(col, integer=spec.type == "integer")
    if spec.type == "date":
        return cells.parse_date(col)
    if spec.type == "bool":
        return cells.parse_bool(col)
    if spec.type == "choice":
        return cells.parse_choice(col, spec.choices or {})
    if spec.type == "division":
        return cells.parse_code(col, _division_code(year), "unknown-division")
    if spec.type == "industry":
        return cells.parse_code(col, normalise_industry_code, "unknown-industry")
    raise ValueError(f"unhandled field type {spec.type}")
