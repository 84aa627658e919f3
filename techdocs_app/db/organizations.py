"""Queries for an organization's whole data: its export and its deletion (keyword-only, org_id).

Every tenant table references `organizations.id` with ON DELETE CASCADE, so deleting the
organization row removes every row of every tenant table, including tables added later.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from techdocs_app.db.models import Conversation, Document, Membership, Message, Organization, User


def get_organization(session: Session, *, org_id: int) -> Organization | None:
    return session.exec(select(Organization).where(Organization.id == org_id)).first()


def members(session: Session, *, org_id: int) -> list[tuple[Membership, User]]:
    rows = session.exec(
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(Membership.org_id == org_id)
        .order_by(col(Membership.id))
    ).all()
    return [(m, u) for m, u in rows]


def documents(session: Session, *, org_id: int) -> list[Document]:
    return list(
        session.exec(
            select(Document).where(Document.org_id == org_id).order_by(col(Document.id))
        ).all()
    )


def storage_keys(session: Session, *, org_id: int) -> list[str]:
    return list(session.exec(select(Document.storage_key).where(Document.org_id == org_id)).all())


def conversations(session: Session, *, org_id: int) -> list[Conversation]:
    return list(
        session.exec(
            select(Conversation).where(Conversation.org_id == org_id).order_by(col(Conversation.id))
        ).all()
    )


def messages_by_conversation(
    session: Session, *, org_id: int
) -> Iterator[tuple[int, list[Message]]]:
    """(conversation id, its messages in order) for every conversation, streamed from the server
    (a large organization's history is never all in memory at once)."""
    rows = session.exec(
        select(Message)
        .where(Message.org_id == org_id)
        .order_by(col(Message.conversation_id), col(Message.id))
        .execution_options(yield_per=500)
    )
    for conversation_id, group in groupby(rows, key=lambda m: m.conversation_id):
        yield conversation_id, list(group)


def count_rows(session: Session, *, table: Any, org_id: int) -> int:
    """Rows of a tenant table (any table with an `org_id` column) belonging to the organization."""
    return int(
        session.connection()
        .execute(select(func.count()).select_from(table).where(table.c.org_id == org_id))
        .scalar_one()
    )


def sole_member_user_ids(session: Session, *, org_id: int) -> list[int]:
    """Users whose only membership is in this organization (their accounts go with it).

    Reads other organizations' memberships: call it from a system session."""
    mine = select(Membership.user_id).where(Membership.org_id == org_id)
    elsewhere = select(Membership.user_id).where(Membership.org_id != org_id)
    return [
        int(u)
        for u in session.exec(
            select(User.id).where(col(User.id).in_(mine), col(User.id).not_in(elsewhere))
        ).all()
        if u is not None
    ]


def delete_organization(session: Session, *, org_id: int) -> bool:
    """Delete the organization row; the database cascades to every tenant table."""
    result = session.connection().execute(
        delete(Organization).where(col(Organization.id) == org_id)
    )
    return bool(result.rowcount)


def delete_users(session: Session, *, user_ids: list[int]) -> int:
    if not user_ids:
        return 0
    result = session.connection().execute(delete(User).where(col(User.id).in_(user_ids)))
    return int(result.rowcount or 0)
