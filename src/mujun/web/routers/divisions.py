"""The user's region tree (province → city → county)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from mujun.auth.roles import PROVINCE_CODE, REGION_ROLES, Role
from mujun.auth.scope import region_tree
from mujun.auth.users import User
from mujun.web.deps import require_roles
from mujun.web.models import COMMON_ERRORS, DivisionNode, DivisionsOut

router = APIRouter(tags=["divisions 行政区划"], responses=COMMON_ERRORS)
# The system administrator sees the whole tree to assign analysts their scope.
TreeReader = Annotated[User, Depends(require_roles(*REGION_ROLES, Role.SYSTEM_ADMIN))]


@router.get("/divisions", response_model=DivisionsOut)
def get_divisions(
    user: TreeReader,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="按该年末的区划 / as at year end")
    ] = None,
) -> DivisionsOut:
    """Your region and every division below it (current divisions, or those of ``year``)."""
    root = user.region or PROVINCE_CODE
    on = date(year, 12, 31) if year else None
    return DivisionsOut(tree=DivisionNode.model_validate(region_tree(root, on)))
