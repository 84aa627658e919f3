"""Team-page membership changes waiting for Clerk (`clerk_mirrors`, an outbox; keyword-only).

`want` records what Clerk should say about one member of one organization (a role, or None:
removed) in the transaction that makes the change on our side, so the wish and the change commit
together. One row per (organization, user): a newer wish replaces an older one and bumps its
`version`, so a push that was working on the older wish (`done`, `failed`) leaves the newer one
alone. Rows are deleted once Clerk has applied them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from techdocs_app.db.models import ClerkMirror, utcnow

ERROR_CHARS = 200
"""`last_error`'s column width."""


def want(session: Session, *, org_id: int, user_id: int, role: str | None, email: str) -> None:
    """Clerk should give `user_id` `role` in `org_id` (None: no membership). Due at once."""
    statement = insert(ClerkMirror).values(
        org_id=org_id,
        user_id=user_id,
        role=role,
        email=email,
        version=1,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.execute(
        statement.on_conflict_do_update(
            constraint="uq_clerk_mirrors_org_user",
            set_={
                "role": statement.excluded.role,
                "email": statement.excluded.email,
                "version": ClerkMirror.version + 1,  # type: ignore[operator]
                "attempts": 0,
                "last_error": None,
                "next_attempt_at": statement.excluded.next_attempt_at,
            },
        )
    )


def get(session: Session, *, org_id: int, user_id: int) -> ClerkMirror | None:
    return session.exec(
        select(ClerkMirror).where(ClerkMirror.org_id == org_id, ClerkMirror.user_id == user_id)
    ).first()


def pending_for_org(session: Session, *, org_id: int) -> list[ClerkMirror]:
    """The organization's wishes Clerk has not applied yet (the Team page says so)."""
    return list(
        session.exec(
            select(ClerkMirror)
            .where(ClerkMirror.org_id == org_id)
            .order_by(col(ClerkMirror.created_at), col(ClerkMirror.id))
        ).all()
    )


def due(session: Session, *, now: datetime, limit: int) -> list[ClerkMirror]:
    """Wishes whose next attempt is due, oldest first (owner connection: every organization)."""
    return list(
        session.exec(
            select(ClerkMirror)
            .where(col(ClerkMirror.next_attempt_at) <= now)
            .order_by(col(ClerkMirror.next_attempt_at), col(ClerkMirror.id))
            .limit(limit)
        ).all()
    )


def done(session: Session, *, mirror_id: int, version: int) -> None:
    """Clerk applied this version of the wish: forget it (a newer version stays)."""
    session.execute(
        delete(ClerkMirror).where(
            col(ClerkMirror.id) == mirror_id, col(ClerkMirror.version) == version
        )
    )


def failed(
    session: Session, *, mirror_id: int, version: int, error: str, retry_in: timedelta
) -> None:
    """Clerk did not apply it: try again after `retry_in` (a newer version is left alone)."""
    session.execute(
        update(ClerkMirror)
        .where(col(ClerkMirror.id) == mirror_id, col(ClerkMirror.version) == version)
        .values(
            attempts=ClerkMirror.attempts + 1,  # type: ignore[operator]
            last_error=error[:ERROR_CHARS],
            next_attempt_at=utcnow() + retry_in,
        )
    )


def forget(session: Session, *, org_id: int, user_id: int) -> None:
    """Clerk removed the membership itself (a webhook): no wish about it is left to push."""
    session.execute(
        delete(ClerkMirror).where(
            col(ClerkMirror.org_id) == org_id, col(ClerkMirror.user_id) == user_id
        )
    )


def forget_organization(session: Session, *, org_id: int) -> None:
    """Clerk deleted the organization: nothing about its members is left to push."""
    session.execute(delete(ClerkMirror).where(col(ClerkMirror.org_id) == org_id))
