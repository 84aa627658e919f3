"""HTTP routes served on the app's own port (Reflex `api_transformer`): health and page images.

Page images: `GET /api/pages/{document_id}/{page}.png[?chunk=<chunk id>]` renders one page of a
stored manual with PyMuPDF (`library.render_page_png`), the cited chunk's boxes highlighted. The
organization comes only from the session cookie (the same random token the Reflex state keeps in
`techdocs_session`), never from the URL: another organization's document answers 404 exactly like
a missing one, and no session answers 401.

This module must not import reflex (services never do; the layering test enforces it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from techdocs_app import library
from techdocs_app.auth import Principal
from techdocs_app.auth.sessions import principal_from_session
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import Chunk
from techdocs_app.downloads import EXPORT_PATH, organization_export_route
from techdocs_app.errors import NotFound, TechDocsError
from techdocs_app.observability.middleware import RequestContextMiddleware
from techdocs_app.observability.routes import observability_routes
from techdocs_app.rest.app import rest_mount

log = logging.getLogger(__name__)

SESSION_COOKIE = "techdocs_session"
"""Name of the browser cookie holding the session token (also used by state/base.py)."""

PAGE_ZOOM = 1.6
MAX_HIGHLIGHT_BOXES = 200
MAX_PAGE = 100_000
MAX_ID = 2**63 - 1


def _is_id(value: str) -> bool:
    """A database id: ASCII digits only (`"²".isdigit()` is True) within bigint range."""
    return value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID


def page_image_url(document_id: int, page: int, chunk_id: int | None = None) -> str:
    """The same-origin URL of a page image (the browser sends the session cookie with it)."""
    url = f"/api/pages/{int(document_id)}/{int(page)}.png"
    return f"{url}?chunk={int(chunk_id)}" if chunk_id else url


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def worker_health(request: Request) -> JSONResponse:
    """`/api/health/worker`: live ingestion workers and the queue (see `queue_health`); 503 when no
    worker is alive or Redis cannot be reached, so a monitor can alert."""
    from redis.exceptions import RedisError

    from techdocs_app.queue_health import fleet_health

    try:
        report = await asyncio.to_thread(fleet_health)
    except RedisError:
        log.warning("worker health: Redis unreachable")
        return JSONResponse({"status": "redis_unreachable", "workers": None}, status_code=503)
    return JSONResponse(report.as_dict(), status_code=503 if report.paused else 200)


def _chunk_positions(principal: Principal, *, document_id: int, chunk_id: int) -> list[dict]:
    """The highlight boxes of one chunk of the caller's organization (empty when not theirs)."""
    with session_scope(org_id=principal.org_id) as session:
        positions: Any = session.exec(
            select(Chunk.positions).where(
                Chunk.org_id == principal.org_id,
                Chunk.document_id == document_id,
                Chunk.id == chunk_id,
            )
        ).first()
    if not isinstance(positions, list):
        return []
    return [p for p in positions if isinstance(p, dict)][:MAX_HIGHLIGHT_BOXES]


def _render(principal: Principal, document_id: int, page: int, chunk_id: int | None) -> bytes:
    highlight = (
        _chunk_positions(principal, document_id=document_id, chunk_id=chunk_id)
        if chunk_id
        else None
    )
    return library.render_page_png(
        principal, document_id=document_id, page=page, highlight=highlight, zoom=PAGE_ZOOM
    )


def _plain(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def page_image(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    principal = await asyncio.to_thread(principal_from_session, token)
    if principal is None:
        return _plain(401, "Sign in to see this page.")
    document_id = int(request.path_params["document_id"])
    page = int(request.path_params["page"])
    raw_chunk = request.query_params.get("chunk", "")
    if raw_chunk and not _is_id(raw_chunk):
        return _plain(400, "The chunk must be a number, like ?chunk=123.")
    if not (_is_id(str(document_id)) and 1 <= page <= MAX_PAGE):
        return _plain(404, "That page is not in this manual.")
    chunk_id = int(raw_chunk) if raw_chunk else None
    try:
        png = await asyncio.to_thread(_render, principal, document_id, page, chunk_id)
    except NotFound as exc:
        return _plain(404, exc.user_message)
    except TechDocsError as exc:
        log.warning("page image failed: %s", type(exc).__name__)
        return _plain(400, exc.user_message)
    return Response(
        png,
        media_type="image/png",
        # Private: the image is only for members of the owning organization.
        headers={"Cache-Control": "private, max-age=600", "Vary": "Cookie"},
    )


def _clerk_routes() -> list[Route]:
    from techdocs_app.webhooks.clerk import routes

    return routes


def _stripe_routes() -> list[Route]:
    from techdocs_app.webhooks.stripe import routes

    return routes


api = Starlette(
    routes=[
        *_clerk_routes(),
        *_stripe_routes(),
        Route("/api/health", health, methods=["GET"]),
        *observability_routes(),
        rest_mount(),
        Route(EXPORT_PATH, organization_export_route(SESSION_COOKIE), methods=["GET"]),
        Route("/api/health/worker", worker_health, methods=["GET"]),
        Route(
            "/api/pages/{document_id:int}/{page:int}.png",
            page_image,
            methods=["GET"],
        ),
    ]
)
# Request ids in every HTTP request's logs and response (X-Request-ID).
api.add_middleware(RequestContextMiddleware)
