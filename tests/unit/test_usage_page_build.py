"""The usage page builds (every component and Var expression is valid) without starting the app,
and its shell links Usage only for the roles the permission table allows."""

from __future__ import annotations

import json

import reflex as rx

from techdocs_app.auth.permissions import Action, allowed
from techdocs_app.components.shell import RESTRICTED_NAV_ITEMS
from techdocs_app.pages import usage
from techdocs_app.state.base import RESTRICTED_ROUTES


def test_usage_page_builds_with_both_charts() -> None:
    component = usage.usage_page()
    assert isinstance(component, rx.Component)
    rendered = json.dumps(component.render(), default=str)
    assert rendered.count("BarChart") >= 2
    assert "Upload your first manual" in rendered


def test_usage_link_is_restricted_to_the_roles_that_may_view_usage() -> None:
    assert ("Usage", usage.ROUTE, "chart_column") in RESTRICTED_NAV_ITEMS
    assert RESTRICTED_ROUTES[usage.ROUTE] is Action.VIEW_USAGE
    assert [r for r in ("owner", "admin", "member") if allowed(r, Action.VIEW_USAGE)] == [
        "owner",
        "admin",
    ]
