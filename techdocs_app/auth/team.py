"""Teams: members, roles, invitations, seats, accepting, several organizations per user.

Every function that acts inside an organization takes the signed-in `Principal` first, checks the
permission table (`require`) and runs scoped to `principal.org_id`; an id from another
organization is indistinguishable from a missing one (`NotFound`, same message).

Seats: members plus pending invitations (not accepted, revoked or expired) count against the
organization's `seat_limit`, checked when inviting and again when accepting, with the
organization row locked so two invitations cannot take the last seat together.

Accepting (`/invite/<token>`) happens before the invitee has a session in the organization, so
the invitation is looked up by the sha256 of its token on the owner connection
(`system_session_scope`), in the functions at the bottom of this module only.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from techdocs_app.auth import Principal, local, mailer, sessions
from techdocs_app.auth.modes import clerk_mode
from techdocs_app.auth.permissions import ROLES, Action, require
from techdocs_app.db import accounts, clerk_mirrors
from techdocs_app.db.engine import session_scope, system_session_scope
from techdocs_app.db.models import Invitation, Membership, Organization, User, utcnow
from techdocs_app.errors import LimitReached, NotFound, TechDocsError, ValidationFailed
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

INVITE_ROUTE = "/invite"
INVITABLE_ROLES = ("admin", "member")
"""Invitations make admins or members; ownership is given to someone already in the team."""

MEMBER_NOT_FOUND = "That person is not a member of this shop. Refresh the page and try again."
INVITATION_NOT_FOUND = "That invitation was not found. Refresh the page and try again."
INVITATION_INVALID = (
    "This invitation link is not valid. Ask your shop's owner to send you a new one."
)
INVITATION_EXPIRED = "This invitation has expired. Ask your shop's owner to send you a new one."
INVITATION_USED = "This invitation has already been used. Sign in to continue."
INVITATION_REVOKED = "This invitation was withdrawn. Ask your shop's owner for a new one."
LAST_OWNER = "The shop needs at least one owner: make someone else an owner first."


def seats_full_message(limit: int) -> str:
    return f"All {limit} seats are in use: remove a member or revoke an invitation first."


def seats_full_for_invitee(limit: int, org_name: str) -> str:
    return (
        f"All {limit} seats of {org_name} are in use. Ask the shop's owner to free a seat, "
        "then open this link again."
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token: str) -> str:
    return f"{get_settings().app_url.rstrip('/')}{INVITE_ROUTE}/{token}"


# ---- views ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    user_id: int
    name: str
    email: str
    role: str
    joined_at: datetime
    last_active_at: datetime | None
    is_you: bool


@dataclass(frozen=True)
class InvitationView:
    id: int
    email: str
    role: str
    created_at: datetime
    expires_at: datetime
    last_sent_at: datetime | None


@dataclass(frozen=True)
class SeatRefusalView:
    user_id: int
    name: str
    email: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class ClerkWaitView:
    """A Team-page change Clerk has not confirmed yet (Clerk mode): it stands here, and is sent
    to Clerk again automatically (`db.clerk_mirrors`)."""

    email: str
    change: str
    """"removal", or the role given ("admin")."""
    attempts: int


@dataclass(frozen=True)
class TeamView:
    org_name: str
    seat_limit: int
    members: list[MemberView]
    invitations: list[InvitationView]
    refusals: list[SeatRefusalView] = field(default_factory=list)
    waiting_for_clerk: list[ClerkWaitView] = field(default_factory=list)

    @property
    def seats_used(self) -> int:
        return len(self.members) + len(self.invitations)


@dataclass(frozen=True)
class InvitationSent:
    invitation: InvitationView
    link: str
    """Shown once with "Copy link": only the token's hash is stored."""
    emailed: bool


def _invitation_view(row: Invitation) -> InvitationView:
    assert row.id is not None
    return InvitationView(
        id=row.id,
        email=row.email,
        role=row.role,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_sent_at=row.last_sent_at,
    )


