"""/team: who is in the shop, seats, invitations. Everyone sees the members; owners manage."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.team import (
    clerk_waiting_notice,
    invitation_row,
    invite_form,
    member_row,
    new_link,
    refusal_row,
    seats_meter,
)
from techdocs_app.pages.frame import signed_in_frame
from techdocs_app.state.team import TeamState

ROUTE = "/team"
TITLE = "Team · TechDocs AI"


def _manage() -> rx.Component:
    return rx.vstack(
        new_link(
            TeamState.link, TeamState.link_email, TeamState.link_emailed, TeamState.dismiss_link
        ),
        invite_form(
            on_submit=TeamState.invite,
            role=TeamState.invite_role,
            on_role=TeamState.set_invite_role,
            error=TeamState.invite_error,
            busy=TeamState.inviting,
            ready=TeamState.is_hydrated,
        ),
        spacing="3",
        width="100%",
        class_name="td-card",
    )


def _invitations() -> rx.Component:
    return rx.cond(
        TeamState.invitations.length() > 0,
        rx.vstack(
            rx.heading("Pending invitations", size="5", as_="h2"),
            rx.foreach(
                TeamState.invitations,
                lambda invitation: invitation_row(
                    invitation,
                    can_manage=TeamState.can_manage,
                    on_resend=TeamState.resend,
                    on_revoke=TeamState.revoke,
                ),
            ),
            spacing="3",
            width="100%",
        ),
    )


def _members() -> rx.Component:
    return rx.vstack(
        rx.heading("Members", size="5", as_="h2"),
        rx.foreach(
            TeamState.members,
            lambda member: member_row(
                member,
                can_manage=TeamState.can_manage,
                on_role=TeamState.change_role,
                on_remove=TeamState.remove_member,
                on_transfer=TeamState.transfer_ownership,
            ),
        ),
        spacing="3",
        width="100%",
        class_name="td-member-list",
    )


def _api_keys_pointer() -> rx.Component:
    """API keys act for the team's software; they are created and revoked on Settings."""
    return rx.box(
        rx.vstack(
            rx.heading("API keys", size="5", as_="h2"),
            rx.text(
                "Your shop's other software asks the manuals with an API key. Owners and "
                "admins create and revoke keys on Settings.",
                size="3",
            ),
            rx.link("Manage API keys on Settings", href="/settings", size="3"),
            spacing="2",
            width="100%",
        ),
        class_name="td-card",
        width="100%",
    )


def team_page() -> rx.Component:
    return signed_in_frame(
        rx.vstack(
            rx.heading("Team", size="7", as_="h1"),
            rx.text(
                "Everyone in your shop who can ask about its manuals.",
                size="3",
                class_name="td-muted",
            ),
            rx.cond(
                TeamState.loaded,
                rx.vstack(
                    rx.box(
                        seats_meter(
                            TeamState.seats_label, TeamState.seats_used, TeamState.seat_limit
                        ),
                        class_name="td-card",
                        width="100%",
                    ),
                    rx.foreach(
                        TeamState.refusals,
                        lambda refusal: refusal_row(
                            refusal,
                            can_manage=TeamState.can_manage,
                            on_grant=TeamState.grant_seat,
                            on_dismiss=TeamState.dismiss_refusal,
                        ),
                    ),
                    rx.cond(
                        TeamState.clerk_waiting.length() > 0,
                        clerk_waiting_notice(TeamState.clerk_waiting),
                    ),
                    rx.cond(TeamState.can_manage, _manage()),
                    _members(),
                    _invitations(),
                    rx.cond(TeamState.can_manage_keys, _api_keys_pointer()),
                    spacing="4",
                    width="100%",
                ),
                rx.center(rx.spinner(size="3"), width="100%", padding="24px"),
            ),
            spacing="4",
            width="100%",
        ),
        active_route=ROUTE,
    )
