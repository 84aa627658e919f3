"""Sign up → chat shell → sign out → sign in → reload keeps the session → error messages."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.accounts import PASSWORD, fill_sign_up, url_at

pytestmark = pytest.mark.e2e

WRONG_CREDENTIALS = "Incorrect email or password."


def _unique(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def _fill_sign_in(page: Page, *, email: str, password: str) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def _expect_shell(page: Page, *, org_name: str, email: str) -> None:
    header = page.locator(".td-header")
    expect(header.get_by_text(org_name, exact=True)).to_be_visible()
    expect(header.get_by_text(email, exact=True)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_contain_text(
        ["Chat", "Library", "Team", "Settings", "Billing"]
    )


def test_auth_flow(
    page: Page, new_page: Callable[[str], Page], app_url: str, screenshot_dir: Path
) -> None:
    org_name = f"Bayside Auto Repair {_unique('org')}"
    email = f"{_unique('owner')}@bayside.example"

    # Signed out: every app page sends you to sign in.
    page.goto(app_url + "/")
    expect(page).to_have_url(url_at(app_url, "/signin"))
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(url_at(app_url, "/signup"))

    # Sign up lands on the chat shell with the organization's name.
    fill_sign_up(page, org_name=org_name, email=email, password=PASSWORD)
    expect(page).to_have_url(url_at(app_url, "/"))
    _expect_shell(page, org_name=org_name, email=email)
    expect(page.get_by_placeholder("Ask about your manuals")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert PASSWORD not in page.url

    # The question box takes a question into the conversation and clears itself.
    question = page.get_by_placeholder("Ask about your manuals")
    question.fill("What is the head bolt torque?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".td-turn-user")).to_have_text(["What is the head bolt torque?"])
    expect(question).to_have_value("")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    expect(page).to_have_url(url_at(app_url, "/library"))
    expect(page.get_by_text("Upload your first service manual")).to_be_visible()

    # Sign out: back to sign in, the session cookie is gone and app pages are closed again.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(url_at(app_url, "/signin"))
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert not cookies.get("techdocs_session")
    page.goto(app_url + "/library")
    expect(page).to_have_url(url_at(app_url, "/signin"))

    # Sign in again: back to the page that sent us to sign in (the deep link /library).
    _fill_sign_in(page, email=email, password=PASSWORD)
    expect(page).to_have_url(url_at(app_url, "/library"))
    _expect_shell(page, org_name=org_name, email=email)
    page.goto(app_url + "/")

    # A reload keeps the session; so does a new tab (a new Reflex client, same cookie).
    page.reload()
    expect(page).to_have_url(url_at(app_url, "/"))
    _expect_shell(page, org_name=org_name, email=email)
    second_tab = page.context.new_page()
    second_tab.goto(app_url + "/library")
    expect(second_tab).to_have_url(url_at(app_url, "/library"))
    _expect_shell(second_tab, org_name=org_name, email=email)
    second_tab.close()

    # Signed in, the sign-in page sends you to the app.
    page.goto(app_url + "/signin")
    expect(page).to_have_url(url_at(app_url, "/"))

    # Wrong password and unknown email: one and the same generic message.
    other = new_page("1024x768")
    other.goto(app_url + "/signin")
    _fill_sign_in(other, email=email, password="not-the-password")
    alert = other.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert).to_have_text(WRONG_CREDENTIALS)
    expect(other).to_have_url(url_at(app_url, "/signin"))
    other.screenshot(path=str(screenshot_dir / "signin-wrong-password-1024x768.png"))

    other.get_by_label("Email", exact=True).fill(f"{_unique('nobody')}@bayside.example")
    other.get_by_label("Password", exact=True).fill(PASSWORD)
    other.get_by_role("button", name="Sign in").click()
    expect(alert).to_have_count(1)
    expect(alert).to_have_text(WRONG_CREDENTIALS)

    # Signing up again with the same email says so and points to sign in.
    other.goto(app_url + "/signup")
    fill_sign_up(other, org_name="Another Shop", email=email.upper(), password=PASSWORD)
    alert = other.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("already exists")
    expect(alert).to_contain_text("Sign in")
    expect(other).to_have_url(url_at(app_url, "/signup"))
    other.screenshot(path=str(screenshot_dir / "signup-duplicate-email-1024x768.png"))
    assert not {c["name"]: c["value"] for c in other.context.cookies()}.get("techdocs_session")
