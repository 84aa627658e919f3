"""The attacker. Organization B, signed in as each role, tries organization A's ids everywhere.

Entry points: each page's event handlers called over the websocket exactly as the browser calls
them (a Reflex client speaking Socket.IO to the running app: chat, library, team, settings), the
page-image route and the file download (the organization export), search and the document
filter, the answer cache and conversation memory, invitations, team actions, API keys and the
organization's deletion, the Clerk webhook, and the command line. For every attempt B gets what
it gets for an id that never existed (the same message), nothing of A appears in any answer or
file, and A's rows are unchanged.

Both sign-in modes: B's and A's people are local accounts, or Clerk users whose sessions come
from the Clerk token exchange (tokens signed with a test key, Backend API on a local fake).

Two routes send stored data to a browser: the page image (a page of a manual) and the export zip
(`/api/organization/export.zip`, every manual and conversation of the signed-in owner's
organization). The export takes its organization only from the session: B's owner gets B's data
whatever the request says, B's admins and members get the refusal a member of A would get.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from techdocs_app import api_keys
from techdocs_app.auth import Principal, local, sessions, team
from techdocs_app.bench.chat import FIELD_SUFFIX, ReflexSocket
from techdocs_app.db.engine import session_scope, system_session_scope
from techdocs_app.db.models import (
    ApiKey,
    Conversation,
    Document,
    Invitation,
    Membership,
    Message,
    Organization,
)
from techdocs_app.errors import TechDocsError
from techdocs_app.settings import get_settings

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
MANUAL = "trikdis_rt2.pdf"
PASSWORD = "attacker-test-42"
MISSING = 987_654_321
"""An id no table will reach during the test run."""
QUESTION = "What supply voltage range and maximum current does the RT2 module accept?"
ROLES = ("owner", "admin", "member")


@dataclass
class Org:
    name: str
    people: dict[str, Principal]
    tokens: dict[str, str] = field(default_factory=dict)
    document_id: int = 0
    conversation_id: int = 0
    message_id: int = 0
    invitation_id: int = 0
    api_key_id: int = 0
    secrets: list[str] = field(default_factory=list)
    """Strings that exist only in this organization (must never reach the other one)."""

    @property
    def owner(self) -> Principal:
        return self.people["owner"]


def _run_async(coroutine: Any) -> Any:
    """Run a coroutine to the end on a thread of its own: Playwright's sync API keeps an event
    loop running in this thread once a browser test has run."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# ---- building the two organizations ----------------------------------------------------------------


def _local_org(tag: str, label: str) -> Org:
    owner = local.sign_up(
        org_name=f"{label} {tag}", email=f"owner-{tag}@{label.lower()}.example", password=PASSWORD
    )
    people = {"owner": owner}
    for role in ("admin", "member"):
        sent = team.invite(owner, email=f"{role}-{tag}@{label.lower()}.example", role=role)
        token = sent.link.rsplit("/", 1)[-1]
        people[role] = team.accept_with_new_account(
            token, name=f"{label} {role}", password=PASSWORD
        )
    return Org(name=owner.org_name, people=people)


def _clerk_org(tag: str, label: str, clerk_server: Any, key: Any) -> Org:
    from tests.fakes import clerk as fake

    org_id = f"org_{label.lower()}_{tag}"
    users = {}
    for role in ROLES:
        user_id = f"user_{label.lower()}_{role}_{tag}"
        clerk_server.state.add_user(
            user_id, f"{role}-{tag}@{label.lower()}.clerk.example", label, role
        )
        users[role] = user_id
    clerk_server.state.add_organization(org_id, f"{label} {tag}", created_by=users["owner"])
    client = TestClient(_api(), base_url="http://127.0.0.1:3000", follow_redirects=False)
    people: dict[str, Principal] = {}
    tokens: dict[str, str] = {}
    for role in ROLES:
        clerk_role = "org:member" if role == "member" else "org:admin"
        client.cookies.set(
            "__session",
            fake.session_token(key, user_id=users[role], org_id=org_id, org_role=clerk_role),
        )
        response = client.get("/api/auth/clerk/session?next=/")
        assert response.status_code == 303, response.text
        token = response.cookies["techdocs_session"]
        principal = sessions.principal_from_session(token)
        assert principal is not None
        people[role], tokens[role] = principal, token
    # The creator is the owner; Clerk's org:admin and org:member are our admin and member.
    assert [people[r].role for r in ROLES] == list(ROLES)
    return Org(name=people["owner"].org_name, people=people, tokens=tokens)


