"""No worker alive (issue 14, "Stalled work is visible"), in the browser.

The harness's own supervised worker is frozen (SIGSTOP on it and everything under it: its
heartbeats stop as if it had died, and the supervisor, seeing no exit, starts no other). The owner
uploads a manual: the Library says "Waiting for a worker: processing is paused" on the manual and
in a banner, and how many manuals wait; `/api/health/worker` answers 503 `no_workers`. The worker
thaws: without a reload the banner goes, the manual becomes Ready, the health route answers 200.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import psutil
import pymupdf
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_chat_library import READY_TIMEOUT_MS, _nav, _sign_up

pytestmark = pytest.mark.e2e

PAUSED = "Waiting for a worker: processing is paused"
# A frozen worker counts as gone once its last heartbeat is older than HEARTBEAT_STALE_S (60 s).
STALE_TIMEOUT_MS = 150_000


def _small_manual() -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 90), "Model KX-7 compressor", fontsize=16)
    page.insert_text((72, 130), "Tighten the KX-7 discharge valve bolts to 18 Nm.", fontsize=11)
    data = doc.tobytes()
    doc.close()
    return data


def _harness_workers(app_url: str) -> list[psutil.Process]:
    """The supervisor the harness started for this app (same PORT), and everything under it."""
    port = str(urlsplit(app_url).port)
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "workers.supervisor" not in cmdline:
            continue
        try:
            if proc.environ().get("PORT") == port:
                return proc.children(recursive=True)
        except psutil.Error:
            continue
    raise AssertionError(
        "this test freezes the worker the e2e harness started for its own app; none serves "
        f"{app_url} (TECHDOCS_E2E_URL or an app on port 3000 brings its own worker)"
    )


@pytest.fixture
def frozen_worker(app_url: str) -> Iterator[Callable[[], None]]:
    """Freezes the harness's worker tree; the fixture's callable (and teardown) thaws it."""
    tree = _harness_workers(app_url)
    assert tree, "the harness's supervisor has no worker"
    for proc in tree:
        proc.send_signal(signal.SIGSTOP)
    thawed = False

    def thaw() -> None:
        nonlocal thawed
        if thawed:
            return
        thawed = True
        for proc in tree:
            try:
                proc.send_signal(signal.SIGCONT)
            except psutil.NoSuchProcess:
                pass

    try:
        yield thaw
    finally:
        thaw()


def _worker_health(app_url: str) -> tuple[int, dict]:
    response = httpx.get(app_url + "/api/health/worker", timeout=30)
    return response.status_code, response.json()


def test_library_shows_paused_processing_until_a_worker_is_back(
    new_page: Callable[[str], Page], app_url: str, frozen_worker: Callable[[], None]
) -> None:
    page = new_page("1024x768")
    _sign_up(page, app_url, f"Paused Refrigeration {uuid.uuid4().hex[:6]}")
    _nav(page, "Library")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "kx7.pdf", "mimeType": "application/pdf", "buffer": _small_manual()}]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator(".td-doc-row").filter(has_text="kx7")
    expect(row).to_be_visible()

    # The worker's last heartbeat grows stale: the Library says so without a reload.
    banner = page.locator(".td-queue-paused")
    expect(banner).to_contain_text(PAUSED, timeout=STALE_TIMEOUT_MS)
    expect(row).to_contain_text(PAUSED)
    # The owner also sees the queue (waiting manuals and the oldest one's wait).
    expect(page.locator(".td-queue-note")).to_contain_text("Processing queue: 1 manual waiting")
    status, body = _worker_health(app_url)
    assert status == 503 and body["status"] == "no_workers" and body["workers"] == 0, body
    assert body["queued"] >= 1 and body["oldest_queued_age_s"] >= 0

    frozen_worker()  # the worker is back
    expect(row.get_by_text("Ready", exact=True)).to_be_visible(timeout=READY_TIMEOUT_MS)
    expect(banner).to_have_count(0)
    expect(row).not_to_contain_text(PAUSED)
    status, body = _worker_health(app_url)
    assert status == 200 and body["status"] == "ok" and body["workers"] >= 1, body
