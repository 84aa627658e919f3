"""Server-side sessions: the cookie holds a random token, the database its sha256.

Each request re-reads user, membership and organization, so a removed member or changed role takes
effect at once, and signing out revokes the token everywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from techdocs_app.auth import Principal
from techdocs_app.db import accounts
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import AuthSession, User, utcnow
from techdocs_app.settings import get_settings


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_session(principal: Principal) -> str:
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        session.add(
            AuthSession(
                token_hash=_hash(token),
                user_id=principal.user_id,
                org_id=principal.org_id,
                expires_at=utcnow() + timedelta(days=get_settings().session_days),
            )
        )
    return token


def principal_from_session(token: str | None) -> Principal | None:
    if not token or len(token) > 200:
        return None
    with session_scope() as session:
        row = accounts.get_active_session(session, token_hash=_hash(token), now=utcnow())
        if row is None:
            return None
        membership = accounts.get_membership(session, org_id=row.org_id, user_id=row.user_id)
        user = session.get(User, row.user_id)
        org = accounts.get_org(session, org_id=row.org_id)
        if membership is None or user is None or org is None:
            return None
        return Principal(
            user_id=row.user_id,
            org_id=row.org_id,
            role=membership.role,
            email=user.email,
            org_name=org.name,
        )


def revoke_session(token: str | None) -> None:
    if not token:
        return
    with session_scope() as session:
        accounts.revoke_session(session, token_hash=_hash(token))
