"""Serve an ASGI app with uvicorn in a background thread on a random free port of 127.0.0.1, and
the steering every fake vendor shares (queued failures and delays per endpoint)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp


@contextmanager
def serve_in_thread(app: ASGIApp, name: str = "fake-server") -> Iterator[str]:
    """Yield the base URL (`http://127.0.0.1:PORT`) while the app is served; stop it on exit."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@dataclass
class EndpointSteering:
    """How a test steers a fake vendor, per endpoint name: HTTP failures for its next requests
    and a delay before each answer (to provoke the client's timeout)."""

    failures: dict[str, list[int]] = field(default_factory=dict)
    """endpoint -> HTTP statuses for its next requests, in order."""
    delay_s: dict[str, float] = field(default_factory=dict)
    """endpoint -> seconds to wait before answering."""

    def fail_next(self, endpoint: str, *statuses: int) -> None:
        self.failures.setdefault(endpoint, []).extend(statuses)

    async def delay_then_failure(self, endpoint: str) -> int | None:
        """Wait the endpoint's delay; then the status of its next queued failure (None: answer)."""
        delay = self.delay_s.get(endpoint, 0.0)
        if delay:
            await asyncio.sleep(delay)
        queued = self.failures.get(endpoint)
        return queued.pop(0) if queued else None
