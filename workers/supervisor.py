"""`python -m workers.supervisor`: keep `WORKERS` ingestion workers running (what `make run` starts).

Each worker is a `python -m workers.worker` child in its own process group. When one exits, for any
reason (a crash, the OOM killer, `kill -9`), it is started again after a back-off (1 s, doubling up
to 60 s; back to 1 s once a worker has run for a minute), and every exit and restart is logged.

SIGINT/SIGTERM (Ctrl-C in `make run`) stops them all: each worker is asked to stop after its current
job (SIGTERM); after `STOP_GRACE_S` a second SIGTERM stops it at once (its job goes back to the front
of its queue without using a retry); anything still alive `KILL_AFTER_S` later is killed, with its
work horse. The supervisor exits when every worker has.

In production the platform's restart policy does this job (docker compose `restart:
unless-stopped`, Render's background worker): run `python -m workers.worker` there directly.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import psutil

from techdocs_app.settings import get_settings

log = logging.getLogger("workers.supervisor")

REPO = Path(__file__).resolve().parent.parent
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
STABLE_AFTER_S = 60.0
"""A worker that ran this long before exiting is restarted after the first back-off again."""
STOP_GRACE_S = 5.0
KILL_AFTER_S = 15.0
POLL_S = 0.2
TRACK_EVERY_S = 1.0


def next_backoff(
    previous_s: float | None,
    ran_for_s: float,
    *,
    first_s: float = FIRST_BACKOFF_S,
    max_s: float = MAX_BACKOFF_S,
    stable_after_s: float = STABLE_AFTER_S,
) -> float:
    """Seconds to wait before restarting a worker that ran `ran_for_s` seconds, when the wait before
    its last restart was `previous_s` (None: it had not been restarted yet)."""
    if previous_s is None or ran_for_s >= stable_after_s:
        return first_s
    return min(previous_s * 2, max_s)


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {-returncode} ({signal.Signals(-returncode).name})"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


@dataclass
class Slot:
    """One of the `WORKERS` places: the worker process in it now, and its restart history."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = 0.0
    backoff_s: float | None = None
    restarts: int = 0
    descendants: list[psutil.Process] = field(default_factory=list)
    tracked_at: float = 0.0


