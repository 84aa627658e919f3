"""The product's rate limits: which `ratelimit` rule guards what, with numbers from settings.

- sign-in: attempts per client address and per (email, address); wrong passwords back off
  exponentially per (email, address) and, more loosely, per email from every address, so one
  attacker's address cannot lock a technician out of their account from the shop's address;
- sign-up: new organizations per client address;
- questions: per user per minute and per organization per day;
- uploads: files per organization per hour, and uploads running at once per organization
  (`upload_slot`).

Every refusal is `RateLimited` with a message that says how long to wait. Limits apply where a
person or an API client acts (states, REST API), not to the command line or the evaluation.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import redis

from techdocs_app.auth import Principal
from techdocs_app.cache import get_redis, mark_down
from techdocs_app.errors import RateLimited
from techdocs_app.ratelimit import (
    Backoff,
    Rate,
    check_backoff,
    hit,
    peek,
    record_failure,
    reset,
    subject_key,
)
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

SIGN_IN_WAIT = "Too many sign-in attempts."
SIGN_UP_WAIT = "Too many new accounts from your network."
QUESTION_WAIT = "You are asking faster than we can answer."
ORG_QUESTION_WAIT = "Your shop has reached today's question limit."
UPLOAD_WAIT = "Your shop has uploaded many manuals in the last hour."
UPLOAD_BUSY = "Your shop already has uploads running."
UPLOAD_SLOT_TTL_S = 1800
"""A slot a crashed process never released frees itself after this long."""


def _address_rate() -> Rate:
    return Rate("signin-address", get_settings().signin_attempts_per_address_per_minute, 60)


def _account_rate() -> Rate:
    return Rate("signin-account", get_settings().signin_attempts_per_account_per_minute, 60)


def _pair_backoff() -> Backoff:
    s = get_settings()
    return Backoff(
        "signin-failures",
        s.signin_free_failures,
        s.signin_backoff_base_s,
        s.signin_backoff_max_s,
        s.signin_failure_window_s,
    )


def _email_backoff() -> Backoff:
    s = get_settings()
    return Backoff(
        "signin-failures-email",
        s.signin_account_free_failures,
        s.signin_backoff_base_s,
        s.signin_backoff_max_s,
        s.signin_failure_window_s,
    )


def _email(email: str) -> str:
    return (email or "").strip().lower()


def _pair(email: str, address: str) -> str:
    return f"{_email(email)}\x1f{address}"


def check_sign_in(*, email: str, address: str) -> None:
    """Before the password is checked: refuse while a back-off runs or attempts come too fast."""
    pair = _pair(email, address)
    check_backoff(_pair_backoff(), pair, what=SIGN_IN_WAIT)
    check_backoff(_email_backoff(), _email(email), what=SIGN_IN_WAIT)
    hit(_address_rate(), address, what=SIGN_IN_WAIT)
    hit(_account_rate(), pair, what=SIGN_IN_WAIT)


def sign_in_failed(*, email: str, address: str) -> None:
    record_failure(_pair_backoff(), _pair(email, address))
    record_failure(_email_backoff(), _email(email))


def sign_in_succeeded(*, email: str, address: str) -> None:
    reset(_pair_backoff(), _pair(email, address))
    reset(_email_backoff(), _email(email))


def check_sign_up(*, address: str) -> None:
    hit(
        Rate("signup-address", get_settings().signups_per_address_per_hour, 3600),
        address,
        what=SIGN_UP_WAIT,
    )


def check_question(principal: Principal) -> None:
    """One question by `principal`: per user per minute, per organization per day."""
    s = get_settings()
    per_org = Rate("questions-org", s.questions_per_org_per_day, 86400)
    org_wait = peek(per_org, str(principal.org_id))
    if org_wait > 0:
        raise RateLimited(ORG_QUESTION_WAIT, retry_after=org_wait, detail="rate questions-org")
    hit(
        Rate("questions-user", s.questions_per_user_per_minute, 60),
        str(principal.user_id),
        what=QUESTION_WAIT,
    )
    hit(per_org, str(principal.org_id), what=ORG_QUESTION_WAIT)


def _uploads_rate() -> Rate:
    return Rate("uploads-org", get_settings().uploads_per_org_per_hour, 3600)


def upload_wait(principal: Principal, *, files: int = 1) -> float:
    """Seconds until `files` more uploads fit the organization's hourly limit (0: they fit)."""
    return peek(_uploads_rate(), str(principal.org_id), cost=max(1, files))


def count_upload(principal: Principal) -> None:
    """One file about to be stored for the organization (raises `RateLimited` over the limit)."""
    hit(_uploads_rate(), str(principal.org_id), what=UPLOAD_WAIT)


# KEYS[1]: sorted set of running uploads (member: a random id, score: expiry in ms).
# ARGV: cap, id, ttl_ms. Returns 1 when the slot was taken, 0 when all are busy.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


def _slots_key(org_id: int) -> str:
    return subject_key("active", "uploads-org", str(org_id))


def uploads_running(principal: Principal) -> int:
    """Uploads of the organization running now (0 when Redis is unavailable)."""
    client = get_redis()
    if client is None:
        return 0
    try:
        now_ms = time.time() * 1000
        running: Any = client.zcount(_slots_key(principal.org_id), now_ms, "+inf")
        return int(running)
    except redis.RedisError as exc:
        mark_down(exc)
        return 0


@contextmanager
def upload_slot(principal: Principal) -> Iterator[None]:
    """Hold one of the organization's `max_concurrent_uploads_per_org` upload slots.

    Raises `RateLimited` when every slot is taken. Without Redis the slot is not enforced.
    """
    cap = get_settings().max_concurrent_uploads_per_org
    client = get_redis() if cap > 0 else None
    key = _slots_key(principal.org_id)
    member = secrets.token_hex(8)
    taken = False
    if client is not None:
        try:
            taken = bool(client.eval(_ACQUIRE, 1, key, cap, member, UPLOAD_SLOT_TTL_S * 1000))
        except redis.RedisError as exc:
            mark_down(exc)
            taken = True  # fail open: the slot is simply not counted
            client = None
        if not taken:
            raise RateLimited(
                f"{UPLOAD_BUSY} Wait for them to finish.",
                retry_after=10,
                detail="upload slots",
            )
    try:
        yield
    finally:
        if client is not None:
            try:
                client.zrem(key, member)
            except redis.RedisError as exc:
                mark_down(exc)


# ---- sign-in and sign-up as the web forms run them ------------------------------------------


async def guarded_sign_in(*, email: str, password: str, address: str) -> Principal:
    """Sign in from a client `address`: limits first (no hashing for a refused attempt), then the
    password check on the hashing threads, then the failure is counted or the slate wiped."""
    from techdocs_app.auth.local import run_password_work, sign_in
    from techdocs_app.errors import AuthError

    await asyncio.to_thread(check_sign_in, email=email, address=address)
    try:
        principal = await run_password_work(partial(sign_in, email=email, password=password))
    except AuthError:
        await asyncio.to_thread(sign_in_failed, email=email, address=address)
        raise
    await asyncio.to_thread(sign_in_succeeded, email=email, address=address)
    return principal


async def guarded_sign_up(*, org_name: str, email: str, password: str, address: str) -> Principal:
    """Create an organization from a client `address`, within the sign-ups allowed per address."""
    from techdocs_app.auth.local import run_password_work, sign_up

    await asyncio.to_thread(check_sign_up, address=address)
    return await run_password_work(
        partial(sign_up, org_name=org_name, email=email, password=password)
    )
