"""Upload a manual → Processing → Ready → streamed, cited answer → page preview → follow-up,
then a second organization sees none of it. Screenshots at three sizes go to artifacts/screenshots/.

Needs the app and one ingestion worker (the `app_url` fixture starts both, as `make run` does).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import CORPUS_DIR
from tests.e2e.accounts import sign_up_owner
from tests.e2e.browser import VIEWPORTS
from tests.e2e.test_layout import _assert_fits

pytestmark = pytest.mark.e2e

MANUAL = CORPUS_DIR / "trikdis_rt2.pdf"
QUESTION = "What supply voltage range and maximum current does the RT2 module accept?"
FOLLOW_UP = "and what is its operating temperature range?"
READY_TIMEOUT_MS = 180_000
ANSWER_TIMEOUT_MS = 60_000

# Records whether an answer was ever on screen while still streaming (before it was saved).
WATCH_STREAMING = """() => {
  window.__tdStreamed = false;
  window.__tdObserver?.disconnect();
  window.__tdObserver = new MutationObserver(() => {
    const draft = document.querySelector('.td-answer-streaming .td-answer-text');
    if (draft && draft.innerText.trim().length > 0) { window.__tdStreamed = true; }
  });
  window.__tdObserver.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def _sign_up(page: Page, app_url: str, org_name: str) -> str:
    email = f"owner-{uuid.uuid4().hex[:10]}@{org_name.split()[0].lower()}.example"
    sign_up_owner(page, app_url, org_name, email)
    return email


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def _ask(page: Page, question: str) -> None:
    # Send is enabled once the page is hydrated: typing Enter earlier is lost under load.
    expect(page.get_by_role("button", name="Send")).to_be_enabled(timeout=30_000)
    page.evaluate(WATCH_STREAMING)
    box = page.get_by_placeholder("Ask about your manuals")
    box.fill(question)
    box.press("Enter")  # Enter sends
    expect(page.locator(".td-turn-user").last).to_have_text(question)
    # The answer is saved (feedback buttons appear only then) and the stream is over.
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


def _shot(page: Page, directory: Path, name: str, viewport: str, *, full: bool = True) -> None:
    page.screenshot(path=str(directory / f"{name}-{viewport}.png"), full_page=full)


def test_upload_ask_follow_up_and_tenancy(
    new_page: Callable[[str], Page], app_url: str, screenshot_dir: Path
) -> None:
    assert MANUAL.exists(), f"eval manual missing: {MANUAL}"
    page = new_page("1024x768")
    _sign_up(page, app_url, f"Alpha Alarm Service {uuid.uuid4().hex[:6]}")

    # A new shop is told what to do first, in Chat and in the Library.
    expect(page.get_by_text("Your library has no ready manuals yet.")).to_be_visible()
    _nav(page, "Library")
    expect(page.get_by_role("heading", name="No manuals yet")).to_be_visible()

    # Pick the PDF, upload it: per-file progress, then Processing with a progress bar, then Ready.
    page.locator("input[type=file]").set_input_files(str(MANUAL))
    expect(page.get_by_text(MANUAL.name, exact=True)).to_be_visible()
    page.get_by_role("button", name="Upload", exact=True).click()
    upload = page.locator(".td-upload-row").filter(has_text=MANUAL.name)
    expect(upload).to_contain_text("Uploaded. Processing")
    row = page.locator(".td-doc-row").filter(has_text="trikdis_rt2")
    expect(row).to_have_count(1)
    # Live status without a reload: Processing (pending/processing) first, then Ready.
    expect(row.get_by_text("Processing", exact=True).or_(row.get_by_text("Ready"))).to_be_visible()
    saw_processing = row.get_by_text("Processing", exact=True).is_visible()
    expect(row.get_by_text("Ready", exact=True)).to_be_visible(timeout=READY_TIMEOUT_MS)
    assert saw_processing, "the document never showed Processing before Ready"
    expect(row).to_contain_text("6 pages")
    expect(row).to_contain_text(re.compile(r"\d+ passages? indexed"))
    _assert_fits(page, "library with a manual 1024x768")
    _shot(page, screenshot_dir, "library-ready", "1024x768")

    # Filter by name.
    page.get_by_label("Filter by name").fill("no-such-manual")
    expect(page.get_by_text("No manuals match this filter.")).to_be_visible()
    page.get_by_label("Filter by name").fill("rt2")
    expect(row).to_have_count(1)

    # Ask: a streamed answer with a citation of the manual.
    _nav(page, "Chat")
    _ask(page, QUESTION)
    answer = page.locator(".td-answer").last
    expect(answer).to_contain_text("150 mA")
    assert page.evaluate("() => window.__tdStreamed"), "the answer was not streamed"
    expect(answer).not_to_have_class(re.compile("td-answer-not-found"))
    sources = answer.locator(".td-source")
    expect(sources.first).to_be_visible()
    expect(sources.first).to_contain_text(re.compile(r"p\. \d+"))
    expect(answer.locator(".td-source").filter(has_text="p. 2").first).to_be_visible()
    expect(answer.locator(".td-answer-text")).to_contain_text(re.compile(r"\[\d\]"))
    expect(answer.get_by_text("Offline answer: quoted from your manuals")).to_be_visible()

    # Feedback is stored (the pressed state comes back from the server).
    helpful = answer.get_by_role("button", name="Helpful", exact=True)
    helpful.click()
    expect(helpful).to_have_attribute("aria-pressed", "true")

    # The cited page, rendered on the server with the passage highlighted.
    answer.locator(".td-source").filter(has_text="p. 2").first.click()
    dialog = page.get_by_role("dialog")
    image = dialog.locator("img.td-page-image")
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('img.td-page-image');"
        " return i && i.complete && i.naturalWidth > 300; }"
    )
    image_url = app_url + image.get_attribute("src")
    assert re.search(r"/api/pages/\d+/2\.png\?chunk=\d+$", image_url), image_url
    own = page.request.get(image_url)
    assert own.status == 200 and own.headers["content-type"] == "image/png"
    page.wait_for_timeout(500)  # let the dialog finish opening and scroll to the passage
    _shot(page, screenshot_dir, "chat-page-preview", "1024x768", full=False)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)

    # A follow-up that only makes sense after the first question, in the same conversation.
    _ask(page, FOLLOW_UP)
    follow = page.locator(".td-answer").last
    expect(follow).to_contain_text(re.compile(r"55"))
    expect(follow).not_to_have_class(re.compile("td-answer-not-found"))
    expect(follow.locator(".td-source").first).to_contain_text(re.compile("rt2", re.I))
    expect(page.locator(".td-turn-user")).to_have_count(2)

    # The conversation is listed and can be reopened.
    page.get_by_role("button", name="History").click()
    history = page.get_by_role("dialog")
    expect(history.locator(".td-conv-open")).to_have_count(1)
    expect(history.locator(".td-conv-open")).to_contain_text("supply voltage")
    history.get_by_role("button", name="Close").click()

    # Tablet-first: every size fits, controls are touch-sized, sources stay reachable.
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(300)
        _assert_fits(page, f"chat with answers {viewport}")
        expect(page.locator(".td-answer").last.locator(".td-source").first).to_be_visible()
        _shot(page, screenshot_dir, "chat-answer", viewport)
        page.locator(".td-answer").last.locator(".td-source").first.click()
        expect(page.locator("img.td-page-image")).to_be_visible()
        page.wait_for_timeout(500)
        _assert_fits(page, f"page preview {viewport}")
        _shot(page, screenshot_dir, "chat-preview", viewport, full=False)
        page.get_by_role("dialog").get_by_role("button", name="Close").click()
        _nav(page, "Library")
        expect(page.locator(".td-doc-row")).to_have_count(1)
        _assert_fits(page, f"library {viewport}")
        _shot(page, screenshot_dir, "library-ready", viewport)
        _nav(page, "Chat")
        expect(page.get_by_placeholder("Ask about your manuals")).to_be_visible()
        page.get_by_role("button", name="History").click()
        page.get_by_role("dialog").locator(".td-conv-open").first.click()
        expect(page.locator(".td-answer")).to_have_count(2)
    page.set_viewport_size(VIEWPORTS["1024x768"])

    # A second organization sees none of it.
    other = new_page("768x1024")
    _sign_up(other, app_url, f"Bravo Boilers {uuid.uuid4().hex[:6]}")
    other.get_by_role("button", name="History").click()
    expect(other.get_by_role("dialog").get_by_text("No conversations yet.")).to_be_visible()
    other.get_by_role("dialog").get_by_role("button", name="Close").click()
    _nav(other, "Library")
    expect(other.get_by_role("heading", name="No manuals yet")).to_be_visible()
    expect(other.locator(".td-doc-row")).to_have_count(0)
    foreign = other.request.get(image_url)
    assert foreign.status == 404, foreign.status
    assert b"PNG" not in foreign.body()
    browser = other.context.browser
    assert browser is not None
    signed_out = browser.new_context()
    try:
        assert signed_out.request.get(image_url).status == 401
    finally:
        signed_out.close()
