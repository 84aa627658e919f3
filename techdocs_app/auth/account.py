"""The signed-in person's own account: name, password, signing out everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from techdocs_app.auth import Principal, local, sessions
from techdocs_app.db import accounts
from techdocs_app.db.engine import session_scope
from techdocs_app.errors import AuthError, NotFound, ValidationFailed

WRONG_CURRENT_PASSWORD = "Your current password is not correct."


@dataclass(frozen=True)
class AccountView:
    name: str
    email: str
    has_password: bool
    """False for accounts managed by Clerk (their password lives there)."""


def get_account(principal: Principal) -> AccountView:
    with session_scope(org_id=principal.org_id) as session:
        user = accounts.get_user(session, user_id=principal.user_id)
        if user is None:
            raise NotFound("Your account was not found. Sign in again.")
        return AccountView(name=user.name, email=user.email, has_password=bool(user.password_hash))


def update_name(principal: Principal, *, name: str) -> str:
    name = local.clean_name(name)
    with session_scope(org_id=principal.org_id) as session:
        user = accounts.get_user(session, user_id=principal.user_id)
        if user is None:
            raise NotFound("Your account was not found. Sign in again.")
        user.name = name
        session.add(user)
    return name


def change_password(principal: Principal, *, current: str, new: str, keep_token: str | None) -> int:
    """Check the current password, set the new one, and end every other session of this user
    (someone who knew the old password is signed out). Returns how many sessions ended."""
    local.check_password(new)
    if new == current:
        raise ValidationFailed("Choose a new password that differs from the current one.")
    with session_scope(org_id=principal.org_id) as session:
        user = accounts.get_user(session, user_id=principal.user_id)
        if user is None:
            raise NotFound("Your account was not found. Sign in again.")
        if not user.password_hash:
            raise ValidationFailed("Your password is managed by your sign-in provider.")
        if not local.verify_password(user.password_hash, current):
            raise AuthError(WRONG_CURRENT_PASSWORD)
        user.password_hash = local.hash_password(new)
        session.add(user)
    return sessions.revoke_other_sessions(principal, keep_token=keep_token)


def sign_out_everywhere(principal: Principal) -> int:
    """End every session of this user, in every organization, this browser's included."""
    return sessions.revoke_all_sessions(principal)
