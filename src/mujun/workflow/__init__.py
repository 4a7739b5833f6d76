"""The workflow of an evaluation year after the first run (domain.md §7): confirmation by the
firms, publication (公示) with its objection window, objections and their review, new runs from
accepted corrections, final results; and department files uploaded from the browser.

No web framework here: the API in ``mujun.web.routers`` calls these functions through the
store's one writer and maps :class:`WorkflowError` kinds to statuses.
"""

from mujun.workflow.errors import WorkflowError
from mujun.workflow.settings import WorkflowSettings

__all__ = ["WorkflowError", "WorkflowSettings"]
