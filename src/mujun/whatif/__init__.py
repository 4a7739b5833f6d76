"""What-if simulation: change weights, benchmarks, caps, bands or policy rates and see the new
classes and policy amounts, without writing a run (see docs/whatif.md)."""

from mujun.whatif.changes import Change, apply_changes, parse_changes
from mujun.whatif.engine import (
    WhatIfBase,
    WhatIfResult,
    base_for_run,
    build_base,
    class_matrix,
    fiscal_effect,
    moves_by,
    simulate,
)

__all__ = [
    "Change",
    "WhatIfBase",
    "WhatIfResult",
    "apply_changes",
    "base_for_run",
    "build_base",
    "class_matrix",
    "fiscal_effect",
    "moves_by",
    "parse_changes",
    "simulate",
]
