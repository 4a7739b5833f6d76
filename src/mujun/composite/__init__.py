"""The general composite-indicator engine: a YAML rule set run over a unit × indicator table.

Denominate, impute, screen, treat outliers, normalise (min–max, z-score, ranks, distance to
target, goalposts, ratio to benchmark with caps), aggregate level by level, round and rank.
See ``docs/composite.md``.
"""

from mujun.composite.engine import (
    CompositeLog,
    CompositeResult,
    mean_rank_shift_when_removed,
    run_composite,
    run_rules,
)
from mujun.composite.normalise import BenchmarkUsed
from mujun.composite.spec import CompositeSpec, load_spec
from mujun.composite.tables import UnitTable, load_unit_table
from mujun.composite.treat import OutlierTreatment

__all__ = [
    "BenchmarkUsed",
    "CompositeLog",
    "CompositeResult",
    "CompositeSpec",
    "OutlierTreatment",
    "UnitTable",
    "load_spec",
    "load_unit_table",
    "mean_rank_shift_when_removed",
    "run_composite",
    "run_rules",
]
