"""Local accounts, the embedded default: argon2 password hashes, organizations and their owners."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from techdocs_app.auth import Principal
from techdocs_app.db import accounts
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Membership, Organization, User, utcnow
from techdocs_app.errors import AuthError, RateLimited, ValidationFailed
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

MIN_PASSWORD = 8
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" close to "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")

WRONG_CREDENTIALS = "Incorrect email or password."
HASHING_BUSY = "Many people are signing in right now."

T = TypeVar("T")


class _HashingPool:
    """The threads that run password work (argon2: 64 MiB and ~0.1 s of CPU per hash).

    Sign-in and sign-up run here, not on the default executor that serves every database call
    (`asyncio.to_thread`): a burst of sign-ins then waits for `password_hash_workers` threads
    instead of starving everyone's page loads. At most `password_hash_queue` calls are admitted
    (running or waiting); beyond that a sign-in is refused with "try again in 2 s".
    """

    def __init__(self, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password")
        self._admitted = threading.BoundedSemaphore(max(workers, queue))

    async def run(self, fn: Callable[[], T]) -> T:
        if not self._admitted.acquire(blocking=False):
            raise RateLimited(HASHING_BUSY, retry_after=2, detail="hashing queue full")
        try:
            future = self._executor.submit(fn)
        except BaseException:
            self._admitted.release()
            raise
        # Released when the work ends, even if the awaiting event is cancelled first.
        future.add_done_callback(lambda _f: self._admitted.release())
        return await asyncio.wrap_future(future)


_pool: _HashingPool | None = None
_pool_lock = threading.Lock()


def _hashing_pool() -> _HashingPool:
    global _pool
    with _pool_lock:
        if _pool is None:
            settings = get_settings()
            _pool = _HashingPool(settings.password_hash_workers, settings.password_hash_queue)
        return _pool


def _forget_pool() -> None:
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


async def run_password_work(fn: Callable[[], T]) -> T:
    """Run `fn` (a sign-in, a sign-up: anything that hashes a password) on the hashing threads."""
    return await _hashing_pool().run(fn)


def clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise ValidationFailed("Enter a valid email address, like name@yourshop.com.")
    return email


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(f"Use a password of at least {MIN_PASSWORD} characters.")
    if len(password) > 1024:
        raise ValidationFailed("That password is too long (1,024 characters at most).")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a user without a password (Clerk) never matches. Takes the
    same time whether or not there is a hash to check."""
    if not password_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password or "x")
        except VerificationError:
            pass
        return False
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if len(name) > 200:
        raise ValidationFailed("Keep your name under 200 characters.")
    return name


def sign_up(*, org_name: str, email: str, password: str) -> Principal:
    """Create an organization and its owner. Nothing is created when any field is invalid."""
    org_name = " ".join((org_name or "").split())
    if not org_name:
        raise ValidationFailed("Enter your organization's name (your shop's name).")
    if len(org_name) > 200:
        raise ValidationFailed("Keep the organization name under 200 characters.")
    email = clean_email(email)
    check_password(password)
    settings = get_settings()
    try:
        with system_session_scope() as session:
            if accounts.get_user_by_email(session, email=email):
                raise ValidationFailed(
                    "An account with this email already exists. Sign in instead."
                )
            org = Organization(
                name=org_name,
                seat_limit=settings.default_seat_limit,
                trial_ends_at=utcnow() + timedelta(days=settings.trial_days),
            )
            user = User(email=email, password_hash=_hasher.hash(password))
            session.add(org)
            session.add(user)
            session.flush()
            assert org.id is not None and user.id is not None
            session.add(Membership(org_id=org.id, user_id=user.id, role="owner"))
            principal = Principal(
                user_id=user.id, org_id=org.id, role="owner", email=email, org_name=org.name
            )
    except IntegrityError as exc:
        raise ValidationFailed(
            "An account with this email already exists. Sign in instead."
        ) from exc
    log.info("signup org_id=%s user_id=%s", principal.org_id, principal.user_id)
    return principal


def authenticated_user(session: Session, *, email: str, password: str) -> User:
    """The user with this email and password (in a system session), or `AuthError` with the same
    generic message for an unknown email and a wrong password."""
    email = (email or "").strip().lower()
    user = accounts.get_user_by_email(session, email=email) if email else None
    if user is None or not user.password_hash:
        verify_password(None, password)
        raise AuthError(WRONG_CREDENTIALS)
    if not verify_password(user.password_hash, password):
        raise AuthError(WRONG_CREDENTIALS)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def sign_in(*, email: str, password: str) -> Principal:
    """The same generic error for an unknown email and a wrong password."""
    with system_session_scope() as session:
        user = authenticated_user(session, email=email, password=password)
        membership = accounts.last_used_membership(session, user_id=user.id)  # type: ignore[arg-type]
        if membership is None:
            raise AuthError("Your account is not part of any organization. Ask your shop's owner.")
        org = accounts.get_org(session, org_id=membership.org_id)
        assert org is not None and user.id is not None
        return Principal(
            user_id=user.id,
            org_id=org.id,  # type: ignore[arg-type]
            role=membership.role,
            email=user.email,
            org_name=org.name,
        )
