"""Team pieces: seats, the invite form, the new link with Copy, member and invitation rows.

Components receive Vars and event handlers, never a State. Buttons that change anything render
only when `can_manage` (the owner); the service re-checks the role on every action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from techdocs_app.components.confirm import confirm_button
from techdocs_app.components.forms import copy_and_dismiss_buttons, form_error

ROLE_CHOICES = ("member", "admin", "owner")


def seats_meter(label: rx.Var[str], used: rx.Var[int], limit: rx.Var[int]) -> rx.Component:
    return rx.vstack(
        rx.text(label, weight="bold", size="4", class_name="td-seats-label"),
        rx.progress(
            value=used,
            max=rx.cond(limit > 0, limit, 1),
            size="3",
            color_scheme=rx.cond(used >= limit, "amber", "indigo"),
            aria_label="Seats used",
        ),
        rx.text(
            "Pending invitations count toward seats.",
            size="2",
            class_name="td-muted",
        ),
        spacing="2",
        width="100%",
    )


def invite_form(
    *,
    on_submit: Any,
    role: rx.Var[str],
    on_role: Any,
    error: rx.Var[str],
    busy: rx.Var[bool],
    ready: rx.Var[bool],
) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Invite someone", size="4", as_="h2"),
            rx.flex(
                rx.vstack(
                    rx.el.label("Email", html_for="invite-email", class_name="td-label"),
                    rx.input(
                        id="invite-email",
                        name="email",
                        type="email",
                        required=True,
                        placeholder="tech@yourshop.com",
                        auto_complete="off",
                        size="3",
                        width="100%",
                    ),
                    spacing="1",
                    flex="1 1 240px",
                    min_width="0",
                ),
                rx.vstack(
                    rx.el.label("Role", html_for="invite-role", class_name="td-label"),
                    rx.select.root(
                        rx.select.trigger(id="invite-role", aria_label="Role", width="100%"),
                        rx.select.content(
                            rx.select.item("Member (asks questions)", value="member"),
                            rx.select.item("Admin (also manages manuals)", value="admin"),
                        ),
                        name="role",
                        value=role,
                        on_change=on_role,
                        size="3",
                    ),
                    spacing="1",
                    flex="1 1 200px",
                ),
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            form_error(error),
            rx.button(
                rx.icon("send", size=18),
                "Send invitation",
                type="submit",
                size="3",
                loading=busy,
                disabled=~ready,
                class_name="td-touch",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=on_submit,
        width="100%",
    )


def new_link(
    link: rx.Var[str], email: rx.Var[str], emailed: rx.Var[bool], on_dismiss: Any
) -> rx.Component:
    """The invitation link, once, with Copy link (only its hash is stored)."""
    return rx.cond(
        link != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("link")),
            rx.vstack(
                rx.text(
                    rx.cond(
                        emailed,
                        "Invitation emailed to " + email + ". You can also copy the link:",
                        "Send this link to " + email + " (it works once, for 7 days):",
                    ),
                    size="3",
                ),
                rx.code(link, class_name="td-invite-link", aria_label="Invitation link"),
                copy_and_dismiss_buttons(
                    "Copy link",
                    on_copy=[rx.set_clipboard(link), rx.toast.success("Link copied.")],
                    dismiss_label="Done",
                    on_dismiss=on_dismiss,
                ),
                spacing="2",
                width="100%",
                min_width="0",
            ),
            color_scheme="green",
            width="100%",
            class_name="td-new-link",
        ),
    )


def _role_control(
    member: rx.Var[Any], can_manage: rx.Var[bool], on_role: Callable[..., Any]
) -> rx.Component:
    return rx.cond(
        can_manage,
        rx.select.root(
            rx.select.trigger(aria_label="Role of " + member.email),
            rx.select.content(
                rx.select.item("Owner", value="owner"),
                rx.select.item("Admin", value="admin"),
                rx.select.item("Member", value="member"),
            ),
            value=member.role,
            on_change=lambda value: on_role(member.user_id, value),
            size="3",
        ),
        rx.badge(member.role_label, size="2", color_scheme="gray"),
    )


def member_row(
    member: rx.Var[Any],
    *,
    can_manage: rx.Var[bool],
    on_role: Callable[..., Any],
    on_remove: Callable[[Any], Any],
    on_transfer: Callable[[Any], Any],
) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.text(member.name, weight="bold", size="4", class_name="td-member-name"),
                    rx.cond(member.is_you, rx.badge("You", size="1", color_scheme="indigo")),
                    align="center",
                    spacing="2",
                ),
                rx.text(member.email, size="2", class_name="td-muted td-file-name"),
                rx.text(
                    "Joined " + member.joined + " · last active " + member.last_active,
                    size="2",
                    class_name="td-muted",
                ),
                spacing="1",
                min_width="0",
                flex="1 1 220px",
            ),
            rx.flex(
                _role_control(member, can_manage, on_role),
                rx.cond(
                    can_manage & ~member.is_you & (member.role != "owner"),
                    confirm_button(
                        "Make owner",
                        icon="crown",
                        title="Make " + member.email + " the owner?",
                        description=(
                            "They can then manage the team, billing and the shop's data. You "
                            "become an admin: you keep the library and API keys, but no longer "
                            "manage the team."
                        ),
                        confirm_label="Transfer ownership",
                        on_confirm=on_transfer(member.user_id),
                        color="amber",
                        aria_label="Make " + member.email + " the owner",
                    ),
                ),
                rx.cond(
                    can_manage,
                    confirm_button(
                        rx.cond(member.is_you, "Leave", "Remove"),
                        icon="user_minus",
                        title=rx.cond(
                            member.is_you, "Leave this shop?", "Remove " + member.email + "?"
                        ),
                        description=(
                            "They lose access at once, on every device. Their conversations "
                            "stay with the shop."
                        ),
                        confirm_label="Remove from team",
                        on_confirm=on_remove(member.user_id),
                        aria_label="Remove " + member.email,
                    ),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            justify="between",
            align="center",
            wrap="wrap",
            spacing="3",
            width="100%",
        ),
        class_name="td-member-row",
        data_email=member.email,
    )


def invitation_row(
    invitation: rx.Var[Any],
    *,
    can_manage: rx.Var[bool],
    on_resend: Callable[[Any], Any],
    on_revoke: Callable[[Any], Any],
) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.vstack(
                rx.text(invitation.email, weight="bold", size="3", class_name="td-file-name"),
                rx.text(
                    invitation.role_label
                    + " · expires "
                    + invitation.expires
                    + " · "
                    + invitation.sent,
                    size="2",
                    class_name="td-muted",
                ),
                spacing="1",
                min_width="0",
                flex="1 1 220px",
            ),
            rx.cond(
                can_manage,
                rx.flex(
                    rx.button(
                        rx.icon("refresh_cw", size=18),
                        "Resend",
                        variant="outline",
                        size="3",
                        on_click=on_resend(invitation.id),
                        class_name="td-touch",
                        aria_label="Resend to " + invitation.email,
                    ),
                    confirm_button(
                        "Revoke",
                        icon="x",
                        title="Revoke the invitation to " + invitation.email + "?",
                        description="Its link stops working and the seat is free again.",
                        confirm_label="Revoke invitation",
                        on_confirm=on_revoke(invitation.id),
                        aria_label="Revoke invitation to " + invitation.email,
                    ),
                    spacing="2",
                    wrap="wrap",
                ),
            ),
            justify="between",
            align="center",
            wrap="wrap",
            spacing="3",
            width="100%",
        ),
        class_name="td-invitation-row",
    )


def clerk_waiting_notice(lines: rx.Var[list[str]]) -> rx.Component:
    """Changes made here that Clerk has not confirmed: they already apply in TechDocs (a removed
    member cannot sign back in), and are sent to Clerk again automatically."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("refresh_cw")),
        rx.vstack(
            rx.text(
                "Not yet confirmed by Clerk. These changes already apply here, and are sent to "
                "Clerk again automatically:",
                size="3",
            ),
            rx.foreach(lines, lambda line: rx.text(line, size="2")),
            spacing="1",
        ),
        color_scheme="amber",
        width="100%",
    )


def refusal_row(
    refusal: rx.Var[Any],
    *,
    can_manage: rx.Var[bool],
    on_grant: Callable[[Any], Any],
    on_dismiss: Callable[[Any], Any],
) -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("user_x")),
        rx.vstack(
            rx.text(
                refusal.name
                + " ("
                + refusal.email
                + ") joined the organization in Clerk "
                + refusal.when
                + ", but every seat was in use: no seat was granted.",
                size="3",
            ),
            rx.cond(
                can_manage,
                rx.flex(
                    rx.button(
                        "Grant a seat",
                        size="3",
                        on_click=on_grant(refusal.user_id),
                        class_name="td-touch",
                    ),
                    rx.button(
                        "Dismiss",
                        variant="soft",
                        color_scheme="gray",
                        size="3",
                        on_click=on_dismiss(refusal.user_id),
                        class_name="td-touch",
                    ),
                    spacing="2",
                    wrap="wrap",
                ),
            ),
            spacing="2",
        ),
        color_scheme="amber",
        width="100%",
        class_name="td-refusal",
    )
