"""The signed-in frame: header (organization or its switcher, account, sign out), navigation,
page body.

Navigation lists only pages that exist. Components receive Vars and event handlers, never a State.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import reflex as rx

from techdocs_app.components.brand import brand

# (label, route, lucide icon) of every signed-in page, in menu order.
NAV_ITEMS: Sequence[tuple[str, str, str]] = (
    ("Chat", "/", "message_square"),
    ("Library", "/library", "library"),
    ("Team", "/team", "users"),
    ("Settings", "/settings", "settings"),
)
# Pages only some roles may open: shown when the page passes `allowed_routes` holding the route
# (the session state computes it from the permission table).
RESTRICTED_NAV_ITEMS: Sequence[tuple[str, str, str]] = (("Usage", "/usage", "chart_column"),)
ACCOUNT_ROUTE = "/account"


def _nav_link(label: str, route: str, icon: str, *, active: bool) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(icon, size=20), rx.text(label), align="center", spacing="2"),
        href=route,
        class_name="td-nav-link td-nav-link-active" if active else "td-nav-link",
        aria_current="page" if active else None,
        underline="none",
    )


def _organization(
    org_name: rx.Var[str],
    organizations: rx.Var[list[Any]] | None,
    current_org_id: rx.Var[str] | None,
    on_switch_org: Any,
) -> rx.Component:
    """The organization's name; a switcher instead when the user belongs to several."""
    name = rx.text(org_name, weight="bold", size="3", class_name="td-org-name")
    if organizations is None or current_org_id is None or on_switch_org is None:
        return name
    return rx.cond(
        organizations.length() > 1,
        rx.select.root(
            rx.select.trigger(
                aria_label="Organization", class_name="td-org-switcher", variant="ghost"
            ),
            rx.select.content(
                rx.foreach(organizations, lambda o: rx.select.item(o.name, value=o.id)),
            ),
            value=current_org_id,
            on_change=on_switch_org,
            size="2",
        ),
        name,
    )


def _header(
    org_name: rx.Var[str],
    user_email: rx.Var[str],
    on_sign_out: Any,
    organizations: rx.Var[list[Any]] | None = None,
    current_org_id: rx.Var[str] | None = None,
    on_switch_org: Any = None,
) -> rx.Component:
    return rx.flex(
        brand(size="32px"),
        rx.flex(
            rx.vstack(
                _organization(org_name, organizations, current_org_id, on_switch_org),
                rx.link(
                    rx.hstack(
                        rx.icon("circle_user", size=16),
                        rx.text(user_email, size="2"),
                        align="center",
                        spacing="1",
                    ),
                    href=ACCOUNT_ROUTE,
                    class_name="td-user-email",
                    aria_label="Account",
                    underline="hover",
                ),
                spacing="0",
                align="end",
                class_name="td-identity",
            ),
            rx.button(
                rx.icon("log_out", size=18),
                "Sign out",
                variant="outline",
                color_scheme="gray",
                size="3",
                on_click=on_sign_out,
                class_name="td-touch",
            ),
            align="center",
            spacing="3",
            class_name="td-header-right",
        ),
        justify="between",
        align="center",
        wrap="wrap",
        spacing="3",
        class_name="td-header",
    )


def app_shell(
    *children: rx.Component,
    active_route: str,
    ready: rx.Var[bool],
    org_name: rx.Var[str],
    user_email: rx.Var[str],
    on_sign_out: Any,
    organizations: rx.Var[list[Any]] | None = None,
    current_org_id: rx.Var[str] | None = None,
    on_switch_org: Any = None,
    allowed_routes: rx.Var[list[str]] | None = None,
) -> rx.Component:
    """Page frame for signed-in pages; renders nothing private until `ready` (session checked).

    `organizations` (each with `id` and `name`), `current_org_id` and `on_switch_org(id)` give
    the organization switcher (shown when the user belongs to several). `allowed_routes` lists
    the restricted pages the user's role may open (their links are hidden otherwise)."""
    restricted = (
        [
            rx.cond(
                allowed_routes.contains(route),
                _nav_link(label, route, icon, active=route == active_route),
            )
            for label, route, icon in RESTRICTED_NAV_ITEMS
        ]
        if allowed_routes is not None
        else []
    )
    return rx.cond(
        ready,
        rx.box(
            rx.box(
                _header(
                    org_name, user_email, on_sign_out, organizations, current_org_id, on_switch_org
                ),
                rx.el.nav(
                    *[
                        _nav_link(label, route, icon, active=route == active_route)
                        for label, route, icon in NAV_ITEMS
                    ],
                    *restricted,
                    aria_label="Main",
                    class_name="td-nav",
                ),
                class_name="td-topbar",
            ),
            rx.el.main(*children, class_name="td-main"),
            class_name="td-app",
        ),
        rx.center(rx.spinner(size="3"), height="100vh", aria_label="Loading"),
    )
