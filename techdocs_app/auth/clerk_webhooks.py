"""`POST /api/webhooks/clerk`: Svix-verified, processed once per event id, in order per object.

- Verification: `svix.Webhook(CLERK_WEBHOOK_SECRET).verify(body, headers)` (signature over
  `svix-id.svix-timestamp.body`, timestamps older or newer than 5 minutes refused).
- Once: the event id (`svix-id`) goes into `webhook_events` (unique per provider) in the same
  transaction as its effects; a replay finds it and does nothing.
- Order: Svix may deliver out of order. An event is applied only if no event about the same
  object with a later Clerk `timestamp` has been applied already (a `created` arriving after its
  `deleted` is recorded and skipped).

Handled: user.created/updated/deleted, organization.created/updated/deleted,
organizationMembership.created/updated/deleted. A membership that would exceed the seat limit is
not granted and is shown on the Team page; Clerk's `max_allowed_memberships` is pushed back to our
seat limit whenever an organization event shows another value.

Webhooks carry no signed-in principal: they map Clerk's ids to ours on the owner connection
(`system_session_scope`), here only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from svix.webhooks import Webhook, WebhookVerificationError

from techdocs_app.auth import clerk
from techdocs_app.db import accounts, clerk_mirrors, webhook_events
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Membership, Organization, SeatRefusal, User
from techdocs_app.db.webhook_events import WebhookOutcome
from techdocs_app.errors import AuthError, ProviderError, WebhookRejected
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

PROVIDER = "clerk"
UNIQUE_VIOLATION = "23505"
"""Postgres' SQLSTATE for a duplicate key: the one integrity error a retry can resolve."""
HANDLED = frozenset(
    {
        "user.created",
        "user.updated",
        "user.deleted",
        "organization.created",
        "organization.updated",
        "organization.deleted",
        "organizationMembership.created",
        "organizationMembership.updated",
        "organizationMembership.deleted",
    }
)


