"""Who may do what: the one permission table of the product.

Every action the product offers is checked in the service layer with `require(principal, action)`,
never only in the UI (the UI asks `allowed(...)` to decide which buttons to show). The same table
serves the browser, the REST API (an API key acts with the role chosen at its creation) and the
command line.

Roles, from least to most:
- member: a technician; asks questions, reads the library and their own conversations;
- admin: also manages documents (upload, delete, re-index) and API keys, and sees usage;
- owner: also manages the team (invitations, roles, removal) and billing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from techdocs_app.errors import PermissionDenied

if TYPE_CHECKING:
    from techdocs_app.auth import Principal

ROLES = ("owner", "admin", "member")


class Action(StrEnum):
    ASK = "ask"
    READ_LIBRARY = "read_library"
    READ_OWN_CONVERSATIONS = "read_own_conversations"
    VIEW_TEAM = "view_team"
    VIEW_BILLING_STATUS = "view_billing_status"
    MANAGE_DOCUMENTS = "manage_documents"
    """Upload, delete and re-index manuals; retry failed ingestion."""
    VIEW_USAGE = "view_usage"
    MANAGE_API_KEYS = "manage_api_keys"
    MANAGE_TEAM = "manage_team"
    """Invite, revoke and resend invitations, change roles, remove members, transfer ownership."""
    MANAGE_BILLING = "manage_billing"
    EXPORT_ORGANIZATION = "export_organization"
    DELETE_ORGANIZATION = "delete_organization"


_MEMBER = frozenset(
    {
        Action.ASK,
        Action.READ_LIBRARY,
        Action.READ_OWN_CONVERSATIONS,
        Action.VIEW_TEAM,
        Action.VIEW_BILLING_STATUS,
    }
)
_ADMIN = _MEMBER | {Action.MANAGE_DOCUMENTS, Action.VIEW_USAGE, Action.MANAGE_API_KEYS}
_OWNER = _ADMIN | {
    Action.MANAGE_TEAM,
    Action.MANAGE_BILLING,
    Action.EXPORT_ORGANIZATION,
    Action.DELETE_ORGANIZATION,
}

PERMISSIONS: dict[str, frozenset[Action]] = {"member": _MEMBER, "admin": _ADMIN, "owner": _OWNER}
"""role -> the actions it may take. An unknown role may take none."""

DENIED_MESSAGES: dict[Action, str] = {
    Action.MANAGE_DOCUMENTS: "Only the shop's owner or an admin can manage the library.",
    Action.VIEW_USAGE: "Only the shop's owner or an admin can see usage.",
    Action.MANAGE_API_KEYS: "Only the shop's owner or an admin can manage API keys.",
    Action.MANAGE_TEAM: "Only the shop's owner can manage the team.",
    Action.MANAGE_BILLING: "Only the shop's owner can manage billing.",
    Action.EXPORT_ORGANIZATION: "Only the shop's owner can export the organization's data.",
    Action.DELETE_ORGANIZATION: "Only the shop's owner can delete the organization.",
}


def allowed(role: str, action: Action) -> bool:
    return action in PERMISSIONS.get(role, frozenset())


def require(principal: Principal, action: Action) -> None:
    """Raise `PermissionDenied` (with a plain message) unless the principal's role allows it."""
    if not allowed(principal.role, action):
        raise PermissionDenied(
            DENIED_MESSAGES.get(action, "Your role in this shop does not allow that.")
        )
