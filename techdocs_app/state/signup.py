"""Sign-up form: a new shop (organization) and its owner, then straight into the app.

A background event for the same reason as sign-in: password hashing is slow on purpose.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from techdocs_app.auth.local import sign_up
from techdocs_app.errors import TechDocsError
from techdocs_app.state.base import HOME_ROUTE, begin_session


class SignUpState(rx.State):
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
                sign_up,
                org_name=form_data.get("org_name", ""),
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
