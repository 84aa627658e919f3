"""Sign-up form: a new shop (organization) and its owner, then straight into the app.

A background event for the same reason as sign-in (see `auth_form`): password hashing is slow.
New organizations are limited per client address (`throttles.guarded_sign_up`).
"""

from __future__ import annotations

from functools import partial

import reflex as rx

from techdocs_app.state.auth_form import submit_auth_form
from techdocs_app.state.base import HOME_ROUTE
from techdocs_app.throttles import guarded_sign_up


class SignUpState(rx.State):
    error: str = ""
    submitting: bool = False

    @rx.event(background=True)
    async def submit(self, form_data: dict[str, str]):
        authenticate = partial(
            guarded_sign_up,
            org_name=form_data.get("org_name", ""),
            email=form_data.get("email", ""),
            password=form_data.get("password", ""),
            address=self.router.session.client_ip or "unknown",
        )
        if await submit_auth_form(self, authenticate):
            yield rx.redirect(HOME_ROUTE)
