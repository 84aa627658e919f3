"""Conversation history for the UI: list, read, delete, feedback (org and user from the Principal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from techdocs_app import memory
from techdocs_app.auth import Principal
from techdocs_app.db import conversations as conversations_db
from techdocs_app.db.engine import session_scope
from techdocs_app.errors import NotFound, ValidationFailed
from techdocs_app.rag.events import SourceView


@dataclass(frozen=True)
class ConversationView:
    id: int
    title: str
    updated_at: datetime


@dataclass(frozen=True)
class MessageView:
    id: int
    role: str
    content: str
    sources: list[SourceView] = field(default_factory=list)
    not_found: bool = False
    offline: bool = False
    feedback: int = 0
    created_at: datetime | None = None
    standalone_query: str | None = None


def _source_view(data: dict[str, Any]) -> SourceView | None:
    try:
        return SourceView(**data)
    except TypeError:
        return None


def list_conversations(principal: Principal) -> list[ConversationView]:
    with session_scope(org_id=principal.org_id) as session:
        rows = conversations_db.list_conversations(
            session, org_id=principal.org_id, user_id=principal.user_id
        )
        return [
            ConversationView(id=c.id or 0, title=c.title or "Conversation", updated_at=c.updated_at)
            for c in rows
        ]


MESSAGES_PAGE_MAX = 500


def get_messages(
    principal: Principal,
    *,
    conversation_id: int,
    limit: int = MESSAGES_PAGE_MAX,
    before_id: int | None = None,
) -> list[MessageView]:
    """The conversation's newest `limit` messages (before `before_id`: the page before), oldest
    first."""
    if not 1 <= limit <= MESSAGES_PAGE_MAX:
        raise ValidationFailed(f"List between 1 and {MESSAGES_PAGE_MAX} messages at a time.")
    with session_scope(org_id=principal.org_id) as session:
        conversation = conversations_db.get_conversation(
            session,
            org_id=principal.org_id,
            conversation_id=conversation_id,
            user_id=principal.user_id,
        )
        if conversation is None:
            raise NotFound("That conversation was not found.")
        messages = conversations_db.list_messages(
            session,
            org_id=principal.org_id,
            conversation_id=conversation_id,
            limit=limit,
            before_id=before_id,
        )
        return [
            MessageView(
                id=m.id or 0,
                role=m.role,
                content=m.content,
                sources=[s for s in (_source_view(d) for d in m.sources) if s is not None],
                not_found=m.not_found,
                offline=m.offline_answer,
                feedback=m.feedback,
                created_at=m.created_at,
                standalone_query=m.standalone_query,
            )
            for m in messages
        ]


def delete_conversation(principal: Principal, *, conversation_id: int) -> None:
    with session_scope(org_id=principal.org_id) as session:
        deleted = conversations_db.delete_conversation(
            session,
            org_id=principal.org_id,
            conversation_id=conversation_id,
            user_id=principal.user_id,
        )
    if not deleted:
        raise NotFound("That conversation was not found.")
    memory.forget(org_id=principal.org_id, conversation_id=conversation_id)


def set_feedback(principal: Principal, *, message_id: int, value: int) -> None:
    if value not in (-1, 0, 1):
        raise ValidationFailed("Feedback is thumbs up, thumbs down or none.")
    with session_scope(org_id=principal.org_id) as session:
        message = conversations_db.get_message(
            session, org_id=principal.org_id, message_id=message_id
        )
        conversation = (
            conversations_db.get_conversation(
                session,
                org_id=principal.org_id,
                conversation_id=message.conversation_id,
                user_id=principal.user_id,
            )
            if message is not None
            else None
        )
        if message is None or conversation is None or message.role != "assistant":
            raise NotFound("That answer was not found.")
        conversations_db.set_feedback(
            session, org_id=principal.org_id, message_id=message_id, value=value
        )
