"""`POST /api/webhooks/stripe`: Stripe's signed events (`billing.webhooks` does the work).

200 `{"status": "applied" | "duplicate" | "ignored"}` once handled (or deliberately not), 400 for
a bad signature, an old timestamp or a body that is not an event, 404 when billing is off (no
STRIPE_WEBHOOK_SECRET), 413 for a huge body, 503 when Stripe could not be re-read (Stripe retries).
This module must not import reflex (nor the Stripe SDK: that stays in `billing`).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from techdocs_app.billing import webhooks
from techdocs_app.errors import WebhookRejected

MAX_WEBHOOK_BYTES = 1_000_000


async def stripe_webhook(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        return JSONResponse({"error": "Too large."}, status_code=413)
    signature = request.headers.get("stripe-signature")
    try:
        outcome = await asyncio.to_thread(webhooks.handle, body, signature)
    except WebhookRejected as exc:
        return JSONResponse({"error": exc.user_message}, status_code=exc.status)
    return JSONResponse({"status": outcome.status, "reason": outcome.reason})


routes = [Route("/api/webhooks/stripe", stripe_webhook, methods=["POST"])]