def _api() -> Any:
    from techdocs_app.api import api

    return api


def _fill_a(a: Org, corpus_dir: Path) -> None:
    """A's own things: a manual, a conversation with an answer (memory and cache too), a pending
    invitation."""
    from techdocs_app.rag import answer as answer_mod
    from techdocs_app.rag.ingest import ingest_path

    document = ingest_path(
        org_id=a.owner.org_id, path=corpus_dir / MANUAL, uploaded_by=a.owner.user_id
    )
    assert document.status == "ready", document.error_message
    a.document_id = int(document.id)  # type: ignore[arg-type]

    async def ask() -> int:
        conversation_id = 0
        async for event in answer_mod.ask(a.owner, question=QUESTION):
            if isinstance(event, answer_mod.Started):
                conversation_id = event.conversation_id
        return conversation_id

    a.conversation_id = _run_async(ask())
    with session_scope(org_id=a.owner.org_id) as s:
        message = s.exec(
            select(Message).where(
                Message.conversation_id == a.conversation_id, Message.role == "assistant"
            )
        ).one()
        a.message_id = int(message.id)  # type: ignore[arg-type]
        # A's answer, name, manual and people: none of it is in anything B asks.
        a.secrets = [message.content[:40], a.name, "trikdis_rt2", a.people["member"].email]
    pending = team.invite(a.owner, email=f"pending-{uuid.uuid4().hex[:6]}@a.example")
    a.invitation_id = pending.invitation.id
    key = api_keys.create_api_key(a.owner, name="Alpha parts counter", role="member")
    a.api_key_id = key.key.id
    a.secrets += [key.secret, key.key.prefix]


def _snapshot(a: Org) -> dict[str, Any]:
    with system_session_scope() as s:
        return {
            "document": s.get(Document, a.document_id).model_dump(exclude={"updated_at"}),  # type: ignore[union-attr]
            "conversation": s.get(Conversation, a.conversation_id).model_dump(),  # type: ignore[union-attr]
            "feedback": s.get(Message, a.message_id).feedback,  # type: ignore[union-attr]
            "members": sorted(
                (m.user_id, m.role)
                for m in s.exec(select(Membership).where(Membership.org_id == a.owner.org_id))
            ),
            "invitation": s.get(Invitation, a.invitation_id).model_dump(),  # type: ignore[union-attr]
            "api_key": s.get(ApiKey, a.api_key_id).model_dump(exclude={"last_used_at"}),  # type: ignore[union-attr]
            "organization": s.get(Organization, a.owner.org_id).model_dump(),  # type: ignore[union-attr]
        }


