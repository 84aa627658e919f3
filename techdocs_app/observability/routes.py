"""HTTP routes of the operator: `/api/ready` (readiness) and `/metrics` (Prometheus).

Registered in `techdocs_app.api` next to `/api/health` (liveness). Plain Starlette, no reflex.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from techdocs_app.observability.health import readiness_payload


async def ready(request: Request) -> JSONResponse:
    status, body = await asyncio.to_thread(readiness_payload)
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def observability_routes() -> list[Route]:
    return [Route("/api/ready", ready, methods=["GET"])]
