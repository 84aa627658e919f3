"""Clerk's HTTP routes: the webhook, the sign-in page, and the session exchange.

- `POST /api/webhooks/clerk`: Svix-verified events (`auth.clerk_webhooks`): 200 once applied
  (or already applied), 401 for a bad signature, 400 for a malformed body.
- `GET /api/auth/clerk/sign-in?next=/path`: Clerk's own sign-in (clerk-js from the instance's
  Frontend API) and, without an active organization, its "pick or create" list. Then:
- `GET /api/auth/clerk/session?next=/path`: the fresh `__session` token is verified (no network)
  and exchanged for one of our sessions (`auth.sessions`): from here on both modes are the same.

All three answer 404 when Clerk mode is off. This module must not import reflex.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from techdocs_app.auth import clerk, clerk_webhooks, team
from techdocs_app.auth.navigation import HOME_ROUTE, safe_next_path
from techdocs_app.auth.sessions import issue_session
from techdocs_app.errors import TechDocsError, WebhookRejected
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "techdocs_session"  # the same name as api.SESSION_COOKIE (Reflex reads it)
MAX_WEBHOOK_BYTES = 1_000_000


def _not_found() -> JSONResponse:
    return JSONResponse({"error": "Not found."}, status_code=404)


async def clerk_webhook(request: Request) -> Response:
    if not clerk.clerk_enabled():
        return _not_found()
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        return JSONResponse({"error": "Too large."}, status_code=413)
    try:
        outcome = await asyncio.to_thread(clerk_webhooks.handle, body, dict(request.headers))
    except WebhookRejected as exc:
        # Svix retries every non-2xx answer for days, unless told that no retry can succeed.
        headers = {"webhook-delivery": "abort-message"} if exc.final else None
        return JSONResponse({"error": exc.user_message}, status_code=exc.status, headers=headers)
    return JSONResponse({"status": outcome.status})


def _sign_in_html(next_path: str, *, signed_out: bool) -> str:
    """Clerk's components on a page of ours: clerk-js from the instance's Frontend API, our
    loader (`assets/clerk_sign_in.js`, same origin), and its settings as inert JSON."""
    settings = get_settings()
    publishable = settings.clerk_publishable_key or ""
    script = (
        f"https://{clerk.frontend_api(publishable)}/npm/@clerk/clerk-js@5/dist/clerk.browser.js"
    )
    target = quote(next_path, safe="/")
    config = json.dumps(
        {
            "exchange": f"{clerk.EXCHANGE_ROUTE}?next={target}",
            "here": f"{clerk.SIGN_IN_ROUTE}?next={target}",
            "signedOut": signed_out,
            "invite": next_path.startswith(team.INVITE_ROUTE + "/"),
        }
    ).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · TechDocs AI</title>
<link rel="stylesheet" href="/styles.css">
</head><body class="td-auth-page"><main id="clerk" aria-live="polite">Loading sign-in…</main>
<script id="td-clerk-config" type="application/json">{config}</script>
<script id="td-clerk-js" async crossorigin="anonymous"
 data-clerk-publishable-key="{html.escape(publishable)}" src="{html.escape(script)}"></script>
<script src="/clerk_sign_in.js" defer></script>
</body></html>"""


async def clerk_sign_in(request: Request) -> Response:
    if not clerk.clerk_enabled():
        return _not_found()
    next_path = safe_next_path(request.query_params.get("next"))
    if request.query_params.get("next", "").startswith(team.INVITE_ROUTE + "/"):
        next_path = request.query_params["next"][:300]
    signed_out = request.query_params.get("signed_out") == "1"
    return HTMLResponse(
        _sign_in_html(next_path, signed_out=signed_out),
        headers={"Cache-Control": "no-store"},
    )


def _exchange(headers: dict[str, str], next_path: str) -> tuple[str, str]:
    """(our session token, where to go). Raises TechDocsError with a message for the page."""
    claims = clerk.verify_session_token(headers)
    invite = next_path.startswith(team.INVITE_ROUTE + "/")
    if invite:
        user = clerk.user_for_claims(claims)
        assert user.id is not None
        principal = team.accept_as_user(next_path.rsplit("/", 1)[-1], user_id=user.id)
        return issue_session(principal), HOME_ROUTE
    principal = clerk.principal_from_claims(claims)
    return issue_session(principal), safe_next_path(next_path)


def _error_page(message: str, retry: str) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Sign in · TechDocs AI</title></head><body style="font-family:system-ui;'
        'padding:24px"><p role="alert">'
        + html.escape(message)
        + f'</p><p><a href="{html.escape(retry)}">Back to sign in</a></p></body></html>',
        status_code=403,
        headers={"Cache-Control": "no-store"},
    )


async def clerk_session(request: Request) -> Response:
    if not clerk.clerk_enabled():
        return _not_found()
    raw_next = request.query_params.get("next", "")
    next_path = (
        raw_next[:300]
        if raw_next.startswith(team.INVITE_ROUTE + "/")
        else (safe_next_path(raw_next))
    )
    retry = f"{clerk.SIGN_IN_ROUTE}?next={quote(next_path, safe='/')}"
    try:
        token, target = await asyncio.to_thread(_exchange, dict(request.headers), next_path)
    except clerk.NeedsOrganization:
        return RedirectResponse(retry, status_code=303)
    except TechDocsError as exc:
        log.info("clerk sign-in refused: %s", exc.detail or type(exc).__name__)
        return _error_page(exc.user_message, retry)
    settings = get_settings()
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 24 * 3600,
        path="/",
        secure=settings.app_url.startswith("https://"),
        samesite="lax",
    )
    return response


routes = [
    Route("/api/webhooks/clerk", clerk_webhook, methods=["POST"]),
    Route(clerk.SIGN_IN_ROUTE, clerk_sign_in, methods=["GET"]),
    Route(clerk.EXCHANGE_ROUTE, clerk_session, methods=["GET"]),
]