@pytest.fixture(scope="module", params=["local", "clerk"])
def world(
    request: pytest.FixtureRequest, services: dict[str, str], app_url: str, corpus_dir: Path
) -> Iterator[tuple[Org, Org]]:
    """A (with things in it) and B (owner, admin, member), in the database the running app uses."""
    tag = uuid.uuid4().hex[:8]
    if request.param == "local":
        a, b = _local_org(tag, "Alpha"), _local_org(tag, "Bravo")
        for org in (a, b):
            org.tokens = {role: sessions.issue_session(p) for role, p in org.people.items()}
        _fill_a(a, corpus_dir)
        yield a, b
        return
    from tests.fakes import clerk as fake

    key = fake.new_rsa_key()
    monkeypatch = pytest.MonkeyPatch()
    with fake.running_fake_clerk() as clerk_server:
        for name, value in {
            "CLERK_SECRET_KEY": fake.SECRET_KEY,
            "CLERK_PUBLISHABLE_KEY": fake.PUBLISHABLE_KEY,
            "CLERK_JWT_KEY": key.public_pem,
            "CLERK_WEBHOOK_SECRET": fake.WEBHOOK_SECRET,
            "CLERK_AUTHORIZED_PARTIES": fake.APP_ORIGIN,
            "CLERK_API_URL": clerk_server.api_url,
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            a = _clerk_org(tag, "Alpha", clerk_server, key)
            b = _clerk_org(tag, "Bravo", clerk_server, key)
            _fill_a(a, corpus_dir)
            yield a, b
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()


# ---- the websocket: each page's handlers, as the browser calls them -----------------------------


def _names() -> dict[str, str]:
    from techdocs_app.state.base import SessionState
    from techdocs_app.state.chat import ChatState
    from techdocs_app.state.library import LibraryState
    from techdocs_app.state.settings import SettingsState
    from techdocs_app.state.team import TeamState

    session = SessionState.get_full_name()
    return {
        "hydrate": f"{SessionState.get_root_state().get_full_name()}.hydrate_and_load",
        "cookie": f"{session}.session_token{FIELD_SUFFIX}",
        "chat": ChatState.get_full_name(),
        "library": LibraryState.get_full_name(),
        "team": TeamState.get_full_name(),
        "settings": SettingsState.get_full_name(),
        "session": session,
    }


class Tab:
    """One browser tab of a signed-in person: a Reflex client on the app's websocket."""

    def __init__(self, app_url: str, token: str, names: dict[str, str]) -> None:
        self.names = names
        self.sock = ReflexSocket(app_url, client_token=str(uuid.uuid4()))
        self.token = token
        self._probe = False

    async def open(self, path: str) -> list[dict[str, Any]]:
        await self.sock.connect()
        await self.sock.emit_event(
            self.names["hydrate"], {"vars": {self.names["cookie"]: self.token}}, path=path
        )
        return await self._settle(path)

    async def _settle(self, path: str) -> list[dict[str, Any]]:
        """Everything the server sends for the events sent so far: a probe event goes last
        (one client's events run in order), and its answer closes the batch."""
        self._probe = not self._probe
        role = "admin" if self._probe else "member"
        await self.sock.emit_event(
            f"{self.names['team']}.set_invite_role", {"role": role}, path=path
        )
        updates: list[dict[str, Any]] = []
        while True:
            update = await asyncio.wait_for(self.sock.updates.get(), 60)
            assert "__error__" not in update, update
            team_delta = (update.get("delta") or {}).get(self.names["team"]) or {}
            if team_delta.get("invite_role" + FIELD_SUFFIX) == role:
                update = {
                    **update,
                    "delta": {k: v for k, v in update["delta"].items() if k != self.names["team"]},
                }
                updates.append(update)
                return updates
            updates.append(update)

    async def call(self, handler: str, payload: dict[str, Any], path: str) -> list[dict[str, Any]]:
        await self.sock.emit_event(handler, payload, path=path)
        return await self._settle(path)

    async def close(self) -> None:
        await self.sock.close()


def _messages(updates: list[dict[str, Any]]) -> list[str]:
    """What the person is told: toasts and redirects, in order."""
    out: list[str] = []
    for update in updates:
        for event in update.get("events") or []:
            text = json.dumps(event)
            if "toast" in text or "redirect" in text:
                out.append(json.dumps(event.get("payload", event), sort_keys=True))
    return out


# (page, handler, payload with {id} where the attacked id goes, what the id is)
HANDLERS: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("/", "chat", "open_conversation", {"conversation_id": "{id}"}, "conversation"),
    ("/", "chat", "rate", {"message_id": "{id}", "value": -1}, "message"),
    ("/", "chat", "delete_conversation", {"conversation_id": "{id}"}, "conversation"),
    ("/", "chat", "toggle_scope", {"document_id": "{id}", "checked": True}, "document"),
    ("/library", "library", "reindex_document", {"document_id": "{id}"}, "document"),
    ("/library", "library", "retry_document", {"document_id": "{id}"}, "document"),
    ("/library", "library", "delete_document", {"document_id": "{id}"}, "document"),
    ("/team", "team", "change_role", {"user_id": "{id}", "role": "owner"}, "user"),
    ("/team", "team", "resend", {"invitation_id": "{id}"}, "invitation"),
    ("/team", "team", "revoke", {"invitation_id": "{id}"}, "invitation"),
    ("/team", "team", "grant_seat", {"user_id": "{id}"}, "user"),
    ("/team", "team", "dismiss_refusal", {"user_id": "{id}"}, "user"),
    ("/team", "team", "transfer_ownership", {"user_id": "{id}"}, "user"),
    ("/team", "team", "remove_member", {"user_id": "{id}"}, "user"),
    ("/settings", "settings", "revoke_key", {"key_id": "{id}"}, "api_key"),
    ("/", "session", "switch_organization", {"org_id": "{id}"}, "org"),
]


