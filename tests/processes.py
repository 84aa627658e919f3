"""Stopping the worker processes that integration tests start, whatever happened in the test."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_worker(process: subprocess.Popen[bytes], *, grace_s: float = 60.0) -> None:
    """SIGTERM (RQ's warm shut-down: the current job may finish), then SIGKILL the whole process
    group (the worker and its work horse) if it has not exited within `grace_s`.

    A worker left running would take the next test's jobs from the same Redis database.
    """
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
        raise
