"""localstripe (PyPI, a stateful Stripe emulator) as a service of the test harness: started as a
subprocess on a free port of 127.0.0.1, stopped when the block ends.

It speaks Stripe's API for customers, payment methods, plans, subscriptions, invoices and events
(not Checkout or the Customer Portal: those are `stripe_wire`), and it delivers signed webhooks
(`Stripe-Signature`) to endpoints registered with `POST /_config/webhooks/{id}`.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_localstripe() -> Iterator[str]:
    """Yield `http://127.0.0.1:PORT` of a fresh localstripe (empty store)."""
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"localstripe exited: {log.read()[-2000:]!r}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start in 20 s") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def register_webhook(url: str, *, endpoint: str, secret: str, name: str = "techdocs") -> None:
    """localstripe signs every event with `secret` and POSTs it to `endpoint`."""
    response = httpx.post(
        f"{url}/_config/webhooks/{name}", data={"url": endpoint, "secret": secret}, timeout=10
    )
    response.raise_for_status()
