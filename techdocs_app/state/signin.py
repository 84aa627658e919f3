"""Sign-in form: email + password → session → chat (a background event: see `auth_form`).

Attempts are rate-limited per client address and per account, with a back-off after wrong
passwords (`throttles.guarded_sign_in`); the password is checked on the hashing threads.
"""

from __future__ import annotations

from functools import partial

import reflex as rx

from techdocs_app.state.auth_form import submit_auth_form
from techdocs_app.state.base import after_sign_in_path
from techdocs_app.throttles import guarded_sign_in


class SignInState(rx.State):
    error: str = ""
    submitting: bool = False

    @rx.event(background=True)
    async def submit(self, form_data: dict[str, str]):
        authenticate = partial(
            guarded_sign_in,
            email=form_data.get("email", ""),
            password=form_data.get("password", ""),
            address=self.router.session.client_ip or "unknown",
        )
        if await submit_auth_form(self, authenticate):
            # Back to the page that sent the person here (a deep link), else the chat.
            async with self:
                target = await after_sign_in_path(self)
            yield rx.redirect(target)
