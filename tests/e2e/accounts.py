"""Signing up in the browser as a person does, and where a page has landed: shared by the
browser tests (each used to carry its own copy)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PASSWORD = "torque-spec-42!"


def url_at(app_url: str, path: str) -> re.Pattern[str]:
    """The address of `path` on the app, with or without a trailing slash or a query."""
    return re.compile("^" + re.escape(app_url + path) + r"/?(\?.*)?$")


def fill_sign_up(page: Page, *, org_name: str, email: str, password: str = PASSWORD) -> None:
    """Fill the sign-up form (already open) and send it."""
    page.get_by_label("Organization name", exact=True).fill(org_name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign up").click()


def sign_up_owner(page: Page, app_url: str, org_name: str, email: str) -> None:
    """Open sign-up, create the shop with its owner (PASSWORD), and wait for the chat."""
    page.goto(app_url + "/signup")
    fill_sign_up(page, org_name=org_name, email=email)
    expect(page.get_by_placeholder("Ask about your manuals")).to_be_visible()
