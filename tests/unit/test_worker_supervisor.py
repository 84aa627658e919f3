"""The supervisor `make run` starts: restarts with back-off and logs each one; stops in order.

Real child processes (small Python programs standing in for a worker's exit behaviour); nothing
external."""

from __future__ import annotations

import logging
import signal
import sys
import time

import pytest

from workers.supervisor import Supervisor, describe_exit, next_backoff


def test_backoff_doubles_to_a_cap_and_resets_after_a_stable_run() -> None:
    waits = []
    previous = None
    for _ in range(9):
        previous = next_backoff(previous, ran_for_s=0.5)
        waits.append(previous)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert next_backoff(60, ran_for_s=61) == 1  # it had been running fine for a minute


def test_exit_descriptions() -> None:
    assert describe_exit(-9) == "signal 9 (SIGKILL)"
    assert describe_exit(-15) == "signal 15 (SIGTERM)"
    assert describe_exit(3) == "exit code 3"


def _drive(supervisor: Supervisor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.poll()
        time.sleep(0.02)


def test_a_worker_that_exits_is_restarted_with_backoff_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor(2, command=[sys.executable, "-c", "raise SystemExit(3)"])
    supervisor.first_backoff_s = 0.1
    caplog.set_level(logging.INFO, logger="workers.supervisor")
    try:
        _drive(supervisor, 2.5)
    finally:
        supervisor.stop_grace_s = supervisor.kill_after_s = 1.0
        supervisor.stop()
    restarts = [slot.restarts for slot in supervisor.slots]
    # Each slot: exits, waits 0.1, 0.2, 0.4, 0.8 s... so a few restarts in 2.5 s, not dozens.
    assert all(3 <= n <= 6 for n in restarts), restarts
    assert [slot.backoff_s for slot in supervisor.slots] == [0.1 * 2 ** (n - 1) for n in restarts]
    exits = [r.getMessage() for r in caplog.records if "exited with exit code 3" in r.getMessage()]
    assert len(exits) == sum(restarts)
    first = next(m for m in exits if m.startswith("worker 1 (pid "))
    assert first.endswith("restart #1 in 0.1 s")
    assert any("worker 2: restarting (restart #2)" in r.getMessage() for r in caplog.records)


WARM_THEN_COLD = """
import signal, sys, time
seen = []
def on_term(signum, frame):
    seen.append(signum)
    if len(seen) == 2:
        sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""

IGNORES_TERM = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


@pytest.mark.parametrize(
    ("program", "stopped_by"),
    [(WARM_THEN_COLD, "exit code 0"), (IGNORES_TERM, "signal 9 (SIGKILL)")],
)
def test_stop_asks_twice_then_kills(
    program: str, stopped_by: str, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = Supervisor(1, command=[sys.executable, "-c", program])
    supervisor.stop_grace_s = 0.5
    supervisor.kill_after_s = 0.5
    caplog.set_level(logging.INFO, logger="workers.supervisor")
    supervisor.poll()
    time.sleep(0.5)  # let the child install its signal handler
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 5
    assert supervisor.running() == []
    assert supervisor.slots[0].restarts == 0  # a stop is not a crash: no restart
    assert any(f"worker 1 stopped ({stopped_by})" in r.getMessage() for r in caplog.records)


def test_signal_sets_the_stop_flag() -> None:
    supervisor = Supervisor(1, command=[sys.executable, "-c", "import time; time.sleep(30)"])
    previous = signal.getsignal(signal.SIGTERM)
    try:
        supervisor.poll()
        signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signal.SIGTERM))
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        supervisor.stop_grace_s = supervisor.kill_after_s = 1.0
        assert supervisor.run() == 0
        assert supervisor.stop_requested and supervisor.running() == []
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_workers_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="WORKERS"):
        Supervisor(0)


def test_each_way_of_running_restarts_a_worker_that_exits() -> None:
    """`make run` supervises; compose and Render run one plain worker per container or instance
    and their restart policy does the supervisor's job (issue 14, Build 1)."""
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[2]
    assert "-m workers.supervisor" in (repo / "scripts" / "run.sh").read_text()
    start = (repo / "scripts" / "start.sh").read_text()
    assert "-m workers.worker" in start and "workers.supervisor" not in start
    compose = yaml.safe_load((repo / "docker-compose.yml").read_text())["services"]
    assert compose["worker"]["command"][-1] == "worker"
    assert compose["worker"]["restart"] in ("unless-stopped", "always")
    render = yaml.safe_load((repo / "render.yaml").read_text())["services"]
    (worker,) = [s for s in render if s["type"] == "worker"]  # Render restarts it when it exits
    assert worker["dockerCommand"].endswith(" worker")
