"""Queries for conversations and messages (keyword-only; every function filters on org_id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from techdocs_app.db.models import Conversation, Message, insert_row, utcnow


class StoredTurn(NamedTuple):
    """One completed question/answer pair as Postgres keeps it."""

    question: str
    answer: str
    standalone_query: str
    document_ids: tuple[int, ...]


def create_conversation(
    session: Session,
    *,
    org_id: int,
    user_id: int | None,
    title: str,
    document_ids: Sequence[int] = (),
) -> Conversation:
    conversation = Conversation(
        org_id=org_id,
        user_id=user_id,
        title=title[:300],
        document_ids=[int(d) for d in document_ids],
    )
    insert_row(session, conversation)
    return conversation


def get_conversation(
    session: Session, *, org_id: int, conversation_id: int, user_id: int | None = None
) -> Conversation | None:
    stmt = select(Conversation).where(
        Conversation.id == conversation_id, Conversation.org_id == org_id
    )
    if user_id is not None:
        stmt = stmt.where(Conversation.user_id == user_id)
    return session.exec(stmt).first()


def list_conversations(
    session: Session, *, org_id: int, user_id: int | None = None, limit: int = 200
) -> list[Conversation]:
    stmt = select(Conversation).where(Conversation.org_id == org_id)
    if user_id is not None:
        stmt = stmt.where(Conversation.user_id == user_id)
    stmt = stmt.order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
    return list(session.exec(stmt.limit(limit)).all())


def touch_conversation(session: Session, *, org_id: int, conversation_id: int) -> None:
    session.exec(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.org_id == org_id)  # type: ignore[arg-type]
        .values(updated_at=utcnow())
    )


def delete_conversation(
    session: Session, *, org_id: int, conversation_id: int, user_id: int | None = None
) -> bool:
    stmt = delete(Conversation).where(
        Conversation.id == conversation_id,  # type: ignore[arg-type]
        Conversation.org_id == org_id,  # type: ignore[arg-type]
    )
    if user_id is not None:
        stmt = stmt.where(Conversation.user_id == user_id)  # type: ignore[arg-type]
    return bool(session.exec(stmt).rowcount)


def add_message(
    session: Session,
    *,
    org_id: int,
    conversation_id: int,
    role: str,
    content: str,
    standalone_query: str | None = None,
    sources: list[dict[str, Any]] | None = None,
    not_found: bool = False,
    offline_answer: bool = False,
    latency_ms: int | None = None,
) -> Message:
    message = Message(
        org_id=org_id,
        conversation_id=conversation_id,
        role=role,
        content=content,
        standalone_query=standalone_query,
        sources=sources or [],
        not_found=not_found,
        offline_answer=offline_answer,
        latency_ms=latency_ms,
    )
    insert_row(session, message)
    return message


def list_messages(
    session: Session,
    *,
    org_id: int,
    conversation_id: int,
    limit: int = 500,
    before_id: int | None = None,
) -> list[Message]:
    """The newest `limit` messages (older than `before_id`, when given), oldest first."""
    stmt = select(Message).where(
        Message.org_id == org_id, Message.conversation_id == conversation_id
    )
    if before_id is not None:
        stmt = stmt.where(col(Message.id) < before_id)
    rows = list(session.exec(stmt.order_by(col(Message.id).desc()).limit(limit)).all())
    rows.reverse()
    return rows


def get_message(session: Session, *, org_id: int, message_id: int) -> Message | None:
    return session.exec(
        select(Message).where(Message.id == message_id, Message.org_id == org_id)
    ).first()


def set_feedback(session: Session, *, org_id: int, message_id: int, value: int) -> bool:
    result = session.exec(
        update(Message)
        .where(
            Message.id == message_id,  # type: ignore[arg-type]
            Message.org_id == org_id,  # type: ignore[arg-type]
            Message.role == "assistant",  # type: ignore[arg-type]
        )
        .values(feedback=value)
    )
    return bool(result.rowcount)


def last_turns(
    session: Session, *, org_id: int, conversation_id: int, limit: int
) -> list[StoredTurn]:
    """The last `limit` completed question/answer pairs, oldest first (memory's fallback)."""
    rows = list(
        session.exec(
            select(Message)
            .where(Message.org_id == org_id, Message.conversation_id == conversation_id)
            .order_by(col(Message.id).desc())
            .limit(limit * 2 + 2)
        ).all()
    )
    rows.reverse()
    turns: list[StoredTurn] = []
    pending: Message | None = None
    for message in rows:
        if message.role == "user":
            pending = message
        elif message.role == "assistant" and pending is not None:
            document_ids = tuple(
                dict.fromkeys(int(s["document_id"]) for s in message.sources if "document_id" in s)
            )
            turns.append(
                StoredTurn(
                    question=pending.content,
                    answer=message.content,
                    standalone_query=message.standalone_query or pending.content,
                    document_ids=document_ids,
                )
            )
            pending = None
    return turns[-limit:]
