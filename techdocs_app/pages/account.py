"""/account: your name, your password, and signing out of every device."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.confirm import confirm_button
from techdocs_app.components.forms import form_error, labelled_input
from techdocs_app.components.shell import ACCOUNT_ROUTE
from techdocs_app.pages.frame import signed_in_frame
from techdocs_app.settings import get_settings
from techdocs_app.state.account import AccountState

ROUTE = ACCOUNT_ROUTE
TITLE = "Account · TechDocs AI"


def _name_card() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Your name", size="4", as_="h2"),
            rx.text("Shown to your team on the Team page.", size="2", class_name="td-muted"),
            rx.vstack(
                rx.el.label("Name", html_for="field-name", class_name="td-label"),
                rx.input(
                    id="field-name",
                    name="name",
                    default_value=AccountState.name,
                    key=AccountState.name,
                    auto_complete="name",
                    size="3",
                    width="100%",
                ),
                spacing="1",
                width="100%",
            ),
            form_error(AccountState.name_error),
            rx.button("Save name", type="submit", size="3", class_name="td-touch"),
            spacing="3",
            width="100%",
        ),
        on_submit=AccountState.save_name,
        width="100%",
        class_name="td-card",
    )


def _password_card() -> rx.Component:
    return rx.cond(
        AccountState.has_password,
        rx.form(
            rx.vstack(
                rx.heading("Password", size="4", as_="h2"),
                labelled_input(
                    "Current password",
                    name="current_password",
                    input_type="password",
                    auto_complete="current-password",
                ),
                labelled_input(
                    "New password",
                    name="new_password",
                    input_type="password",
                    auto_complete="new-password",
                    min_length=8,
                ),
                labelled_input(
                    "New password again",
                    name="confirm_password",
                    input_type="password",
                    auto_complete="new-password",
                    min_length=8,
                ),
                rx.text(
                    "Changing it signs you out on your other devices.",
                    size="2",
                    class_name="td-muted",
                ),
                form_error(AccountState.password_error),
                rx.button(
                    "Change password",
                    type="submit",
                    size="3",
                    loading=AccountState.saving_password,
                    disabled=~AccountState.is_hydrated,
                    class_name="td-touch",
                ),
                spacing="3",
                width="100%",
            ),
            id="password-form",
            on_submit=AccountState.change_password,
            reset_on_submit=True,
            width="100%",
            class_name="td-card",
        ),
    )


def _sessions_card() -> rx.Component:
    days = get_settings().session_idle_days
    idle = f"{days:g} day" + ("" if days == 1 else "s")
    return rx.vstack(
        rx.heading("Signed-in devices", size="4", as_="h2"),
        rx.text(
            f"You stay signed in on each device until you sign out, or after {idle} without use. "
            "Lost a tablet? Sign out everywhere: every device, this one included, has to sign "
            "in again.",
            size="3",
        ),
        confirm_button(
            "Sign out everywhere",
            icon="log_out",
            title="Sign out on every device?",
            description="Every device signed in to your account, this one included, is signed out.",
            confirm_label="Sign out everywhere",
            on_confirm=AccountState.sign_out_everywhere,
        ),
        spacing="3",
        width="100%",
        class_name="td-card",
    )


def account_page() -> rx.Component:
    return signed_in_frame(
        rx.vstack(
            rx.heading("Account", size="7", as_="h1"),
            rx.text(AccountState.email, size="3", class_name="td-muted"),
            rx.cond(
                AccountState.loaded,
                rx.vstack(
                    _name_card(), _password_card(), _sessions_card(), spacing="4", width="100%"
                ),
                rx.center(rx.spinner(size="3"), width="100%", padding="24px"),
            ),
            spacing="4",
            width="100%",
            max_width="640px",
        ),
        active_route=ROUTE,
    )
