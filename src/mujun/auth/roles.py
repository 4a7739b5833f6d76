"""Roles, what each may do, and the account attributes each role needs.

Business roles see evaluation data within a scope; the three administrators (system, security,
audit) are kept apart as classified protection asks, and none of them can see or change scores.
"""

from __future__ import annotations

from enum import StrEnum

from mujun.reference.divisions import is_dev_zone_code, load_divisions
from mujun.reference.uscc import validate_uscc

PROVINCE_CODE = "330000"


class Role(StrEnum):
    """An account's role; the value is what the ``users.role`` column stores."""

    PROVINCE_ADMIN = "province_admin"
    CITY_ANALYST = "city_analyst"
    COUNTY_ANALYST = "county_analyst"
    DEPARTMENT_UPLOADER = "department_uploader"
    ENTERPRISE = "enterprise"
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"
    AUDIT_ADMIN = "audit_admin"


ROLE_NAMES = {
    Role.PROVINCE_ADMIN: "省级管理员",
    Role.CITY_ANALYST: "市级分析员",
    Role.COUNTY_ANALYST: "县级分析员",
    Role.DEPARTMENT_UPLOADER: "部门数据报送员",
    Role.ENTERPRISE: "企业用户",
    Role.SYSTEM_ADMIN: "系统管理员",
    Role.SECURITY_ADMIN: "安全管理员",
    Role.AUDIT_ADMIN: "审计管理员",
}

# Roles that read evaluation runs and results, each within its own scope.
RESULT_READERS = frozenset(
    {Role.PROVINCE_ADMIN, Role.CITY_ANALYST, Role.COUNTY_ANALYST, Role.ENTERPRISE}
)
# Roles that hold a region scope (division code and everything below it).
REGION_ROLES = frozenset({Role.PROVINCE_ADMIN, Role.CITY_ANALYST, Role.COUNTY_ANALYST})
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
# A system administrator manages business accounts; the three administrator accounts are made
# on the server with the CLI, so that no one administrator can create the others.
ASSIGNABLE_BY_SYSTEM_ADMIN = frozenset(Role) - ADMIN_ROLES


def parse_role(text: str) -> Role:
    """The role named ``text``; ValueError listing the known roles otherwise."""
    try:
        return Role(text)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"未知角色 {text!r} / unknown role; known: {known}") from None


def _division_levels() -> dict[str, str]:
    return {d.code: d.level for d in load_divisions()}


def check_account(
    role: Role, scope: str | None, department: str | None, uscc: str | None
) -> list[str]:
    """Problems with the attributes of an account of ``role`` (empty when it is consistent)."""
    errors: list[str] = []
    levels = _division_levels()
    if role == Role.CITY_ANALYST:
        if not scope or levels.get(scope) != "city":
            errors.append(
                f"市级分析员需要地市代码 --scope（如 330100），得到 {scope!r} / "
                "a city analyst needs a city code as scope"
            )
    elif role == Role.COUNTY_ANALYST:
        if not scope or not (levels.get(scope) == "county" or is_dev_zone_code(scope)):
            errors.append(
                f"县级分析员需要区县代码 --scope（如 330102），得到 {scope!r} / "
                "a county analyst needs a county-level code as scope"
            )
    elif scope and not (role == Role.PROVINCE_ADMIN and scope == PROVINCE_CODE):
        errors.append(f"角色 {role.value} 不使用 --scope / this role takes no scope")
    if role == Role.DEPARTMENT_UPLOADER:
        if not department:
            errors.append(
                "部门数据报送员需要 --department（数据源，如 tax）/ "
                "an uploader needs a department (source key such as tax)"
            )
    elif department:
        errors.append(f"角色 {role.value} 不使用 --department / this role takes no department")
    if role == Role.ENTERPRISE:
        if not uscc:
            errors.append("企业用户需要 --uscc 统一社会信用代码 / an enterprise needs --uscc")
        else:
            check = validate_uscc(uscc)
            if not check.valid:
                errors.append(f"信用代码无效 / invalid credit code: {check.reason}")
    elif uscc:
        errors.append(f"角色 {role.value} 不使用 --uscc / this role takes no credit code")
    return errors
