"""Server-side sessions: the cookie holds a random token, the database its HMAC-SHA256 keyed
with `SESSION_SECRET` (a copy of the sessions table alone cannot be turned into cookies, nor
checked against guessed tokens, without the secret).

Each request re-reads user, membership and organization, so a removed member or changed role takes
effect at once, and signing out revokes the token everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from techdocs_app.auth import Principal
from techdocs_app.db import accounts
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import AuthSession, utcnow
from techdocs_app.settings import get_settings


def _hash(token: str) -> str:
    key = get_settings().session_secret.get_secret_value().encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


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
        row = accounts.session_principal_row(session, token_hash=_hash(token), now=utcnow())
    if row is None:
        return None
    user_id, org_id, role, email, org_name = row
    return Principal(user_id=user_id, org_id=org_id, role=role, email=email, org_name=org_name)


def revoke_session(token: str | None) -> None:
    if not token:
        return
    with session_scope() as session:
        accounts.revoke_session(session, token_hash=_hash(token))