def _payload(template: dict[str, Any], value: int) -> dict[str, Any]:
    return {
        k: (str(value) if k == "org_id" else value) if v == "{id}" else v
        for k, v in template.items()
    }


def _a_id(a: Org, kind: str) -> int:
    return {
        "conversation": a.conversation_id,
        "message": a.message_id,
        "document": a.document_id,
        "user": a.people["member"].user_id,
        "invitation": a.invitation_id,
        "api_key": a.api_key_id,
        "org": a.owner.org_id,
    }[kind]


@pytest.mark.parametrize("role", ROLES)
def test_event_handlers_over_the_websocket(world: tuple[Org, Org], app_url: str, role: str) -> None:
    a, b = world
    before = _snapshot(a)
    names = _names()  # read here: Reflex's state registry lives in this thread's context

    async def attack() -> list[str]:
        problems: list[str] = []
        tabs: dict[str, Tab] = {}
        try:
            for path in ("/", "/library", "/team", "/settings"):
                tab = Tab(app_url, b.tokens[role], names)
                opened = await tab.open(path)
                assert not any("/signin" in json.dumps(u.get("events")) for u in opened), (
                    f"{role} not signed in"
                )
                tabs[path] = tab
            for path, state, handler, template, kind in HANDLERS:
                name = f"{names[state]}.{handler}"
                tab = tabs[path]
                missing = await tab.call(name, _payload(template, MISSING), path)
                theirs = await tab.call(name, _payload(template, _a_id(a, kind)), path)
                if handler != "toggle_scope" and not _messages(missing):
                    problems.append(f"{handler}: no refusal seen (the harness missed it)")
                if _messages(theirs) != _messages(missing):
                    problems.append(
                        f"{handler}: A's id {_messages(theirs)} != missing {_messages(missing)}"
                    )
                text = json.dumps(theirs)
                for secret in a.secrets:
                    if secret and secret in text:
                        problems.append(f"{handler}: A's {secret!r} reached B")
        finally:
            for tab in tabs.values():
                await tab.close()
        return problems

    assert _run_async(attack()) == []
    assert _snapshot(a) == before


