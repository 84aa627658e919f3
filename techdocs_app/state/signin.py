"""Sign-in form: email + password → session → chat.

A background event: password hashing takes ~0.1-1 s, and a normal handler would hold the
state lock (and block this tab's other events) the whole time.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from techdocs_app.auth.local import sign_in
from techdocs_app.errors import TechDocsError
from techdocs_app.state.base import HOME_ROUTE, begin_session


class SignInState(rx.State):
    error: str = ""
    submitting: bool = False

    @rx.event(background=True)
    async def submit(self, form_data: dict[str, str]):
        async with self:
            if self.submitting:
                return
            self.error = ""
            self.submitting = True
        try:
            principal = await asyncio.to_thread(
                sign_in,
                email=form_data.get("email", ""),
                password=form_data.get("password", ""),
            )
            async with self:
                await begin_session(self, principal)
        except TechDocsError as exc:
            async with self:
                self.error = exc.user_message
            return
        finally:
            # Also after an unexpected error (the app's exception handler shows a generic
            # message), so the form never stays stuck in its loading state.
            async with self:
                self.submitting = False
        yield rx.redirect(HOME_ROUTE)
