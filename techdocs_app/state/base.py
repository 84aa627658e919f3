"""The signed-in person, shared by every page.

The browser holds only an opaque session token (an `rx.Cookie`, so a reload or a new tab keeps
the session); the `Principal` it stands for lives in a backend-only var and is re-resolved from
the token by `auth.sessions` on every protected page load, so a revoked session or removed member
loses access at once. Reflex cannot set an HttpOnly cookie from state, which is why the token is
random, hashed server-side and revocable.

This module imports no other part of the app except auth, errors, settings (for the cookie's
lifetime and `Secure` flag) and the cookie's name from api (the page-image route reads the same
cookie), so every page state can depend on it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import quote

import reflex as rx

from techdocs_app.api import SESSION_COOKIE
from techdocs_app.auth import Principal, team
from techdocs_app.auth.modes import clerk_mode, clerk_sign_in_route
from techdocs_app.auth.navigation import HOME_ROUTE, SIGN_IN_ROUTE, safe_next_path, sign_in_url
from techdocs_app.auth.permissions import Action, allowed
from techdocs_app.auth.sessions import issue_session, principal_from_session, revoke_session
from techdocs_app.errors import TechDocsError
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

__all__ = [
    "HOME_ROUTE",
    "SIGN_IN_ROUTE",
    "OrgOption",
    "SessionState",
    "after_sign_in_path",
    "begin_session",
    "current_principal",
]


@dataclass
class OrgOption:
    """One organization of the signed-in user, for the switcher."""

    id: str = ""
    name: str = ""


_settings = get_settings()

RESTRICTED_ROUTES: dict[str, Action] = {"/usage": Action.VIEW_USAGE}
"""Pages only some roles may open (the page's service checks again), by the action they need."""


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

    # Shown in the header and used to choose which buttons to show; never used for
    # authorisation (every service call re-checks the principal's role).
    org_name: str = ""
    user_email: str = ""
    org_id: str = ""
    role: str = ""
    can_manage_team: bool = False
    allowed_routes: list[str] = []
    """The restricted pages (`RESTRICTED_ROUTES`) this role may open: the shell links them."""
    # The user's organizations (the switcher shows when there are several).
    organizations: list[OrgOption] = []
    # False until the token has been checked on this page load: the shell shows nothing private
    # (and no flash of an empty header) before that.
    signed_in: bool = False

    _principal: Principal | None = None
    _next_path: str = ""
    """The page a signed-out visit asked for: sign-in returns there. Kept here as well as in the
    URL's `next`, because a page's own on_load may redirect to plain /signin after ours."""

    def _set_principal(self, principal: Principal | None) -> None:
        self._principal = principal
        self.signed_in = principal is not None
        self.org_name = principal.org_name if principal else ""
        self.user_email = principal.email if principal else ""
        self.org_id = str(principal.org_id) if principal else ""
        self.role = principal.role if principal else ""
        self.can_manage_team = bool(principal and allowed(principal.role, Action.MANAGE_TEAM))
        self.allowed_routes = [
            route
            for route, action in RESTRICTED_ROUTES.items()
            if principal and allowed(principal.role, action)
        ]
        if principal is None:
            self.organizations = []

    async def _load_organizations(self, principal: Principal) -> None:
        choices = await asyncio.to_thread(team.my_organizations, principal)
        self.organizations = [OrgOption(id=str(c.org_id), name=c.name) for c in choices]

    def _here(self) -> str:
        """This page's sign-in URL that comes back here afterwards."""
        url = self.router.url
        return sign_in_url(url.path or HOME_ROUTE, url.query)

    def _next(self) -> str:
        """Where to go once signed in (and forget it)."""
        target = safe_next_path(self.router.url.query_parameters.get("next"))
        if target == HOME_ROUTE:
            target = safe_next_path(self._next_path)
        self._next_path = ""
        return target

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
        """on_load of every signed-in page: to sign-in without a valid session, and back to this
        page (a deep link) once signed in."""
        principal = await self._resolve()
        if principal is None:
            self.session_token = ""
            url = self.router.url
            self._next_path = safe_next_path(
                (url.path or "") + (f"?{url.query}" if url.query else "")
            )
            return rx.redirect(self._here())
        await self._load_organizations(principal)
        return None

    @rx.event
    async def redirect_if_signed_in(self):
        """on_load of the sign-in and sign-up pages: a signed-in person goes to the app (or to
        the page they were sent here from)."""
        if self.session_token and await self._resolve() is not None:
            return rx.redirect(self._next())
        if clerk_mode():
            # Clerk organizations mode: Clerk's own sign-in, then back to the deep link.
            target = quote(self._next(), safe="/")
            return rx.redirect(f"{clerk_sign_in_route()}?next={target}", is_external=True)
        return None

    @rx.event
    async def switch_organization(self, org_id: str):
        """The switcher: this browser's session moves to another of the user's organizations,
        and the page reloads with its data. An id that is not one of them is refused like a
        missing one."""
        principal = await self._resolve()
        if principal is None:
            return rx.redirect(self._here())
        if not str(org_id).isdigit() or str(org_id) == self.org_id:
            return None
        try:
            switched = await asyncio.to_thread(
                team.switch_organization, self.session_token, principal, org_id=int(org_id)
            )
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        self._set_principal(switched)
        return rx.redirect(self.router.url.path or HOME_ROUTE, is_external=True)

    @rx.event
    async def sign_out(self):
        token = self.session_token
        self._set_principal(None)
        self.session_token = ""
        if token:
            await asyncio.to_thread(revoke_session, token)
        target = f"{clerk_sign_in_route()}?signed_out=1" if clerk_mode() else SIGN_IN_ROUTE
        return [
            rx.remove_cookie(SESSION_COOKIE, {"path": "/"}),
            rx.redirect(target, is_external=clerk_mode()),
        ]


async def current_principal(state: rx.State) -> Principal | None:
    """The signed-in principal for any page state, re-read from the session store.

    Every service call takes its organization from this, never from the browser. None means
    signed out (or the session was revoked / the membership removed): redirect to sign-in.
    Call it while holding the state lock (a normal handler, or inside `async with self`).
    """
    session = await state.get_state(SessionState)
    return await session._resolve()


async def after_sign_in_path(state: rx.State) -> str:
    """The page to open after signing in: the deep link that sent the person to sign in, else
    the chat. In a background event, call it inside `async with state`."""
    session = await state.get_state(SessionState)
    return session._next()


async def begin_session(state: rx.State, principal: Principal) -> None:
    """Issue a session for a freshly authenticated principal and store its token in the cookie."""
    session = await state.get_state(SessionState)
    await session._begin(principal)
