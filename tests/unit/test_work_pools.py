"""`work_pools.WorkPool`: heavy work on named threads of its own, with the caller's context."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from techdocs_app.work_pools import UPLOADS, WorkPool

REQUEST = contextvars.ContextVar("request", default="none")


def _where(label: str, *, suffix: str = "") -> tuple[str, str, str]:
    return threading.current_thread().name, REQUEST.get(), label + suffix


def test_work_runs_on_the_pools_threads_with_the_callers_context() -> None:
    pool = WorkPool("heavy", 2)

    async def scenario() -> list[tuple[str, str, str]]:
        REQUEST.set("req-42")
        return list(await asyncio.gather(*(pool.run(_where, "x", suffix=str(n)) for n in range(4))))

    results = asyncio.run(scenario())
    assert {name.rsplit("_", 1)[0] for name, _, _ in results} == {"heavy"}
    assert len({name for name, _, _ in results}) <= 2  # never more threads than asked for
    assert [(req, label) for _, req, label in results] == [("req-42", f"x{n}") for n in range(4)]


def test_a_pool_holds_no_more_than_its_threads_at_once() -> None:
    pool = WorkPool("narrow", 2)
    inside = 0
    most = 0
    lock = threading.Lock()
    gate = threading.Event()

    def work() -> None:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        gate.wait(0.2)
        with lock:
            inside -= 1

    async def scenario() -> None:
        await asyncio.gather(*(pool.run(work) for _ in range(6)))

    asyncio.run(scenario())
    assert most == 2


def test_uploads_have_two_threads_and_a_pool_needs_one() -> None:
    assert UPLOADS.threads == 2 and UPLOADS.name == "upload"
    with pytest.raises(ValueError, match="at least one thread"):
        WorkPool("none", 0)
