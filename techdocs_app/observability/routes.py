"""HTTP routes of the operator: `/api/ready` (readiness) and `/metrics` (Prometheus).

Registered in `techdocs_app.api` next to `/api/health` (liveness). Plain Starlette, no reflex.
`/metrics` wants `Authorization: Bearer <METRICS_TOKEN>`; without a token configured it answers
only to clients on the loopback interface (a scraper on the same host).
"""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from techdocs_app.observability.health import readiness_payload
from techdocs_app.observability.metrics import render_metrics
from techdocs_app.settings import get_settings

LOOPBACK = ("127.0.0.1", "::1", "localhost")


async def ready(request: Request) -> JSONResponse:
    status, body = await asyncio.to_thread(readiness_payload)
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def metrics_allowed(request: Request) -> bool:
    token = get_settings().metrics_token
    if token is None:
        return request.client is not None and request.client.host in LOOPBACK
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode()
    )


async def metrics(request: Request) -> Response:
    if not metrics_allowed(request):
        return JSONResponse(
            {"error": {"code": "unauthorized", "message": "A valid metrics token is required."}},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body, content_type = await asyncio.to_thread(render_metrics)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


def observability_routes() -> list[Route]:
    return [
        Route("/api/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
