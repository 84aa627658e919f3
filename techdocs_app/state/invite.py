"""/invite/<token>: a new person signs up, or an existing user signs in, and joins the shop."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any
from urllib.parse import quote

import reflex as rx

from techdocs_app import throttles
from techdocs_app.auth import Principal, team
from techdocs_app.auth.local import run_password_work
from techdocs_app.auth.modes import clerk_mode, clerk_sign_in_route
from techdocs_app.auth.navigation import HOME_ROUTE
from techdocs_app.auth.sessions import revoke_session
from techdocs_app.errors import AuthError, TechDocsError
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
    """loading | invalid | join (signed in as the invitee) | wrong_account | sign_in | sign_up |
    clerk (Clerk organizations mode: continue with Clerk)"""
    org_name: str = ""
    email: str = ""
    role_label: str = ""
    signed_in_as: str = ""
    clerk_url: str = ""
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
        elif clerk_mode():
            # Clerk organizations mode: sign in (or up) with Clerk, then join.
            self.mode = "clerk"
            self.clerk_url = f"{clerk_sign_in_route()}?next={quote(self.router.url.path, safe='/')}"
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
            guarded_accept_new_account,
            self._token(),
            name=str(form_data.get("name", "")),
            password=str(form_data.get("password", "")),
            address=self.router.session.client_ip or "unknown",
        )
        if await submit_auth_form(self, accept):
            yield rx.redirect(HOME_ROUTE)

    @rx.event(background=True)
    async def sign_in(self, form_data: dict[str, Any]):
        accept = partial(
            guarded_accept_with_password,
            self._token(),
            email=self.email,
            password=str(form_data.get("password", "")),
            address=self.router.session.client_ip or "unknown",
        )
        if await submit_auth_form(self, accept):
            yield rx.redirect(HOME_ROUTE)


async def guarded_accept_with_password(
    token: str, *, email: str, password: str, address: str
) -> Principal:
    """Joining by signing in checks a password: the sign-in limits and back-off apply, and the
    check runs on the password-hashing threads."""
    await asyncio.to_thread(throttles.check_sign_in, email=email, address=address)
    try:
        principal = await run_password_work(
            partial(team.accept_with_password, token, email=email, password=password)
        )
    except AuthError:
        await asyncio.to_thread(throttles.sign_in_failed, email=email, address=address)
        raise
    await asyncio.to_thread(throttles.sign_in_succeeded, email=email, address=address)
    return principal


async def guarded_accept_new_account(
    token: str, *, name: str, password: str, address: str
) -> Principal:
    """A new account from an invitation: the per-address attempt limit applies, and the hash is
    made on the password-hashing threads."""
    await asyncio.to_thread(throttles.check_sign_in, email=f"invite:{token[:16]}", address=address)
    return await run_password_work(
        partial(team.accept_with_new_account, token, name=name, password=password)
    )
