"""/invite/<token>: a new person signs up, or an existing user signs in, and joins the shop."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import reflex as rx

from techdocs_app.auth import team
from techdocs_app.auth.navigation import HOME_ROUTE
from techdocs_app.auth.sessions import revoke_session
from techdocs_app.errors import TechDocsError
from techdocs_app.state.auth_form import submit_auth_form
from techdocs_app.state.base import SessionState, begin_session, current_principal

ROLE_LABELS = {"owner": "an owner", "admin": "an admin", "member": "a member"}


def token_from_path(path: str) -> str:
    """The token of `/invite/<token>` (empty when the path is not one)."""
    prefix = team.INVITE_ROUTE + "/"
    if not path.startswith(prefix):
        return ""
    return path[len(prefix) :].strip("/")[:200]


class InviteState(rx.State):
    mode: str = "loading"
    """loading | invalid | join (signed in as the invitee) | wrong_account | sign_in | sign_up"""
    org_name: str = ""
    email: str = ""
    role_label: str = ""
    signed_in_as: str = ""
    message: str = ""
    error: str = ""
    submitting: bool = False

    def _token(self) -> str:
        return token_from_path(self.router.url.path)

    @rx.event
    async def load(self):
        self.error = ""
        self.mode = "loading"
        try:
            preview = await asyncio.to_thread(team.preview_invitation, self._token())
        except TechDocsError as exc:
            self.mode = "invalid"
            self.message = exc.user_message
            return None
        self.org_name = preview.org_name
        self.email = preview.email
        self.role_label = ROLE_LABELS.get(preview.role, preview.role)
        principal = await current_principal(self)
        if principal is not None:
            self.signed_in_as = principal.email
            self.mode = "join" if principal.email == preview.email else "wrong_account"
        else:
            self.mode = "sign_in" if preview.has_account else "sign_up"
        return None

    @rx.event
    async def join(self):
        """Signed in as the invited email: join and work in the new shop."""
        if self.submitting:
            return None
        principal = await current_principal(self)
        if principal is None:
            return InviteState.load
        self.submitting = True
        try:
            joined = await asyncio.to_thread(team.accept_signed_in, self._token(), principal)
        except TechDocsError as exc:
            self.error = exc.user_message
            return None
        finally:
            self.submitting = False
        session = await self.get_state(SessionState)
        old = session.session_token
        await begin_session(self, joined)
        await asyncio.to_thread(revoke_session, old)
        return rx.redirect(HOME_ROUTE)

    @rx.event
    async def sign_out_first(self):
        """Signed in as someone else: sign out, then show this invitation again."""
        session = await self.get_state(SessionState)
        token = session.session_token
        session._set_principal(None)
        session.session_token = ""
        await asyncio.to_thread(revoke_session, token)
        return InviteState.load

    @rx.event(background=True)
    async def sign_up(self, form_data: dict[str, Any]):
        accept = partial(
            team.accept_with_new_account,
            self._token(),
            name=str(form_data.get("name", "")),
            password=str(form_data.get("password", "")),
        )
        if await submit_auth_form(self, accept):
            yield rx.redirect(HOME_ROUTE)

    @rx.event(background=True)
    async def sign_in(self, form_data: dict[str, Any]):
        accept = partial(
            team.accept_with_password,
            self._token(),
            email=self.email,
            password=str(form_data.get("password", "")),
        )
        if await submit_auth_form(self, accept):
            yield rx.redirect(HOME_ROUTE)
