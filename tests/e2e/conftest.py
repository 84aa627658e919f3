"""Browser-test harness: the real app served as `make run` serves it, driven by Debian's Chromium.

`app_url` (session):
- `TECHDOCS_E2E_URL` set: test that running app as is.
- an app already answering `/api/health` on 127.0.0.1:3000 (`make run`): reuse it. Starting a
  second copy would rebuild `.web/build` underneath the running one.
- otherwise: start the embedded services (the harness's `services` fixture, which points
  DATABASE_URL/REDIS_URL at the test database), one supervised RQ ingestion worker
  (`python -m workers.supervisor`, as `make run` does) and `scripts/run_app.sh` on a free port, in
  production mode, and stop both at the end. Logs: artifacts/e2e_app.log, e2e_worker.log.
  Billing is on, pointed at the Stripe wire fake (`fake_stripe`, served for the session): new
  shops start a trial as in production, and the billing tests drive Checkout and webhooks.

Chromium is `/usr/bin/chromium` through Python Playwright; `playwright install` is never used.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORTS
from tests.fakes.stripe_wire import PRICE_ID, FakeStripe, running_fake_stripe

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DEFAULT_URL = "http://127.0.0.1:3000"
# A cold start compiles the app and builds the frontend bundle (npm install on a fresh checkout).
START_TIMEOUT_S = float(os.environ.get("TECHDOCS_E2E_START_TIMEOUT", "600"))
# How long an `expect(...)` waits for the page to reach a state (Playwright's default is 5 s). A
# ceiling, not a speed target: on a loaded 2-core machine a websocket round trip can take longer.
expect.set_options(timeout=20_000)
STRIPE_WEBHOOK_SECRET = "whsec_e2e_billing"


def _healthy(base_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/api/health", timeout=timeout) as response:
            return response.status == 200 and b'"ok"' in response.read()
    except (urllib.error.URLError, OSError):
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the app's whole process group (reflex, granian workers), politely first."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def fake_stripe() -> Iterator[FakeStripe]:
    """Stripe's wire format on a free port (Checkout, Portal, prices, subscriptions)."""
    with running_fake_stripe() as fake:
        fake.add_price(PRICE_ID, seats="5")
        yield fake


@pytest.fixture(scope="session")
def app_url(request: pytest.FixtureRequest) -> Iterator[str]:
    explicit = os.environ.get("TECHDOCS_E2E_URL")
    if explicit:
        assert _healthy(explicit.rstrip("/")), f"TECHDOCS_E2E_URL={explicit} is not answering"
        yield explicit.rstrip("/")
        return
    if _healthy(DEFAULT_URL):
        yield DEFAULT_URL
        return

    request.getfixturevalue("services")  # Postgres + Redis up, env pointed at the test database
    stripe: FakeStripe = request.getfixturevalue("fake_stripe")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "e2e_app.log"
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        # The app's public address (CORS and the websocket accept only this origin).
        "APP_URL": base_url,
        # As behind one reverse proxy (Render): tests may act from other client addresses.
        "TRUSTED_PROXY_HOPS": "1",
        # The whole suite signs up many shops from one address.
        "SIGNUPS_PER_ADDRESS_PER_HOUR": "1000",
        # Billing on, against the Stripe wire fake.
        "STRIPE_SECRET_KEY": "sk_test_e2e",
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "STRIPE_PRICE_ID": PRICE_ID,
        "STRIPE_BASE_URL": stripe.url,
    }
    worker_log_path = ARTIFACTS / "e2e_worker.log"
    with log_path.open("wb") as log, worker_log_path.open("wb") as worker_log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "workers.supervisor", "--workers", "1"],
            cwd=REPO,
            env=env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = subprocess.Popen(
            [str(REPO / "scripts" / "run_app.sh")],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _healthy(base_url):
                if process.poll() is not None:
                    pytest.fail(
                        f"the app exited with {process.returncode} before answering; "
                        f"see {log_path}:\n{log_path.read_text()[-3000:]}"
                    )
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the app did not answer within {START_TIMEOUT_S:.0f} s; see {log_path}"
                    )
                time.sleep(1)
            yield base_url
        finally:
            _stop(process)
            _stop(worker)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[str], Page]]:
    """Factory: a page in a fresh browser context (no cookies) at one of VIEWPORTS."""
    contexts: list[BrowserContext] = []

    def _new_page(viewport: str = "1024x768") -> Page:
        context = browser.new_context(viewport=VIEWPORTS[viewport])
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[str], Page]) -> Page:
    """A page in a fresh context at the desktop / landscape-tablet size."""
    return new_page("1024x768")


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
