"""The Team page: members, seats, invitations; owners change things (checked in `auth.team`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import reflex as rx

from techdocs_app.auth import Principal, team
from techdocs_app.auth.permissions import Action, allowed
from techdocs_app.errors import LimitReached, TechDocsError
from techdocs_app.state.base import SIGN_IN_ROUTE, current_principal

ROLE_LABELS = {"owner": "Owner", "admin": "Admin", "member": "Member"}


def when_label(value: datetime | None, *, now: datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', '12 Mar 2026'; 'never' for None."""
    if value is None:
        return "never"
    now = now or datetime.now(value.tzinfo)
    seconds = (now - value).total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 24 * 3600:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 48 * 3600:
        return "yesterday"
    return f"{value.day} {value:%b %Y}"


def date_label(value: datetime) -> str:
    return f"{value.day} {value:%b %Y}"


@dataclass
class MemberItem:
    user_id: int = 0
    name: str = ""
    email: str = ""
    role: str = "member"
    role_label: str = ""
    joined: str = ""
    last_active: str = ""
    is_you: bool = False


@dataclass
class InvitationItem:
    id: int = 0
    email: str = ""
    role_label: str = ""
    expires: str = ""
    sent: str = ""


@dataclass
class RefusalItem:
    user_id: int = 0
    name: str = ""
    email: str = ""
    when: str = ""


def member_item(m: team.MemberView) -> MemberItem:
    return MemberItem(
        user_id=m.user_id,
        name=m.name or m.email.split("@")[0],
        email=m.email,
        role=m.role,
        role_label=ROLE_LABELS.get(m.role, m.role),
        joined=date_label(m.joined_at),
        last_active=when_label(m.last_active_at),
        is_you=m.is_you,
    )


def invitation_item(i: team.InvitationView) -> InvitationItem:
    return InvitationItem(
        id=i.id,
        email=i.email,
        role_label=ROLE_LABELS.get(i.role, i.role),
        expires=date_label(i.expires_at),
        sent=f"emailed {when_label(i.last_sent_at)}" if i.last_sent_at else "link only",
    )


def clerk_wait_label(w: team.ClerkWaitView) -> str:
    change = "removal" if w.change == "removal" else f"role {ROLE_LABELS.get(w.change, w.change)}"
    tries = "1 try" if w.attempts == 1 else f"{w.attempts} tries"
    return f"{w.email}: {change} (Clerk did not answer; {tries}, trying again)"


class TeamState(rx.State):
    members: list[MemberItem] = []
    invitations: list[InvitationItem] = []
    refusals: list[RefusalItem] = []
    clerk_waiting: list[str] = []
    """Team-page changes Clerk has not confirmed yet, one sentence each (Clerk mode)."""
    seats_used: int = 0
    seat_limit: int = 0
    loaded: bool = False
    can_manage: bool = False
    can_manage_keys: bool = False

    invite_role: str = "member"
    invite_error: str = ""
    inviting: bool = False
    link: str = ""
    """The last invitation link created (shown once, with Copy link)."""
    link_email: str = ""
    link_emailed: bool = False

    @rx.var
    def seats_label(self) -> str:
        return f"Seats: {self.seats_used} of {self.seat_limit} used"

    @rx.var
    def seats_full(self) -> bool:
        return self.loaded and self.seats_used >= self.seat_limit

    async def _reload(self, principal: Principal) -> None:
        view = await asyncio.to_thread(team.team_overview, principal)
        self.members = [member_item(m) for m in view.members]
        self.invitations = [invitation_item(i) for i in view.invitations]
        self.refusals = [
            RefusalItem(
                user_id=r.user_id,
                name=r.name or r.email,
                email=r.email,
                when=when_label(r.created_at),
            )
            for r in view.refusals
        ]
        self.clerk_waiting = [clerk_wait_label(w) for w in view.waiting_for_clerk]
        self.seats_used = view.seats_used
        self.seat_limit = view.seat_limit
        self.can_manage = allowed(principal.role, Action.MANAGE_TEAM)
        self.can_manage_keys = allowed(principal.role, Action.MANAGE_API_KEYS)
        self.loaded = True

    @rx.event
    async def load(self):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.link = ""
        self.invite_error = ""
        try:
            await self._reload(principal)
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        return None

    @rx.event
    def set_invite_role(self, role: str):
        self.invite_role = role if role in team.INVITABLE_ROLES else "member"

    @rx.event
    def dismiss_link(self):
        self.link = ""

    async def _act(self, action: Any, success: str | None = None, **kwargs: Any) -> Any:
        """Run one team action as the signed-in principal, then show the team again."""
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        try:
            result = await asyncio.to_thread(action, principal, **kwargs)
        except TechDocsError as exc:
            self._after_error(exc)
            await self._safe_reload(principal)
            return rx.toast.error(exc.user_message)
        await self._safe_reload(principal)
        self._after_success(result)
        return rx.toast.success(success) if success else None

    def _after_error(self, exc: TechDocsError) -> None:
        if isinstance(exc, LimitReached):
            self.invite_error = exc.user_message

    def _after_success(self, result: Any) -> None:
        if isinstance(result, team.InvitationSent):
            self.link = result.link
            self.link_email = result.invitation.email
            self.link_emailed = result.emailed
            self.invite_error = ""

    async def _safe_reload(self, principal: Principal) -> None:
        try:
            await self._reload(principal)
        except TechDocsError:
            self.loaded = False

    @rx.event
    async def invite(self, form_data: dict[str, Any]):
        if self.inviting:
            return None
        self.inviting = True
        self.invite_error = ""
        try:
            email = str(form_data.get("email", ""))[:400]
            role = str(form_data.get("role") or self.invite_role)
            principal = await current_principal(self)
            if principal is None:
                return rx.redirect(SIGN_IN_ROUTE)
            try:
                sent = await asyncio.to_thread(team.invite, principal, email=email, role=role)
            except TechDocsError as exc:
                self.invite_error = exc.user_message
                await self._safe_reload(principal)
                return None
            await self._safe_reload(principal)
            self._after_success(sent)
            return rx.set_value("invite-email", "")
        finally:
            self.inviting = False

    @rx.event
    async def resend(self, invitation_id: int):
        return await self._act(team.resend_invitation, None, invitation_id=int(invitation_id))

    @rx.event
    async def revoke(self, invitation_id: int):
        return await self._act(
            team.revoke_invitation,
            "Invitation revoked: its link no longer works.",
            invitation_id=int(invitation_id),
        )

    @rx.event
    async def change_role(self, user_id: int, role: str):
        return await self._act(
            team.change_role, "Role changed.", user_id=int(user_id), role=str(role)
        )

    @rx.event
    async def remove_member(self, user_id: int):
        return await self._act(
            team.remove_member,
            "Removed from the team. Their conversations stay with the shop.",
            user_id=int(user_id),
        )

    @rx.event
    async def transfer_ownership(self, user_id: int):
        """Make another member the owner; you become an admin (the page then shows what an
        admin sees, from the membership as it now is)."""
        result = await self._act(
            team.transfer_ownership,
            "Ownership transferred: you are now an admin.",
            user_id=int(user_id),
        )
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        await self._safe_reload(principal)
        return result

    @rx.event
    async def grant_seat(self, user_id: int):
        return await self._act(team.grant_refused_seat, "Seat granted.", user_id=int(user_id))

    @rx.event
    async def dismiss_refusal(self, user_id: int):
        return await self._act(team.dismiss_refusal, None, user_id=int(user_id))
