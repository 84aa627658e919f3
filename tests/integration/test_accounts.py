"""Local accounts: sign-up, sign-in, sessions, and the bad input of the foundation issue."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from techdocs_app.auth import local, sessions
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Membership, Organization, User
from techdocs_app.errors import AuthError, ValidationFailed


def _counts() -> tuple[int, int, int]:
    with system_session_scope() as s:
        return (
            len(s.exec(select(Organization)).all()),
            len(s.exec(select(User)).all()),
            len(s.exec(select(Membership)).all()),
        )


def test_sign_up_creates_org_owner_and_hashes_password(db, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    p = local.sign_up(
        org_name="  Bay  Auto ", email="Owner@BayAuto.example", password="s3cret-pass"
    )
    assert p.org_name == "Bay Auto" and p.role == "owner" and p.email == "owner@bayauto.example"
    with system_session_scope() as s:
        user = s.exec(select(User)).one()
        org = s.exec(select(Organization)).one()
        assert user.password_hash and user.password_hash.startswith("$argon2")
        assert "s3cret-pass" not in user.password_hash
        assert org.trial_ends_at is not None and org.seat_limit == 5
    assert "s3cret-pass" not in caplog.text


@pytest.mark.parametrize(
    ("org_name", "email", "password", "message"),
    [
        ("", "a@b.example", "longenough", "organization"),
        ("   ", "a@b.example", "longenough", "organization"),
        ("Shop", "not-an-email", "longenough", "valid email"),
        ("Shop", "a@b.example", "short", "at least 8"),
    ],
)
def test_bad_sign_up_creates_nothing(db, org_name, email, password, message) -> None:  # noqa: ANN001
    with pytest.raises(ValidationFailed) as err:
        local.sign_up(org_name=org_name, email=email, password=password)
    assert message in err.value.user_message
    assert _counts() == (0, 0, 0)


def test_existing_email_is_refused_and_nothing_created(make_org) -> None:  # noqa: ANN001
    make_org("First", email="dup@shop.example")
    before = _counts()
    with pytest.raises(ValidationFailed) as err:
        local.sign_up(org_name="Second", email="DUP@shop.example", password="another-pass")
    assert "already exists" in err.value.user_message
    assert _counts() == before


def test_sign_in_generic_error_for_wrong_password_and_unknown_email(make_org) -> None:  # noqa: ANN001
    make_org("Shop", email="tech@shop.example", password="right-password")
    with pytest.raises(AuthError) as wrong:
        local.sign_in(email="tech@shop.example", password="wrong-password")
    with pytest.raises(AuthError) as unknown:
        local.sign_in(email="nobody@shop.example", password="right-password")
    assert wrong.value.user_message == unknown.value.user_message == local.WRONG_CREDENTIALS
    p = local.sign_in(email=" TECH@shop.example ", password="right-password")
    assert p.email == "tech@shop.example" and p.role == "owner"


def test_sessions_survive_lookup_and_are_revoked(make_org) -> None:  # noqa: ANN001
    p = make_org("Shop")
    token = sessions.issue_session(p)
    assert sessions.principal_from_session(token) == p
    assert sessions.principal_from_session("forged-" + token) is None
    assert sessions.principal_from_session(None) is None
    sessions.revoke_session(token)
    assert sessions.principal_from_session(token) is None


def test_session_token_belongs_to_its_own_org(make_org) -> None:  # noqa: ANN001
    a = make_org("Alpha")
    b = make_org("Bravo")
    ta, tb = sessions.issue_session(a), sessions.issue_session(b)
    assert sessions.principal_from_session(ta).org_id == a.org_id  # type: ignore[union-attr]
    assert sessions.principal_from_session(tb).org_id == b.org_id  # type: ignore[union-attr]
    assert a.org_id != b.org_id
