"""Role-based access control: one permission table, default deny. No I/O.

Every command and admin route names an :class:`Action`; :func:`require`
checks the caller's effective role in the scope of the request against the
least role the table allows. An action missing from the table is denied to
everyone, so forgetting to list a new action fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from core.errors import PermissionDenied
from core.models import Role

__all__ = [
    "PERMISSIONS",
    "Action",
    "effective_role",
    "require",
    "require_grant",
]


class Action(StrEnum):
    # chat users
    RENDER = "render"
    EDIT_CODE = "edit_code"
    SHOW_CODE = "show_code"
    REQUEST_TRIAL = "request_trial"
    CLEAR_MEMORY = "clear_memory"
    NEW_SESSION = "new_session"
    CANCEL_OWN_JOB = "cancel_own_job"
    REQUEST_PAIRING = "request_pairing"
    VIEW_OWN = "view_own"
    # staff
    DECIDE_APPROVAL = "decide_approval"
    LIST_APPROVALS = "list_approvals"
    LIST_JOBS = "list_jobs"
    CANCEL_ANY_JOB = "cancel_any_job"
    WATCH_EVENTS = "watch_events"
    LIST_USERS = "list_users"
    SET_TIER = "set_tier"
    SET_ROLE = "set_role"
    LOOKUP_PAIRING = "lookup_pairing"
    DECIDE_PAIRING = "decide_pairing"
    VIEW_AUDIT = "view_audit"
    SET_CONTEXT_POLICY = "set_context_policy"
    MANAGE_SCHEDULES = "manage_schedules"
    # the CA
    MANAGE_CERTIFICATES = "manage_certificates"
    # enrollment secrets and revocation for staff below admin (admin and overlord subjects
    # additionally need MANAGE_CERTIFICATES; see core.adminapi.authority)
    ISSUE_ENROLLMENT = "issue_enrollment"
    REVOKE_CERTIFICATE = "revoke_certificate"


PERMISSIONS: Mapping[Action, Role] = {
    Action.VIEW_OWN: Role.VIEWER,
    Action.RENDER: Role.MEMBER,
    Action.EDIT_CODE: Role.MEMBER,
    Action.SHOW_CODE: Role.MEMBER,
    Action.REQUEST_TRIAL: Role.MEMBER,
    Action.CLEAR_MEMORY: Role.MEMBER,
    Action.NEW_SESSION: Role.MEMBER,
    Action.CANCEL_OWN_JOB: Role.MEMBER,
    Action.REQUEST_PAIRING: Role.MEMBER,
    Action.DECIDE_APPROVAL: Role.OPERATOR,
    Action.LIST_APPROVALS: Role.OPERATOR,
    Action.LIST_JOBS: Role.OPERATOR,
    Action.CANCEL_ANY_JOB: Role.OPERATOR,
    Action.WATCH_EVENTS: Role.OPERATOR,
    Action.LIST_USERS: Role.ADMIN,
    Action.SET_TIER: Role.ADMIN,
    Action.SET_ROLE: Role.ADMIN,
    Action.LOOKUP_PAIRING: Role.ADMIN,
    Action.DECIDE_PAIRING: Role.ADMIN,
    Action.VIEW_AUDIT: Role.ADMIN,
    Action.SET_CONTEXT_POLICY: Role.ADMIN,
    Action.MANAGE_SCHEDULES: Role.ADMIN,
    Action.MANAGE_CERTIFICATES: Role.OVERLORD,
    Action.ISSUE_ENROLLMENT: Role.ADMIN,
    Action.REVOKE_CERTIFICATE: Role.ADMIN,
}


def effective_role(
    global_role: Role,
    grants: Mapping[str, Role],
    *,
    workspace: str | None = None,
    context: str | None = None,
) -> Role:
    """The strongest of the global role and any grant for this workspace or context.

    ``grants`` maps scopes (``workspace:<id>``, ``context:<id>``) to roles.
    """
    candidates = [global_role]
    if workspace is not None and f"workspace:{workspace}" in grants:
        candidates.append(grants[f"workspace:{workspace}"])
    if context is not None and f"context:{context}" in grants:
        candidates.append(grants[f"context:{context}"])
    return max(candidates, key=lambda role: role.rank)


def require(role: Role, action: Action) -> None:
    """Raise PermissionDenied unless ``role`` may perform ``action``."""
    least = PERMISSIONS.get(action)
    if least is None or not role.at_least(least):
        needed = least.value if least is not None else "nobody"
        raise PermissionDenied(
            f"You are not allowed to {action.value.replace('_', ' ')}.",
            hint=f"This needs the {needed} role; you are {role.value}.",
        )


def require_grant(granter: Role, old: Role, new: Role) -> None:
    """Changing someone's role: only to and from roles below your own, unless overlord."""
    require(granter, Action.SET_ROLE)
    if granter is Role.OVERLORD:
        return
    if not granter.rank > max(old.rank, new.rank):
        raise PermissionDenied(
            f"A {granter.value} cannot change a {old.value} into a {new.value}.",
            hint="Only roles below your own can be granted or taken away.",
        )
