"""`python -m techdocs_app bench chat`: concurrent conversations through the RUNNING app.

Each simulated user is one browser tab as far as the app can tell: its own Reflex client token, a
websocket to `/_event` speaking Engine.IO 4 / Socket.IO 5 like Reflex's frontend
(`.web/utils/state.js`), the session cookie sent as a client-storage var in `hydrate_and_load`,
and questions sent as `ChatState.submit_question` events. Time to first token is measured from
sending the question to the first state update carrying answer text; total time until the
answer is saved (`streaming` back to False).

Set-up goes through the services (same database and Redis as the app, from the usual settings):
one bench organization (signed up once, then reused) with a corpus manual ingested in-process by
`rag.ingest.ingest_path`, and one session per simulated user. The users share that organization
and each simulated user is its own technician (a member of that organization, no password).

This module imports no reflex at import time (services never do); the state names are read
from the state classes inside `run()`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:3000"
CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_MANUAL = "trikdis_rt2.pdf"
"""The corpus manual the bench organization gets when `--manual` is not given."""
BENCH_EMAIL = "bench-chat@bench.techdocs.invalid"
BENCH_PASSWORD = "bench-chat-password-1"
BENCH_ORG = "Bench Alarm Service"
NAMESPACE = "/_event"
"""Reflex's Socket.IO namespace (packets read `40/_event,…`, `42/_event,[…]`)."""
FIELD_SUFFIX = "_rx_state_"
"""Reflex suffixes every state field name in deltas and client-storage keys with this."""

# Distinct first questions about the RT2 manual (no answer-cache help between users), and
# follow-ups that only make sense after them.
FIRST_QUESTIONS = (
    "What supply voltage range and maximum current does the RT2 module accept?",
    "What is the operating temperature range of the RT2 receiving module?",
    "How many rings does the RT2 wait before lifting the handset by default?",
    "What does RT2 service message code 20 mean?",
    "How do you change the exploitation parameters of an RT2 module?",
    "What does the green LED on the RT2 indicate?",
    "Which protocols does the RT2 receiving module support?",
    "What maximum operating line voltage does the RT2 work with?",
    "What programming device and cable are needed to configure the RT2?",
    "What does a constantly lit red LED mean on the RT2?",
    "What is the RT2 module type number shown on the RD10 display?",
    "Which receivers can the RT2 module be mounted into?",
    "What does the yellow LED flashing mean on the RT2?",
    "What HSK frequencies does the RT2 use for pulse protocols?",
    "What alternating call voltage does the RT2 tolerate?",
    "What relative humidity can the RT2 operate in?",
    "Which Contact ID standard does the RT2 follow?",
    "What kissoff duration can be set on the RT2?",
    "How is the RT2 powered?",
    "What does MODULE RESET on the RD10 display mean for an RT2?",
)
FOLLOW_UPS = (
    "and what is its operating temperature range?",
    "what about the power supply current?",
    "and which LED shows that?",
    "what is the default setting for that?",
)


@dataclass
class Sample:
    accepted_ms: float | None = None
    """Until the app showed the question (the `streaming` flag set)."""
    sources_ms: float | None = None
    """Until the sources were shown (search and rerank done)."""
    ttft_ms: float | None = None
    total_ms: float | None = None
    error: str | None = None


@dataclass
class Names:
    hydrate: str
    submit: str
    chat_state: str
    session_state: str
    cookie_var: str


@dataclass
class UserResult:
    samples: list[Sample] = field(default_factory=list)
    setup_error: str | None = None


def eval_dir(checkout: Path = CHECKOUT) -> Path:
    """The eval folder, found as the tests find it (tests/conftest.py): `TECHDOCS_EVAL_DIR` from
    the environment, else from the checkout's `.env`, else `../shared/eval` beside the checkout."""
    from dotenv import dotenv_values

    configured = os.environ.get("TECHDOCS_EVAL_DIR") or dotenv_values(checkout / ".env").get(
        "TECHDOCS_EVAL_DIR"
    )
    return Path(configured or checkout.parent / "shared" / "eval").resolve()


