"""The permission table, walked: every action with every role is allowed or `PermissionDenied`.

The expected matrix below is written out by hand from the product's rules (issue 11): members ask,
read the library and their own conversations; admins also manage documents (and API keys, usage);
owners also manage the team and billing. A new action must be added here too, or this test fails.
"""

from __future__ import annotations

import pytest

from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import (
    DENIED_MESSAGES,
    PERMISSIONS,
    ROLES,
    Action,
    allowed,
    require,
)
from techdocs_app.errors import PermissionDenied

OWN, ADM, MEM = "owner", "admin", "member"

EXPECTED: dict[str, set[str]] = {
    "ask": {OWN, ADM, MEM},
    "read_library": {OWN, ADM, MEM},
    "read_own_conversations": {OWN, ADM, MEM},
    "view_team": {OWN, ADM, MEM},
    "view_billing_status": {OWN, ADM, MEM},
    "manage_documents": {OWN, ADM},
    "view_usage": {OWN, ADM},
    "manage_api_keys": {OWN, ADM},
    "manage_team": {OWN},
    "manage_billing": {OWN},
    "export_organization": {OWN},
    "delete_organization": {OWN},
}


def _principal(role: str) -> Principal:
    return Principal(user_id=1, org_id=1, role=role, email="x@shop.example", org_name="Shop")


def test_the_matrix_names_every_action() -> None:
    assert set(EXPECTED) == {a.value for a in Action}, "add the new action to EXPECTED"
    assert set(PERMISSIONS) == set(ROLES)


@pytest.mark.parametrize("role", [*ROLES, "", "superuser", "Owner"])
@pytest.mark.parametrize("action", list(Action))
def test_every_action_with_every_role(role: str, action: Action) -> None:
    expected = role in EXPECTED[action.value]
    assert allowed(role, action) is expected
    if expected:
        require(_principal(role), action)
    else:
        with pytest.raises(PermissionDenied) as err:
            require(_principal(role), action)
        assert err.value.user_message  # a plain sentence, never empty


def test_roles_are_nested() -> None:
    assert PERMISSIONS["member"] < PERMISSIONS["admin"] < PERMISSIONS["owner"]


def test_every_action_a_member_cannot_take_has_its_own_message() -> None:
    for action in Action:
        if not allowed("member", action) or not allowed("admin", action):
            assert action in DENIED_MESSAGES, action
