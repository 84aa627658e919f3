"""Queries for REST API keys (keyword-only; every function but the credential look-up takes
org_id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from techdocs_app.db.models import ApiKey, Membership, Organization, User, insert_row


def create_key(
    session: Session,
    *,
    org_id: int,
    name: str,
    prefix: str,
    key_hash: str,
    role: str,
    created_by: int | None,
) -> ApiKey:
    key = ApiKey(
        org_id=org_id,
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        role=role,
        created_by=created_by,
    )
    insert_row(session, key)
    return key


def list_keys(session: Session, *, org_id: int) -> list[tuple[ApiKey, str | None]]:
    """Active keys, newest first, with their creator's email."""
    rows = session.exec(
        select(ApiKey, User.email)
        .join(User, col(User.id) == col(ApiKey.created_by), isouter=True)
        .where(ApiKey.org_id == org_id, col(ApiKey.revoked_at).is_(None))
        .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())
    ).all()
    return [(k, e) for k, e in rows]


def get_key(session: Session, *, org_id: int, key_id: int) -> ApiKey | None:
    return session.exec(
        select(ApiKey).where(
            ApiKey.org_id == org_id, ApiKey.id == key_id, col(ApiKey.revoked_at).is_(None)
        )
    ).first()


def revoke_key(session: Session, *, org_id: int, key_id: int, now: datetime) -> bool:
    result = session.connection().execute(
        update(ApiKey)
        .where(
            col(ApiKey.org_id) == org_id,
            col(ApiKey.id) == key_id,
            col(ApiKey.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


def key_principal_row(session: Session, *, key_hash: str) -> Any | None:
    """(key id, key role, org_id, org name, creator user id, creator email, creator's current
    role, last_used_at) of an active key whose creator is still a member: one statement.

    The credential names its organization (like a session token): call it from a system session."""
    stmt = (
        sa_select(
            col(ApiKey.id),
            col(ApiKey.role),
            col(ApiKey.org_id),
            col(Organization.name),
            col(User.id),
            col(User.email),
            col(Membership.role),
            col(ApiKey.last_used_at),
        )
        .join(Organization, col(Organization.id) == col(ApiKey.org_id))
        .join(User, col(User.id) == col(ApiKey.created_by))
        .join(
            Membership,
            and_(
                col(Membership.org_id) == col(ApiKey.org_id),
                col(Membership.user_id) == col(ApiKey.created_by),
            ),
        )
        .where(col(ApiKey.key_hash) == key_hash, col(ApiKey.revoked_at).is_(None))
        .limit(1)
    )
    return session.connection().execute(stmt).first()


def touch_key(session: Session, *, org_id: int, key_id: int, now: datetime) -> None:
    session.connection().execute(
        update(ApiKey)
        .where(col(ApiKey.org_id) == org_id, col(ApiKey.id) == key_id)
        .values(last_used_at=now)
    )
