"""Clerk organizations mode: networkless token verification with `clerk-backend-api`, the token
exchange, Svix-verified webhooks processed once and in order, seat refusals, and the real Backend
API client against a local server speaking Clerk's wire format (tests/fakes/clerk.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from techdocs_app.auth import clerk, sessions, team
from techdocs_app.auth.modes import clerk_csp_sources
from techdocs_app.db.accounts import get_membership
from techdocs_app.db.engine import session_scope, system_session_scope
from techdocs_app.db.models import (
    ClerkMirror,
    Document,
    Membership,
    Organization,
    SeatRefusal,
    User,
    WebhookEvent,
)
from techdocs_app.errors import AuthError, LimitReached, NotFound, ValidationFailed
from techdocs_app.settings import get_settings
from techdocs_app.web.headers import content_security_policy
from tests.fakes import clerk as fake
from tests.fakes.clerk import FakeClerk, RsaKey

KEY = fake.new_rsa_key()
OTHER_KEY = fake.new_rsa_key()


@pytest.fixture(scope="module")
def clerk_server() -> Iterator[FakeClerk]:
    with fake.running_fake_clerk() as server:
        yield server


@pytest.fixture
def clerk_on(clerk_server: FakeClerk, db, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClerk]:  # noqa: ANN001
    clerk_server.state.reset()
    for name, value in {
        "CLERK_SECRET_KEY": fake.SECRET_KEY,
        "CLERK_PUBLISHABLE_KEY": fake.PUBLISHABLE_KEY,
        "CLERK_JWT_KEY": KEY.public_pem,
        "CLERK_WEBHOOK_SECRET": fake.WEBHOOK_SECRET,
        "CLERK_AUTHORIZED_PARTIES": fake.APP_ORIGIN,
        "CLERK_API_URL": clerk_server.api_url,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield clerk_server
    get_settings.cache_clear()


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# ---- tokens ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_both_token_versions_carry_the_organization(clerk_on, version: int) -> None:  # noqa: ANN001
    token = fake.session_token(
        KEY, user_id="user_1", org_id="org_1", org_role="org:admin", version=version
    )
    claims = clerk.verify_session_token(_bearer(token))
    assert (claims.user_id, claims.org_id, claims.org_role) == ("user_1", "org_1", "admin")
    member = fake.session_token(KEY, user_id="user_2", org_id="org_1", version=version)
    assert clerk.verify_session_token({"cookie": f"__session={member}"}).org_role == "member"
    personal = fake.session_token(KEY, user_id="user_3", version=version)
    assert clerk.verify_session_token(_bearer(personal)).org_id is None


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"expires_in": -120}, KEY),  # expired (beyond the SDK's clock skew)
        ({}, OTHER_KEY),  # signed by another key
        ({"issuer": "https://clerk.someone-else.example"}, KEY),  # another instance
        ({"azp": "https://evil.example"}, KEY),  # minted for another site
    ],
    ids=["expired", "wrong-key", "wrong-issuer", "wrong-azp"],
)
def test_bad_tokens_are_refused(clerk_on, kwargs: dict, key: RsaKey) -> None:  # noqa: ANN001
    token = fake.session_token(key, user_id="user_1", org_id="org_1", **kwargs)
    with pytest.raises(AuthError) as err:
        clerk.verify_session_token(_bearer(token))
    assert err.value.user_message == clerk.SIGNED_OUT
    with pytest.raises(AuthError):
        clerk.verify_session_token({})
    with pytest.raises(AuthError):
        clerk.verify_session_token(_bearer("not.a.jwt"))


def test_the_issuer_comes_from_the_publishable_key(clerk_on) -> None:  # noqa: ANN001
    assert clerk.frontend_api(fake.PUBLISHABLE_KEY) == fake.FRONTEND_API
    assert clerk.issuer() == fake.ISSUER


# ---- the exchange: first sight, roles, seats -------------------------------------------------


def _client() -> TestClient:
    from techdocs_app.api import api

    return TestClient(api, base_url="http://127.0.0.1:3000", follow_redirects=False)


def _exchange(token: str, next_path: str = "/library") -> object:
    client = _client()
    client.cookies.set("__session", token)
    return client.get(f"/api/auth/clerk/session?next={next_path}")


def test_first_sign_in_creates_user_organization_and_owner(clerk_on: FakeClerk) -> None:
    clerk_on.state.add_user("user_owner", "Owner@Harbor.example", "Olive", "Owner")
    clerk_on.state.add_organization("org_harbor", "Harbor HVAC", created_by="user_owner")
    token = fake.session_token(KEY, user_id="user_owner", org_id="org_harbor", org_role="org:admin")
    response = _exchange(token)
    assert response.status_code == 303 and response.headers["location"] == "/library"
    ours = response.cookies.get("techdocs_session")
    principal = sessions.principal_from_session(ours)
    assert principal is not None
    assert (principal.email, principal.role, principal.org_name) == (
        "owner@harbor.example",
        "owner",
        "Harbor HVAC",
    )
    # Clerk's max_allowed_memberships is set to our seat limit through the Backend API.
    assert clerk_on.state.organizations["org_harbor"]["max_allowed_memberships"] == 5
    patch = [r for r in clerk_on.state.requests if r.method == "PATCH"][0]
    assert patch.authorization == f"Bearer {fake.SECRET_KEY}"
    assert patch.body == {"max_allowed_memberships": 5}

    # A member of the same organization: Clerk's role maps to ours.
    clerk_on.state.add_user("user_tech", "tech@harbor.example")
    tech = sessions.principal_from_session(
        _exchange(
            fake.session_token(KEY, user_id="user_tech", org_id="org_harbor", version=1)
        ).cookies.get("techdocs_session")  # type: ignore[union-attr]
    )
    assert tech is not None and (tech.org_id, tech.role) == (principal.org_id, "member")
    view = team.team_overview(principal)
    assert [(m.email, m.role) for m in view.members] == [
        ("owner@harbor.example", "owner"),
        ("tech@harbor.example", "member"),
    ]


def test_without_an_organization_the_page_asks_for_one(clerk_on: FakeClerk) -> None:
    clerk_on.state.add_user("user_x", "x@harbor.example")
    response = _exchange(fake.session_token(KEY, user_id="user_x"))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/api/auth/clerk/sign-in?next=/library")
    page = _client().get("/api/auth/clerk/sign-in?next=/library")
    assert page.status_code == 200
    assert fake.FRONTEND_API in page.text and fake.PUBLISHABLE_KEY in page.text
    assert '<script src="/clerk_sign_in.js" defer>' in page.text
    loader = (Path(__file__).resolve().parents[2] / "assets" / "clerk_sign_in.js").read_text()
    assert "mountOrganizationList" in loader and "mountSignIn" in loader
    # The page's policy lets Clerk's script and API in (and nothing else new).
    sources = clerk_csp_sources()
    assert sources["script-src"] == [fake.ISSUER, "https://challenges.cloudflare.com"]
    policy = content_security_policy([], vendor=sources)
    assert f"script-src 'self' 'unsafe-eval' {fake.ISSUER}" in policy
    assert "frame-src https://challenges.cloudflare.com;" in policy


def test_a_bad_token_gets_the_sign_in_page_not_a_session(clerk_on: FakeClerk) -> None:
    response = _exchange(
        fake.session_token(OTHER_KEY, user_id="user_1", org_id="org_1"), next_path="/team"
    )
    assert response.status_code == 403
    assert clerk.SIGNED_OUT in response.text and "techdocs_session" not in response.cookies


def test_seat_limit_refuses_the_exchange_and_shows_it_to_the_owner(clerk_on: FakeClerk) -> None:
    clerk_on.state.add_user("user_owner", "owner@small.example")
    clerk_on.state.add_organization("org_small", "Small Shop", created_by="user_owner")
    owner = sessions.principal_from_session(
        _exchange(
            fake.session_token(KEY, user_id="user_owner", org_id="org_small", org_role="org:admin")
        ).cookies.get("techdocs_session")  # type: ignore[union-attr]
    )
    assert owner is not None
    with system_session_scope() as s:
        org = s.get(Organization, owner.org_id)
        org.seat_limit = 1  # type: ignore[union-attr]
        s.add(org)
    clerk_on.state.add_user("user_late", "late@small.example", "Lee")
    response = _exchange(fake.session_token(KEY, user_id="user_late", org_id="org_small"))
    assert response.status_code == 403
    assert "All 1 seats of Small Shop are in use" in response.text
    (refusal,) = team.team_overview(owner).refusals
    assert refusal.email == "late@small.example"
    with pytest.raises(LimitReached):
        team.grant_refused_seat(owner, user_id=refusal.user_id)
    with system_session_scope() as s:
        org = s.get(Organization, owner.org_id)
        org.seat_limit = 2  # type: ignore[union-attr]
        s.add(org)
    team.grant_refused_seat(owner, user_id=refusal.user_id)
    assert team.team_overview(owner).refusals == []
    assert len(team.team_overview(owner).members) == 2


# ---- webhooks ----------------------------------------------------------------------------------


def _post(body: bytes, headers: dict[str, str]) -> object:
    return _client().post("/api/webhooks/clerk", content=body, headers=headers)


def _send(kind: str, data: dict, *, msg_id: str, timestamp: int) -> object:
    body, headers = fake.sign_webhook(fake.event(kind, data, timestamp=timestamp), msg_id=msg_id)
    return _post(body, headers)


def test_webhooks_build_the_team_once_and_in_order(clerk_on: FakeClerk) -> None:
    owner = fake.user_object("user_o", "o@harbor.example", "Olive")
    tech = fake.user_object("user_t", "t@harbor.example", "Tom")
    org = fake.organization_object("org_h", "Harbor HVAC", max_allowed=5, created_by="user_o")
    clerk_on.state.organizations["org_h"] = org
    assert _send("user.created", owner, msg_id="msg_1", timestamp=1000).json() == {
        "status": "processed"
    }
    assert (
        _send("organization.created", org, msg_id="msg_2", timestamp=1001).json()["status"]
        == "processed"
    )
    membership = fake.membership_object(org, tech, "org:member")
    assert (
        _send("organizationMembership.created", membership, msg_id="msg_3", timestamp=1002).json()[
            "status"
        ]
        == "processed"
    )
    # A replay of an event id does nothing.
    assert _send(
        "organizationMembership.created", membership, msg_id="msg_3", timestamp=1002
    ).json() == {"status": "duplicate"}
    with system_session_scope() as s:
        ours = s.exec(select(Organization).where(Organization.clerk_org_id == "org_h")).one()
        roles = {
            u.email: m.role
            for m, u in s.exec(select(Membership, User).join(User, User.id == Membership.user_id))
        }
        assert roles == {"o@harbor.example": "owner", "t@harbor.example": "member"}
        assert ours.name == "Harbor HVAC"
        assert len(s.exec(select(WebhookEvent)).all()) == 3

    # Updated role, then renamed user and organization.
    promoted = fake.membership_object(org, tech, "org:admin")
    _send("organizationMembership.updated", promoted, msg_id="msg_4", timestamp=1003)
    _send(
        "user.updated",
        fake.user_object("user_t", "tom@harbor.example", "Tom", "T"),
        msg_id="msg_5",
        timestamp=1004,
    )
    # Out of order: the deletion (t=1006) arrives before an older update (t=1005).
    _send("organizationMembership.deleted", promoted, msg_id="msg_7", timestamp=1006)
    late = _send(
        "organizationMembership.updated",
        fake.membership_object(org, tech, "org:member"),
        msg_id="msg_6",
        timestamp=1005,
    )
    assert late.json() == {"status": "stale"}
    with system_session_scope() as s:
        assert (
            s.exec(select(User).where(User.clerk_user_id == "user_t")).one().email
            == "tom@harbor.example"
        )
        members = s.exec(select(Membership)).all()
        assert [m.role for m in members] == ["owner"]


def _wait_for_a_lock_wait(thread: object, timeout_s: float = 20.0) -> None:
    """Until another connection waits on a lock (the racing delivery's INSERT on the unique
    index), so the test commits the other transaction only once the race is really on."""
    import time

    from sqlalchemy import text

    from techdocs_app.db.engine import get_owner_engine

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with get_owner_engine().connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar_one()
        if waiting:
            return
        assert thread.is_alive(), "the racing delivery finished without waiting"  # type: ignore[attr-defined]
        time.sleep(0.05)
    raise AssertionError("the racing delivery never waited on the unique index")


def test_an_event_that_no_retry_can_apply_is_refused_for_good(clerk_on: FakeClerk) -> None:
    """A user event whose email belongs to another Clerk user's account: 422 and Svix's
    `webhook-delivery: abort-message`, so it is not retried for days; nothing is changed."""
    first = fake.user_object("user_a", "shared@harbor.example", "Ann")
    assert _send("user.created", first, msg_id="msg_a", timestamp=3000).json() == {
        "status": "processed"
    }
    clash = fake.user_object("user_b", "shared@harbor.example", "Ben")
    refused = _send("user.created", clash, msg_id="msg_b", timestamp=3001)
    assert refused.status_code == 422, refused.text  # type: ignore[attr-defined]
    assert refused.headers["webhook-delivery"] == "abort-message"  # type: ignore[attr-defined]
    assert "another account" in refused.json()["error"]  # type: ignore[attr-defined]
    with system_session_scope() as s:
        users = s.exec(select(User).where(User.email == "shared@harbor.example")).all()
        assert [(u.clerk_user_id, u.name) for u in users] == [("user_a", "Ann")]
        assert s.exec(select(WebhookEvent).where(WebhookEvent.event_id == "msg_b")).first() is None


def test_a_delivery_racing_another_about_the_same_user_is_retried_not_lost(
    clerk_on: FakeClerk,
) -> None:
    """Two deliveries about one new user at once: the second to write the user's row loses on
    the unique index. It is refused with 503 (nothing kept, its event id included), so Svix
    retries it, and the retry applies its changes; answering `duplicate` would lose them."""
    import threading

    rita = fake.user_object("user_r", "r@harbor.example", "Rita", "Reyes")
    outcome: dict[str, object] = {}
    with system_session_scope() as other:
        # The other delivery has written the row and not committed yet.
        other.add(User(email="r@harbor.example", name="Rita", clerk_user_id="user_r"))
        other.flush()
        racing = threading.Thread(
            target=lambda: outcome.update(
                response=_send("user.created", rita, msg_id="msg_r", timestamp=2000)
            )
        )
        racing.start()
        _wait_for_a_lock_wait(racing)  # the racer's INSERT waits on the unique index
    racing.join(timeout=30)
    refused = outcome["response"]
    assert refused.status_code == 503, refused.text  # type: ignore[attr-defined]
    assert "retry" in refused.json()["error"].lower()  # type: ignore[attr-defined]
    with system_session_scope() as s:
        assert s.exec(select(WebhookEvent).where(WebhookEvent.event_id == "msg_r")).first() is None

    # Svix delivers the same message again: applied, with the name the racing event carried.
    retried = _send("user.created", rita, msg_id="msg_r", timestamp=2000)
    assert retried.json() == {"status": "processed"}  # type: ignore[attr-defined]
    with system_session_scope() as s:
        user = s.exec(select(User).where(User.clerk_user_id == "user_r")).one()
        assert user.name == "Rita Reyes"


def test_a_created_membership_arriving_after_its_deletion_is_not_applied(
    clerk_on: FakeClerk,
) -> None:
    org = fake.organization_object("org_q", "Quick Shop", max_allowed=5, created_by="user_a")
    a = fake.user_object("user_a", "a@quick.example")
    b = fake.user_object("user_b", "b@quick.example")
    clerk_on.state.organizations["org_q"] = org
    _send(
        "organizationMembership.created",
        fake.membership_object(org, a, "org:admin"),
        msg_id="m1",
        timestamp=10,
    )
    _send(
        "organizationMembership.deleted",
        fake.membership_object(org, b, "org:member"),
        msg_id="m3",
        timestamp=30,
    )
    stale = _send(
        "organizationMembership.created",
        fake.membership_object(org, b, "org:member"),
        msg_id="m2",
        timestamp=20,
    )
    assert stale.json() == {"status": "stale"}
    with system_session_scope() as s:
        emails = [
            u.email
            for _, u in s.exec(select(Membership, User).join(User, User.id == Membership.user_id))
        ]
        assert emails == ["a@quick.example"]


def test_bad_signatures_and_stale_deliveries_are_refused(clerk_on: FakeClerk) -> None:
    data = fake.user_object("user_z", "z@harbor.example")
    body, headers = fake.sign_webhook(fake.event("user.created", data, timestamp=1), msg_id="msg_z")
    tampered = body.replace(b"z@harbor.example", b"y@harbor.example")
    assert _post(tampered, headers).status_code == 401
    wrong_secret = fake.sign_webhook(
        fake.event("user.created", data, timestamp=1),
        msg_id="msg_z",
        secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=",
    )
    assert _post(*wrong_secret).status_code == 401
    old = fake.sign_webhook(
        fake.event("user.created", data, timestamp=1),
        msg_id="msg_z",
        at=datetime.now(UTC) - timedelta(minutes=10),
    )
    assert _post(*old).status_code == 401
    assert (
        _post(body, {k: v for k, v in headers.items() if k != "svix-signature"}).status_code == 401
    )
    with system_session_scope() as s:
        assert s.exec(select(User)).all() == [] and s.exec(select(WebhookEvent)).all() == []
    assert _post(body, headers).json() == {"status": "processed"}


def test_a_membership_beyond_the_seat_limit_is_not_granted(clerk_on: FakeClerk) -> None:
    org = fake.organization_object("org_s", "Small Shop", max_allowed=2, created_by="user_1")
    clerk_on.state.organizations["org_s"] = org
    users = [fake.user_object(f"user_{i}", f"u{i}@small.example") for i in range(1, 4)]
    with system_session_scope() as s:
        s.add(Organization(name="Small Shop", clerk_org_id="org_s", seat_limit=2))
    for i, user in enumerate(users, start=1):
        _send(
            "organizationMembership.created",
            fake.membership_object(org, user, "org:member"),
            msg_id=f"s{i}",
            timestamp=i,
        )
    with system_session_scope() as s:
        assert len(s.exec(select(Membership)).all()) == 2
        (refusal,) = s.exec(select(SeatRefusal)).all()
        assert s.get(User, refusal.user_id).email == "u3@small.example"  # type: ignore[union-attr]
    # Clerk said 2 and we say 2: nothing to push. Our limit changes: Clerk is told.
    assert not [r for r in clerk_on.state.requests if r.method == "PATCH"]
    with system_session_scope() as s:
        ours = s.exec(select(Organization)).one()
        ours.seat_limit = 4
        s.add(ours)
    assert clerk.sync_seat_limit(ours.id)  # type: ignore[arg-type]
    assert clerk_on.state.organizations["org_s"]["max_allowed_memberships"] == 4
    # An organization.updated that shows another value is pushed back to ours.
    changed = {**org, "max_allowed_memberships": 9}
    _send("organization.updated", changed, msg_id="s9", timestamp=9)
    assert clerk_on.state.organizations["org_s"]["max_allowed_memberships"] == 4


def test_deleted_users_and_organizations_lose_access(clerk_on: FakeClerk) -> None:
    clerk_on.state.add_user("user_owner", "owner@gone.example")
    clerk_on.state.add_user("user_tech", "tech@gone.example")
    clerk_on.state.add_organization("org_gone", "Gone Shop", created_by="user_owner")
    owner_token = _exchange(
        fake.session_token(KEY, user_id="user_owner", org_id="org_gone", org_role="org:admin")
    ).cookies.get("techdocs_session")  # type: ignore[union-attr]
    tech_token = _exchange(
        fake.session_token(KEY, user_id="user_tech", org_id="org_gone")
    ).cookies.get("techdocs_session")  # type: ignore[union-attr]
    assert sessions.principal_from_session(tech_token) is not None
    _send(
        "user.deleted",
        {"id": "user_tech", "object": "user", "deleted": True},
        msg_id="d1",
        timestamp=50,
    )
    assert sessions.principal_from_session(tech_token) is None
    assert sessions.principal_from_session(owner_token) is not None
    _send(
        "organization.deleted",
        {"id": "org_gone", "object": "organization", "deleted": True},
        msg_id="d2",
        timestamp=51,
    )
    assert sessions.principal_from_session(owner_token) is None


def test_team_changes_are_mirrored_to_clerk(clerk_on: FakeClerk) -> None:
    clerk_on.state.add_user("user_owner", "owner@mirror.example")
    clerk_on.state.add_user("user_tech", "tech@mirror.example")
    clerk_on.state.add_organization("org_m", "Mirror Shop", created_by="user_owner")
    clerk_on.state.memberships[("org_m", "user_tech")] = "org:member"
    owner = sessions.principal_from_session(
        _exchange(
            fake.session_token(KEY, user_id="user_owner", org_id="org_m", org_role="org:admin")
        ).cookies.get("techdocs_session")  # type: ignore[union-attr]
    )
    tech = sessions.principal_from_session(
        _exchange(fake.session_token(KEY, user_id="user_tech", org_id="org_m")).cookies.get(
            "techdocs_session"
        )  # type: ignore[union-attr]
    )
    assert owner is not None and tech is not None
    team.change_role(owner, user_id=tech.user_id, role="admin")
    assert clerk_on.state.memberships[("org_m", "user_tech")] == "org:admin"
    team.remove_member(owner, user_id=tech.user_id)
    assert ("org_m", "user_tech") not in clerk_on.state.memberships
    # An invitation accepted by a Clerk user adds the Clerk membership too.
    clerk_on.state.add_user("user_new", "new@mirror.example")
    sent = team.invite(owner, email="new@mirror.example")
    invite_path = "/invite/" + sent.link.rsplit("/", 1)[-1]
    response = _exchange(fake.session_token(KEY, user_id="user_new"), next_path=invite_path)
    assert response.status_code == 303 and response.headers["location"] == "/"
    joined = sessions.principal_from_session(response.cookies.get("techdocs_session"))
    assert joined is not None and (joined.org_id, joined.role) == (owner.org_id, "member")
    assert clerk_on.state.memberships[("org_m", "user_new")] == "org:member"


def _mirror_shop(state: fake.FakeClerkState, org_id: str) -> tuple[object, object]:
    """An owner and a technician of one Clerk organization, signed in through the exchange."""
    state.add_user(f"{org_id}_owner", f"owner@{org_id}.example")
    state.add_user(f"{org_id}_tech", f"tech@{org_id}.example")
    state.add_organization(org_id, "Outbox Shop", created_by=f"{org_id}_owner")
    state.memberships[(org_id, f"{org_id}_tech")] = "org:admin"
    principals = []
    for who, role in (("owner", "org:admin"), ("tech", "org:admin")):
        token = fake.session_token(KEY, user_id=f"{org_id}_{who}", org_id=org_id, org_role=role)
        principals.append(
            sessions.principal_from_session(
                _exchange(token).cookies.get("techdocs_session")  # type: ignore[attr-defined]
            )
        )
    owner, tech = principals
    assert owner is not None and tech is not None
    return owner, tech


def _wishes() -> list[tuple[int, int, str | None, int]]:
    with system_session_scope() as s:
        return [
            (w.org_id, w.user_id, w.role, w.attempts)
            for w in s.exec(select(ClerkMirror).order_by(ClerkMirror.id))
        ]


def _push_now() -> int:
    """The maintenance task as a worker runs it, with every wish due."""
    from techdocs_app import maintenance

    with system_session_scope() as s:
        for wish in s.exec(select(ClerkMirror)):
            wish.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
            s.add(wish)
    (task,) = [t for t in maintenance.TASKS if t.name == "push-clerk-mirrors"]
    return int(task.resolve()())


def test_a_removal_clerk_did_not_hear_keeps_the_member_out_until_clerk_applies_it(
    clerk_on: FakeClerk,
) -> None:
    """Clerk down while the owner removes a technician: the removal stands, the technician's
    next Clerk sign-in (its token still names the shop) and Clerk's webhooks cannot give the
    seat back, and the maintenance task tells Clerk once it answers."""
    owner, tech = _mirror_shop(clerk_on.state, "org_out")
    clerk_on.state.fail_with = 503
    team.remove_member(owner, user_id=tech.user_id)  # type: ignore[attr-defined]
    assert clerk_on.state.memberships[("org_out", "org_out_tech")] == "org:admin"
    ((org_id, user_id, role, attempts),) = _wishes()
    assert (org_id, user_id, role, attempts) == (owner.org_id, tech.user_id, None, 1)  # type: ignore[attr-defined]
    # The owner sees it on the Team page, named though no longer a member.
    waiting = team.team_overview(owner).waiting_for_clerk  # type: ignore[arg-type]
    assert waiting == [
        team.ClerkWaitView(email="tech@org_out.example", change="removal", attempts=1)
    ]
    from techdocs_app.state.team import clerk_wait_label

    assert clerk_wait_label(waiting[0]) == (
        "tech@org_out.example: removal (Clerk did not answer; 1 try, trying again)"
    )
    clerk_on.state.fail_with = None

    token = fake.session_token(KEY, user_id="org_out_tech", org_id="org_out", org_role="org:admin")
    refused = _exchange(token)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "no longer a member of Outbox Shop" in refused.text  # type: ignore[attr-defined]
    org = clerk_on.state.organizations["org_out"]
    tech_user = clerk_on.state.users["org_out_tech"]
    assert (
        _send(
            "organizationMembership.updated",
            fake.membership_object(org, tech_user, "org:admin"),
            msg_id="out_1",
            timestamp=int(datetime.now(UTC).timestamp() * 1000),
        ).json()["status"]  # type: ignore[attr-defined]
        == "processed"
    )
    with system_session_scope() as s:
        assert get_membership(s, org_id=owner.org_id, user_id=tech.user_id) is None  # type: ignore[attr-defined]
        assert s.exec(select(SeatRefusal)).all() == []  # no refusal shown: they were removed

    assert _push_now() == 1
    assert ("org_out", "org_out_tech") not in clerk_on.state.memberships
    assert _wishes() == []
    assert team.team_overview(owner).waiting_for_clerk == []  # type: ignore[arg-type]
    # Clerk now agrees; a new invitation from the owner brings them back as usual.
    sent = team.invite(owner, email="tech@org_out.example")  # type: ignore[arg-type]
    back = _exchange(token, next_path="/invite/" + sent.link.rsplit("/", 1)[-1])
    assert back.status_code == 303  # type: ignore[attr-defined]
    assert clerk_on.state.memberships[("org_out", "org_out_tech")] == "org:member"


def test_a_role_change_clerk_did_not_hear_wins_until_clerk_applies_it(clerk_on: FakeClerk) -> None:
    owner, tech = _mirror_shop(clerk_on.state, "org_role")
    clerk_on.state.fail_with = 503
    team.change_role(owner, user_id=tech.user_id, role="member")  # type: ignore[arg-type, attr-defined]
    assert _wishes()[0][2:] == ("member", 1)
    # Still down at the next push: tried again later, never given up.
    assert _push_now() == 0
    assert _wishes()[0][2:] == ("member", 2)
    clerk_on.state.fail_with = None
    token = fake.session_token(
        KEY, user_id="org_role_tech", org_id="org_role", org_role="org:admin"
    )
    again = sessions.principal_from_session(
        _exchange(token).cookies.get("techdocs_session")  # type: ignore[attr-defined]
    )
    assert again is not None and again.role == "member"  # Clerk's old "admin" does not win
    assert clerk_on.state.memberships[("org_role", "org_role_tech")] == "org:admin"
    assert _push_now() == 1
    assert clerk_on.state.memberships[("org_role", "org_role_tech")] == "org:member"
    assert _wishes() == []
    # A removal Clerk already made itself (404) is done too, not retried forever.
    del clerk_on.state.memberships[("org_role", "org_role_tech")]
    team.remove_member(owner, user_id=tech.user_id)  # type: ignore[arg-type, attr-defined]
    assert _wishes() == []


def test_a_pending_removal_in_one_shop_leaves_the_members_other_shop_alone(
    clerk_on: FakeClerk,
) -> None:
    """One technician in two Clerk organizations. Shop A removes them while Clerk is down: the
    wish is A's alone. They still sign in to shop B, B's Team page shows nothing waiting, B's
    owner can neither see nor touch A's wish (nor A's member), the push removes only A's
    membership in Clerk, and B's reconciliation keeps them."""
    state = clerk_on.state
    state.add_user("two_tech", "tech@two-shops.example")
    principals = {}
    for org in ("org_a2", "org_b2"):
        state.add_user(f"{org}_owner", f"owner@{org}.example")
        state.add_organization(org, f"Shop {org[-2:].upper()}", created_by=f"{org}_owner")
        state.memberships[(org, f"{org}_owner")] = "org:admin"
        state.memberships[(org, "two_tech")] = "org:member"
        for user in (f"{org}_owner", "two_tech"):
            role = state.memberships[(org, user)]
            token = fake.session_token(KEY, user_id=user, org_id=org, org_role=role)
            principals[(org, user)] = sessions.principal_from_session(
                _exchange(token).cookies.get("techdocs_session")  # type: ignore[attr-defined]
            )
    owner_a, tech_a = principals[("org_a2", "org_a2_owner")], principals[("org_a2", "two_tech")]
    owner_b, tech_b = principals[("org_b2", "org_b2_owner")], principals[("org_b2", "two_tech")]
    assert None not in (owner_a, tech_a, owner_b, tech_b)
    assert tech_a.user_id == tech_b.user_id and tech_a.org_id != tech_b.org_id  # type: ignore[union-attr]

    state.fail_with = 503
    team.remove_member(owner_a, user_id=tech_a.user_id)  # type: ignore[arg-type, union-attr]
    state.fail_with = None
    assert [(org_id, role) for org_id, _, role, _ in _wishes()] == [(owner_a.org_id, None)]  # type: ignore[union-attr]

    # Shop B is untouched: sign-in works, nothing waits on its Team page.
    token_b = fake.session_token(KEY, user_id="two_tech", org_id="org_b2", org_role="org:member")
    again = sessions.principal_from_session(
        _exchange(token_b).cookies.get("techdocs_session")  # type: ignore[attr-defined]
    )
    assert again is not None and (again.org_id, again.role) == (owner_b.org_id, "member")  # type: ignore[union-attr]
    assert team.team_overview(owner_b).waiting_for_clerk == []  # type: ignore[arg-type]
    assert len(team.team_overview(owner_a).waiting_for_clerk) == 1  # type: ignore[arg-type]
    # B's owner cannot reach A's members through B: the user id is looked up in B only.
    state.add_user("only_a", "only@a.example")
    state.memberships[("org_a2", "only_a")] = "org:member"
    only_a = sessions.principal_from_session(
        _exchange(
            fake.session_token(KEY, user_id="only_a", org_id="org_a2", org_role="org:member")
        ).cookies.get("techdocs_session")  # type: ignore[attr-defined]
    )
    assert only_a is not None
    for change in (
        lambda: team.remove_member(owner_b, user_id=only_a.user_id),  # type: ignore[arg-type]
        lambda: team.change_role(owner_b, user_id=only_a.user_id, role="admin"),  # type: ignore[arg-type]
    ):
        with pytest.raises(NotFound):
            change()
    assert len(_wishes()) == 1 and state.memberships[("org_a2", "only_a")] == "org:member"

    # B's reconciliation keeps the technician; the push removes only A's membership in Clerk.
    assert _reconcile() == {"removed": 0, "added": 0, "roles": 0, "closed": 0, "failed": 0}
    assert _push_now() == 1
    assert ("org_a2", "two_tech") not in state.memberships
    assert state.memberships[("org_b2", "two_tech")] == "org:member"
    with system_session_scope() as s:
        assert get_membership(s, org_id=owner_b.org_id, user_id=tech_b.user_id) is not None  # type: ignore[union-attr]
        assert get_membership(s, org_id=owner_a.org_id, user_id=tech_a.user_id) is None  # type: ignore[union-attr]