# ---- reading --------------------------------------------------------------------------------


def team_overview(principal: Principal) -> TeamView:
    """Everyone in the organization sees its members; the rest is for the owners' buttons."""
    require(principal, Action.VIEW_TEAM)
    now = utcnow()
    with session_scope(org_id=principal.org_id) as session:
        org = accounts.get_org(session, org_id=principal.org_id)
        if org is None:
            raise NotFound("This organization no longer exists.")
        members = [
            MemberView(
                user_id=m.user_id,
                name=m.name,
                email=m.email,
                role=m.role,
                joined_at=m.joined_at,
                last_active_at=m.last_active_at,
                is_you=m.user_id == principal.user_id,
            )
            for m in accounts.list_members(session, org_id=principal.org_id)
        ]
        invitations = [
            _invitation_view(i)
            for i in accounts.list_pending_invitations(session, org_id=principal.org_id, now=now)
        ]
        refusals = [
            SeatRefusalView(
                user_id=user.id,  # type: ignore[arg-type]
                name=user.name,
                email=user.email,
                role=refusal.role,
                created_at=refusal.created_at,
            )
            for refusal, user in accounts.list_seat_refusals(session, org_id=principal.org_id)
        ]
        # Only what Clerk refused at least once: a change at 0 attempts is being sent right now.
        wishes = (
            [
                w
                for w in clerk_mirrors.pending_for_org(session, org_id=principal.org_id)
                if w.attempts > 0
            ]
            if clerk_mode()
            else []
        )
        waiting = [
            ClerkWaitView(
                email=w.email, change="removal" if w.role is None else w.role, attempts=w.attempts
            )
            for w in wishes
        ]
        return TeamView(
            org_name=org.name,
            seat_limit=org.seat_limit,
            members=members,
            invitations=invitations,
            refusals=refusals,
            waiting_for_clerk=waiting,
        )


def seats_in_use(session: Session, *, org_id: int, now: datetime) -> int:
    return accounts.count_members(session, org_id=org_id) + accounts.count_pending_invitations(
        session, org_id=org_id, now=now
    )


# ---- inviting -------------------------------------------------------------------------------


def _clean_role(role: str, allowed: tuple[str, ...] = ROLES) -> str:
    role = (role or "").strip().lower()
    if role not in allowed:
        raise ValidationFailed("Choose a role: " + ", ".join(allowed) + ".")
    return role


