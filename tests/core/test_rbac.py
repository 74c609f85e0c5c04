"""The permission table: default deny, the role ladder, scoped grants and who may grant what."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied
from core.models import Role
from core.rbac import PERMISSIONS, Action, effective_role, require, require_grant

LADDER = [Role.VIEWER, Role.MEMBER, Role.OPERATOR, Role.ADMIN, Role.OVERLORD]


def test_every_action_has_a_least_role() -> None:
    assert set(PERMISSIONS) == set(Action)


@pytest.mark.parametrize("action", list(Action))
def test_each_action_is_allowed_from_its_least_role_up_and_denied_below(action: Action) -> None:
    least = PERMISSIONS[action]
    for role in LADDER:
        if role.rank >= least.rank:
            require(role, action)
        else:
            with pytest.raises(PermissionDenied) as refused:
                require(role, action)
            assert least.value in (refused.value.hint or "")


def test_an_action_missing_from_the_table_is_denied_to_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(PERMISSIONS)
    del table[Action.VIEW_OWN]
    monkeypatch.setattr("core.rbac.PERMISSIONS", table)
    with pytest.raises(PermissionDenied, match="view own"):
        require(Role.OVERLORD, Action.VIEW_OWN)


def test_the_issue_5_split_of_duties() -> None:
    require(Role.OPERATOR, Action.DECIDE_APPROVAL)  # operators approve trials
    for action in (Action.SET_ROLE, Action.SET_TIER, Action.DECIDE_PAIRING):
        with pytest.raises(PermissionDenied):
            require(Role.OPERATOR, action)
        require(Role.ADMIN, action)  # admins also set tiers/roles and approve pairings
    with pytest.raises(PermissionDenied):
        require(Role.ADMIN, Action.MANAGE_CERTIFICATES)  # the CA is the overlord's
    require(Role.OVERLORD, Action.MANAGE_CERTIFICATES)
    for role in (Role.VIEWER, Role.MEMBER):
        with pytest.raises(PermissionDenied):
            require(role, Action.DECIDE_APPROVAL)


def test_scoped_grants_raise_the_role_only_in_their_scope() -> None:
    grants = {"workspace:guild-1": Role.OPERATOR, "context:telegram:42": Role.ADMIN}
    assert effective_role(Role.MEMBER, grants, workspace="guild-1") is Role.OPERATOR
    assert effective_role(Role.MEMBER, grants, workspace="guild-2") is Role.MEMBER
    assert effective_role(Role.MEMBER, grants, workspace="guild-1", context="telegram:42") is Role.ADMIN
    assert effective_role(Role.OVERLORD, grants, workspace="guild-1") is Role.OVERLORD


def test_only_roles_below_your_own_can_be_granted() -> None:
    require_grant(Role.ADMIN, Role.MEMBER, Role.OPERATOR)
    for old, new in [(Role.MEMBER, Role.ADMIN), (Role.MEMBER, Role.OVERLORD), (Role.ADMIN, Role.MEMBER)]:
        with pytest.raises(PermissionDenied):
            require_grant(Role.ADMIN, old, new)
    require_grant(Role.OVERLORD, Role.ADMIN, Role.OVERLORD)
    with pytest.raises(PermissionDenied):
        require_grant(Role.OPERATOR, Role.VIEWER, Role.MEMBER)  # operators grant nothing
