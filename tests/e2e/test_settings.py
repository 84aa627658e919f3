"""/settings in the real app: an owner creates an API key (shown once), uses it against the REST
API on the app's own port, revokes it; downloads the organization export; deletes the
organization after typing its name. Screenshots at three sizes go to artifacts/screenshots/."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.accounts import PASSWORD
from tests.e2e.test_chat_library import _nav, _sign_up
from tests.e2e.test_layout import _assert_fits

pytestmark = pytest.mark.e2e


def _api(app_url: str, path: str, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(app_url + path, headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_api_keys_export_and_deletion(
    app_url: str, new_page: Callable[[str], Page], screenshot_dir: Path
) -> None:
    page = new_page("1024x768")
    org_name = f"Settings Garage {uuid.uuid4().hex[:6]}"
    email = _sign_up(page, app_url, org_name)
    _nav(page, "Settings")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()

    # Create a key: the whole secret is shown once.
    page.get_by_label("Key name").fill("Shop management system")
    page.get_by_role("button", name="Create key").click()
    secret_box = page.locator("#new-api-key")
    expect(secret_box).to_contain_text("td_live_")
    secret = secret_box.inner_text().strip()
    row = page.locator(".td-key-row").filter(has_text="Shop management system")
    expect(row).to_contain_text(secret[:12])
    expect(row).to_contain_text("last used never")
    for viewport in ("1024x768",):
        page.screenshot(
            path=str(screenshot_dir / f"settings-new-key-{viewport}.png"), full_page=True
        )

    # The key works on the app's one port, and the API describes itself there.
    status, body = _api(app_url, "/api/v1/documents", secret)
    assert status == 200 and body == {"documents": []}
    with urllib.request.urlopen(app_url + "/api/v1/openapi.json", timeout=30) as response:
        assert json.loads(response.read())["info"]["title"] == "TechDocs AI API"

    page.get_by_role("button", name="I have saved it").click()
    expect(secret_box).to_have_count(0)
    page.reload()
    expect(page.locator(".td-key-row")).to_have_count(1)
    expect(page.locator("#new-api-key")).to_have_count(0)
    assert secret not in page.content()  # never shown again
    expect(page.locator(".td-key-row")).not_to_contain_text("last used never")

    # Revoke it: the program is refused at once.
    page.locator(".td-key-row").get_by_role("button", name="Revoke").click()
    page.get_by_role("button", name="Revoke key").click()
    expect(page.locator(".td-key-row")).to_have_count(0)
    status, body = _api(app_url, "/api/v1/documents", secret)
    assert status == 401 and body["error"]["code"] == "unauthorized"

    # Export: a zip with the README of the format.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download export").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".zip")
    assert download.failure() is None, download.failure()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    assert {"README.md", "organization.json", "documents.json", "conversations.json"} <= set(
        archive.namelist()
    )
    assert json.loads(archive.read("organization.json"))["organization"]["name"] == org_name

    for viewport in ("768x1024", "390x844"):
        small = new_page(viewport)
        small.context.add_cookies(page.context.cookies())
        small.goto(app_url + "/settings")
        expect(small.get_by_role("heading", name="API keys")).to_be_visible()
        _assert_fits(small, f"settings {viewport}")
        small.screenshot(path=str(screenshot_dir / f"settings-{viewport}.png"), full_page=True)

    # Delete: only after typing the organization's name.
    delete = page.get_by_role("button", name="Delete organization")
    expect(delete).to_be_disabled()
    confirm = page.get_by_label(f"Type the organization's name, {org_name}, to confirm")
    confirm.fill(org_name.upper())
    expect(delete).to_be_disabled()
    confirm.fill(org_name)
    expect(delete).to_be_enabled()
    delete.click()
    expect(page).to_have_url(f"{app_url}/signin", timeout=30_000)

    # The account went with it.
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")


def test_a_member_sees_what_their_role_allows(
    app_url: str, new_page: Callable[[str], Page]
) -> None:
    from techdocs_app.auth import local
    from techdocs_app.auth.sessions import issue_session
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Membership, User

    owner = local.sign_up(
        org_name=f"Member View {uuid.uuid4().hex[:6]}",
        email=f"owner-{uuid.uuid4().hex[:8]}@memberview.example",
        password=PASSWORD,
    )
    with system_session_scope() as session:
        user = User(email=f"tech-{uuid.uuid4().hex[:8]}@memberview.example")
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(Membership(org_id=owner.org_id, user_id=user.id, role="member"))
        member_id, member_email = user.id, user.email
    from techdocs_app.auth import Principal

    token = issue_session(
        Principal(
            user_id=member_id,
            org_id=owner.org_id,
            role="member",
            email=member_email,
            org_name=owner.org_name,
        )
    )
    page = new_page("1024x768")
    page.context.add_cookies([{"name": "techdocs_session", "value": token, "url": app_url}])
    page.goto(app_url + "/settings")
    expect(
        page.get_by_text("Only the shop's owner or an admin can manage API keys.")
    ).to_be_visible()
    expect(
        page.get_by_text("Only the shop's owner can export or delete the organization's data.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Create key")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete organization")).to_have_count(0)
    # The download route checks the role itself, not only the page.
    response = page.request.get(app_url + "/api/organization/export.zip")
    assert response.status == 403
    assert response.json()["error"]["message"] == (
        "Only the shop's owner can export the organization's data."
    )