class Supervisor:
    first_backoff_s = FIRST_BACKOFF_S
    max_backoff_s = MAX_BACKOFF_S
    stop_grace_s = STOP_GRACE_S
    kill_after_s = KILL_AFTER_S

    def __init__(
        self, workers: int, *, command: Sequence[str] | None = None, log_path: Path | None = None
    ) -> None:
        if workers < 1:
            raise ValueError("WORKERS must be at least 1")
        self.command = list(command or [sys.executable, "-m", "workers.worker"])
        self.slots = [Slot(index=i + 1) for i in range(workers)]
        self.log_path = log_path
        self.stopping = False
        self.stop_requested = False
        self.orphans: list[psutil.Process] = []

    # ---- lifecycle ----------------------------------------------------------------------------------

    def _start(self, slot: Slot) -> None:
        out = self.log_path.open("ab") if self.log_path else None
        env = {**os.environ, "PYTHONPATH": str(REPO), "TECHDOCS_WORKER_SLOT": str(slot.index)}
        slot.process = subprocess.Popen(
            self.command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,  # our own process group: Ctrl-C reaches us, we stop it in order
        )
        if out:
            out.close()
        slot.started_at = time.monotonic()
        slot.restart_at = None
        slot.descendants = []
        log.info("worker %d started (pid %d)", slot.index, slot.process.pid)

    def _track(self, slot: Slot, *, now: float | None = None) -> None:
        """Remember the worker's children (work horse, scheduler) while it lives: after it dies,
        they are orphans that only we know about."""
        now = time.monotonic() if now is None else now
        if slot.process is None or now - slot.tracked_at < TRACK_EVERY_S:
            return
        slot.tracked_at = now
        try:
            slot.descendants = psutil.Process(slot.process.pid).children(recursive=True)
        except psutil.Error:
            pass

    def _reap_orphans(self, slot: Slot, pid: int) -> None:
        """After a worker died: end what is left of its process group (RQ's scheduler, which would
        keep the scheduler lock). Its work horse has a group of its own and is left to finish its
        document (the document's claim in Postgres keeps the restarted worker from running it
        twice); it is stopped only when we stop."""
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        for child in slot.descendants:
            try:
                if child.is_running() and os.getpgid(child.pid) != pid:
                    self.orphans.append(child)
            except (psutil.Error, ProcessLookupError):
                continue
        slot.descendants = []

    def poll(self) -> None:
        """One pass: notice exits, schedule and perform restarts."""
        now = time.monotonic()
        for slot in self.slots:
            process = slot.process
            if process is not None:
                code = process.poll()
                if code is None:
                    self._track(slot, now=now)
                    continue
                ran_for = now - slot.started_at
                slot.process = None
                self._reap_orphans(slot, process.pid)
                if self.stopping:
                    log.info("worker %d stopped (%s)", slot.index, describe_exit(code))
                    continue
                slot.backoff_s = next_backoff(
                    slot.backoff_s,
                    ran_for,
                    first_s=self.first_backoff_s,
                    max_s=self.max_backoff_s,
                )
                slot.restarts += 1
                slot.restart_at = now + slot.backoff_s
                log.warning(
                    "worker %d (pid %d) exited with %s after %.1f s; restart #%d in %.1f s",
                    slot.index,
                    process.pid,
                    describe_exit(code),
                    ran_for,
                    slot.restarts,
                    slot.backoff_s,
                )
            if not self.stopping and slot.restart_at is not None and now >= slot.restart_at:
                if slot.restarts:
                    log.warning("worker %d: restarting (restart #%d)", slot.index, slot.restarts)
                self._start(slot)

    def running(self) -> list[Slot]:
        return [s for s in self.slots if s.process is not None and s.process.poll() is None]

    def _signal_all(self, sig: signal.Signals) -> None:
        for slot in self.running():
            assert slot.process is not None
            try:
                os.killpg(slot.process.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        """Warm stop, then cold stop, then kill: every worker and its work horse end."""
        self.stopping = True
        for slot in self.slots:
            slot.tracked_at = 0.0
            self._track(slot)
        log.info("stopping %d worker(s)", len(self.running()))
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace_s
        while self.running() and time.monotonic() < deadline:
            time.sleep(POLL_S)
        if self.running():
            log.info("workers still busy after %.0f s: stopping their jobs", self.stop_grace_s)
            self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.kill_after_s
        while self.running() and time.monotonic() < deadline:
            time.sleep(POLL_S)
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is None:
                log.error("worker %d did not stop: killing it", slot.index)
                slot.process.kill()
            if slot.process is not None:
                slot.process.wait(timeout=10)
            self.orphans += slot.descendants
        for leftover in self.orphans:
            try:
                if leftover.is_running():
                    log.warning("killing pid %d left by a worker", leftover.pid)
                    for p in [*leftover.children(recursive=True), leftover]:
                        p.kill()
            except psutil.Error:
                continue
        self.poll()

    def run(self) -> int:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.stop_requested = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        log.info("supervising %d ingestion worker(s)", len(self.slots))
        while not self.stop_requested:
            self.poll()
            time.sleep(POLL_S)
        self.stop()
        log.info("all workers stopped")
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.supervisor", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="number of workers (default: WORKERS, 1)"
    )
    parser.add_argument("--log", type=Path, default=None, help="append the workers' output here")
    args = parser.parse_args(argv)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if args.log:
        args.log.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
    )
    workers = args.workers if args.workers is not None else get_settings().workers
    return Supervisor(workers, log_path=args.log).run()


if __name__ == "__main__":
    sys.exit(main())
