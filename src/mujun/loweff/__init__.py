"""Low-efficiency tracking (低效企业整治): configurable rules (Huzhou's 三低, tax under
1万元/亩 …) screen a run's results into a yearly list; each listed firm has a case followed
across years through identified → plan agreed → upgraded / merged / exited, with the land freed.
"""

from mujun.loweff.cases import (
    STATUS_LABELS,
    EntryQuery,
    Transition,
    change_status,
    get_case,
    list_entries,
    status_label,
    summarise,
)
from mujun.loweff.identify import IdentifyReport, choose_run, identify
from mujun.loweff.rules import LowEffRuleSet, load_loweff_rules, parse_loweff_rules

__all__ = [
    "STATUS_LABELS",
    "EntryQuery",
    "IdentifyReport",
    "LowEffRuleSet",
    "Transition",
    "change_status",
    "choose_run",
    "get_case",
    "identify",
    "list_entries",
    "load_loweff_rules",
    "parse_loweff_rules",
    "status_label",
    "summarise",
]
