"""Teams against the real database: invitations, seats, accepting, roles, removal, switching.

Every call goes through the services the pages call, as the application role under row-level
security.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from techdocs_app.auth import account, local, sessions, team
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Conversation, Invitation, Organization, utcnow
from techdocs_app.errors import (
    AuthError,
    LimitReached,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)

PASSWORD = "correct horse 42"


def _token(sent: team.InvitationSent) -> str:
    return sent.link.rsplit("/", 1)[-1]


def _set_seats(org_id: int, limit: int) -> None:
    with system_session_scope() as s:
        org = s.get(Organization, org_id)
        assert org is not None
        org.seat_limit = limit
        s.add(org)


def _join(owner, email: str, role: str = "member"):  # noqa: ANN001, ANN202
    sent = team.invite(owner, email=email, role=role)
    return team.accept_with_new_account(_token(sent), name=email.split("@")[0], password=PASSWORD)


def test_invite_accept_and_the_team_page(make_org) -> None:  # noqa: ANN001
    owner = make_org("Harbor HVAC")
    sent = team.invite(owner, email=" Sam@Harbor.example ", role="admin")
    assert sent.invitation.email == "sam@harbor.example" and sent.invitation.role == "admin"
    assert "/invite/" in sent.link and not sent.emailed
    view = team.team_overview(owner)
    assert view.seats_used == 2 and view.seat_limit == 5
    assert [i.email for i in view.invitations] == ["sam@harbor.example"]
    # Only the hash is stored.
    with system_session_scope() as s:
        row = s.exec(select(Invitation)).one()
        assert _token(sent) not in row.token_hash and len(row.token_hash) == 64

    preview = team.preview_invitation(_token(sent))
    assert (preview.org_name, preview.email, preview.role, preview.has_account) == (
        "Harbor HVAC",
        "sam@harbor.example",
        "admin",
        False,
    )
    sam = team.accept_with_new_account(_token(sent), name="Sam Tech", password=PASSWORD)
    assert (sam.org_id, sam.role, sam.email) == (owner.org_id, "admin", "sam@harbor.example")
    view = team.team_overview(sam)  # every member sees the members
    assert [(m.email, m.role, m.name) for m in view.members] == [
        (owner.email, "owner", ""),
        ("sam@harbor.example", "admin", "Sam Tech"),
    ]
    assert view.invitations == [] and view.seats_used == 2
    # Single use.
    with pytest.raises(NotFound, match="already been used"):
        team.accept_with_new_account(_token(sent), name="x", password=PASSWORD)
    with pytest.raises(NotFound, match="not valid"):
        team.preview_invitation("not-a-token")


def test_only_owners_manage_the_team(make_org) -> None:  # noqa: ANN001
    owner = make_org("Harbor HVAC")
    admin = _join(owner, "admin@harbor.example", "admin")
    member = _join(owner, "member@harbor.example")
    for who in (admin, member):
        with pytest.raises(PermissionDenied, match="Only the shop's owner"):
            team.invite(who, email="x@harbor.example")
        with pytest.raises(PermissionDenied):
            team.change_role(who, user_id=owner.user_id, role="member")
        with pytest.raises(PermissionDenied):
            team.remove_member(who, user_id=owner.user_id)
        assert len(team.team_overview(who).members) == 3
    with pytest.raises(ValidationFailed, match="Choose a role"):
        team.invite(owner, email="x@harbor.example", role="owner")


def test_seat_limit_when_inviting_and_again_when_accepting(make_org) -> None:  # noqa: ANN001
    owner = make_org("Small Shop")
    _set_seats(owner.org_id, 3)
    first = team.invite(owner, email="a@small.example")
    team.invite(owner, email="b@small.example")
    with pytest.raises(LimitReached) as err:
        team.invite(owner, email="c@small.example")
    assert err.value.user_message == (
        "All 3 seats are in use: remove a member or revoke an invitation first."
    )
    # Re-inviting a pending address takes no new seat (its link is replaced).
    again = team.invite(owner, email="a@small.example")
    assert again.invitation.id == first.invitation.id and again.link != first.link
    with pytest.raises(NotFound, match="not valid"):
        team.preview_invitation(_token(first))
    # Revoking frees the seat.
    team.revoke_invitation(owner, invitation_id=again.invitation.id)
    with pytest.raises(NotFound, match="withdrawn"):
        team.preview_invitation(_token(again))
    third = team.invite(owner, email="c@small.example")
    # The plan shrinks (billing lowers the limit) before they accept: refused when accepting.
    _set_seats(owner.org_id, 2)
    with pytest.raises(LimitReached, match="All 2 seats of Small Shop are in use"):
        team.accept_with_new_account(_token(third), name="C", password=PASSWORD)
    _set_seats(owner.org_id, 3)
    joined = team.accept_with_new_account(_token(third), name="C", password=PASSWORD)
    assert joined.org_id == owner.org_id


def test_expired_invitations_free_their_seat_and_resend_renews(make_org) -> None:  # noqa: ANN001
    owner = make_org("Harbor HVAC")
    sent = team.invite(owner, email="late@harbor.example")
    with system_session_scope() as s:
        row = s.exec(select(Invitation)).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        s.add(row)
    with pytest.raises(NotFound, match="expired"):
        team.accept_with_new_account(_token(sent), name="Late", password=PASSWORD)
    assert team.team_overview(owner).seats_used == 1
    renewed = team.resend_invitation(owner, invitation_id=sent.invitation.id)
    assert renewed.invitation.expires_at > utcnow() + timedelta(days=6)
    assert team.accept_with_new_account(_token(renewed), name="Late", password=PASSWORD)


def test_an_existing_user_signs_in_to_join_and_belongs_to_both(make_org) -> None:  # noqa: ANN001
    first = make_org("First Shop", email="pat@pat.example")
    second = make_org("Second Shop")
    sent = team.invite(second, email="PAT@pat.example")
    assert team.preview_invitation(_token(sent)).has_account
    with pytest.raises(ValidationFailed, match="already exists"):
        team.accept_with_new_account(_token(sent), name="Pat", password=PASSWORD)
    with pytest.raises(AuthError, match="Incorrect email or password"):
        team.accept_with_password(_token(sent), email="pat@pat.example", password="wrong pass 1")
    joined = team.accept_with_password(_token(sent), email="pat@pat.example", password=PASSWORD)
    assert (joined.user_id, joined.org_id, joined.role) == (first.user_id, second.org_id, "member")
    assert [o.name for o in team.my_organizations(joined)] == ["First Shop", "Second Shop"]


def test_the_invitation_is_for_its_email_only(make_org) -> None:  # noqa: ANN001
    owner = make_org("Harbor HVAC")
    other = make_org("Elsewhere", email="someone@else.example")
    sent = team.invite(owner, email="invited@harbor.example")
    with pytest.raises(ValidationFailed, match="for invited@harbor.example"):
        team.accept_with_password(_token(sent), email="someone@else.example", password=PASSWORD)
    with pytest.raises(ValidationFailed, match="signed in as someone@else.example"):
        team.accept_signed_in(_token(sent), other)
    # Still usable by the right person.
    assert team.accept_with_new_account(_token(sent), name="I", password=PASSWORD)


def test_a_signed_in_user_accepts_and_switches(make_org) -> None:  # noqa: ANN001
    alex = make_org("Alex Garage", email="alex@garage.example")
    shop = make_org("Big Shop")
    sent = team.invite(shop, email="alex@garage.example", role="admin")
    joined = team.accept_signed_in(_token(sent), alex)
    assert (joined.org_id, joined.role) == (shop.org_id, "admin")
    token = sessions.issue_session(alex)
    switched = team.switch_organization(token, alex, org_id=shop.org_id)
    assert (switched.org_id, switched.role) == (shop.org_id, "admin")
    assert sessions.principal_from_session(token).org_id == shop.org_id  # type: ignore[union-attr]
    # An organization the user is not in: refused like a missing one.
    stranger = make_org("Stranger")
    for org_id in (stranger.org_id, 999_999):
        with pytest.raises(NotFound, match="That organization was not found."):
            team.switch_organization(token, alex, org_id=org_id)
    assert sessions.principal_from_session(token).org_id == shop.org_id  # type: ignore[union-attr]
    # Signing in lands in the organization last worked in.
    assert local.sign_in(email="alex@garage.example", password=PASSWORD).org_id == shop.org_id


def test_role_changes_and_removal_take_effect_on_open_sessions(make_org) -> None:  # noqa: ANN001
    owner = make_org("Harbor HVAC")
    tech = _join(owner, "tech@harbor.example", "admin")
    tech_token = sessions.issue_session(tech)
    with system_session_scope() as s:
        s.add(Conversation(org_id=owner.org_id, user_id=tech.user_id, title="their question"))

    team.change_role(owner, user_id=tech.user_id, role="member")
    assert sessions.principal_from_session(tech_token).role == "member"  # type: ignore[union-attr]

    team.remove_member(owner, user_id=tech.user_id)
    assert sessions.principal_from_session(tech_token) is None
    assert [m.email for m in team.team_overview(owner).members] == [owner.email]
    with system_session_scope() as s:  # their conversations stay with the organization
        (kept,) = s.exec(select(Conversation)).all()
        assert kept.org_id == owner.org_id and kept.title == "their question"
    with pytest.raises(NotFound, match="not a member"):
        team.remove_member(owner, user_id=tech.user_id)
    # Their account still exists: signing in now says they belong nowhere.
    with pytest.raises(AuthError, match="not part of any organization"):
        local.sign_in(email="tech@harbor.example", password=PASSWORD)


def test_an_organization_always_keeps_an_owner(make_org) -> None:  # noqa: ANN001
    owner = make_org("Harbor HVAC")
    with pytest.raises(ValidationFailed, match="at least one owner"):
        team.change_role(owner, user_id=owner.user_id, role="admin")
    with pytest.raises(ValidationFailed, match="at least one owner"):
        team.remove_member(owner, user_id=owner.user_id)
    heir = _join(owner, "heir@harbor.example")
    team.transfer_ownership(owner, user_id=heir.user_id)
    view = {m.email: m.role for m in team.team_overview(heir).members}
    assert view == {owner.email: "admin", "heir@harbor.example": "owner"}
    demoted = sessions.principal_from_session(sessions.issue_session(owner))
    with pytest.raises(PermissionDenied):
        team.invite(demoted, email="x@harbor.example")  # type: ignore[arg-type]
    # Two owners: either may step down.
    heir_now = sessions.principal_from_session(sessions.issue_session(heir))
    team.change_role(heir_now, user_id=owner.user_id, role="owner")  # type: ignore[arg-type]
    team.change_role(heir_now, user_id=heir.user_id, role="member")  # type: ignore[arg-type]


def test_another_organizations_ids_look_missing(make_org) -> None:  # noqa: ANN001
    a = make_org("Alpha")
    b = make_org("Bravo")
    a_member = _join(a, "m@alpha.example")
    a_invite = team.invite(a, email="pending@alpha.example")
    with pytest.raises(NotFound) as missing_member:
        team.change_role(b, user_id=999_999, role="admin")
    with pytest.raises(NotFound) as foreign_member:
        team.change_role(b, user_id=a_member.user_id, role="admin")
    assert foreign_member.value.user_message == missing_member.value.user_message
    with pytest.raises(NotFound) as foreign_invite:
        team.revoke_invitation(b, invitation_id=a_invite.invitation.id)
    with pytest.raises(NotFound) as missing_invite:
        team.revoke_invitation(b, invitation_id=999_999)
    assert foreign_invite.value.user_message == missing_invite.value.user_message
    with pytest.raises(NotFound):
        team.resend_invitation(b, invitation_id=a_invite.invitation.id)
    with pytest.raises(NotFound):
        team.remove_member(b, user_id=a.user_id)
    # Nothing of A changed, and B's page shows none of it.
    assert {m.email for m in team.team_overview(a).members} == {a.email, "m@alpha.example"}
    assert team.team_overview(a).invitations[0].email == "pending@alpha.example"
    view = team.team_overview(b)
    assert [m.email for m in view.members] == [b.email] and view.invitations == []
    # Inviting A's member into B is an ordinary invitation (it says nothing about A).
    assert team.invite(b, email="m@alpha.example").invitation.email == "m@alpha.example"


def test_account_name_password_and_sign_out_everywhere(make_org) -> None:  # noqa: ANN001
    owner = make_org("Harbor HVAC", email="kim@harbor.example")
    here = sessions.issue_session(owner)
    there = sessions.issue_session(owner)
    assert account.update_name(owner, name="  Kim   Lee ") == "Kim Lee"
    assert account.get_account(owner).name == "Kim Lee"
    with pytest.raises(AuthError, match="current password is not correct"):
        account.change_password(owner, current="nope nope 1", new="new password 9", keep_token=here)
    with pytest.raises(ValidationFailed, match="at least 8"):
        account.change_password(owner, current=PASSWORD, new="short", keep_token=here)
    ended = account.change_password(owner, current=PASSWORD, new="new password 9", keep_token=here)
    assert ended == 1
    assert sessions.principal_from_session(here) is not None
    assert sessions.principal_from_session(there) is None
    assert local.sign_in(email="kim@harbor.example", password="new password 9")
    # Sign out everywhere: every session of this user, in every organization.
    other_org = make_org("Other")
    team.accept_signed_in(_token(team.invite(other_org, email="kim@harbor.example")), owner)
    elsewhere = sessions.issue_session(
        local.sign_in(email="kim@harbor.example", password="new password 9")
    )
    assert account.sign_out_everywhere(owner) == 2
    assert sessions.principal_from_session(here) is None
    assert sessions.principal_from_session(elsewhere) is None


def test_idle_sessions_end_and_dead_sessions_are_purged(make_org, monkeypatch) -> None:  # noqa: ANN001
    from techdocs_app.db.models import AuthSession

    owner = make_org("Harbor HVAC")
    active = sessions.issue_session(owner)
    idle = sessions.issue_session(owner)
    expired = sessions.issue_session(owner)
    revoked = sessions.issue_session(owner)
    sessions.revoke_session(revoked)
    now = utcnow()
    with system_session_scope() as s:
        for row in s.exec(select(AuthSession)):
            if row.token_hash == sessions.token_hash(idle):
                row.last_seen_at = now - timedelta(days=8)  # the default idle timeout is 7 days
            if row.token_hash == sessions.token_hash(expired):
                row.expires_at = now - timedelta(seconds=1)
            s.add(row)
    assert sessions.principal_from_session(active) is not None
    assert sessions.principal_from_session(idle) is None
    assert sessions.principal_from_session(expired) is None
    assert sessions.purge_expired_sessions() == 3
    with system_session_scope() as s:
        assert [r.token_hash for r in s.exec(select(AuthSession))] == [sessions.token_hash(active)]


def test_use_is_recorded_as_last_active(make_org) -> None:  # noqa: ANN001
    owner = make_org("Harbor HVAC")
    token = sessions.issue_session(owner)
    (me,) = team.team_overview(owner).members
    assert me.last_active_at is not None
    from techdocs_app.db.models import AuthSession, Membership

    old = utcnow() - timedelta(hours=3)
    with system_session_scope() as s:
        for row in s.exec(select(AuthSession)):
            row.last_seen_at = old
            s.add(row)
        for m in s.exec(select(Membership)):
            m.last_active_at = old
            s.add(m)
    assert sessions.principal_from_session(token) is not None
    (me,) = team.team_overview(owner).members
    assert me.last_active_at is not None and me.last_active_at > old + timedelta(hours=2)


def test_the_seat_limit_changes_in_one_place(make_org, capsys) -> None:  # noqa: ANN001
    """`team.set_seat_limit` (billing's plan, `accounts seats`): lowering it keeps the members
    and refuses the next invitation with the seat message; raising it lets invitations in."""
    from techdocs_app.__main__ import main

    owner = make_org("Plan Garage")
    _join(owner, "one@plan.example")
    assert team.set_seat_limit(owner.org_id, 2) is False  # local accounts: nothing to tell Clerk
    with pytest.raises(LimitReached, match="All 2 seats are in use"):
        team.invite(owner, email="two@plan.example")
    assert main(["accounts", "seats", "--org", "Plan Garage", "--limit", "1"]) == 0
    assert "Plan Garage: seat limit 1" in capsys.readouterr().out
    view = team.team_overview(owner)
    assert (view.seats_used, view.seat_limit) == (2, 1)  # nobody is pushed out
    assert main(["accounts", "seats", "--org", "Plan Garage", "--limit", "3"]) == 0
    team.invite(owner, email="two@plan.example")
    assert main(["accounts", "seats", "--org", "Nowhere Garage", "--limit", "3"]) == 2
    with pytest.raises(ValidationFailed, match="from 1 to"):
        team.set_seat_limit(owner.org_id, 100_000)
    with pytest.raises(NotFound):
        team.set_seat_limit(987_654_321, 3)
