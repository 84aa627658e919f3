"""Redis caches: query embeddings and whole answers, plus the shared Redis client.

Keys are namespaced by organization. The answer key also carries the organization's
`index_version` (bumped by every ingest/delete), the normalised standalone query, the document
filter and, for a follow-up, what else decides its sources: the previous turn's manuals it
searches beside the filter and prefers, and the other wordings it is ranked by (its own words, the
question as typed with the conversation's subject; `rag.followup`). Two follow-ups that condense
to the same query but were typed differently are ranked differently, so they never share an
answer; a question that is not a follow-up keys as before. An ingest in one organization makes
only that organization's answers stale; stale keys simply expire (TTL `cache_ttl_s`). Nothing
here ever scans keys.

Redis is optional at run time: when it is unreachable every function degrades to "no cache"
(a miss, a skipped write) and the client is not retried for a few seconds, so a dead Redis costs
one failed connect, not one per call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from array import array
from collections.abc import Sequence
from typing import Any, cast

import redis

from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

KEY_PREFIX = "td"
RETRY_AFTER_S = 5.0
SOCKET_TIMEOUT_S = 0.5

_client: redis.Redis | None = None
_client_url: str | None = None
_down_until = 0.0
_lock = threading.Lock()


def get_redis() -> redis.Redis | None:
    """The process's Redis client, or None while Redis is known to be unreachable."""
    global _client, _client_url
    if time.monotonic() < _down_until:
        return None
    url = get_settings().effective_redis_url
    with _lock:
        if _client is None or _client_url != url:
            _client = redis.Redis.from_url(
                url,
                socket_connect_timeout=SOCKET_TIMEOUT_S,
                socket_timeout=SOCKET_TIMEOUT_S,
                health_check_interval=30,
            )
            _client_url = url
        return _client


def mark_down(exc: BaseException) -> None:
    """Remember that Redis failed: callers skip it for RETRY_AFTER_S seconds."""
    global _down_until
    _down_until = time.monotonic() + RETRY_AFTER_S
    log.warning("redis unavailable (%s); continuing without memory and caches", type(exc).__name__)


def reset_redis() -> None:
    """Forget the client and the down-mark (tests change REDIS_URL)."""
    global _client, _client_url, _down_until
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
        _client_url = None
        _down_until = 0.0


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


_SPACE_RE = re.compile(r"\s+")


def normalize_query(query: str) -> str:
    """Case, whitespace and trailing punctuation folded: "What is X?" and "what is x" share a key."""
    return _SPACE_RE.sub(" ", query).strip().strip("?.!").strip().lower()


def document_filter_key(document_ids: Sequence[int] | None) -> str:
    return "all" if document_ids is None else ",".join(str(d) for d in sorted(set(document_ids)))


# --- query embeddings ---------------------------------------------------------------------------


def embedding_key(*, org_id: int, model: str, query: str) -> str:
    return f"{KEY_PREFIX}:emb:{org_id}:{_digest(model, normalize_query(query))}"


def get_query_embedding(*, org_id: int, model: str, query: str) -> list[float] | None:
    client = get_redis()
    if client is None:
        return None
    try:
        raw = cast(bytes | None, client.get(embedding_key(org_id=org_id, model=model, query=query)))
    except redis.RedisError as exc:
        mark_down(exc)
        return None
    if not raw:
        return None
    values = array("f")
    values.frombytes(raw)
    return values.tolist()


def put_query_embedding(*, org_id: int, model: str, query: str, vector: Sequence[float]) -> None:
    client = get_redis()
    if client is None:
        return
    try:
        client.set(
            embedding_key(org_id=org_id, model=model, query=query),
            array("f", vector).tobytes(),
            ex=get_settings().cache_ttl_s,
        )
    except redis.RedisError as exc:
        mark_down(exc)


# --- answers ------------------------------------------------------------------------------------


def answer_key(
    *,
    org_id: int,
    index_version: int,
    query: str,
    document_ids: Sequence[int] | None,
    preferred_ids: Sequence[int] | None = None,
    wordings: Sequence[tuple[str, float]] = (),
) -> str:
    """The answer's key: `query` is the standalone query, `document_ids` the conversation's
    filter (None: the whole library); a follow-up adds `preferred_ids`, the previous turn's
    manuals (None: no preference), and `wordings`, the other (wording, weight) pairs its
    candidates are ranked by besides `query`. Wordings fold like the query (case, spaces,
    trailing punctuation). Without the follow-up parts the key is the plain question's."""
    parts = [normalize_query(query), document_filter_key(document_ids)]
    if preferred_ids is not None:
        parts.append(f"prefer:{document_filter_key(preferred_ids)}")
    parts += [f"wording:{weight:g}:{normalize_query(text)}" for text, weight in wordings]
    return f"{KEY_PREFIX}:ans:{org_id}:v{index_version}:{_digest(*parts)}"


def get_answer(key: str, *, org_id: int) -> dict[str, Any] | None:
    """The answer stored under `key` (`answer_key`) for organization `org_id`, or None."""
    client = get_redis()
    if client is None:
        return None
    try:
        raw = cast(bytes | None, client.get(key))
    except redis.RedisError as exc:
        mark_down(exc)
        return None
    if not raw:
        return None
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    # Belt and braces: a payload is only ever served to the organization that stored it.
    if payload.get("org_id") != org_id:
        return None
    return payload


def put_answer(key: str, *, org_id: int, payload: dict[str, Any]) -> None:
    client = get_redis()
    if client is None:
        return
    try:
        client.set(
            key,
            json.dumps({**payload, "org_id": org_id}, separators=(",", ":")),
            ex=get_settings().cache_ttl_s,
        )
    except redis.RedisError as exc:
        mark_down(exc)
