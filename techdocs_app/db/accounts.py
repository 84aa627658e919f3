"""Queries for organizations, users, memberships, invitations and sessions (keyword-only).

Two kinds, by the session they run in:
- tenant queries take `org_id` and run in `session_scope(org_id=...)` (row-level security agrees);
- identity queries (by token hash, by email, by user id across organizations) run in
  `system_session_scope()`: they come before an organization is known. `auth.sessions`,
  `auth.local` and `auth.team` are their only callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from techdocs_app.db.models import (
    AuthSession,
    Invitation,
    Membership,
    Organization,
    SeatRefusal,
    User,
    utcnow,
)

# ---- users and organizations ------------------------------------------------------------------


def get_user_by_email(session: Session, *, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def get_user(session: Session, *, user_id: int) -> User | None:
    return session.get(User, user_id)


def first_membership(session: Session, *, user_id: int) -> Membership | None:
    return session.exec(
        select(Membership).where(Membership.user_id == user_id).order_by(col(Membership.id))
    ).first()


def last_used_membership(session: Session, *, user_id: int) -> Membership | None:
    """The membership the user last worked in (the first one when none was used yet): signing
    in lands there (identity query: system session)."""
    return session.exec(
        select(Membership)
        .where(Membership.user_id == user_id)
        .order_by(col(Membership.last_active_at).desc().nulls_last(), col(Membership.id))
    ).first()


def get_membership(session: Session, *, org_id: int, user_id: int) -> Membership | None:
    return session.exec(
        select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    ).first()


def get_org(session: Session, *, org_id: int) -> Organization | None:
    return session.get(Organization, org_id)


def lock_org(session: Session, *, org_id: int) -> Organization | None:
    """The organization row locked FOR UPDATE: seat checks of one organization serialise here."""
    return session.exec(
        select(Organization).where(Organization.id == org_id).with_for_update()
    ).first()


def count_members(session: Session, *, org_id: int) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(Membership).where(Membership.org_id == org_id)
        ).one()
    )


def count_owners(session: Session, *, org_id: int) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Membership)
            .where(Membership.org_id == org_id, Membership.role == "owner")
        ).one()
    )


@dataclass(frozen=True)
class OrgChoice:
    org_id: int
    name: str
    role: str


def organizations_of_user(session: Session, *, user_id: int) -> list[OrgChoice]:
    """Every organization the user belongs to, by name (identity query: system session)."""
    rows = session.exec(
        select(Organization.id, Organization.name, Membership.role)
        .join(Membership, col(Membership.org_id) == col(Organization.id))
        .where(Membership.user_id == user_id)
        .order_by(func.lower(Organization.name), col(Organization.id))
    ).all()
    return [OrgChoice(org_id=int(i or 0), name=n, role=r) for i, n, r in rows]


# ---- members ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    user_id: int
    name: str
    email: str
    role: str
    joined_at: datetime
    last_active_at: datetime | None


def list_members(session: Session, *, org_id: int) -> list[MemberRow]:
    rows = (
        session.connection()
        .execute(
            sa_select(
                col(User.id),
                col(User.name),
                col(User.email),
                col(Membership.role),
                col(Membership.created_at),
                col(Membership.last_active_at),
            )
            .join(Membership, col(Membership.user_id) == col(User.id))
            .where(col(Membership.org_id) == org_id)
            .order_by(col(Membership.created_at), col(Membership.id))
        )
        .all()
    )
    return [
        MemberRow(
            user_id=int(r[0] or 0),
            name=r[1] or "",
            email=r[2],
            role=r[3],
            joined_at=r[4],
            last_active_at=r[5],
        )
        for r in rows
    ]


def set_role(session: Session, *, org_id: int, user_id: int, role: str) -> bool:
    result = session.exec(
        update(Membership)
        .where(Membership.org_id == org_id, Membership.user_id == user_id)  # type: ignore[arg-type]
        .values(role=role)
    )
    return bool(result.rowcount)


def delete_membership(session: Session, *, org_id: int, user_id: int) -> bool:
    result = session.exec(
        delete(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)  # type: ignore[arg-type]
    )
    return bool(result.rowcount)


# ---- invitations -----------------------------------------------------------------------------


def _pending(now: datetime) -> Any:
    return and_(
        col(Invitation.accepted_at).is_(None),
        col(Invitation.revoked_at).is_(None),
        col(Invitation.expires_at) > now,
    )


def count_pending_invitations(
    session: Session, *, org_id: int, now: datetime, excluding_id: int | None = None
) -> int:
    query = (
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.org_id == org_id, _pending(now))
    )
    if excluding_id is not None:
        query = query.where(Invitation.id != excluding_id)
    return int(session.exec(query).one())


def list_pending_invitations(session: Session, *, org_id: int, now: datetime) -> list[Invitation]:
    return list(
        session.exec(
            select(Invitation)
            .where(Invitation.org_id == org_id, _pending(now))
            .order_by(col(Invitation.created_at), col(Invitation.id))
        )
    )


def get_invitation(session: Session, *, org_id: int, invitation_id: int) -> Invitation | None:
    return session.exec(
        select(Invitation).where(Invitation.org_id == org_id, Invitation.id == invitation_id)
    ).first()


def pending_invitation_for_email(
    session: Session, *, org_id: int, email: str, now: datetime
) -> Invitation | None:
    return session.exec(
        select(Invitation).where(
            Invitation.org_id == org_id, Invitation.email == email, _pending(now)
        )
    ).first()


def invitation_by_token_hash(
    session: Session, *, token_hash: str, lock: bool = False
) -> Invitation | None:
    """Identity query (system session): the invitee has no organization yet."""
    query = select(Invitation).where(Invitation.token_hash == token_hash)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


# ---- seat refusals (Clerk) -------------------------------------------------------------------


def get_seat_refusal(session: Session, *, org_id: int, user_id: int) -> SeatRefusal | None:
    return session.exec(
        select(SeatRefusal).where(SeatRefusal.org_id == org_id, SeatRefusal.user_id == user_id)
    ).first()


def list_seat_refusals(session: Session, *, org_id: int) -> list[tuple[SeatRefusal, User]]:
    rows = session.exec(
        select(SeatRefusal, User)
        .join(User, col(User.id) == col(SeatRefusal.user_id))
        .where(SeatRefusal.org_id == org_id)
        .order_by(col(SeatRefusal.created_at), col(SeatRefusal.id))
    ).all()
    return [(r, u) for r, u in rows]


# ---- sessions --------------------------------------------------------------------------------


def session_principal_row(
    session: Session, *, token_hash: str, now: datetime, idle_since: datetime
) -> Any | None:
    """(session id, user_id, org_id, role, email, org_name, last_seen_at) of an active session
    whose user is still a member of its organization, in one statement (it runs on every
    protected request and every question, so no ORM objects are built).

    Active: not revoked, before its absolute expiry, and used since `idle_since`."""
    stmt = (
        sa_select(
            col(AuthSession.id),
            col(AuthSession.user_id),
            col(AuthSession.org_id),
            col(Membership.role),
            col(User.email),
            col(Organization.name),
            col(AuthSession.last_seen_at),
        )
        .join(
            Membership,
            and_(
                col(Membership.org_id) == col(AuthSession.org_id),
                col(Membership.user_id) == col(AuthSession.user_id),
            ),
        )
        .join(User, col(User.id) == col(AuthSession.user_id))
        .join(Organization, col(Organization.id) == col(AuthSession.org_id))
        .where(
            col(AuthSession.token_hash) == token_hash,
            col(AuthSession.revoked_at).is_(None),
            col(AuthSession.expires_at) > now,
            col(AuthSession.last_seen_at) > idle_since,
        )
        .limit(1)
    )
    return session.connection().execute(stmt).first()


def touch_session(
    session: Session, *, session_id: int, user_id: int, org_id: int, now: datetime
) -> None:
    """Record use: the session's idle clock and the member's "last active" on the Team page."""
    session.exec(
        update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=now)  # type: ignore[arg-type]
    )
    mark_active(session, org_id=org_id, user_id=user_id, now=now)


def mark_active(session: Session, *, org_id: int, user_id: int, now: datetime) -> None:
    session.exec(
        update(Membership)
        .where(col(Membership.org_id) == org_id, col(Membership.user_id) == user_id)
        .values(last_active_at=now)
    )


def revoke_session(session: Session, *, token_hash: str) -> None:
    session.exec(
        update(AuthSession)
        .where(col(AuthSession.token_hash) == token_hash, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_user_sessions(
    session: Session,
    *,
    user_id: int,
    org_id: int | None = None,
    keep_token_hash: str | None = None,
) -> int:
    """Revoke a user's sessions: all of them, or those in one organization; optionally keep one
    (the browser that asked). Returns how many were revoked."""
    conditions: list[Any] = [
        AuthSession.user_id == user_id,
        col(AuthSession.revoked_at).is_(None),
    ]
    if org_id is not None:
        conditions.append(AuthSession.org_id == org_id)
    if keep_token_hash is not None:
        conditions.append(AuthSession.token_hash != keep_token_hash)
    result = session.exec(update(AuthSession).where(*conditions).values(revoked_at=utcnow()))
    return int(result.rowcount or 0)


def move_session(session: Session, *, token_hash: str, user_id: int, org_id: int) -> bool:
    """Point the session at another organization the same user belongs to (the switcher)."""
    member = (
        sa_select(col(Membership.id))
        .where(col(Membership.org_id) == org_id, col(Membership.user_id) == user_id)
        .exists()
    )
    result = session.exec(
        update(AuthSession)
        .where(
            AuthSession.token_hash == token_hash,  # type: ignore[arg-type]
            AuthSession.user_id == user_id,  # type: ignore[arg-type]
            col(AuthSession.revoked_at).is_(None),
            member,
        )
        .values(org_id=org_id)
    )
    return bool(result.rowcount)


def purge_sessions(session: Session, *, now: datetime, idle_since: datetime) -> int:
    """Delete sessions that can no longer be used: expired, idle too long, or revoked."""
    result = session.exec(
        delete(AuthSession).where(
            or_(
                col(AuthSession.expires_at) <= now,
                col(AuthSession.last_seen_at) <= idle_since,
                col(AuthSession.revoked_at).is_not(None),
            )
        )
    )
    return int(result.rowcount or 0)


def bump_index_version(session: Session, *, org_id: int) -> int:
    """Invalidate the organization's answer caches (they are keyed on this version)."""
    result = session.exec(
        update(Organization)
        .where(col(Organization.id) == org_id)
        .values(index_version=col(Organization.index_version) + 1)
        .returning(col(Organization.index_version))
    )
    return int(result.scalar_one())


def users_by_ids(session: Session, *, user_ids: Sequence[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    return {
        u.id: u  # type: ignore[misc]
        for u in session.exec(select(User).where(col(User.id).in_(list(user_ids))))
    }
