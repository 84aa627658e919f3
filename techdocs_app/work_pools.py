"""Threads of their own for heavy work that a hostile input can make slow.

`asyncio.to_thread` runs on the event loop's default executor: about six threads on a 2-core
machine, and every database call of the process waits for one of them. Work whose length an
uploader controls (rendering a page image of any size, opening and checking a PDF of any
structure) runs on a `WorkPool` instead: a small pool of named threads per process. A burst of
such work waits for its own threads and slows only its own kind; sign-ins, page loads and
answers keep the default executor.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_pools: weakref.WeakSet[WorkPool] = weakref.WeakSet()


class WorkPool:
    """`threads` threads named `name-N`, started on first use (and again in a forked child)."""

    def __init__(self, name: str, threads: int) -> None:
        if threads < 1:
            raise ValueError("a work pool needs at least one thread")
        self.name = name
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        _pools.add(self)

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.threads, thread_name_prefix=self.name
                )
            return self._executor

    def _forget(self) -> None:
        """In a forked child the parent's threads do not exist: start afresh on next use."""
        self._executor = None
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on this pool's threads, with the caller's context (request ids
        in logs, the tenant of the session)."""
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool(), call)


def _forget_all() -> None:
    for pool in list(_pools):
        pool._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_all)

UPLOADS = WorkPool("upload", 2)
"""Spooling, checking and storing uploaded manuals (PyMuPDF opens every file: a crafted PDF can
take seconds). Two at a time per process; the per-shop upload slots bound each shop's share."""