def _reconcile() -> dict[str, int]:
    """The maintenance task as a worker runs it."""
    from techdocs_app import maintenance

    (task,) = [t for t in maintenance.TASKS if t.name == "reconcile-clerk-memberships"]
    return dict(task.resolve()())


def test_memberships_follow_clerk_when_its_webhooks_are_lost(
    clerk_on: FakeClerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changes made in Clerk whose webhooks never arrive: the periodic reconciliation (reading
    Clerk's list page by page) removes, adds and re-roles members, signs the removed one out at
    once, leaves a Team-page change Clerk has not applied alone, and changes nothing when Clerk
    does not answer."""
    monkeypatch.setattr(clerk, "MEMBERSHIPS_PAGE", 2)
    state = clerk_on.state
    state.add_organization("org_rec", "Reconcile Shop", created_by="rec_owner")
    for who, role in (("owner", "org:admin"), ("tech", "org:member"), ("third", "org:member")):
        state.add_user(f"rec_{who}", f"{who}@rec.example")
        state.memberships[("org_rec", f"rec_{who}")] = role
    signed = {}
    for who in ("owner", "tech", "third"):
        token = fake.session_token(
            KEY,
            user_id=f"rec_{who}",
            org_id="org_rec",
            org_role=state.memberships[("org_rec", f"rec_{who}")],
        )
        signed[who] = _exchange(token).cookies.get("techdocs_session")  # type: ignore[attr-defined]
    owner = sessions.principal_from_session(signed["owner"])
    third = sessions.principal_from_session(signed["third"])
    assert owner is not None and owner.role == "owner" and third is not None
    assert _reconcile() == {"removed": 0, "added": 0, "roles": 0, "closed": 0, "failed": 0}

    # In Clerk's dashboard, no webhook delivered: tech removed, third made admin, one added.
    del state.memberships[("org_rec", "rec_tech")]
    state.memberships[("org_rec", "rec_third")] = "org:admin"
    state.add_user("rec_new", "new@rec.example", "Nia", "New")
    state.memberships[("org_rec", "rec_new")] = "org:member"
    state.fail_with = 503
    assert _reconcile()["failed"] == 1  # Clerk down: nothing changes
    assert sessions.principal_from_session(signed["tech"]) is not None
    state.fail_with = None
    assert _reconcile() == {"removed": 1, "added": 1, "roles": 1, "closed": 0, "failed": 0}
    assert sessions.principal_from_session(signed["tech"]) is None  # signed out at once
    with system_session_scope() as s:
        roles = {
            u.email: m.role
            for m, u in s.exec(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)
                .where(Membership.org_id == owner.org_id)
            )
        }
    assert roles == {
        "owner@rec.example": "owner",
        "third@rec.example": "admin",
        "new@rec.example": "member",
    }
    lists = [r for r in state.requests if r.method == "GET" and r.path.endswith("/memberships")]
    assert lists  # read through the real SDK, two pages of two
    assert _reconcile() == {"removed": 0, "added": 0, "roles": 0, "closed": 0, "failed": 0}

    # A Team-page demotion Clerk has not applied yet is not undone by Clerk's older list.
    state.fail_with = 503
    team.change_role(owner, user_id=third.user_id, role="member")
    state.fail_with = None
    assert _reconcile()["roles"] == 0
    with system_session_scope() as s:
        kept = get_membership(s, org_id=owner.org_id, user_id=third.user_id)
        assert kept is not None and kept.role == "member"
    assert _push_now() == 1
    assert state.memberships[("org_rec", "rec_third")] == "org:member"


def test_an_organization_deleted_in_clerk_without_its_webhook_is_closed(
    clerk_on: FakeClerk,
) -> None:
    """The `organization.deleted` webhook lost for good: the reconciliation finds the
    organization gone (Clerk's own not-found) and closes it as the webhook would have, with
    every member signed out at once and the documents kept. A bare 404 (a proxy, a wrong URL)
    or Clerk down changes nothing."""
    state = clerk_on.state
    owner, tech = _mirror_shop(state, "org_gone")
    signed = {
        who: _exchange(
            fake.session_token(KEY, user_id=f"org_gone_{who}", org_id="org_gone", org_role=role)
        ).cookies.get("techdocs_session")  # type: ignore[attr-defined]
        for who, role in (("owner", "org:admin"), ("tech", "org:admin"))
    }
    state.fail_with = 503
    team.change_role(owner, user_id=tech.user_id, role="member")  # type: ignore[arg-type, attr-defined]
    assert len(_wishes()) == 1
    with session_scope(org_id=owner.org_id) as s:  # type: ignore[attr-defined]
        s.add(
            Document(
                org_id=owner.org_id,  # type: ignore[attr-defined]
                filename="kept.pdf",
                sha256="k" * 64,
                size_bytes=1,
                storage_key="kept",
                status="ready",
            )
        )
    del state.organizations["org_gone"]
    for key in [k for k in state.memberships if k[0] == "org_gone"]:
        del state.memberships[key]

    for failure in (503, 404):  # Clerk down; a 404 without Clerk's "resource_not_found"
        state.fail_with = failure
        assert _reconcile()["failed"] == 1
        assert all(sessions.principal_from_session(c) is not None for c in signed.values())
    state.fail_with = None
    assert _reconcile() == {"removed": 0, "added": 0, "roles": 0, "closed": 1, "failed": 0}
    assert all(sessions.principal_from_session(c) is None for c in signed.values())
    with system_session_scope() as s:
        org = s.get(Organization, owner.org_id)  # type: ignore[attr-defined]
        assert org is not None and org.clerk_org_id is None
        assert s.exec(select(Membership).where(Membership.org_id == org.id)).all() == []
        assert [d.filename for d in s.exec(select(Document).where(Document.org_id == org.id))] == [
            "kept.pdf"
        ]
    assert _wishes() == []  # nothing left to push to an organization Clerk no longer has
    assert _reconcile() == {"removed": 0, "added": 0, "roles": 0, "closed": 0, "failed": 0}


def test_clerk_routes_answer_404_in_local_mode(db) -> None:  # noqa: ANN001
    get_settings.cache_clear()
    client = _client()
    assert client.post("/api/webhooks/clerk", content=b"{}").status_code == 404
    assert client.get("/api/auth/clerk/sign-in").status_code == 404
    assert client.get("/api/auth/clerk/session").status_code == 404


def test_the_seat_limit_follows_the_plan_into_clerk(
    clerk_on: FakeClerk,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`team.set_seat_limit` is the one way our limit changes (billing, `accounts seats`): Clerk's
    `max_allowed_memberships` follows it; when Clerk fails ours still changes, it is said, and
    running it again pushes again."""
    from techdocs_app.__main__ import main

    clerk_on.state.add_user("user_boss", "boss@plan.example")
    clerk_on.state.add_organization("org_plan", "Plan Shop", created_by="user_boss")
    _exchange(fake.session_token(KEY, user_id="user_boss", org_id="org_plan", org_role="org:admin"))
    with system_session_scope() as s:
        ours = s.exec(select(Organization).where(Organization.clerk_org_id == "org_plan")).one()
    assert clerk_on.state.organizations["org_plan"]["max_allowed_memberships"] == 5

    assert team.set_seat_limit(ours.id, 8) is True  # type: ignore[arg-type]
    assert clerk_on.state.organizations["org_plan"]["max_allowed_memberships"] == 8
    (patch,) = [r for r in clerk_on.state.requests if r.method == "PATCH"][-1:]
    assert patch.path == "/v1/organizations/org_plan" and patch.body == {
        "max_allowed_memberships": 8
    }

    clerk_on.state.fail_with = 503
    before = len(clerk_on.state.requests)
    assert main(["accounts", "seats", "--org", str(ours.id), "--limit", "3"]) == 1
    # A few quick retries, then the failure is said (the SDK's default retries for an hour).
    assert 1 < len(clerk_on.state.requests) - before <= 8
    assert "Clerk was not updated" in capsys.readouterr().err
    with system_session_scope() as s:
        assert s.get(Organization, ours.id).seat_limit == 3  # type: ignore[union-attr]
    assert clerk_on.state.organizations["org_plan"]["max_allowed_memberships"] == 8
    clerk_on.state.fail_with = None
    assert main(["accounts", "seats", "--org", "Plan Shop", "--limit", "3"]) == 0
    assert "Clerk's max_allowed_memberships too" in capsys.readouterr().out
    assert clerk_on.state.organizations["org_plan"]["max_allowed_memberships"] == 3

    with pytest.raises(ValidationFailed):
        team.set_seat_limit(ours.id, 0)  # type: ignore[arg-type]