def default_manual(checkout: Path = CHECKOUT) -> Path:
    """`DEFAULT_MANUAL` in the eval corpus (`eval_dir`); SystemExit saying where it looked and how
    to point elsewhere when it is not there."""
    manual = eval_dir(checkout) / "corpus" / DEFAULT_MANUAL
    if not manual.is_file():
        raise SystemExit(
            f"bench-chat: the default manual is not at {manual}: set TECHDOCS_EVAL_DIR (environment "
            "or .env) to the eval folder that holds corpus/, or pass --manual PATH"
        )
    return manual


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument(
        "--questions", type=int, default=2, help="questions per user, follow-ups after the first"
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"running app (default {DEFAULT_URL})")
    parser.add_argument(
        "--manual",
        type=Path,
        default=None,
        help=f"PDF ingested for the bench organization first (default: {DEFAULT_MANUAL} of the "
        "eval corpus, TECHDOCS_EVAL_DIR/corpus, as the tests find it)",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds allowed per answer (default 120)"
    )
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="keep earlier runs' cached answers (default: invalidate them, so every answer "
        "runs the whole pipeline)",
    )


# --- Engine.IO / Socket.IO over one websocket ------------------------------------------------------


class ReflexSocket:
    """The subset of the socket.io client that Reflex's frontend uses: one namespace, JSON events."""

    def __init__(self, url: str, client_token: str, headers: dict[str, str] | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urllib.parse.urlencode(
            {"EIO": "4", "transport": "websocket", "token": client_token}
        )
        self.ws_url = f"{scheme}://{parts.netloc}/_event/?{query}"
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.headers = {"Origin": self.origin, **(headers or {})}
        self.ws: Any = None
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        from simple_websocket import AioClient

        self.ws = await AioClient.connect(self.ws_url, headers=self.headers)
        # simple_websocket can leave the Engine.IO opening packet unread until more data arrives
        # (it came in the same read as the HTTP handshake), so do not wait for it: ask for the
        # namespace at once and skip the opening packet when it shows up.
        await self.ws.send(f"40{NAMESPACE},")
        while True:
            packet = await self._next_packet(timeout=10)
            if packet.startswith(f"40{NAMESPACE},"):
                break
            if not packet.startswith("0"):
                raise ConnectionError(f"namespace not accepted: {packet!r:.80}")
        self._reader = asyncio.create_task(self._read())

    async def _next_packet(self, timeout: float) -> str:
        while True:
            packet = await self.ws.receive(timeout=timeout)
            if packet is None:
                raise TimeoutError("no answer on the websocket")
            if packet == "2":  # Engine.IO ping → pong
                await self.ws.send("3")
                continue
            return packet

    async def _read(self) -> None:
        try:
            while True:
                packet = await self._next_packet(timeout=None)  # type: ignore[arg-type]
                if packet.startswith(f"42{NAMESPACE},"):
                    name, *args = json.loads(packet[len(NAMESPACE) + 3 :])
                    if name == "event" and args and isinstance(args[0], dict):
                        await self.updates.put(args[0])
                elif packet.startswith(f"41{NAMESPACE}"):
                    raise ConnectionError("disconnected by the server")
        except Exception as exc:  # noqa: BLE001 - surfaced to the waiting user as an error
            await self.updates.put({"__error__": type(exc).__name__})

    async def emit_event(self, name: str, payload: dict[str, Any], path: str = "/") -> None:
        event = {
            "name": name,
            "payload": payload,
            "handler": None,
            "router_data": {"pathname": path, "asPath": path},
        }
        await self.ws.send(f"42{NAMESPACE}," + json.dumps(["event", event]))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception:  # noqa: BLE001 - closing a socket the server already dropped
                pass


# --- one simulated user ------------------------------------------------------------------------------


def _chat_delta(update: dict[str, Any], names: Names) -> dict[str, Any]:
    delta = update.get("delta") or {}
    return delta.get(names.chat_state) or {}


async def _hydrate(sock: ReflexSocket, names: Names, session_token: str, timeout: float) -> None:
    await sock.emit_event(names.hydrate, {"vars": {names.cookie_var: session_token}})
    deadline = time.monotonic() + timeout
    signed_in = loaded = False
    while True:
        update = await asyncio.wait_for(sock.updates.get(), deadline - time.monotonic())
        if "__error__" in update:
            raise ConnectionError(update["__error__"])
        session = (update.get("delta") or {}).get(names.session_state) or {}
        signed_in = signed_in or session.get("signed_in" + FIELD_SUFFIX) is True
        # The chat page's on_load (history and manuals) has finished: a person could type now.
        loaded = loaded or _chat_delta(update, names).get("library_loaded" + FIELD_SUFFIX) is True
        if signed_in and loaded:
            return
        for event in update.get("events") or []:
            if "redirect" in json.dumps(event) and "/signin" in json.dumps(event):
                raise PermissionError("the bench session was not accepted")


async def _ask(sock: ReflexSocket, names: Names, question: str, timeout: float) -> Sample:
    sent = time.perf_counter()
    await sock.emit_event(names.submit, {"form_data": {"question": question}})
    sample = Sample()
    started = False
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            sample.error = "timeout"
            return sample
        try:
            update = await asyncio.wait_for(sock.updates.get(), remaining)
        except TimeoutError:
            sample.error = "timeout"
            return sample
        if "__error__" in update:
            sample.error = str(update["__error__"])
            return sample
        chat = _chat_delta(update, names)
        if chat.get("streaming" + FIELD_SUFFIX) is True:
            started = True
            if sample.accepted_ms is None:
                sample.accepted_ms = (time.perf_counter() - sent) * 1000
        if sample.sources_ms is None and chat.get("draft_sources" + FIELD_SUFFIX):
            sample.sources_ms = (time.perf_counter() - sent) * 1000
        if sample.ttft_ms is None and chat.get("draft_content" + FIELD_SUFFIX):
            sample.ttft_ms = (time.perf_counter() - sent) * 1000
        messages = chat.get("messages" + FIELD_SUFFIX)
        if started and chat.get("streaming" + FIELD_SUFFIX) is False:
            sample.total_ms = (time.perf_counter() - sent) * 1000
            last = messages[-1] if isinstance(messages, list) and messages else {}
            if sample.sources_ms is None and last.get("sources"):
                # The sources came with the finished answer (no update while streaming).
                sample.sources_ms = sample.total_ms
            if last.get("failed"):
                sample.error = "answer failed"
            elif sample.ttft_ms is None:
                # Everything arrived in one update (e.g. a cached answer).
                sample.ttft_ms = sample.total_ms
            return sample


async def _user(
    index: int,
    *,
    url: str,
    names: Names,
    session_token: str,
    questions: int,
    timeout: float,
    barrier: asyncio.Barrier,
) -> UserResult:
    result = UserResult()
    sock = ReflexSocket(url, str(uuid.uuid4()))
    try:
        await sock.connect()
        await _hydrate(sock, names, session_token, timeout=30)
    except Exception as exc:  # noqa: BLE001 - reported as this user's error
        result.setup_error = type(exc).__name__
        await sock.close()
        await barrier.wait()
        return result
    await barrier.wait()
    try:
        for q in range(questions):
            if q == 0:
                question = FIRST_QUESTIONS[index % len(FIRST_QUESTIONS)]
            else:
                question = FOLLOW_UPS[(index + q - 1) % len(FOLLOW_UPS)]
            result.samples.append(await _ask(sock, names, question, timeout))
    finally:
        await sock.close()
    return result


# --- set-up and report ---------------------------------------------------------------------------------


def _invalidate_answer_cache(org_id: int) -> None:
    """Answers are cached per (organization, index version): a new version means none match."""
    from techdocs_app.db.accounts import bump_index_version
    from techdocs_app.db.engine import session_scope

    with session_scope(org_id=org_id) as session:
        bump_index_version(session, org_id=org_id)


def _bench_principal(manual: Path) -> Any:
    from techdocs_app.auth.local import sign_in, sign_up
    from techdocs_app.errors import AuthError
    from techdocs_app.rag.ingest import ingest_path

    try:
        principal = sign_in(email=BENCH_EMAIL, password=BENCH_PASSWORD)
    except AuthError:
        principal = sign_up(org_name=BENCH_ORG, email=BENCH_EMAIL, password=BENCH_PASSWORD)
    document = ingest_path(org_id=principal.org_id, path=manual, uploaded_by=principal.user_id)
    if document.status != "ready":
        raise SystemExit(f"bench-chat: {manual.name} is {document.status}, not ready")
    return principal


def _bench_technicians(owner: Any, count: int) -> list[Any]:
    """One technician (member) per simulated user, so that each asks as its own person (the
    questions-per-user rate limit applies per person, as in a shop)."""
    from dataclasses import replace

    from techdocs_app.db import accounts
    from techdocs_app.db.engine import session_scope, system_session_scope
    from techdocs_app.db.models import Membership, User

    technicians = []
    for i in range(count):
        email = f"bench-tech-{i}@bench.techdocs.invalid"
        with system_session_scope() as session:  # users are identities, not tenant rows
            user = accounts.get_user_by_email(session, email=email)
            if user is None:
                user = User(email=email, password_hash=None)
                session.add(user)
                session.flush()
            assert user.id is not None
        with session_scope(org_id=owner.org_id) as session:
            if accounts.get_membership(session, org_id=owner.org_id, user_id=user.id) is None:
                session.add(Membership(org_id=owner.org_id, user_id=user.id, role="member"))
            technicians.append(replace(owner, user_id=user.id, role="member", email=email))
    return technicians


def _state_names() -> Names:
    from techdocs_app.state.base import SessionState
    from techdocs_app.state.chat import ChatState

    root = SessionState.get_root_state().get_full_name()
    session = SessionState.get_full_name()
    return Names(
        hydrate=f"{root}.hydrate_and_load",
        submit=f"{ChatState.get_full_name()}.submit_question",
        chat_state=ChatState.get_full_name(),
        session_state=session,
        cookie_var=f"{session}.session_token{FIELD_SUFFIX}",
    )


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


async def _run(args: argparse.Namespace, names: Names, tokens: list[str]) -> list[UserResult]:
    # Every user connects and hydrates first; then all ask at once.
    barrier = asyncio.Barrier(args.users)
    return list(
        await asyncio.gather(
            *(
                _user(
                    i,
                    url=args.url.rstrip("/"),
                    names=names,
                    session_token=tokens[i],
                    questions=args.questions,
                    timeout=args.timeout,
                    barrier=barrier,
                )
                for i in range(args.users)
            )
        )
    )


def run(args: argparse.Namespace) -> int:
    from techdocs_app.auth.sessions import issue_session

    if args.users < 1 or args.questions < 1:
        raise SystemExit("bench-chat: --users and --questions must be at least 1")
    manual: Path = args.manual if args.manual is not None else default_manual()
    if not manual.exists():
        raise SystemExit(f"bench-chat: manual not found: {manual}")
    print(f"bench-chat: preparing the bench organization with {manual.name} …", flush=True)
    principal = _bench_principal(manual)
    if not args.warm_cache:
        _invalidate_answer_cache(principal.org_id)
    tokens = [issue_session(tech) for tech in _bench_technicians(principal, args.users)]
    names = _state_names()
    print(
        f"bench-chat: {args.users} users × {args.questions} questions against {args.url}",
        flush=True,
    )
    began = time.perf_counter()
    results = asyncio.run(_run(args, names, tokens))
    wall_s = time.perf_counter() - began

    samples = [s for r in results for s in r.samples]
    setup_errors = [r.setup_error for r in results if r.setup_error]
    errors = len(setup_errors) * args.questions + sum(1 for s in samples if s.error)
    ttft = [s.ttft_ms for s in samples if s.ttft_ms is not None and not s.error]
    total = [s.total_ms for s in samples if s.total_ms is not None and not s.error]
    kinds: dict[str, int] = {}
    for error in setup_errors + [s.error for s in samples if s.error]:
        kinds[error] = kinds.get(error, 0) + 1
    if kinds:
        print(f"bench-chat: errors by kind: {kinds}")
    if ttft:
        print(
            f"bench-chat: ttft mean {statistics.fmean(ttft):.0f} ms, max {max(ttft):.0f} ms; "
            f"total mean {statistics.fmean(total):.0f} ms, max {max(total):.0f} ms; "
            f"{len(samples)} answers in {wall_s:.1f} s"
        )
        ok = [s for s in samples if not s.error]
        phases = {
            "accepted": [s.accepted_ms for s in ok if s.accepted_ms is not None],
            "sources": [s.sources_ms for s in ok if s.sources_ms is not None],
            "first_token": ttft,
        }
        print(
            "bench-chat: p50/p95 ms from sending the question until "
            + "; ".join(
                f"{name} {_percentile(v, 50):.0f}/{_percentile(v, 95):.0f} (n={len(v)})"
                for name, v in phases.items()
                if v
            )
        )
    print(
        f"bench-chat: users={args.users} questions={args.questions} errors={errors} "
        f"ttft_p50_ms={_percentile(ttft, 50):.0f} ttft_p95_ms={_percentile(ttft, 95):.0f} "
        f"total_p95_ms={_percentile(total, 95):.0f}"
    )
    return 0 if errors == 0 else 1