# ---- HTTP: the page image -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_page_image_route(world: tuple[Org, Org], app_url: str, role: str) -> None:
    import httpx

    a, b = world
    cookies = {"techdocs_session": b.tokens[role]}
    with httpx.Client(base_url=app_url, cookies=cookies, timeout=60) as client:
        theirs = client.get(f"/api/pages/{a.document_id}/1.png")
        missing = client.get(f"/api/pages/{MISSING}/1.png")
        highlighted = client.get(f"/api/pages/{a.document_id}/1.png?chunk=1")
    assert theirs.status_code == missing.status_code == highlighted.status_code == 404
    assert theirs.json() == missing.json() == highlighted.json()
    # A's own people do get the image: the route works, it is B that cannot.
    with httpx.Client(
        base_url=app_url, cookies={"techdocs_session": a.tokens["member"]}, timeout=60
    ) as client:
        own = client.get(f"/api/pages/{a.document_id}/1.png")
    assert own.status_code == 200 and own.headers["content-type"] == "image/png"


# ---- HTTP: the file download (the organization export) ------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_export_download(world: tuple[Org, Org], app_url: str, role: str) -> None:
    """B's export is B's, whatever the request names; only B's owner gets it at all."""
    import httpx

    from techdocs_app.downloads import EXPORT_PATH

    a, b = world
    forged = {
        "org_id": str(a.owner.org_id),
        "org": a.name,
        "document_id": str(a.document_id),
        "conversation_id": str(a.conversation_id),
    }
    with httpx.Client(
        base_url=app_url, cookies={"techdocs_session": b.tokens[role]}, timeout=120
    ) as client:
        plain = client.get(EXPORT_PATH)
        asked_for_a = client.get(EXPORT_PATH, params=forged)
        with_a_header = client.get(EXPORT_PATH, headers={"X-Org-Id": str(a.owner.org_id)})
    responses = (plain, asked_for_a, with_a_header)
    if role != "owner":
        # The permission table's refusal, the same whatever the request names.
        assert {r.status_code for r in responses} == {403}
        assert plain.json() == asked_for_a.json() == with_a_header.json()
        assert plain.json()["error"]["code"] == "forbidden"
        return
    assert {r.status_code for r in responses} == {200}, [
        (r.status_code, r.text[:200]) for r in responses
    ]
    for response in responses:
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        organization = json.loads(archive.read("organization.json"))
        assert organization["organization"]["id"] == b.owner.org_id
        assert organization["organization"]["name"] == b.name
        assert json.loads(archive.read("documents.json")) == []
        assert {c["id"] for c in json.loads(archive.read("conversations.json"))}.isdisjoint(
            {a.conversation_id}
        )
        assert not [n for n in archive.namelist() if n.startswith("manuals/")]
        everything = b"".join(archive.read(name) for name in archive.namelist())
        for secret in a.secrets:
            assert secret.encode() not in everything, f"A's {secret!r} is in B's export"
        assert str(a.people["member"].email).encode() not in everything
    # A's own owner does get A's manual: the route works, it is B that cannot reach A.
    with httpx.Client(
        base_url=app_url, cookies={"techdocs_session": a.tokens["owner"]}, timeout=120
    ) as client:
        own = client.get(EXPORT_PATH)
    assert own.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(own.content)).namelist()
    assert any(n.startswith("manuals/") and MANUAL.removesuffix(".pdf") in n for n in names), names


