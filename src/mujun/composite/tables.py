"""Engine inputs: the unit × column table and readers of COINr-style iData/iMeta CSVs."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from mujun.errors import ConfigError, InputError

__all__ = ["UnitTable", "load_unit_table", "read_meta"]


@dataclass
class UnitTable:
    """Units (string ids) with numeric input columns (NaN = missing) and text group columns."""

    units: np.ndarray
    columns: dict[str, np.ndarray]
    groups: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.units = np.asarray(self.units).astype(str)
        n = self.units.shape[0]
        self.columns = {k: np.asarray(v, dtype=np.float64) for k, v in self.columns.items()}
        self.groups = {k: np.asarray(v).astype(str) for k, v in self.groups.items()}
        for name, col in [*self.columns.items(), *self.groups.items()]:
            if col.shape != (n,):
                raise InputError(f"column {name!r} has {col.shape[0]} rows, expected {n}")

    def __len__(self) -> int:
        return int(self.units.shape[0])


def load_unit_table(
    data_dir: Path,
    *,
    file: str = "iData.csv",
    unit_column: str = "uCode",
    group_columns: list[str] | tuple[str, ...] = (),
) -> UnitTable:
    """Read ``data_dir/file`` (UTF-8 CSV, empty field = missing) into a UnitTable."""
    path = Path(data_dir) / file
    if not path.is_file():
        raise InputError(f"data file {path} not found", "pass the directory that holds it")
    text_columns = {unit_column, *group_columns}
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                null_values=[""],
                strings_can_be_null=True,
                column_types={c: pa.string() for c in text_columns},
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if unit_column not in table.column_names:
        raise ConfigError(
            f"unit column {unit_column!r} not in {path}",
            f"set data.unit_column; columns are {', '.join(table.column_names[:12])}",
        )
    units = table.column(unit_column)
    if units.null_count:
        raise InputError(f"{path}: {units.null_count} rows have no {unit_column}")
    columns: dict[str, np.ndarray] = {}
    groups: dict[str, np.ndarray] = {}
    for name in table.column_names:
        if name == unit_column:
            continue
        col = table.column(name)
        if name not in text_columns and (
            pa.types.is_integer(col.type)
            or pa.types.is_floating(col.type)
            or pa.types.is_null(col.type)
        ):
            columns[name] = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        else:
            text = col.cast(pa.string()).fill_null("")
            groups[name] = text.to_numpy(zero_copy_only=False).astype(str)
    ids = units.to_numpy(zero_copy_only=False).astype(str)
    return UnitTable(units=ids, columns=columns, groups=groups)


def _number(text: str, where: str) -> float | None:
    if text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a number") from None


def read_meta(path: Path, source: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Indicators and aggregates (as spec dicts) from a COINr ``iMeta.csv``; other rows ignored."""
    if not path.is_file():
        raise ConfigError(
            f"meta file {path} (from indicators_from) not found",
            "put it in the data directory or change indicators_from.file",
        )
    indicators: list[dict[str, Any]] = []
    aggregates: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        required = {"iCode", "Type", "Parent", "Weight", "Direction"}
        if missing := required - set(reader.fieldnames or []):
            raise ConfigError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            where = f"{path} line {line}"
            kind = (row.get("Type") or "").strip()
            weight = _number(row.get("Weight", ""), where)
            common = {
                "code": row["iCode"].strip(),
                "name": (row.get("iName") or "").strip(),
                "weight": 1.0 if weight is None else weight,
            }
            if kind == "Indicator":
                direction = _number(row.get("Direction", ""), where)
                if direction not in (1.0, -1.0):
                    raise ConfigError(
                        f"{where}: Direction must be 1 or -1, got {row['Direction']!r}"
                    )
                indicators.append(
                    {
                        **common,
                        "parent": (row.get("Parent") or "").strip(),
                        "direction": int(direction),
                        "denominator": (row.get("Denominator") or "").strip() or None,
                        "unit": (row.get("Unit") or "").strip(),
                        "target": _number(row.get("Target", ""), where),
                    }
                )
            elif kind == "Aggregate":
                aggregates.append(
                    {
                        **common,
                        "parent": (row.get("Parent") or "").strip() or None,
                        "method": source.aggregate_method,
                        "missing": source.aggregate_missing,
                    }
                )
    return indicators, aggregates
