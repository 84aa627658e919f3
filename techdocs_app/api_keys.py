"""REST API keys: created and revoked by an organization's owners and admins, used by the shop's
other software as `Authorization: Bearer td_live_…`.

- The secret is shown once, at creation; only its sha256 is stored, with its first characters
  (`prefix`) so people can recognise a key in the list, and the time it was last used.
- A key acts with the role chosen at creation, through the same permission table as the UI
  (`auth.permissions`), and never above its creator's current role: a creator demoted to member
  demotes their keys, and a creator who leaves the organization takes their keys' access along.
  Conversations started with a key belong to its creator.
- Looking a key up maps a credential to its organization (like a session token), so that one
  read uses the system session; everything after it is scoped to the key's organization.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import ROLES, Action, require
from techdocs_app.db import api_keys as keys_db
from techdocs_app.db.engine import session_scope, system_session_scope
from techdocs_app.db.models import ApiKey, utcnow
from techdocs_app.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)

KEY_PREFIX = "td_live_"
PREFIX_CHARS = 12
"""`td_live_` and the first 4 random characters: enough to tell keys apart, useless to guess."""
MAX_NAME = 100
TOUCH_EVERY = timedelta(minutes=1)
"""`last_used_at` is written at most this often per key (not once per request)."""
ROLE_RANK = {"member": 0, "admin": 1, "owner": 2}
KEY_NOT_FOUND = "That API key was not found. Refresh the page and try again."


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    name: str
    prefix: str
    role: str
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey, created_by: str | None) -> ApiKeyView:
        assert key.id is not None
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            role=key.role,
            created_by=created_by,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
        )


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKeyView
    secret: str
    """The whole key: shown once, never stored."""


@dataclass(frozen=True)
class KeyPrincipal:
    principal: Principal
    key_id: int


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def roles_a_creator_may_give(role: str) -> list[str]:
    """The roles a person with `role` may give a key: theirs or lower."""
    rank = ROLE_RANK.get(role, -1)
    return [r for r in ("member", "admin", "owner") if ROLE_RANK[r] <= rank]


def create_api_key(principal: Principal, *, name: str, role: str) -> CreatedKey:
    require(principal, Action.MANAGE_API_KEYS)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed('Name the key after what uses it, like "Shop management system".')
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"Keep the key's name under {MAX_NAME} characters.")
    if role not in ROLES:
        raise ValidationFailed("Choose the key's role: member, admin or owner.")
    if role not in roles_a_creator_may_give(principal.role):
        raise ValidationFailed("A key can have your role or a lower one.")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    with session_scope(org_id=principal.org_id) as session:
        key = keys_db.create_key(
            session,
            org_id=principal.org_id,
            name=name,
            prefix=secret[:PREFIX_CHARS],
            key_hash=hash_key(secret),
            role=role,
            created_by=principal.user_id,
        )
    log.info(
        "api key created org_id=%s user_id=%s key_id=%s role=%s",
        principal.org_id,
        principal.user_id,
        key.id,
        role,
    )
    return CreatedKey(key=ApiKeyView.of(key, principal.email), secret=secret)


def list_api_keys(principal: Principal) -> list[ApiKeyView]:
    require(principal, Action.MANAGE_API_KEYS)
    with session_scope(org_id=principal.org_id) as session:
        return [ApiKeyView.of(k, e) for k, e in keys_db.list_keys(session, org_id=principal.org_id)]


def revoke_api_key(principal: Principal, *, key_id: int) -> None:
    require(principal, Action.MANAGE_API_KEYS)
    with session_scope(org_id=principal.org_id) as session:
        if not keys_db.revoke_key(session, org_id=principal.org_id, key_id=key_id, now=utcnow()):
            raise NotFound(KEY_NOT_FOUND)
    log.info(
        "api key revoked org_id=%s user_id=%s key_id=%s",
        principal.org_id,
        principal.user_id,
        key_id,
    )


def authenticate(secret: str | None) -> KeyPrincipal | None:
    """The principal a presented key acts as, or None (unknown, revoked, or creator gone)."""
    if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    with system_session_scope() as session:
        row = keys_db.key_principal_row(session, key_hash=hash_key(secret))
    if row is None:
        return None
    key_id, key_role, org_id, org_name, user_id, email, member_role, last_used = row
    role = min(key_role, member_role, key=lambda r: ROLE_RANK.get(r, -1))
    now = utcnow()
    if last_used is None or now - last_used >= TOUCH_EVERY:
        with session_scope(org_id=org_id) as session:
            keys_db.touch_key(session, org_id=org_id, key_id=key_id, now=now)
    principal = Principal(
        user_id=int(user_id), org_id=int(org_id), role=role, email=email, org_name=org_name
    )
    return KeyPrincipal(principal=principal, key_id=int(key_id))
