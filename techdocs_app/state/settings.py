"""/settings page state: the organization's API keys (owners and admins) and its data: export
and deletion (owners). Thin: every action calls one service with the signed-in principal."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import reflex as rx

from techdocs_app import api_keys
from techdocs_app.api import SESSION_COOKIE
from techdocs_app.auth.permissions import Action, allowed
from techdocs_app.downloads import EXPORT_PATH
from techdocs_app.errors import TechDocsError
from techdocs_app.organization_deletion import delete_organization
from techdocs_app.state.base import SIGN_IN_ROUTE, current_principal

log = logging.getLogger(__name__)

EXPORT_URL = EXPORT_PATH
"""Where the export zip downloads from (a plain same-origin request with the session cookie)."""


@dataclass
class KeyItem:
    id: int = 0
    name: str = ""
    prefix: str = ""
    role: str = ""
    created_by: str = ""
    created: str = ""
    last_used: str = ""


def _when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def key_item(view: api_keys.ApiKeyView) -> KeyItem:
    return KeyItem(
        id=view.id,
        name=view.name,
        prefix=view.prefix,
        role=view.role,
        created_by=view.created_by or "a former member",
        created=_when(view.created_at),
        last_used=_when(view.last_used_at),
    )


class SettingsState(rx.State):
    loaded: bool = False
    role: str = ""
    org_name: str = ""

    keys: list[KeyItem] = []
    key_roles: list[str] = []
    new_key_role: str = "member"
    key_error: str = ""
    creating: bool = False
    created_secret: str = ""
    created_name: str = ""

    delete_typed: str = ""
    delete_error: str = ""
    deleting: bool = False

    @rx.var
    def can_manage_keys(self) -> bool:
        return allowed(self.role, Action.MANAGE_API_KEYS)

    @rx.var
    def can_manage_data(self) -> bool:
        return allowed(self.role, Action.EXPORT_ORGANIZATION) and allowed(
            self.role, Action.DELETE_ORGANIZATION
        )

    @rx.var
    def delete_ready(self) -> bool:
        return " ".join(self.delete_typed.split()) == " ".join(self.org_name.split()) != ""

    async def _refresh_keys(self) -> None:
        principal = await current_principal(self)
        if principal is None or not allowed(principal.role, Action.MANAGE_API_KEYS):
            self.keys = []
            return
        views = await asyncio.to_thread(api_keys.list_api_keys, principal)
        self.keys = [key_item(v) for v in views]

    @rx.event
    async def load(self):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.role = principal.role
        self.org_name = principal.org_name
        self.key_roles = api_keys.roles_a_creator_may_give(principal.role)
        if self.new_key_role not in self.key_roles:
            self.new_key_role = "member"
        self.created_secret = ""
        self.delete_typed = ""
        self.delete_error = ""
        self.key_error = ""
        await self._refresh_keys()
        self.loaded = True
        return None

    @rx.event
    def set_new_key_role(self, value: str):
        self.new_key_role = value

    @rx.event
    async def create_key(self, form_data: dict[str, str]):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.key_error = ""
        self.creating = True
        try:
            created = await asyncio.to_thread(
                api_keys.create_api_key,
                principal,
                name=form_data.get("name", ""),
                role=self.new_key_role,
            )
        except TechDocsError as exc:
            self.key_error = exc.user_message
            return None
        finally:
            self.creating = False
        self.created_secret = created.secret
        self.created_name = created.key.name
        await self._refresh_keys()
        return None

    @rx.event
    def dismiss_secret(self):
        self.created_secret = ""
        self.created_name = ""

    @rx.event
    def copy_secret(self):
        return [rx.set_clipboard(self.created_secret), rx.toast.success("Key copied.")]

    @rx.event
    async def revoke_key(self, key_id: int):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        try:
            await asyncio.to_thread(api_keys.revoke_api_key, principal, key_id=int(key_id))
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        await self._refresh_keys()
        return rx.toast.success("Key revoked: programs using it can no longer connect.")

    @rx.event
    def set_delete_typed(self, value: str):
        self.delete_typed = value[:300]
        self.delete_error = ""

    @rx.event
    async def delete_organization(self):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.deleting = True
        try:
            await asyncio.to_thread(delete_organization, principal, confirmation=self.delete_typed)
        except TechDocsError as exc:
            self.delete_error = exc.user_message
            return None
        finally:
            self.deleting = False
        self.delete_typed = ""
        self.keys = []
        return [
            rx.remove_cookie(SESSION_COOKIE, {"path": "/"}),
            rx.redirect(f"{SIGN_IN_ROUTE}?deleted=1"),
        ]
