"""Differentiated policies by class: policy tables, the engine and the policy ledger.

Python API (see docs/policies.md):

- :func:`load_policy` / :func:`parse_policy` — a validated :class:`PolicySet` from YAML;
- :func:`compute_amounts` — per lever and firm, arrays of base quantity, rate and amount;
- :func:`compute_ledger` — the same as a long Arrow table with the rule applied in words;
- :func:`consecutive_years` — years in a row in the current class, for escalating rates;
- :func:`fiscal_totals` — per lever, firms concerned and the total;
- :func:`mujun.policy.ledger.apply_policy` — write a run's ledger to the store.
"""

from mujun.policy.engine import (
    QUANTITIES,
    LeverAmounts,
    compute_amounts,
    compute_ledger,
    consecutive_years,
    factorize_counties,
    fiscal_totals,
)
from mujun.policy.spec import PolicySet, load_policy, parse_policy, policy_hash

__all__ = [
    "QUANTITIES",
    "LeverAmounts",
    "PolicySet",
    "compute_amounts",
    "compute_ledger",
    "consecutive_years",
    "factorize_counties",
    "fiscal_totals",
    "load_policy",
    "parse_policy",
    "policy_hash",
]
