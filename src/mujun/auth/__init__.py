"""Accounts, roles and data scope, sessions and the hash-chained audit log.

Used by the web platform (``mujun.web``) and the ``mujun users`` commands. Everything that
writes goes through the store's one writer and records an audit entry in the same transaction.
"""

from mujun.auth.audit import (
    Actor,
    AuditEntry,
    append_audit,
    audit_head,
    list_audit,
    record,
    verify_audit_chain,
)
from mujun.auth.clock import utcnow
from mujun.auth.passwords import check_password_policy, generate_password, hash_password
from mujun.auth.roles import ROLE_NAMES, Role, parse_role
from mujun.auth.scope import DataScope, can_see_run, covers, data_scope, scope_condition
from mujun.auth.settings import AuthSettings
from mujun.auth.users import (
    ImportReport,
    LoginResult,
    User,
    authenticate,
    change_password,
    create_user,
    get_user,
    import_enterprise_users,
    list_users,
    reset_password,
    set_disabled,
    unlock_user,
)

__all__ = [
    "ROLE_NAMES",
    "Actor",
    "AuditEntry",
    "AuthSettings",
    "DataScope",
    "ImportReport",
    "LoginResult",
    "Role",
    "User",
    "append_audit",
    "audit_head",
    "authenticate",
    "can_see_run",
    "change_password",
    "check_password_policy",
    "covers",
    "create_user",
    "data_scope",
    "generate_password",
    "get_user",
    "hash_password",
    "import_enterprise_users",
    "list_audit",
    "list_users",
    "parse_role",
    "record",
    "reset_password",
    "scope_condition",
    "set_disabled",
    "unlock_user",
    "utcnow",
    "verify_audit_chain",
]