def _new_token(invitation: Invitation, days: int, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _token_hash(token)
    invitation.expires_at = now + timedelta(days=days)
    return token


def _send(principal: Principal, invitation: Invitation, link: str) -> bool:
    emailed = mailer.send_invitation(
        to=invitation.email,
        org_name=principal.org_name,
        inviter=principal.email,
        role=invitation.role,
        link=link,
        days=get_settings().invitation_days,
    )
    if emailed:
        with session_scope(org_id=principal.org_id) as session:
            row = accounts.get_invitation(
                session,
                org_id=principal.org_id,
                invitation_id=invitation.id,  # type: ignore[arg-type]
            )
            if row is not None:
                row.last_sent_at = utcnow()
                session.add(row)
                invitation.last_sent_at = row.last_sent_at
    return emailed


def invite(principal: Principal, *, email: str, role: str = "member") -> InvitationSent:
    """A single-use invitation link for `email` as `role` (valid INVITATION_DAYS), emailed when
    SMTP is configured. Inviting an address that already has a pending invitation replaces its
    link (the old one stops working) without taking another seat."""
    require(principal, Action.MANAGE_TEAM)
    email = local.clean_email(email)
    role = _clean_role(role, INVITABLE_ROLES)
    days = get_settings().invitation_days
    now = utcnow()
    with session_scope(org_id=principal.org_id) as session:
        org = accounts.lock_org(session, org_id=principal.org_id)
        if org is None:
            raise NotFound("This organization no longer exists.")
        existing_user = accounts.get_user_by_email(session, email=email)
        if existing_user is not None and accounts.get_membership(
            session,
            org_id=principal.org_id,
            user_id=existing_user.id,  # type: ignore[arg-type]
        ):
            raise ValidationFailed(f"{email} is already a member of this shop.")
        invitation = accounts.pending_invitation_for_email(
            session, org_id=principal.org_id, email=email, now=now
        )
        if invitation is None:
            if seats_in_use(session, org_id=principal.org_id, now=now) >= org.seat_limit:
                raise LimitReached(seats_full_message(org.seat_limit))
            invitation = Invitation(
                org_id=principal.org_id,
                email=email,
                role=role,
                token_hash="",
                invited_by=principal.user_id,
                expires_at=now,
            )
        invitation.role = role
        invitation.invited_by = principal.user_id
        token = _new_token(invitation, days, now)
        session.add(invitation)
        session.flush()
    link = invitation_link(token)
    emailed = _send(principal, invitation, link)
    log.info("invitation %s created in org %s", invitation.id, principal.org_id)
    return InvitationSent(invitation=_invitation_view(invitation), link=link, emailed=emailed)


def resend_invitation(principal: Principal, *, invitation_id: int) -> InvitationSent:
    """A fresh link (the previous one stops working) and a fresh expiry, emailed again."""
    require(principal, Action.MANAGE_TEAM)
    now = utcnow()
    with session_scope(org_id=principal.org_id) as session:
        invitation = accounts.get_invitation(
            session, org_id=principal.org_id, invitation_id=int(invitation_id)
        )
        if invitation is None or invitation.accepted_at or invitation.revoked_at:
            raise NotFound(INVITATION_NOT_FOUND)
        if invitation.expires_at <= now:
            # An expired invitation gave its seat back: taking it again needs a free seat.
            org = accounts.lock_org(session, org_id=principal.org_id)
            assert org is not None
            if seats_in_use(session, org_id=principal.org_id, now=now) >= org.seat_limit:
                raise LimitReached(seats_full_message(org.seat_limit))
        token = _new_token(invitation, get_settings().invitation_days, now)
        session.add(invitation)
    link = invitation_link(token)
    emailed = _send(principal, invitation, link)
    return InvitationSent(invitation=_invitation_view(invitation), link=link, emailed=emailed)


def revoke_invitation(principal: Principal, *, invitation_id: int) -> None:
    """The link stops working and the seat is free again."""
    require(principal, Action.MANAGE_TEAM)
    with session_scope(org_id=principal.org_id) as session:
        invitation = accounts.get_invitation(
            session, org_id=principal.org_id, invitation_id=int(invitation_id)
        )
        if invitation is None or invitation.accepted_at or invitation.revoked_at:
            raise NotFound(INVITATION_NOT_FOUND)
        invitation.revoked_at = utcnow()
        session.add(invitation)


# ---- managing members -----------------------------------------------------------------------


def _member(session: Session, principal: Principal, user_id: int) -> Membership:
    membership = accounts.get_membership(session, org_id=principal.org_id, user_id=int(user_id))
    if membership is None:
        raise NotFound(MEMBER_NOT_FOUND)
    return membership


def change_role(principal: Principal, *, user_id: int, role: str) -> None:
    """Takes effect on that person's open sessions at once (each request re-reads the role)."""
    require(principal, Action.MANAGE_TEAM)
    role = _clean_role(role)
    with session_scope(org_id=principal.org_id) as session:
        accounts.lock_org(session, org_id=principal.org_id)
        membership = _member(session, principal, user_id)
        if membership.role == role:
            return
        if (
            membership.role == "owner"
            and accounts.count_owners(session, org_id=principal.org_id) <= 1
        ):
            raise ValidationFailed(LAST_OWNER)
        accounts.set_role(session, org_id=principal.org_id, user_id=int(user_id), role=role)
        _want_in_clerk(session, principal.org_id, int(user_id), role)
    log.info("role of user %s in org %s -> %s", user_id, principal.org_id, role)
    _mirror_change(principal.org_id, int(user_id))


def transfer_ownership(principal: Principal, *, user_id: int) -> None:
    """Make another member the owner; the current owner becomes an admin."""
    require(principal, Action.MANAGE_TEAM)
    if int(user_id) == principal.user_id:
        raise ValidationFailed("You are already an owner of this shop.")
    with session_scope(org_id=principal.org_id) as session:
        accounts.lock_org(session, org_id=principal.org_id)
        _member(session, principal, user_id)
        accounts.set_role(session, org_id=principal.org_id, user_id=int(user_id), role="owner")
        accounts.set_role(session, org_id=principal.org_id, user_id=principal.user_id, role="admin")
        _want_in_clerk(session, principal.org_id, int(user_id), "owner")
    _mirror_change(principal.org_id, int(user_id))


def remove_member(principal: Principal, *, user_id: int) -> None:
    """Their sessions in this organization end at once; their conversations stay with it."""
    require(principal, Action.MANAGE_TEAM)
    with session_scope(org_id=principal.org_id) as session:
        accounts.lock_org(session, org_id=principal.org_id)
        membership = _member(session, principal, user_id)
        if (
            membership.role == "owner"
            and accounts.count_owners(session, org_id=principal.org_id) <= 1
        ):
            raise ValidationFailed(LAST_OWNER)
        _want_in_clerk(session, principal.org_id, int(user_id), None)  # while still visible
        accounts.delete_membership(session, org_id=principal.org_id, user_id=int(user_id))
        accounts.revoke_user_sessions(session, user_id=int(user_id), org_id=principal.org_id)
    log.info("user %s removed from org %s", user_id, principal.org_id)
    _mirror_change(principal.org_id, int(user_id))


def _want_in_clerk(session: Session, org_id: int, user_id: int, role: str | None) -> None:
    """Clerk mode: record, with the change itself, what Clerk must be told (`db.clerk_mirrors`).
    Until Clerk has applied it, Clerk's own word (a session token, a webhook) cannot undo ours."""
    if clerk_mode():
        user = accounts.get_user(session, user_id=user_id)
        email = user.email if user is not None else ""
        clerk_mirrors.want(session, org_id=org_id, user_id=user_id, role=role, email=email)


def _mirror_change(org_id: int, user_id: int) -> None:
    """Clerk mode: tell Clerk now. When it does not answer, the change stands here and the
    maintenance task `push-clerk-mirrors` tells it later (logged in `clerk`)."""
    if clerk_mode():
        from techdocs_app.auth import clerk

        clerk.mirror_membership(org_id, user_id)


# ---- the seat limit -------------------------------------------------------------------------

MAX_SEAT_LIMIT = 1000


def set_seat_limit(org_id: int, seat_limit: int) -> bool:
    """The one way an organization's seat limit changes (the billing plan, an operator).

    Maintenance by organization id (owner connection). The row changes first; then, in Clerk
    mode, Clerk's `max_allowed_memberships` is set to the same number through the Backend API,
    so Clerk stops offering seats we would refuse. Clerk failing raises `ProviderError` after our
    row has changed: calling again (a webhook's retry) pushes again. Members beyond a lowered
    limit stay; new invitations and joins wait for a free seat. Returns whether Clerk was told.
    """
    if not 1 <= int(seat_limit) <= MAX_SEAT_LIMIT:
        raise ValidationFailed(f"A seat limit is a number from 1 to {MAX_SEAT_LIMIT}.")
    with system_session_scope() as session:
        org = accounts.lock_org(session, org_id=int(org_id))
        if org is None:
            raise NotFound("That organization was not found.")
        previous = org.seat_limit
        org.seat_limit = int(seat_limit)
        session.add(org)
    log.info("seat limit of org %s: %s -> %s", org_id, previous, seat_limit)
    if not clerk_mode():
        return False
    from techdocs_app.auth import clerk

    return clerk.sync_seat_limit(int(org_id))


# ---- seats Clerk asked for while every seat was taken ----------------------------------------

REFUSAL_NOT_FOUND = "That request was not found. Refresh the page and try again."


def grant_refused_seat(principal: Principal, *, user_id: int) -> None:
    """Give the seat someone was refused, now that one is free."""
    require(principal, Action.MANAGE_TEAM)
    now = utcnow()
    with session_scope(org_id=principal.org_id) as session:
        org = accounts.lock_org(session, org_id=principal.org_id)
        refusal = accounts.get_seat_refusal(session, org_id=principal.org_id, user_id=int(user_id))
        if org is None or refusal is None:
            raise NotFound(REFUSAL_NOT_FOUND)
        if seats_in_use(session, org_id=principal.org_id, now=now) >= org.seat_limit:
            raise LimitReached(seats_full_message(org.seat_limit))
        session.add(Membership(org_id=principal.org_id, user_id=int(user_id), role=refusal.role))
        session.delete(refusal)


def dismiss_refusal(principal: Principal, *, user_id: int) -> None:
    require(principal, Action.MANAGE_TEAM)
    with session_scope(org_id=principal.org_id) as session:
        refusal = accounts.get_seat_refusal(session, org_id=principal.org_id, user_id=int(user_id))
        if refusal is None:
            raise NotFound(REFUSAL_NOT_FOUND)
        session.delete(refusal)


# ---- several organizations ------------------------------------------------------------------


def my_organizations(principal: Principal) -> list[accounts.OrgChoice]:
    """The organizations the signed-in user belongs to (for the switcher)."""
    with system_session_scope() as session:
        return accounts.organizations_of_user(session, user_id=principal.user_id)


def switch_organization(token: str | None, principal: Principal, *, org_id: int) -> Principal:
    """Point this browser's session at another of the user's organizations."""
    if not sessions.switch_session_organization(token, principal, org_id=org_id):
        raise NotFound("That organization was not found.")
    switched = sessions.principal_from_session(token)
    if switched is None:
        raise NotFound("That organization was not found.")
    return switched


# ---- accepting (identity: before the invitee is in the organization) ------------------------


@dataclass(frozen=True)
class InvitationPreview:
    org_name: str
    email: str
    role: str
    has_account: bool
    """An account exists for the invited email: sign in to join, rather than sign up."""


def _check_usable(invitation: Invitation | None, now: datetime) -> Invitation:
    if invitation is None:
        raise NotFound(INVITATION_INVALID)
    if invitation.revoked_at is not None:
        raise NotFound(INVITATION_REVOKED)
    if invitation.accepted_at is not None:
        raise NotFound(INVITATION_USED)
    if invitation.expires_at <= now:
        raise NotFound(INVITATION_EXPIRED)
    return invitation


def _lookup(session: Session, token: str, *, lock: bool = False) -> Invitation | None:
    if not token or len(token) > 200:
        return None
    return accounts.invitation_by_token_hash(session, token_hash=_token_hash(token), lock=lock)


def preview_invitation(token: str) -> InvitationPreview:
    """What `/invite/<token>` shows: the shop, the email and the role (or why it is not valid)."""
    now = utcnow()
    with system_session_scope() as session:
        invitation = _check_usable(_lookup(session, token), now)
        org = accounts.get_org(session, org_id=invitation.org_id)
        assert org is not None
        user = accounts.get_user_by_email(session, email=invitation.email)
        return InvitationPreview(
            org_name=org.name,
            email=invitation.email,
            role=invitation.role,
            has_account=user is not None and bool(user.password_hash),
        )


def _join(session: Session, invitation: Invitation, user: User, now: datetime) -> Principal:
    """Add `user` to the invitation's organization (seat check again) and use the invitation."""
    assert user.id is not None and invitation.id is not None
    org = session.get(Organization, invitation.org_id, with_for_update=True)
    assert org is not None and org.id is not None
    membership = accounts.get_membership(session, org_id=org.id, user_id=user.id)
    if membership is None:
        others = accounts.count_members(
            session, org_id=org.id
        ) + accounts.count_pending_invitations(
            session, org_id=org.id, now=now, excluding_id=invitation.id
        )
        if others >= org.seat_limit:
            raise LimitReached(seats_full_for_invitee(org.seat_limit, org.name))
        membership = Membership(org_id=org.id, user_id=user.id, role=invitation.role)
        session.add(membership)
    # Invited back after a removal Clerk had not applied yet: that removal is moot now.
    clerk_mirrors.forget(session, org_id=org.id, user_id=user.id)
    invitation.accepted_at = now
    invitation.accepted_by = user.id
    session.add(invitation)
    session.flush()
    log.info("invitation %s accepted: user %s joined org %s", invitation.id, user.id, org.id)
    return Principal(
        user_id=user.id,
        org_id=org.id,
        role=membership.role,
        email=user.email,
        org_name=org.name,
    )


def accept_with_new_account(token: str, *, name: str, password: str) -> Principal:
    """Sign up with the invited email and join the organization."""
    local.check_password(password)
    name = local.clean_name(name)
    now = utcnow()
    try:
        with system_session_scope() as session:
            invitation = _check_usable(_lookup(session, token, lock=True), now)
            if accounts.get_user_by_email(session, email=invitation.email) is not None:
                raise ValidationFailed(
                    "An account with this email already exists: sign in below to join."
                )
            user = User(
                email=invitation.email, name=name, password_hash=local.hash_password(password)
            )
            session.add(user)
            session.flush()
            return _join(session, invitation, user, now)
    except IntegrityError as exc:
        raise ValidationFailed(
            "An account with this email already exists: sign in below to join."
        ) from exc


def accept_with_password(token: str, *, email: str, password: str) -> Principal:
    """An existing user signs in to join (the invitation's email must be theirs)."""
    now = utcnow()
    with system_session_scope() as session:
        invitation = _check_usable(_lookup(session, token, lock=True), now)
        user = local.authenticated_user(session, email=email, password=password)
        if user.email != invitation.email:
            raise ValidationFailed(
                f"This invitation is for {invitation.email}: sign in with that email."
            )
        return _join(session, invitation, user, now)


def accept_signed_in(token: str, principal: Principal) -> Principal:
    """A user already signed in (in any organization) accepts an invitation sent to their email."""
    return accept_as_user(token, user_id=principal.user_id)


def accept_as_user(token: str, *, user_id: int) -> Principal:
    """An authenticated user (a session, or a verified Clerk token) accepts an invitation sent
    to their email. In Clerk mode the membership is added in Clerk too."""
    now = utcnow()
    with system_session_scope() as session:
        invitation = _check_usable(_lookup(session, token, lock=True), now)
        user = accounts.get_user(session, user_id=user_id)
        if user is None:
            raise NotFound(INVITATION_INVALID)
        if user.email != invitation.email:
            raise ValidationFailed(
                f"This invitation is for {invitation.email}, and you are signed in as "
                f"{user.email}. Sign out, then open the link again."
            )
        joined = _join(session, invitation, user, now)
    _mirror_to_clerk(joined)
    return joined


def _mirror_to_clerk(joined: Principal) -> None:
    if not clerk_mode():
        return
    from techdocs_app.auth import clerk

    try:
        clerk.add_membership_in_clerk(joined.org_id, joined.user_id, joined.role)
    except TechDocsError:
        # The membership stands here; Clerk's own record follows at the next sign-in or
        # webhook. Logged in `clerk`.
        pass
