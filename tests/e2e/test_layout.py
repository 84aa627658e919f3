"""Tablet-first layout: no horizontal scroll and touch-sized controls at phone and tablet sizes.

Writes screenshots of every page at every size to artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.accounts import fill_sign_up
from tests.e2e.browser import VIEWPORTS

pytestmark = pytest.mark.e2e

MIN_TOUCH_PX = 44

# Every control a finger has to hit (only the visible ones are measured).
# The file input of a drop zone is hidden; the drop zone itself is the (large) target.
TOUCH_TARGETS = "button, input:not([type=file]), .td-nav-link, .td-drop-zone"


def _assert_fits(page: Page, label: str) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{label}: horizontal scroll of {overflow}px"
    # The page clips sideways overflow, so a nav link past the right edge could not be reached.
    off_screen = page.evaluate(
        """() => Array.from(document.querySelectorAll(".td-nav-link"))
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
            .map((el) => el.innerText.trim())"""
    )
    assert not off_screen, f"{label}: nav links off screen: {off_screen}"
    sizes = page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector))
            .filter((el) => el.offsetParent !== null && el.type !== "hidden")
            .map((el) => ({
                name: (el.innerText || el.placeholder || el.name || el.tagName).trim(),
                height: el.getBoundingClientRect().height,
            }))""",
        TOUCH_TARGETS,
    )
    assert sizes, f"{label}: no controls found"
    small = [s for s in sizes if s["height"] < MIN_TOUCH_PX]
    assert not small, f"{label}: controls smaller than {MIN_TOUCH_PX}px: {small}"


def _shot(page: Page, directory: Path, name: str, viewport: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(directory / f"{name}-{viewport}.png"), full_page=True)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_pages_fit_and_are_touch_sized(
    viewport: str,
    new_page: Callable[[str], Page],
    app_url: str,
    screenshot_dir: Path,
) -> None:
    page = new_page(viewport)

    page.goto(app_url + "/signin")
    expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    _assert_fits(page, f"signin {viewport}")
    _shot(page, screenshot_dir, "signin", viewport)

    page.goto(app_url + "/signup")
    expect(page.get_by_role("button", name="Sign up")).to_be_enabled()
    _assert_fits(page, f"signup {viewport}")
    _shot(page, screenshot_dir, "signup", viewport)

    # A long organization name and email must wrap, not push the page sideways.
    org_name = "Northside Heavy Equipment & Hydraulics Service Center"
    email = f"service.manager-{uuid.uuid4().hex[:8]}@northside-heavy-equipment.example"
    fill_sign_up(page, org_name=org_name, email=email)
    expect(page).to_have_url(re.compile(re.escape(app_url) + r"/?$"))
    expect(page.locator(".td-header").get_by_text(org_name)).to_be_visible()
    _assert_fits(page, f"chat {viewport}")
    _shot(page, screenshot_dir, "chat", viewport)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    expect(page.get_by_role("heading", name="No manuals yet")).to_be_visible()
    _assert_fits(page, f"library {viewport}")
    _shot(page, screenshot_dir, "library", viewport)
