"""Scale-out on one machine, through Redis and PostgreSQL only (no home-made coordinator):

- two app processes behind one port (a round-robin TCP proxy, as a load balancer would be), sharing
  Reflex state in Redis (`REFLEX_REDIS_URL`): a conversation started on one continues on the other,
  after the first one is stopped;
- two RQ workers on the same queue: ten documents uploaded at once are each ingested exactly once,
  with the same chunks a single in-process ingest gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pymupdf
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
START_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _env(services: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": services["database_url"],
        "REDIS_URL": services["redis_url"],
        "REFLEX_REDIS_URL": services["redis_url"],
        "ENVIRONMENT": "test",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }


# --- two app processes behind one port ------------------------------------------------------


class RoundRobinProxy:
    """One port in front of several backends: each new TCP connection goes to the next backend
    that accepts it (a dead one is skipped), like a load balancer with health checks."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.routed: list[int] = []
        self._next = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = None
        for _ in range(len(self.ports)):
            port = self.ports[self._next % len(self.ports)]
            self._next += 1
            try:
                upstream = await asyncio.open_connection("127.0.0.1", port)
                self.routed.append(port)
                break
            except OSError:
                continue
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
def two_apps(db: dict[str, str], tmp_path: Path) -> Iterator[list[tuple[int, subprocess.Popen]]]:
    """Two backend processes of the app (production mode), sharing Redis and Postgres."""
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**_env(db, tmp_path), "GRANIAN_WORKERS": "1", "REFLEX_FRONTEND_PORT": "0"}
    apps = []
    for name in ("a", "b"):
        if apps:
            # Reflex clears its `.states` folder while starting: let the first one get past that
            # before the second starts in the same checkout.
            first_log = ARTIFACTS / "scale_out_app_a.log"
            deadline = time.monotonic() + START_TIMEOUT_S
            while "Starting Reflex App" not in first_log.read_text(errors="replace"):
                assert apps[0][1].poll() is None, "app a exited; see artifacts/"
                assert time.monotonic() < deadline, "app a did not start"
                time.sleep(0.2)
        port = _free_port()
        log = (ARTIFACTS / f"scale_out_app_{name}.log").open("wb")
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "reflex"),
                "run",
                "--env",
                "prod",
                "--backend-only",
                "--backend-port",
                str(port),
                "--backend-host",
                "127.0.0.1",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        apps.append((port, process))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        for port, process in apps:
            while not _healthy(port):
                assert process.poll() is None, f"app on {port} exited; see artifacts/"
                assert time.monotonic() < deadline, f"app on {port} did not start"
                time.sleep(1)
        yield apps
    finally:
        for _, process in apps:
            _stop(process)


async def _wait_answer(sock: Any, names: Any, timeout: float = 120) -> dict[str, Any]:
    from techdocs_app.bench.chat import FIELD_SUFFIX, _chat_delta

    deadline = time.monotonic() + timeout
    started = False
    while True:
        update = await asyncio.wait_for(sock.updates.get(), deadline - time.monotonic())
        assert "__error__" not in update, update
        chat = _chat_delta(update, names)
        if chat.get("streaming" + FIELD_SUFFIX) is True:
            started = True
        if started and chat.get("streaming" + FIELD_SUFFIX) is False:
            return chat


async def _hydrate(sock: Any, names: Any, session_token: str) -> dict[str, Any]:
    """Hydrate like a page load; return the chat state the server sent back."""
    from techdocs_app.bench.chat import FIELD_SUFFIX, _chat_delta

    await sock.emit_event(names.hydrate, {"vars": {names.cookie_var: session_token}})
    chat: dict[str, Any] = {}
    deadline = time.monotonic() + 60
    while chat.get("library_loaded" + FIELD_SUFFIX) is not True:
        update = await asyncio.wait_for(sock.updates.get(), deadline - time.monotonic())
        assert "__error__" not in update, update
        chat.update(_chat_delta(update, names))
    return chat


