"""Server-side sessions: the cookie holds a random token, the database its HMAC-SHA256 keyed
with `SESSION_SECRET` (a copy of the sessions table alone cannot be turned into cookies, nor
checked against guessed tokens, without the secret).

Each request re-reads user, membership and organization, so a removed member or changed role takes
effect at once, and signing out revokes the token everywhere. A session ends SESSION_DAYS after
sign-in, or earlier when unused for SESSION_IDLE_DAYS; `purge_expired_sessions` deletes the dead.

The token lookup comes before any organization is known, so it runs on the owner connection
(`system_session_scope`) and nowhere else; everything after it is scoped to the principal's
organization.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from techdocs_app.auth import Principal
from techdocs_app.db import accounts
from techdocs_app.db.engine import session_scope, system_session_scope
from techdocs_app.db.models import AuthSession, utcnow
from techdocs_app.settings import get_settings

TOUCH_EVERY = timedelta(minutes=5)
"""A session's `last_seen_at` (and the member's "last active") is written at most this often."""


def token_hash(token: str) -> str:
    """HMAC-SHA256 of the token keyed with SESSION_SECRET (what the sessions table stores)."""
    key = get_settings().session_secret.get_secret_value().encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _idle_since(now: datetime) -> datetime:
    return now - timedelta(days=get_settings().session_idle_days)


def issue_session(principal: Principal) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with session_scope(org_id=principal.org_id) as session:
        session.add(
            AuthSession(
                token_hash=token_hash(token),
                user_id=principal.user_id,
                org_id=principal.org_id,
                expires_at=now + timedelta(days=get_settings().session_days),
                last_seen_at=now,
            )
        )
        accounts.mark_active(session, org_id=principal.org_id, user_id=principal.user_id, now=now)
    return token


def _valid_token(token: str | None) -> bool:
    return bool(token) and len(token or "") <= 200


def principal_from_session(token: str | None) -> Principal | None:
    """The principal of a live session, or None (unknown, revoked, expired, idle, not a member)."""
    if not _valid_token(token):
        return None
    assert token is not None
    now = utcnow()
    with system_session_scope() as session:
        row = accounts.session_principal_row(
            session, token_hash=token_hash(token), now=now, idle_since=_idle_since(now)
        )
        if row is None:
            return None
        session_id, user_id, org_id, role, email, org_name, last_seen_at = row
        if last_seen_at is None or now - last_seen_at >= TOUCH_EVERY:
            accounts.touch_session(
                session, session_id=session_id, user_id=user_id, org_id=org_id, now=now
            )
    return Principal(user_id=user_id, org_id=org_id, role=role, email=email, org_name=org_name)


def revoke_session(token: str | None) -> None:
    if not _valid_token(token):
        return
    assert token is not None
    with system_session_scope() as session:
        accounts.revoke_session(session, token_hash=token_hash(token))


def revoke_all_sessions(principal: Principal) -> int:
    """ "Sign out everywhere": every session of this user, in every organization."""
    with system_session_scope() as session:
        return accounts.revoke_user_sessions(session, user_id=principal.user_id)


def revoke_other_sessions(principal: Principal, *, keep_token: str | None) -> int:
    """Every session of this user except the browser's own (after a password change)."""
    keep = token_hash(keep_token) if _valid_token(keep_token) and keep_token else None
    with system_session_scope() as session:
        return accounts.revoke_user_sessions(
            session, user_id=principal.user_id, keep_token_hash=keep
        )


def switch_session_organization(token: str | None, principal: Principal, *, org_id: int) -> bool:
    """Point this browser's session at another organization of the same user. False when the
    user is not a member of `org_id` (the same answer as for an organization that does not
    exist)."""
    if not _valid_token(token):
        return False
    assert token is not None
    with system_session_scope() as session:
        moved = accounts.move_session(
            session, token_hash=token_hash(token), user_id=principal.user_id, org_id=int(org_id)
        )
        if moved:  # signing in next time lands in the organization last worked in
            accounts.mark_active(
                session, org_id=int(org_id), user_id=principal.user_id, now=utcnow()
            )
        return moved


def purge_expired_sessions(now: datetime | None = None) -> int:
    """Delete expired, idle and revoked sessions (cross-organization maintenance: the worker
    runs it periodically, `accounts purge-sessions` on demand). Returns how many."""
    now = now or utcnow()
    with system_session_scope() as session:
        return accounts.purge_sessions(session, now=now, idle_since=_idle_since(now))
