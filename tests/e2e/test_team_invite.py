"""The whole invite loop in two browsers, at desktop and phone size.

1. an owner invites by email and copies the link;
2. a second browser context opens it, signs up, lands in the shop and asks a question;
3. the owner removes them;
4. their next action is refused (back to sign-in), and their old page shows nothing more.
Also: a deep link while signed out returns to that page after sign-in, a member sees the team
without the owner's buttons, and an owner hands the shop over with "Make owner".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from tests.e2e.accounts import PASSWORD, sign_up_owner, url_at

pytestmark = pytest.mark.e2e

ANSWER_TIMEOUT_MS = 60_000


def _ask(page: Page, question: str) -> None:
    # Send is enabled once the page is hydrated: typing Enter earlier is lost under load.
    expect(page.get_by_role("button", name="Send")).to_be_enabled(timeout=30_000)
    box = page.get_by_placeholder("Ask about your manuals")
    box.fill(question)
    box.press("Enter")
    expect(page.locator(".td-turn-user").last).to_have_text(question)
    expect(page.locator(".td-answer").last).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


@pytest.mark.parametrize("viewport", ["1024x768", "390x844"])
def test_invite_accept_ask_remove_refused(
    new_page: Callable[[str], Page], app_url: str, screenshot_dir: Path, viewport: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    org_name = f"Harbor HVAC {tag}"
    owner_email = f"owner-{tag}@harbor.example"
    tech_email = f"tech-{tag}@harbor.example"

    owner = new_page(viewport)
    # A deep link while signed out comes back to that page after signing in.
    sign_up_owner(owner, app_url, org_name, owner_email)
    owner.get_by_role("button", name="Sign out").click()
    expect(owner).to_have_url(url_at(app_url, "/signin"))
    owner.goto(app_url + "/team")
    expect(owner).to_have_url(url_at(app_url, "/signin"))
    owner.get_by_label("Email", exact=True).fill(owner_email)
    owner.get_by_label("Password", exact=True).fill(PASSWORD)
    owner.get_by_role("button", name="Sign in").click()
    expect(owner).to_have_url(url_at(app_url, "/team"))

    # 1. The owner invites.
    expect(owner.get_by_text("Seats: 1 of 5 used")).to_be_visible()
    owner.get_by_label("Email", exact=True).fill(tech_email)
    owner.get_by_role("button", name="Send invitation").click()
    link_box = owner.locator(".td-invite-link")
    expect(link_box).to_contain_text("/invite/")
    link = link_box.inner_text().strip()
    assert link.startswith("http") and "/invite/" in link
    expect(owner.get_by_text("Seats: 2 of 5 used")).to_be_visible()
    expect(owner.locator(".td-invitation-row")).to_contain_text(tech_email)
    owner.get_by_role("button", name="Copy link").click()
    owner.screenshot(path=str(screenshot_dir / f"team-invited-{viewport}.png"), full_page=True)

    # 2. A second browser context accepts: signs up with the invited email and joins.
    tech = new_page(viewport)
    tech.goto(link)
    expect(tech.get_by_text(f"You are invited to join {org_name} as a member.")).to_be_visible()
    tech.get_by_label("Your name", exact=True).fill("Sam Tech")
    tech.get_by_label("Password", exact=True).fill(PASSWORD)
    tech.screenshot(path=str(screenshot_dir / f"invite-accept-{viewport}.png"), full_page=True)
    tech.get_by_role("button", name="Join").click()
    expect(tech).to_have_url(url_at(app_url, "/"))
    expect(tech.locator(".td-header").get_by_text(org_name, exact=True)).to_be_visible()
    _ask(tech, "What is the refrigerant charge?")
    # The link worked once.
    spare = new_page(viewport)
    spare.goto(link)
    expect(spare.get_by_role("alert")).to_contain_text("already been used")

    # A member sees the team, without the buttons that change it.
    tech.goto(app_url + "/team")
    expect(tech.locator(".td-member-row")).to_have_count(2)
    expect(tech.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(tech.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
    tech.goto(app_url + "/")
    expect(tech.get_by_placeholder("Ask about your manuals")).to_be_visible()

    # 3. The owner removes them.
    owner.reload()
    row = owner.locator(".td-member-row", has_text=tech_email)
    expect(row).to_contain_text("Sam Tech")
    row.get_by_role("button", name=f"Remove {tech_email}").click()
    owner.get_by_role("button", name="Remove from team").click()
    expect(owner.locator(".td-member-row", has_text=tech_email)).to_have_count(0)
    expect(owner.get_by_text("Seats: 1 of 5 used")).to_be_visible()
    owner.screenshot(path=str(screenshot_dir / f"team-removed-{viewport}.png"), full_page=True)

    # 4. Their next action, on the page they still have open, is refused.
    box = tech.get_by_placeholder("Ask about your manuals")
    box.fill("And the superheat?")
    box.press("Enter")
    expect(tech).to_have_url(url_at(app_url, "/signin"))
    tech.goto(app_url + "/library")
    expect(tech).to_have_url(url_at(app_url, "/signin"))


def test_organization_switcher(
    new_page: Callable[[str], Page], app_url: str, screenshot_dir: Path
) -> None:
    """Someone in two shops signs in to the one they last used and switches from the header."""
    from techdocs_app.auth import local, team

    tag = uuid.uuid4().hex[:8]
    email = f"pat-{tag}@two.example"
    home = local.sign_up(org_name=f"Pat Garage {tag}", email=email, password=PASSWORD)
    other = local.sign_up(
        org_name=f"Big Shop {tag}", email=f"boss-{tag}@big.example", password=PASSWORD
    )
    team.accept_signed_in(team.invite(other, email=email).link.rsplit("/", 1)[-1], home)

    page = new_page("390x844")
    page.goto(app_url + "/library")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(url_at(app_url, "/library"))
    switcher = page.get_by_role("combobox", name="Organization")
    expect(switcher).to_contain_text(home.org_name)
    switcher.click()
    page.get_by_role("option", name=other.org_name).click()
    expect(page.get_by_role("combobox", name="Organization")).to_contain_text(other.org_name)
    expect(page).to_have_url(url_at(app_url, "/library"))
    page.goto(app_url + "/team")
    expect(page.locator(".td-member-row")).to_have_count(2)
    expect(page.locator(".td-member-row", has_text=f"boss-{tag}@big.example")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "switcher-390x844.png"))


def test_ownership_transfer(
    new_page: Callable[[str], Page], app_url: str, screenshot_dir: Path
) -> None:
    """The owner makes an admin the owner and becomes an admin: the page shows at once what an
    admin sees, and the shop still has exactly one owner."""
    from techdocs_app.auth import local, sessions, team
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Membership

    tag = uuid.uuid4().hex[:8]
    owner = local.sign_up(
        org_name=f"Handover Shop {tag}", email=f"old-{tag}@handover.example", password=PASSWORD
    )
    heir_email = f"heir-{tag}@handover.example"
    sent = team.invite(owner, email=heir_email, role="admin")
    heir = team.accept_with_new_account(
        sent.link.rsplit("/", 1)[-1], name="Heir Apparent", password=PASSWORD
    )

    page = new_page("390x844")
    page.context.add_cookies(
        [{"name": "techdocs_session", "value": sessions.issue_session(owner), "url": app_url}]
    )
    page.goto(app_url + "/team")
    expect(page.locator(".td-member-row")).to_have_count(2)
    # Not on your own row: you cannot hand the shop to yourself.
    expect(page.get_by_role("button", name=f"Make {owner.email} the owner")).to_have_count(0)
    page.get_by_role("button", name=f"Make {heir_email} the owner").click()
    page.screenshot(path=str(screenshot_dir / "team-transfer-390x844.png"), full_page=True)
    page.get_by_role("button", name="Transfer ownership").click()
    expect(page.get_by_text("Ownership transferred: you are now an admin.")).to_be_visible()
    # Now an admin: no team buttons, the API keys pointer stays (admins manage keys).
    expect(page.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Make "))).to_have_count(0)
    expect(page.locator(".td-member-row", has_text=heir_email)).to_contain_text("Owner")
    expect(page.locator(".td-member-row", has_text=owner.email)).to_contain_text("Admin")
    expect(page.get_by_role("link", name="Manage API keys on Settings")).to_be_visible()
    with system_session_scope() as session:
        roles = {
            m.user_id: m.role
            for m in session.exec(select(Membership).where(Membership.org_id == owner.org_id))
        }
    assert roles == {owner.user_id: "admin", heir.user_id: "owner"}