def verify(body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    secret = get_settings().clerk_webhook_secret
    if secret is None:
        raise WebhookRejected(503, "Clerk webhooks are not configured.")
    lower = {k.lower(): v for k, v in headers.items()}
    svix_headers = {k: lower.get(k, "") for k in ("svix-id", "svix-timestamp", "svix-signature")}
    try:
        Webhook(secret.get_secret_value()).verify(body, svix_headers)
    except WebhookVerificationError as exc:
        raise WebhookRejected(401, "Invalid signature.") from exc
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected(400, "Malformed body.") from exc
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise WebhookRejected(400, "Malformed body.")
    return event


def _object_key(event_type: str, data: Mapping[str, Any]) -> str:
    """What the event is about: events about one object are applied in Clerk's order."""
    kind = event_type.split(".", 1)[0]
    if kind == "organizationMembership":
        org = (data.get("organization") or {}).get("id", "")
        user = (data.get("public_user_data") or {}).get("user_id", "")
        return f"membership:{org}:{user}"
    return f"{kind}:{data.get('id', '')}"


def _superseded(session: Session, *, key: str, timestamp: int) -> bool:
    row = (
        session.connection()
        .execute(
            text(
                "SELECT 1 FROM webhook_events WHERE provider = :p AND processed_at IS NOT NULL "
                "AND payload->>'object_key' = :k AND (payload->>'timestamp')::bigint > :t LIMIT 1"
            ),
            {"p": PROVIDER, "k": key, "t": timestamp},
        )
        .first()
    )
    return row is not None


def handle(body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
    """Verify, record once, apply in order. Raises `WebhookRejected`. When telling Clerk our
    seat limit afterwards fails, the event stays applied; the next organization event (or
    `clerk.sync_seat_limit`) tries again."""
    event = verify(body, headers)
    event_id = {k.lower(): v for k, v in headers.items()}.get("svix-id", "")
    event_type = str(event.get("type", ""))
    data: dict[str, Any] = event["data"]
    timestamp = int(event.get("timestamp") or 0)
    key = _object_key(event_type, data)
    to_push: list[Organization] = []
    try:
        with system_session_scope() as session:
            event_row_id = webhook_events.record_event(
                session,
                provider=PROVIDER,
                event_id=event_id,
                event_type=event_type,
                payload={**event, "object_key": key},
            )
            if event_row_id is None:
                return WebhookOutcome("duplicate")
            if event_type not in HANDLED:
                status = "ignored"
            elif _superseded(session, key=key, timestamp=timestamp):
                status = "stale"
            else:
                to_push = _apply(session, event_type, data)
                status = "processed"
            webhook_events.mark_processed(session, event_row_id=event_row_id)
    except AuthError as exc:
        # The event names an account we cannot link (its email belongs to another Clerk user):
        # no retry changes that. Logged, and Svix is asked to stop retrying it.
        log.error("clerk webhook %s %s not applied: %s", event_type, event_id, exc.detail)
        raise WebhookRejected(422, exc.user_message, detail=exc.detail, final=True) from exc
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != UNIQUE_VIOLATION:
            # Not a race: the same delivery would fail again on every retry (and Svix disables
            # an endpoint that keeps failing, dropping later events). Logged with the constraint
            # and answered 422 with Svix's header that stops retrying this one.
            diag = getattr(exc.orig, "diag", None)
            constraint = getattr(diag, "constraint_name", None) or "unknown"
            log.error(
                "clerk webhook %s %s violates %s; not applied", event_type, event_id, constraint
            )
            raise WebhookRejected(
                422,
                "This event cannot be applied to the shop's records.",
                detail=f"constraint {constraint} on {event_type}",
                final=True,
            ) from exc
        # A unique row (a user, a membership) written meanwhile by a concurrent delivery about
        # the same object. Nothing of this delivery was kept, its event id included, so it is
        # refused with a status Svix retries: the retry finds the row and applies this event's
        # changes (answering `duplicate` would have lost them for good).
        log.info("clerk webhook %s %s: concurrent write, asking for a retry", event_type, event_id)
        raise WebhookRejected(
            503,
            "Another delivery about the same object was being applied; retry this one.",
            detail=f"integrity error on {event_type}",
        ) from exc
    for org in to_push:
        try:
            clerk.push_seat_limit(org)
        except ProviderError:
            log.warning("could not tell Clerk the seat limit of org %s; next event retries", org.id)
    log.info("clerk webhook %s %s: %s", event_type, event_id, status)
    return WebhookOutcome(status)


# ---- applying one event ---------------------------------------------------------------------


def _org_by_clerk_id(session: Session, clerk_org_id: str) -> Organization | None:
    return session.exec(
        select(Organization).where(Organization.clerk_org_id == clerk_org_id)
    ).first()


def _user_by_clerk_id(session: Session, clerk_user_id: str) -> User | None:
    return session.exec(select(User).where(User.clerk_user_id == clerk_user_id)).first()


def _ensure_an_owner(session: Session, org_id: int) -> None:
    """Clerk removed the last owner: the longest-standing admin (else member) becomes owner, so
    the organization always keeps one."""
    if accounts.count_owners(session, org_id=org_id) > 0:
        return
    members = list(session.exec(select(Membership).where(Membership.org_id == org_id)))
    if not members:
        return
    heir = min(members, key=lambda m: (m.role != "admin", m.created_at, m.id or 0))
    heir.role = "owner"
    session.add(heir)
    log.info("org %s lost its last owner in Clerk: user %s is now owner", org_id, heir.user_id)


def remove_membership(session: Session, *, org_id: int, user_id: int) -> bool:
    """Clerk removed this member (a webhook, or the periodic reconciliation): their seat and
    sessions here go at once, the organization keeps an owner, and no seat refusal or Team-page
    wish about them is left. Whether a membership was removed."""
    membership = accounts.get_membership(session, org_id=org_id, user_id=user_id)
    if membership is not None:
        session.delete(membership)
        accounts.revoke_user_sessions(session, user_id=user_id, org_id=org_id)
        session.flush()
        _ensure_an_owner(session, org_id)
    refusal = accounts.get_seat_refusal(session, org_id=org_id, user_id=user_id)
    if refusal is not None:
        session.delete(refusal)
    clerk_mirrors.forget(session, org_id=org_id, user_id=user_id)
    return membership is not None


def _apply(session: Session, event_type: str, data: dict[str, Any]) -> list[Organization]:
    """Apply one event; returns organizations whose seat limit Clerk must be told again."""
    kind, action = event_type.split(".", 1)
    if kind == "user":
        _apply_user(session, action, data)
        return []
    if kind == "organization":
        return _apply_organization(session, action, data)
    return _apply_membership(session, action, data)


def _apply_user(session: Session, action: str, data: dict[str, Any]) -> None:
    clerk_user_id = str(data.get("id", ""))
    if action == "deleted":
        user = _user_by_clerk_id(session, clerk_user_id)
        if user is not None and user.id is not None:
            # Memberships and sessions go with the user; conversations stay with their shops.
            orgs = [
                m.org_id
                for m in session.exec(select(Membership).where(Membership.user_id == user.id))
            ]
            session.delete(user)
            session.flush()
            for org_id in orgs:
                _ensure_an_owner(session, org_id)
        return
    clerk.upsert_user(
        session,
        clerk_user_id=clerk_user_id,
        email=clerk.primary_email(data),
        name=" ".join(str(data.get(k) or "") for k in ("first_name", "last_name")).strip(),
    )


def close_organization(session: Session, org: Organization) -> None:
    """Clerk deleted the organization (its webhook, or the reconciliation finding it gone):
    nobody can reach its data any more, and every member is signed out at once. The data itself
    is kept (and the Clerk id released) until the organization's data is exported or deleted."""
    if org.id is None:
        return
    for member in session.exec(select(Membership).where(Membership.org_id == org.id)):
        accounts.revoke_user_sessions(session, user_id=member.user_id, org_id=org.id)
        session.delete(member)
    for refusal in session.exec(select(SeatRefusal).where(SeatRefusal.org_id == org.id)):
        session.delete(refusal)
    clerk_mirrors.forget_organization(session, org_id=org.id)
    org.clerk_org_id = None
    session.add(org)


def _apply_organization(session: Session, action: str, data: dict[str, Any]) -> list[Organization]:
    clerk_org_id = str(data.get("id", ""))
    if action == "deleted":
        org = _org_by_clerk_id(session, clerk_org_id)
        if org is not None:
            close_organization(session, org)
        return []
    org, _ = clerk.upsert_organization(
        session, clerk_org_id=clerk_org_id, name=str(data.get("name") or "")
    )
    creator_id = data.get("created_by")
    if action == "created" and creator_id:
        creator = _user_by_clerk_id(session, str(creator_id))
        if creator is not None:
            clerk.grant_membership(session, org=org, user=creator, role="admin", creator=True)
    if data.get("max_allowed_memberships") != org.seat_limit:
        return [org]
    return []


def _apply_membership(session: Session, action: str, data: dict[str, Any]) -> list[Organization]:
    org_data = data.get("organization") or {}
    user_data = data.get("public_user_data") or {}
    clerk_org_id, clerk_user_id = str(org_data.get("id", "")), str(user_data.get("user_id", ""))
    if action == "deleted":
        org = _org_by_clerk_id(session, clerk_org_id)
        user = _user_by_clerk_id(session, clerk_user_id)
        if org is None or user is None or org.id is None or user.id is None:
            return []
        remove_membership(session, org_id=org.id, user_id=user.id)
        return []
    org, _ = clerk.upsert_organization(
        session, clerk_org_id=clerk_org_id, name=str(org_data.get("name") or "")
    )
    user = _user_by_clerk_id(session, clerk_user_id)
    if user is None:
        email = str(user_data.get("identifier") or "").strip().lower()
        name = " ".join(str(user_data.get(k) or "") for k in ("first_name", "last_name")).strip()
        user = clerk.upsert_user(session, clerk_user_id=clerk_user_id, email=email, name=name)
    creator = org_data.get("created_by") == clerk_user_id
    clerk.grant_membership(
        session,
        org=org,
        user=user,
        role=clerk.normalize_role(data.get("role")),
        creator=creator,
    )
    if org_data.get("max_allowed_memberships") not in (None, org.seat_limit):
        return [org]
    return []
