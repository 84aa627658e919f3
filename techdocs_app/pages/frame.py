"""The signed-in page frame: the shell wired to the session, in one place.

Every signed-in page passes the same session values to `components.shell.app_shell` (identity,
organization switcher, sign-out, the restricted links its role may see). Written out per page,
they drifted: the Billing page left out `allowed_routes`, so an owner lost the Usage link there.
"""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.shell import app_shell
from techdocs_app.state.base import SessionState


def signed_in_frame(*children: rx.Component, active_route: str) -> rx.Component:
    return app_shell(
        *children,
        active_route=active_route,
        ready=SessionState.signed_in,
        org_name=SessionState.org_name,
        user_email=SessionState.user_email,
        on_sign_out=SessionState.sign_out,
        organizations=SessionState.organizations,
        current_org_id=SessionState.org_id,
        on_switch_org=SessionState.switch_organization,
        allowed_routes=SessionState.allowed_routes,
    )