# ---- search, scoping, answer cache and memory ----------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_search_cache_and_memory(world: tuple[Org, Org], role: str) -> None:
    from techdocs_app import memory
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag import answer as answer_mod
    from techdocs_app.rag.retrieve import hybrid_search

    a, b = world
    attacker = b.people[role]
    vector = get_embedder().embed_query(QUESTION)
    assert hybrid_search(org_id=attacker.org_id, query=QUESTION, query_vector=vector) == []
    assert (
        hybrid_search(
            org_id=attacker.org_id,
            query=QUESTION,
            query_vector=vector,
            document_ids=[a.document_id],
        )
        == []
    )
    assert memory.recent_turns(org_id=attacker.org_id, conversation_id=a.conversation_id) == []

    async def ask(**kwargs: Any) -> list[Any]:
        return [event async for event in answer_mod.ask(attacker, question=QUESTION, **kwargs)]

    # The same question A asked (and A's answer is cached): B gets its own answer, from its own
    # (empty) library, never A's cached one.
    fresh = _run_async(ask())
    (done,) = [e for e in fresh if isinstance(e, answer_mod.Done)]
    assert done.not_found and done.searched_documents == []
    assert not any(secret in done.answer for secret in a.secrets if secret)
    assert not any(isinstance(e, answer_mod.Sources) and e.sources for e in fresh)

    # A's conversation id and A's manual as a filter: what a missing id gets.
    def told(events: list[Any]) -> list[str]:
        return [getattr(e, "user_message", "") for e in events if isinstance(e, answer_mod.Failed)]

    assert told(_run_async(ask(conversation_id=a.conversation_id))) == told(
        _run_async(ask(conversation_id=MISSING))
    )
    with_filter = _run_async(ask(document_ids=[a.document_id]))
    missing_filter = _run_async(ask(document_ids=[MISSING]))
    assert [type(e).__name__ for e in with_filter] == [type(e).__name__ for e in missing_filter]
    text = json.dumps([str(e) for e in with_filter])
    assert not any(secret in text for secret in a.secrets if secret)


# ---- services: conversations, library, team ------------------------------------------------------


ID_KINDS = ("conversation", "message", "document", "user", "invitation", "api_key", "org_name")


def _outcome(fn: Any, attacker: Principal, spec: dict[str, Any], value_for: Any) -> str:
    """What calling `fn` as `attacker` tells them (the error's class and message)."""
    kwargs = {k: value_for(v) if v in ID_KINDS else v for k, v in spec.items()}
    try:
        fn(attacker, **kwargs)
    except TechDocsError as exc:
        return f"{type(exc).__name__}: {exc.user_message}"
    return "no error"


@pytest.mark.parametrize("role", ROLES)
def test_services_refuse_like_a_missing_id(world: tuple[Org, Org], role: str) -> None:
    from techdocs_app import conversations, library
    from techdocs_app.organization_deletion import delete_organization

    a, b = world
    attacker = b.people[role]
    before = _snapshot(a)

    def theirs_for(kind: str) -> Any:
        return a.name if kind == "org_name" else _a_id(a, kind)

    def missing_for(kind: str) -> Any:
        return "No Such Shop Anywhere" if kind == "org_name" else MISSING

    calls = [
        (conversations.get_messages, {"conversation_id": "conversation"}),
        (conversations.delete_conversation, {"conversation_id": "conversation"}),
        (conversations.set_feedback, {"message_id": "message", "value": 1}),
        (library.get_document, {"document_id": "document"}),
        (library.delete_document, {"document_id": "document"}),
        (library.reindex_document, {"document_id": "document"}),
        (team.change_role, {"user_id": "user", "role": "owner"}),
        (team.remove_member, {"user_id": "user"}),
        (team.transfer_ownership, {"user_id": "user"}),
        (team.revoke_invitation, {"invitation_id": "invitation"}),
        (team.resend_invitation, {"invitation_id": "invitation"}),
        (team.grant_refused_seat, {"user_id": "user"}),
        (api_keys.revoke_api_key, {"key_id": "api_key"}),
        # Typing A's name in B's danger zone deletes nothing (the organization is the session's).
        (delete_organization, {"confirmation": "org_name"}),
    ]
    for fn, spec in calls:
        theirs = _outcome(fn, attacker, spec, theirs_for)
        missing = _outcome(fn, attacker, spec, missing_for)
        assert theirs == missing, (fn.__name__, theirs, missing)
        assert theirs != "no error", fn.__name__
    assert {m.email for m in team.team_overview(attacker).members} == {
        p.email for p in b.people.values()
    }
    assert _snapshot(a) == before


# ---- webhooks --------------------------------------------------------------------------------------