async def test_a_conversation_started_on_one_app_process_continues_on_the_other(
    two_apps: list[tuple[int, subprocess.Popen]], make_org: Any, corpus_dir: Path
) -> None:
    from techdocs_app.auth.sessions import issue_session
    from techdocs_app.bench.chat import FIELD_SUFFIX, ReflexSocket, _state_names
    from techdocs_app.conversations import get_messages
    from techdocs_app.rag.ingest import ingest_path

    shop = make_org("Two Apps Alarm Service")
    ingest_path(org_id=shop.org_id, path=corpus_dir / "trikdis_rt2.pdf")
    session_token = issue_session(shop)
    names = _state_names()
    client_token = str(uuid.uuid4())  # one browser tab, across both connections
    (port_a, app_a), (port_b, _) = two_apps
    proxy = RoundRobinProxy([port_a, port_b])
    await proxy.start()
    url = f"http://127.0.0.1:{proxy.port}"
    try:
        first = ReflexSocket(url, client_token)
        await first.connect()
        await _hydrate(first, names, session_token)
        await first.emit_event(
            names.submit,
            {"form_data": {"question": "What supply voltage does the RT2 module accept?"}},
        )
        answered = await _wait_answer(first, names)
        conversation_id = answered.get("conversation_id" + FIELD_SUFFIX)
        assert conversation_id, answered
        await first.close()
        assert proxy.routed == [port_a]

        _stop(app_a)  # the first process is gone: only Redis holds the tab's state now

        second = ReflexSocket(url, client_token)
        await second.connect()
        assert proxy.routed == [port_a, port_b]
        chat = await _hydrate(second, names, session_token)
        # The page reload on the other process shows the same conversation.
        assert chat["conversation_id" + FIELD_SUFFIX] == conversation_id
        shown = chat["messages" + FIELD_SUFFIX]
        assert [m["role"] for m in shown] == ["user", "assistant"]
        assert "RT2" in shown[0]["content"]
        await second.emit_event(
            names.submit, {"form_data": {"question": "and what is its operating temperature?"}}
        )
        followed = await _wait_answer(second, names)
        await second.close()
        assert followed.get("conversation_id" + FIELD_SUFFIX, conversation_id) == conversation_id
        messages = followed["messages" + FIELD_SUFFIX]
        assert [m["role"] for m in messages] == ["user", "assistant"] * 2
        assert not any(m.get("failed") for m in messages)
    finally:
        await proxy.close()

    stored = get_messages(shop, conversation_id=conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"] * 2
    # The follow-up was understood with the first turn (condensed to the same subject).
    assert "rt2" in (stored[3].standalone_query or "").lower(), stored[3].standalone_query
    assert "temperature" in stored[3].content.lower() or stored[3].sources


# --- two workers on the same queue ----------------------------------------------------------


def _manual(index: int) -> bytes:
    """A small, distinct service manual (two pages, specs, part numbers, a table)."""
    doc = pymupdf.open()
    model = f"HX-{100 + index}"
    page = doc.new_page()
    page.insert_text((72, 72), f"{model} Condensing Unit Service Manual", fontsize=18)
    page.insert_text((72, 110), "1. Specifications", fontsize=14)
    body = (
        f"The {model} runs on 230 V / 50 Hz. Refrigerant charge: {1.2 + index / 10:.1f} kg of "
        f"R-32. Compressor part number CMP-{4000 + index}. Fan motor part FM-{700 + index}. "
        f"Maximum operating pressure {38 + index} bar. Fault code E{index:02d} means the "
        "discharge temperature sensor is open; check connector J5 and replace the sensor."
    )
    page.insert_textbox(pymupdf.Rect(72, 130, 540, 400), body, fontsize=11)
    second = doc.new_page()
    second.insert_text((72, 72), "2. Torque values", fontsize=14)
    rows = [
        ("Compressor mounting bolts", 12 + index),
        ("Fan blade nut", 4 + index),
        ("Service valve cap", 20),
    ]
    y = 110
    for name, torque in rows:
        second.insert_text((72, y), f"{name}: {torque} N·m ({model})", fontsize=11)
        y += 20
    data = doc.tobytes()
    doc.close()
    return data


def _start_worker(name: str, env: dict[str, str]) -> subprocess.Popen:
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / f"scale_out_{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "workers.worker", "--name", name],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _chunks(org_id: int, document_id: int) -> list[tuple]:
    from sqlalchemy import text

    from techdocs_app.db.engine import session_scope

    with session_scope(org_id=org_id) as session:
        rows = (
            session.connection()
            .execute(
                text(
                    "SELECT ordinal, kind, page_start, page_end, heading, content, identifiers, "
                    "embed_model, embedding::text FROM chunks WHERE document_id = :d ORDER BY ordinal"
                ),
                {"d": document_id},
            )
            .all()
        )
    return [tuple(r) for r in rows]


def test_two_workers_ingest_ten_uploads_each_exactly_once(
    db: dict[str, str], make_org: Any, tmp_path: Path, redis_client: Any
) -> None:
    from techdocs_app import jobs, library
    from techdocs_app.queue_health import live_workers
    from techdocs_app.rag.ingest import ingest_path

    env = _env(db, tmp_path)
    workers = [_start_worker(f"scale-out-w{i}", env) for i in (1, 2)]
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(live_workers(jobs.get_redis())) < 2:
            assert all(w.poll() is None for w in workers), "a worker exited; see artifacts/"
            assert time.monotonic() < deadline, "the workers did not register"
            time.sleep(0.5)

        shop = make_org("Two Workers HVAC")
        manuals = {f"hx-{100 + i}.pdf": _manual(i) for i in range(10)}
        with ThreadPoolExecutor(max_workers=10) as pool:  # ten uploads at once
            uploads = list(
                pool.map(
                    lambda item: library.upload_document(shop, filename=item[0], data=item[1]),
                    manuals.items(),
                )
            )
        ids = {u.document.filename: u.document.id for u in uploads}
        assert len(set(ids.values())) == 10
        while True:
            statuses = {d.filename: d.status for d in library.list_documents(shop)}
            if all(s in ("ready", "failed") for s in statuses.values()):
                break
            assert time.monotonic() < deadline + 300, f"ingest did not finish: {statuses}"
            assert all(w.poll() is None for w in workers), "a worker died; see artifacts/"
            time.sleep(0.5)
        assert set(statuses.values()) == {"ready"}, statuses
    finally:
        for worker in workers:
            _stop(worker)

    # Exactly once: each job ran on one worker, once; both workers took part.
    logs = {
        name: (ARTIFACTS / f"scale_out_{name}.log").read_text(errors="replace")
        for name in ("scale-out-w1", "scale-out-w2")
    }
    runs = {
        document_id: sum(log.count(f"Job OK (ingest-{document_id})") for log in logs.values())
        for document_id in ids.values()
    }
    assert set(runs.values()) == {1}, runs
    assert all("Job OK (ingest-" in log for log in logs.values()), "one worker did nothing"
    counted = redis_client.hget("td:metrics:ingest", "documents_ready")
    assert int(counted) == 10

    # The same chunks as one in-process ingest of the same files.
    single = make_org("Single Worker HVAC")
    for filename, data in manuals.items():
        path = tmp_path / filename
        path.write_bytes(data)
        baseline = ingest_path(org_id=single.org_id, path=path)
        assert baseline.id is not None
        ours = _chunks(shop.org_id, ids[filename])
        assert ours and ours == _chunks(single.org_id, baseline.id), filename
