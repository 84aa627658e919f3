"""Local accounts, the embedded default: argon2 password hashes, organizations and their owners."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from techdocs_app.auth import Principal
from techdocs_app.db import accounts
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import Membership, Organization, User, utcnow
from techdocs_app.errors import AuthError, ValidationFailed
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

MIN_PASSWORD = 8
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" close to "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")

WRONG_CREDENTIALS = "Incorrect email or password."


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise ValidationFailed("Enter a valid email address, like name@yourshop.com.")
    return email


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(f"Use a password of at least {MIN_PASSWORD} characters.")
    if len(password) > 1024:
        raise ValidationFailed("That password is too long (1,024 characters at most).")


def sign_up(*, org_name: str, email: str, password: str) -> Principal:
    """Create an organization and its owner. Nothing is created when any field is invalid."""
    org_name = " ".join((org_name or "").split())
    if not org_name:
        raise ValidationFailed("Enter your organization's name (your shop's name).")
    if len(org_name) > 200:
        raise ValidationFailed("Keep the organization name under 200 characters.")
    email = _clean_email(email)
    _check_password(password)
    settings = get_settings()
    try:
        with session_scope() as session:
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


def sign_in(*, email: str, password: str) -> Principal:
    """The same generic error for an unknown email and a wrong password."""
    email = (email or "").strip().lower()
    with session_scope() as session:
        user = accounts.get_user_by_email(session, email=email) if email else None
        if user is None or not user.password_hash:
            try:
                _hasher.verify(_DUMMY_HASH, password or "x")
            except VerificationError:
                pass
            raise AuthError(WRONG_CREDENTIALS)
        try:
            _hasher.verify(user.password_hash, password or "")
        except (VerificationError, InvalidHashError) as exc:
            raise AuthError(WRONG_CREDENTIALS) from exc
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        membership = accounts.first_membership(session, user_id=user.id)  # type: ignore[arg-type]
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
