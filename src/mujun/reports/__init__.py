"""Published outputs of a run: result workbooks per county (internal and public) and 一企一单."""

from mujun.reports.enterprise import write_enterprise_sheet, write_enterprise_sheets
from mujun.reports.published import write_published_workbooks

__all__ = ["write_enterprise_sheet", "write_enterprise_sheets", "write_published_workbooks"]
