"""The Account page: name, password, signing out everywhere."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import reflex as rx

from techdocs_app import throttles
from techdocs_app.api import SESSION_COOKIE
from techdocs_app.auth import account
from techdocs_app.auth.local import run_password_work
from techdocs_app.errors import AuthError, TechDocsError
from techdocs_app.state.base import SIGN_IN_ROUTE, SessionState, current_principal


class AccountState(rx.State):
    name: str = ""
    email: str = ""
    has_password: bool = True
    loaded: bool = False

    name_error: str = ""
    password_error: str = ""
    saving_password: bool = False

    @rx.event
    async def load(self):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.name_error = self.password_error = ""
        try:
            view = await asyncio.to_thread(account.get_account, principal)
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        self.name, self.email, self.has_password = view.name, view.email, view.has_password
        self.loaded = True
        return None

    @rx.event
    async def save_name(self, form_data: dict[str, Any]):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        try:
            self.name = await asyncio.to_thread(
                account.update_name, principal, name=str(form_data.get("name", ""))[:1000]
            )
        except TechDocsError as exc:
            self.name_error = exc.user_message
            return None
        self.name_error = ""
        return rx.toast.success("Name saved.")

    @rx.event(background=True)
    async def change_password(self, form_data: dict[str, Any]):
        """A background event: hashing takes a moment on purpose (see `state.auth_form`)."""
        async with self:
            if self.saving_password:
                return
            self.saving_password = True
            self.password_error = ""
            principal = await current_principal(self)
            session = await self.get_state(SessionState)
            token = session.session_token
        try:
            if principal is None:
                yield rx.redirect(SIGN_IN_ROUTE)
                return
            if form_data.get("new_password") != form_data.get("confirm_password"):
                async with self:
                    self.password_error = "The two new passwords differ: type the same one twice."
                return
            address = self.router.session.client_ip or "unknown"
            try:
                # Checking the current password: the sign-in limits and back-off apply, and
                # the hashing runs on its own threads.
                await asyncio.to_thread(
                    throttles.check_sign_in, email=principal.email, address=address
                )
                ended = await run_password_work(
                    partial(
                        account.change_password,
                        principal,
                        current=str(form_data.get("current_password", "")),
                        new=str(form_data.get("new_password", "")),
                        keep_token=token,
                    )
                )
            except TechDocsError as exc:
                if isinstance(exc, AuthError):
                    await asyncio.to_thread(
                        throttles.sign_in_failed, email=principal.email, address=address
                    )
                async with self:
                    self.password_error = exc.user_message
                return
            others = f" {ended} other session(s) were signed out." if ended else ""
            yield rx.toast.success("Password changed." + others)
        finally:
            async with self:
                self.saving_password = False

    @rx.event
    async def sign_out_everywhere(self):
        principal = await current_principal(self)
        if principal is not None:
            await asyncio.to_thread(account.sign_out_everywhere, principal)
        session = await self.get_state(SessionState)
        session._set_principal(None)
        session.session_token = ""
        return [rx.remove_cookie(SESSION_COOKIE, {"path": "/"}), rx.redirect(SIGN_IN_ROUTE)]
