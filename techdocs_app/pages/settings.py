"""/settings: API keys for the shop's other software (owners and admins), and the shop's data:
download everything, or delete the organization (owners)."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.forms import form_error
from techdocs_app.components.settings import key_row, new_key_callout
from techdocs_app.pages.frame import signed_in_frame
from techdocs_app.state.settings import EXPORT_URL, SettingsState

ROUTE = "/settings"
TITLE = "Settings · TechDocs AI"


def _create_form() -> rx.Component:
    return rx.form.root(
        rx.flex(
            rx.box(
                rx.el.label("Key name", html_for="field-key-name", class_name="td-label"),
                rx.input(
                    id="field-key-name",
                    name="name",
                    required=True,
                    max_length=100,
                    placeholder="Shop management system",
                    size="3",
                    width="100%",
                ),
                flex="1 1 240px",
            ),
            rx.vstack(
                rx.el.label("Role", html_for="field-key-role", class_name="td-label"),
                rx.select.root(
                    rx.select.trigger(class_name="td-touch td-select", id="field-key-role"),
                    rx.select.content(
                        rx.foreach(
                            SettingsState.key_roles,
                            lambda role: rx.select.item(role, value=role),
                        )
                    ),
                    value=SettingsState.new_key_role,
                    on_change=SettingsState.set_new_key_role,
                    size="3",
                ),
                spacing="1",
                flex="0 0 auto",
            ),
            rx.button(
                rx.icon("key_round", size=18),
                "Create key",
                type="submit",
                size="3",
                loading=SettingsState.creating,
                disabled=~SettingsState.is_hydrated,
                class_name="td-touch",
            ),
            spacing="3",
            align="end",
            wrap="wrap",
            width="100%",
        ),
        on_submit=SettingsState.create_key,
        reset_on_submit=True,
        id="api-key-form",
        width="100%",
    )


def _api_keys() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.heading("API keys", size="5", as_="h2"),
            rx.text(
                "Let your shop's other software ask your manuals and manage the library "
                "through the REST API. A key acts with the role you choose (members ask and "
                "read; admins also manage manuals and see usage).",
                size="3",
                class_name="td-muted",
            ),
            rx.link("API reference and curl examples", href="/api/v1/docs", is_external=True),
            rx.cond(
                SettingsState.can_manage_keys,
                rx.vstack(
                    _create_form(),
                    form_error(SettingsState.key_error),
                    rx.cond(
                        SettingsState.created_secret != "",
                        new_key_callout(
                            name=SettingsState.created_name,
                            secret=SettingsState.created_secret,
                            on_copy=SettingsState.copy_secret,
                            on_dismiss=SettingsState.dismiss_secret,
                        ),
                    ),
                    rx.cond(
                        SettingsState.keys.length() > 0,
                        rx.vstack(
                            rx.foreach(
                                SettingsState.keys,
                                lambda key: key_row(key, on_revoke=SettingsState.revoke_key),
                            ),
                            spacing="3",
                            width="100%",
                            class_name="td-key-list",
                        ),
                        rx.text("No API keys yet.", size="3", class_name="td-muted"),
                    ),
                    spacing="3",
                    width="100%",
                ),
                rx.text(
                    "Only the shop's owner or an admin can manage API keys.",
                    size="3",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        class_name="td-card",
    )


def _data() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.heading("Your organization's data", size="5", as_="h2"),
            rx.cond(
                SettingsState.can_manage_data,
                rx.vstack(
                    rx.text(
                        "Download everything your shop stored: the manuals, every "
                        "conversation with its answers, and the list of members, in one zip "
                        "with a README describing the files.",
                        size="3",
                    ),
                    rx.button(
                        # A plain link to the session-authenticated route, styled as a button:
                        # the browser downloads the zip (it can be large) straight from the
                        # click, with no round trip over the websocket. (Started from an event
                        # sent back over the websocket instead, Chromium cancelled the download
                        # when the machine was busy.)
                        rx.el.a(
                            rx.icon("download", size=18),
                            "Download export",
                            href=EXPORT_URL,
                            download="",
                            # Reflex renders anchors as the client router's links: without this
                            # the router would take the click as a page change (its 404 page).
                            custom_attrs={"reloadDocument": True},
                        ),
                        as_child=True,
                        size="3",
                        variant="soft",
                        class_name="td-touch",
                    ),
                    rx.divider(),
                    rx.heading("Delete the organization", size="4", as_="h3", color="red"),
                    rx.text(
                        "This deletes the manuals, conversations, API keys, invitations and "
                        "the accounts of members who belong to no other shop, for everyone, "
                        "at once. It cannot be undone. Download an export first if you may "
                        "need anything.",
                        size="3",
                    ),
                    rx.el.label(
                        "Type the organization's name, " + SettingsState.org_name + ", to confirm",
                        html_for="field-delete-confirm",
                        class_name="td-label",
                    ),
                    rx.input(
                        id="field-delete-confirm",
                        value=SettingsState.delete_typed,
                        on_change=SettingsState.set_delete_typed,
                        auto_complete="off",
                        size="3",
                        width="100%",
                        max_width="420px",
                    ),
                    form_error(SettingsState.delete_error),
                    rx.button(
                        rx.icon("trash_2", size=18),
                        "Delete organization",
                        color_scheme="red",
                        size="3",
                        loading=SettingsState.deleting,
                        disabled=~SettingsState.delete_ready,
                        on_click=SettingsState.delete_organization,
                        class_name="td-touch",
                    ),
                    spacing="3",
                    width="100%",
                ),
                rx.text(
                    "Only the shop's owner can export or delete the organization's data.",
                    size="3",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        class_name="td-card",
    )


def settings_page() -> rx.Component:
    return signed_in_frame(
        rx.vstack(
            rx.heading("Settings", size="7", as_="h1"),
            rx.cond(
                SettingsState.loaded,
                rx.vstack(_api_keys(), _data(), spacing="4", width="100%"),
                rx.center(rx.spinner(size="3"), width="100%", padding="24px"),
            ),
            spacing="4",
            width="100%",
        ),
        active_route=ROUTE,
    )
