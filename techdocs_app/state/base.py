"""The signed-in person, shared by every page.

The browser holds only an opaque session token (an `rx.Cookie`, so a reload or a new tab keeps
the session); the `Principal` it stands for lives in a backend-only var and is re-resolved from
the token by `auth.sessions` on every protected page load, so a revoked session or removed member
loses access at once. Reflex cannot set an HttpOnly cookie from state, which is why the token is
random, hashed server-side and revocable.

This module imports no other part of the app except auth, settings (for the cookie's lifetime and
`Secure` flag) and the cookie's name from api (the page-image route reads the same cookie), so every page state can depend on it.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from techdocs_app.api import SESSION_COOKIE
from techdocs_app.auth import Principal
from techdocs_app.auth.sessions import issue_session, principal_from_session, revoke_session
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

SIGN_IN_ROUTE = "/signin"
HOME_ROUTE = "/"

_settings = get_settings()


class SessionState(rx.State):
    """Session token in the browser, principal on the server, display names for the header."""

    session_token: str = rx.Cookie(
        "",
        name=SESSION_COOKIE,
        path="/",
        max_age=_settings.session_days * 24 * 3600,
        secure=_settings.app_url.startswith("https://"),
        same_site="lax",
    )

    # Shown in the header; never used for authorisation.
    org_name: str = ""
    user_email: str = ""
    # False until the token has been checked on this page load: the shell shows nothing private
    # (and no flash of an empty header) before that.
    signed_in: bool = False

    _principal: Principal | None = None

    def _set_principal(self, principal: Principal | None) -> None:
        self._principal = principal
        self.signed_in = principal is not None
        self.org_name = principal.org_name if principal else ""
        self.user_email = principal.email if principal else ""

    # Underscore methods: public ones would become event handlers the browser could call.
    async def _resolve(self) -> Principal | None:
        principal = await asyncio.to_thread(principal_from_session, self.session_token or None)
        self._set_principal(principal)
        return principal

    async def _begin(self, principal: Principal) -> None:
        self.session_token = await asyncio.to_thread(issue_session, principal)
        self._set_principal(principal)

    @rx.event
    async def require_principal(self):
        """on_load of every signed-in page: back to sign-in without a valid session."""
        if await self._resolve() is None:
            self.session_token = ""
            return rx.redirect(SIGN_IN_ROUTE)
        return None

    @rx.event
    async def redirect_if_signed_in(self):
        """on_load of the sign-in and sign-up pages: a signed-in person goes to the app."""
        if self.session_token and await self._resolve() is not None:
            return rx.redirect(HOME_ROUTE)
        return None

    @rx.event
    async def sign_out(self):
        token = self.session_token
        self._set_principal(None)
        self.session_token = ""
        if token:
            await asyncio.to_thread(revoke_session, token)
        return [rx.remove_cookie(SESSION_COOKIE, {"path": "/"}), rx.redirect(SIGN_IN_ROUTE)]


async def current_principal(state: rx.State) -> Principal | None:
    """The signed-in principal for any page state, re-read from the session store.

    Every service call takes its organization from this, never from the browser. None means
    signed out (or the session was revoked / the membership removed): redirect to sign-in.
    Call it while holding the state lock (a normal handler, or inside `async with self`).
    """
    session = await state.get_state(SessionState)
    return await session._resolve()


async def begin_session(state: rx.State, principal: Principal) -> None:
    """Issue a session for a freshly authenticated principal and store its token in the cookie."""
    session = await state.get_state(SessionState)
    await session._begin(principal)
