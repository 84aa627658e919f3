"""Queries for organizations, users, memberships and sessions (keyword-only functions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from techdocs_app.db.models import AuthSession, Membership, Organization, User, utcnow


def get_user_by_email(session: Session, *, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def first_membership(session: Session, *, user_id: int) -> Membership | None:
    return session.exec(
        select(Membership).where(Membership.user_id == user_id).order_by(Membership.id)
    ).first()


def get_membership(session: Session, *, org_id: int, user_id: int) -> Membership | None:
    return session.exec(
        select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    ).first()


def get_org(session: Session, *, org_id: int) -> Organization | None:
    return session.get(Organization, org_id)


def count_members(session: Session, *, org_id: int) -> int:
    return len(session.exec(select(Membership.id).where(Membership.org_id == org_id)).all())


def session_principal_row(session: Session, *, token_hash: str, now: datetime) -> Any | None:
    """(user_id, org_id, role, email, org_name) of an active session whose user is still a member
    of its organization, in one statement (it runs on every protected request and every
    question, so no ORM objects are built)."""
    stmt = (
        sa_select(
            AuthSession.user_id,
            AuthSession.org_id,
            Membership.role,
            User.email,
            Organization.name,
        )
        .join(
            Membership,
            and_(
                Membership.org_id == AuthSession.org_id, Membership.user_id == AuthSession.user_id
            ),
        )
        .join(User, User.id == AuthSession.user_id)
        .join(Organization, Organization.id == AuthSession.org_id)
        .where(
            AuthSession.token_hash == token_hash,
            AuthSession.revoked_at.is_(None),  # type: ignore[union-attr]
            AuthSession.expires_at > now,
        )
        .limit(1)
    )
    return session.connection().execute(stmt).first()


def revoke_session(session: Session, *, token_hash: str) -> None:
    session.exec(
        update(AuthSession)
        .where(AuthSession.token_hash == token_hash, AuthSession.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=utcnow())
    )


def bump_index_version(session: Session, *, org_id: int) -> int:
    """Invalidate the organization's answer caches (they are keyed on this version)."""
    result = session.exec(
        update(Organization)
        .where(Organization.id == org_id)
        .values(index_version=Organization.index_version + 1)
        .returning(Organization.index_version)
    )
    return int(result.scalar_one())