def test_clerk_webhook_cannot_be_forged(world: tuple[Org, Org]) -> None:
    """B cannot sign as Clerk: an event naming A's organization without Clerk's signature (or
    with another secret) is refused before anything is read, and changes nothing."""
    from tests.fakes import clerk as fake

    a, b = world
    before = _snapshot(a)
    with system_session_scope() as s:
        clerk_id = s.get(Organization, a.owner.org_id).clerk_org_id or "org_unknown"  # type: ignore[union-attr]
    org = fake.organization_object(clerk_id, "Taken over", created_by="user_attacker")
    attacker = fake.user_object("user_attacker", b.owner.email)
    event = fake.event(
        "organizationMembership.created",
        fake.membership_object(org, attacker, "org:admin"),
        timestamp=9_999_999_999_999,
    )
    body, headers = fake.sign_webhook(
        event,
        msg_id=f"forged-{uuid.uuid4().hex}",
        secret="whsec_" + "Zm9yZ2VkLXNlY3JldC1mb3ItdGhlLXRlc3Q=",
    )
    client = TestClient(_api(), base_url="http://127.0.0.1:3000")
    expected = 401 if get_settings().clerk_webhook_secret else 404
    assert client.post("/api/webhooks/clerk", content=body, headers=headers).status_code == expected
    unsigned = {k: v for k, v in headers.items() if not k.startswith("svix-")}
    assert (
        client.post("/api/webhooks/clerk", content=body, headers=unsigned).status_code == expected
    )
    assert _snapshot(a) == before


def test_stripe_webhook_cannot_be_forged(world: tuple[Org, Org], app_url: str) -> None:
    """B cannot sign as Stripe: an event cancelling A's subscription, signed with a secret of B's
    own (or not signed), is refused by the running app before anything is read; A is unchanged."""
    import hashlib
    import hmac
    import time

    import httpx

    a, b = world
    before = _snapshot(a)
    with system_session_scope() as s:
        customer = s.get(Organization, a.owner.org_id).stripe_customer_id or "cus_unknown"  # type: ignore[union-attr]
    payload = json.dumps(
        {
            "id": f"evt_forged_{uuid.uuid4().hex}",
            "object": "event",
            "type": "customer.subscription.deleted",
            "data": {
                "object": {
                    "id": "sub_forged",
                    "object": "subscription",
                    "customer": customer,
                    "status": "canceled",
                }
            },
        }
    )
    stamp = int(time.time())
    forged = hmac.new(b"whsec_b_own_secret", f"{stamp}.{payload}".encode(), hashlib.sha256)
    with httpx.Client(base_url=app_url, timeout=60) as client:
        signed = client.post(
            "/api/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": f"t={stamp},v1={forged.hexdigest()}"},
        )
        unsigned = client.post("/api/webhooks/stripe", content=payload)
    assert signed.status_code == unsigned.status_code == 400, (signed.text, unsigned.text)
    assert _snapshot(a) == before


# ---- the command line ------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techdocs_app", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_command_line(world: tuple[Org, Org]) -> None:
    a, b = world
    b_ref = str(b.owner.org_id)
    theirs = _cli(
        "ask", "and the current?", "--org", b_ref, "--conversation", str(a.conversation_id)
    )
    missing = _cli("ask", "and the current?", "--org", b_ref, "--conversation", str(MISSING))
    assert theirs.returncode == missing.returncode
    assert theirs.stderr.splitlines()[-1:] == missing.stderr.splitlines()[-1:]
    scoped = _cli("ask", QUESTION, "--org", b_ref, "--document", str(a.document_id))
    assert not any(secret in scoped.stdout + scoped.stderr for secret in a.secrets if secret)
    members = _cli("accounts", "members", "--org", b_ref)
    assert members.returncode == 0, members.stderr
    assert a.people["member"].email not in members.stdout
    assert b.people["member"].email in members.stdout
