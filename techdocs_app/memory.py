"""Conversation memory: the last `memory_turns` turns per conversation in Redis, with a TTL.

Redis holds a short list per conversation (key namespaced by organization and conversation), trimmed
to the last `memory_turns` turns and expiring `memory_ttl_s` after the last write. Postgres keeps the
whole history; when Redis is unreachable or the key has expired, the last turns are read back from
Postgres, so follow-ups keep working without Redis.
"""

from __future__ import annotations

import json
import logging
from typing import cast

import redis

from techdocs_app import cache
from techdocs_app.db import conversations as conversations_db
from techdocs_app.db.engine import session_scope
from techdocs_app.providers.base import Turn
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)


def memory_key(*, org_id: int, conversation_id: int) -> str:
    return f"{cache.KEY_PREFIX}:mem:{org_id}:{conversation_id}"


def _turn_to_json(turn: Turn) -> str:
    return json.dumps(
        {
            "q": turn.question,
            "a": turn.answer,
            "s": turn.standalone_query,
            "d": list(turn.document_ids),
            "i": list(turn.identifiers),
        },
        separators=(",", ":"),
    )


def _turn_from_json(raw: bytes | str) -> Turn | None:
    try:
        data = json.loads(raw)
        return Turn(
            question=str(data["q"]),
            answer=str(data["a"]),
            standalone_query=str(data.get("s", "")),
            document_ids=tuple(int(d) for d in data.get("d", ())),
            identifiers=tuple(str(i) for i in data.get("i", ())),
        )
    except (ValueError, KeyError, TypeError):
        return None


def remember_turn(*, org_id: int, conversation_id: int, turn: Turn) -> bool:
    """Append a turn, keep the last `memory_turns`, refresh the TTL. False when Redis is down."""
    client = cache.get_redis()
    if client is None:
        return False
    settings = get_settings()
    key = memory_key(org_id=org_id, conversation_id=conversation_id)
    try:
        pipe = client.pipeline(transaction=True)
        pipe.rpush(key, _turn_to_json(turn))
        pipe.ltrim(key, -settings.memory_turns, -1)
        pipe.expire(key, settings.memory_ttl_s)
        pipe.execute()
    except redis.RedisError as exc:
        cache.mark_down(exc)
        return False
    return True


def redis_turns(*, org_id: int, conversation_id: int) -> list[Turn] | None:
    """The turns Redis holds; None when Redis is down or holds nothing for this conversation."""
    client = cache.get_redis()
    if client is None:
        return None
    key = memory_key(org_id=org_id, conversation_id=conversation_id)
    try:
        raw = cast(list[bytes], client.lrange(key, -get_settings().memory_turns, -1))
    except redis.RedisError as exc:
        cache.mark_down(exc)
        return None
    if not raw:
        return None
    turns = [t for t in (_turn_from_json(r) for r in raw) if t is not None]
    return turns or None


def recent_turns(*, org_id: int, conversation_id: int) -> list[Turn]:
    """The conversation's last turns: from Redis, else from Postgres (and Redis is re-primed)."""
    turns = redis_turns(org_id=org_id, conversation_id=conversation_id)
    if turns is not None:
        return turns
    limit = get_settings().memory_turns
    with session_scope(org_id=org_id) as session:
        stored = conversations_db.last_turns(
            session, org_id=org_id, conversation_id=conversation_id, limit=limit
        )
    turns = [
        Turn(
            question=t.question,
            answer=t.answer,
            standalone_query=t.standalone_query,
            document_ids=t.document_ids,
        )
        for t in stored
    ]
    if turns and cache.get_redis() is not None:
        for turn in turns:
            if not remember_turn(org_id=org_id, conversation_id=conversation_id, turn=turn):
                break
    return turns


def forget(*, org_id: int, conversation_id: int) -> None:
    client = cache.get_redis()
    if client is None:
        return
    try:
        client.delete(memory_key(org_id=org_id, conversation_id=conversation_id))
    except redis.RedisError as exc:
        cache.mark_down(exc)
