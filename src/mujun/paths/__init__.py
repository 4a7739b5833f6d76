"""Paths to the next class (升级路径): the smallest change of one lever that lifts a firm.

``compute_paths(run_scoring)`` solves every classed firm × lever of a re-scored run;
``rescore_with_change`` checks one by re-scoring; :mod:`mujun.paths.text` words them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mujun.paths.solve import LEVER_BY_CODE, LEVERS, FirmPaths, FirmStatus, Lever, solve_group
from mujun.paths.text import NOTE_EN, NOTE_ZH, lever_sentence, path_summary
from mujun.paths.verify import rescore_with_change
from mujun.robustness.runscore import RunScoring

__all__ = [
    "LEVERS",
    "LEVER_BY_CODE",
    "LEVER_NAMES_EN",
    "NOTE_EN",
    "NOTE_ZH",
    "FirmPaths",
    "FirmStatus",
    "Lever",
    "PathsResult",
    "compute_paths",
    "lever_sentence",
    "path_summary",
    "rescore_with_change",
]

LEVER_NAMES_EN = {
    "tax": "tax paid",
    "va": "value added",
    "energy": "energy use",
    "emissions": "emissions",
    "staff": "employees",
    "land": "land (release)",
    "electricity": "electricity",
}


@dataclass
class PathsResult:
    """Paths of every group of a run."""

    run_id: str
    groups: list[tuple[FirmPaths, FirmStatus]]


def compute_paths(rs: RunScoring) -> PathsResult:
    """Solve every classed firm × lever of the run (see :mod:`mujun.paths.solve`)."""
    return PathsResult(rs.run_id, [solve_group(rs, g) for g in rs.groups])
