"""The Reflex app: pages, theme, and the HTTP API served on the same port.

`reflex run --env prod` (scripts/run_app.sh) serves the compiled pages, the state websocket,
uploads and the routes of `api` below from one process group on one port.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from reflex.utils.prerequisites import get_web_dir

from techdocs_app.api import api
from techdocs_app.auth.modes import clerk_csp_sources
from techdocs_app.auth.sessions import principal_from_session
from techdocs_app.errors import TechDocsError
from techdocs_app.observability.logs import configure_logging
from techdocs_app.pages import (
    account,
    billing,
    chat,
    invite,
    library,
    settings,
    signin,
    signup,
    team,
    usage,
)
from techdocs_app.pages.billing import with_billing_banner
from techdocs_app.settings import get_settings
from techdocs_app.state.account import AccountState
from techdocs_app.state.base import SessionState
from techdocs_app.state.billing import BillingState
from techdocs_app.state.chat import ChatState
from techdocs_app.state.invite import InviteState
from techdocs_app.state.library import MAX_FILES, LibraryState
from techdocs_app.state.settings import SettingsState
from techdocs_app.state.team import TeamState
from techdocs_app.state.usage import UsageState
from techdocs_app.web.headers import ASGIApp, SecurityHeaders
from techdocs_app.web.upload_guard import (
    API_MAX_BODY_BYTES,
    MULTIPART_OVERHEAD,
    BodyLimit,
    UploadGuard,
)

log = logging.getLogger(__name__)
configure_logging()  # JSON lines in production (LOG_FORMAT), with request/org/user ids

GENERIC_ERROR = "Something went wrong. Please try again."


def backend_exception_handler(exception: Exception) -> EventSpec:
    """Log the traceback; show the person only a safe message (never `str(exception)`)."""
    log.error("unhandled error in an event handler", exc_info=exception)
    message = exception.user_message if isinstance(exception, TechDocsError) else GENERIC_ERROR
    return rx.toast.error(message, id="backend_error", position="top-center")


REST_UPLOAD_PATH = "/api/v1/documents"


def secure(inner: ASGIApp) -> ASGIApp:
    """Every response gets the security headers; `/_upload` is guarded before its body is read;
    request bodies under `/api/` stop at their limit (one file for the REST upload, 1 MB for the
    rest), even without a Content-Length."""
    settings = get_settings()
    file_too_large = {
        "error": {
            "code": "file_too_large",
            "message": f"This file is larger than the {settings.max_upload_mb} MB limit. Split "
            "the manual into parts, or remove scanned pages you do not need, and upload again.",
        }
    }
    body_too_large = {
        "error": {
            "code": "request_too_large",
            "message": f"The request body is too large ({API_MAX_BODY_BYTES // 1024} KB at most).",
        }
    }
    limited = BodyLimit(
        BodyLimit(
            inner,
            path=REST_UPLOAD_PATH,
            max_body_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD,
            refusal=json.dumps(file_too_large).encode(),
        ),
        path="/api/",
        prefix=True,
        exclude=[REST_UPLOAD_PATH],
        max_body_bytes=API_MAX_BODY_BYTES,
        refusal=json.dumps(body_too_large).encode(),
    )
    guarded = UploadGuard(
        limited,
        max_body_bytes=settings.max_upload_bytes * MAX_FILES + MULTIPART_OVERHEAD,
        resolve_principal=principal_from_session,
    )
    return SecurityHeaders(
        guarded,
        static_dir=get_web_dir() / "build" / "client",
        origins=settings.allowed_origins(),
        production=settings.environment == "production",
        vendor=clerk_csp_sources(),
    )


app = rx.App(
    stylesheets=["/styles.css"],
    head_components=[
        rx.el.link(rel="icon", type="image/svg+xml", href="/favicon.svg"),
        rx.el.meta(name="theme-color", content="#0f2a4a"),
        # Same-origin and static: allowed by the CSP's script-src 'self'.
        rx.el.script(src="/page_preview.js", defer=True),
    ],
    api_transformer=[api, secure],
    backend_exception_handler=backend_exception_handler,
)


async def warm_up_models() -> None:
    """Load the embedding model at start, so the first technician's question is not the slow one."""
    from techdocs_app.providers import warm_up_providers

    try:
        await asyncio.to_thread(warm_up_providers)
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first question loads it
        log.warning("model warm-up failed; the first question will load the models", exc_info=True)


app.register_lifespan_task(warm_up_models)

app.add_page(
    signin.signin_page,
    route=signin.ROUTE,
    title=signin.TITLE,
    on_load=SessionState.redirect_if_signed_in,
)
app.add_page(
    signup.signup_page,
    route=signup.ROUTE,
    title=signup.TITLE,
    on_load=SessionState.redirect_if_signed_in,
)
# Signed-in pages: the session is checked first, then the page loads, then the billing banner
# (the Billing page's own load reads the status it shows, banner included).
SIGNED_IN_PAGES: list[tuple[Callable[[], rx.Component], str, str, Any]] = [
    (chat.chat_page, chat.ROUTE, chat.TITLE, [ChatState.load, BillingState.load_banner]),
    (
        library.library_page,
        library.ROUTE,
        library.TITLE,
        [LibraryState.load, BillingState.load_banner],
    ),
    (
        settings.settings_page,
        settings.ROUTE,
        settings.TITLE,
        [SettingsState.load, BillingState.load_banner],
    ),
    (team.team_page, team.ROUTE, team.TITLE, [TeamState.load, BillingState.load_banner]),
    (
        account.account_page,
        account.ROUTE,
        account.TITLE,
        [AccountState.load, BillingState.load_banner],
    ),
    (billing.billing_page, billing.ROUTE, billing.TITLE, [BillingState.load]),
    (usage.usage_page, usage.ROUTE, usage.TITLE, [UsageState.load, BillingState.load_banner]),
]
for page, route, title, loads in SIGNED_IN_PAGES:
    app.add_page(
        with_billing_banner(page),
        route=route,
        title=title,
        on_load=[SessionState.require_principal, *loads],
    )
app.add_page(invite.invite_page, route=invite.ROUTE, title=invite.TITLE, on_load=InviteState.load)
