"""The evaluation: per-firm inputs, scoring and classification under a rule set, runs."""

from mujun.evaluation.run import RunSummary, evaluate, summarise_run

__all__ = ["RunSummary", "evaluate", "summarise_run"]
