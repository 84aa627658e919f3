"""The REST API v1 application, mounted at `/api/v1` on the app's one port (`techdocs_app.api`).

Every route but the OpenAPI document and its docs page needs `Authorization: Bearer <API key>`.
The key's principal (organization, role, creator) is the only source of the organization for the
services it calls; an id of another organization answers 404 exactly like a missing one. Requests
and questions are rate-limited per key. Errors are `{"error": {"code", "message"}}` (`errors.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from techdocs_app import conversations, library, throttles, work_pools
from techdocs_app import errors as product_errors
from techdocs_app.api_keys import KeyPrincipal, authenticate
from techdocs_app.auth.permissions import Action, require
from techdocs_app.errors import TechDocsError
from techdocs_app.observability.logs import bind
from techdocs_app.rest import limits
from techdocs_app.rest.errors import ApiError, error_response, from_exception, status_of
from techdocs_app.rest.openapi import OPERATIONS, PREFIX, docs_page, openapi_document
from techdocs_app.rest.schemas import (
    MAX_ID,
    ConversationOut,
    DocumentList,
    DocumentOut,
    MessageOut,
    QueryRequest,
    QueryResponse,
    SourceOut,
    UploadAccepted,
    UsageOut,
)
from techdocs_app.rest.usage import usage_summary
from techdocs_app.settings import get_settings
from techdocs_app.upload_spool import copy_to_spool

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 64 * 1024
UNAUTHORIZED = (
    "Send a valid API key as 'Authorization: Bearer td_live_…'. Owners and admins create keys "
    "on the Settings page."
)
Handler = Callable[[Request], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)


# --- plumbing -------------------------------------------------------------------------------


def endpoint(handler: Handler) -> Handler:
    """Turn every failure into the API's JSON error (never a traceback, never `str(exc)`)."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.headers)
        except TechDocsError as exc:
            err = from_exception(exc)
            return error_response(err.status, err.code, err.message, err.headers)
        except Exception:  # noqa: BLE001 - logged with its traceback; the client gets a code
            log.exception("REST API %s %s failed", request.method, request.url.path)
            return error_response(500, "internal_error", product_errors.TechDocsError.user_message)

    wrapped.__name__ = handler.__name__
    return wrapped


async def authorize(request: Request, *, question: bool = False) -> KeyPrincipal:
    """The API key's principal, bound to the log context; rate limits counted."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    found = None
    if scheme.lower() == "bearer" and secret.strip():
        found = await asyncio.to_thread(authenticate, secret.strip())
    if found is None:
        raise ApiError(
            401, "unauthorized", UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer realm="api"'}
        )
    principal = found.principal
    bind(org_id=principal.org_id, user_id=principal.user_id)
    await asyncio.to_thread(limits.count_request, key_id=found.key_id)
    if question:
        await asyncio.to_thread(limits.count_question, key_id=found.key_id, principal=principal)
    return found


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


async def read_json(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "request_too_large", "The request body is too large (64 KB at most).")
    try:
        data = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_request", "The request body must be JSON.") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = exc.errors(include_url=False)
        described = _describe(dict(problems[0])) if problems else "invalid"
        raise ApiError(400, "invalid_request", f"Invalid request: {described}.") from exc


def path_id(request: Request, name: str) -> int:
    value = int(request.path_params[name])
    if not 1 <= value <= MAX_ID:
        raise ApiError(404, "not_found", "That item was not found.")
    return value


def json_response(model: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


# --- questions ------------------------------------------------------------------------------


def _source(view: Any) -> SourceOut:
    return SourceOut(
        number=view.number,
        document_id=view.document_id,
        document_title=view.document_title,
        filename=view.filename,
        page_start=view.page_start,
        page_end=view.page_end,
        heading=view.heading,
        snippet=view.snippet,
        score=float(view.score),
    )


def _failure(trace_error: str | None, message: str) -> ApiError:
    """The HTTP status and code of a `Failed` answer, from the error class the trace names."""
    name = (trace_error or "").split(":", 1)[0]
    if name == "rejected":
        return ApiError(422, "invalid_question", message)
    from techdocs_app.rag import answer as answer_module

    cls = getattr(product_errors, name, None) or getattr(answer_module, name, None)
    if isinstance(cls, type) and issubclass(cls, TechDocsError):
        status, code = status_of(cls)
        return ApiError(status, code, message)
    return ApiError(500, "internal_error", message)


def _question(body: QueryRequest) -> str:
    # NUL cannot be stored in Postgres text; nothing else of the text is changed here.
    return body.question.replace("\x00", " ")


def _start_answer(found: KeyPrincipal, body: QueryRequest) -> tuple[AsyncIterator[Any], Any]:
    from techdocs_app.rag.answer import AnswerTrace, ask

    trace = AnswerTrace()
    events = ask(
        found.principal,
        question=_question(body),
        conversation_id=body.conversation_id,
        document_ids=body.document_ids,
        trace=trace,
    )
    return events, trace


def _done_body(done: Any, conversation_id: int, sources: list[SourceOut]) -> QueryResponse:
    return QueryResponse(
        conversation_id=conversation_id,
        message_id=done.message_id,
        answer=done.answer,
        citations=list(done.citations),
        sources=sources,
        not_found=done.not_found,
        offline=done.offline,
        searched_documents=list(done.searched_documents),
        cache_hit=done.cache_hit,
    )


@endpoint
async def query(request: Request) -> Response:
    from techdocs_app.rag.answer import Done, Failed, Sources, Started

    found = await authorize(request, question=True)
    body = await read_json(request, QueryRequest)
    events, trace = _start_answer(found, body)
    conversation_id = 0
    sources: list[SourceOut] = []
    try:
        async for event in events:
            if isinstance(event, Started):
                conversation_id = event.conversation_id
            elif isinstance(event, Sources):
                sources = [_source(s) for s in event.sources]
            elif isinstance(event, Done):
                return json_response(_done_body(event, conversation_id, sources))
            elif isinstance(event, Failed):
                raise _failure(trace.error, event.user_message)
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    raise ApiError(500, "internal_error", product_errors.TechDocsError.user_message)


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class EventStream(Response):
    """`text/event-stream` that stops producing the moment the client goes away.

    The producer and a watcher for `http.disconnect` run side by side: whichever ends first
    cancels the other, so a closed connection cancels the answer (and its provider stream) at
    once, whatever ASGI server serves the app."""

    media_type = "text/event-stream"

    def __init__(self, body: AsyncIterator[bytes]) -> None:
        self.body_iterator = body
        self.status_code = 200
        self.background = None
        self.init_headers(
            {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )

        async def produce() -> None:
            try:
                async for chunk in self.body_iterator:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                with contextlib.suppress(Exception):
                    await self.body_iterator.aclose()  # type: ignore[attr-defined]

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        producer = asyncio.ensure_future(produce())
        watcher = asyncio.ensure_future(watch())
        done, pending = await asyncio.wait({producer, watcher}, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        if producer in done and watcher not in done:
            with contextlib.suppress(OSError):
                producer.result()


@endpoint
async def query_stream(request: Request) -> Response:
    from techdocs_app.rag.answer import Done, Failed, Sources, Started, Token

    found = await authorize(request, question=True)
    body = await read_json(request, QueryRequest)
    events, trace = _start_answer(found, body)
    # A question the pipeline refuses at once answers like POST /query (JSON, 4xx).
    first = await anext(events)
    if isinstance(first, Failed):
        await events.aclose()  # type: ignore[attr-defined]
        raise _failure(trace.error, first.user_message)

    async def stream() -> AsyncIterator[bytes]:
        conversation_id = 0
        sources: list[SourceOut] = []
        try:
            event = first
            while True:
                if isinstance(event, Started):
                    conversation_id = event.conversation_id
                elif isinstance(event, Sources):
                    sources = [_source(s) for s in event.sources]
                    yield sse(
                        "sources",
                        {
                            "conversation_id": conversation_id,
                            "sources": [s.model_dump(mode="json") for s in sources],
                        },
                    )
                elif isinstance(event, Token):
                    yield sse("token", {"text": event.text})
                elif isinstance(event, Done):
                    body = _done_body(event, conversation_id, sources)
                    yield sse("done", body.model_dump(mode="json"))
                elif isinstance(event, Failed):
                    err = _failure(trace.error, event.user_message)
                    yield sse("error", {"code": err.code, "message": err.message})
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    return
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    return EventStream(stream())


# --- documents ------------------------------------------------------------------------------


def _document(view: Any) -> DocumentOut:
    return DocumentOut(
        id=view.id,
        filename=view.filename,
        title=view.title,
        status=view.status,
        progress=round(view.progress, 4),
        pages=view.pages,
        pages_done=view.pages_done,
        chunk_count=view.chunk_count,
        size_bytes=view.size_bytes,
        error_message=view.error_message,
        created_at=view.created_at,
        processed_at=view.processed_at,
        status_url=f"{PREFIX}/documents/{view.id}",
    )


@endpoint
async def upload_document(request: Request) -> Response:
    found = await authorize(request)
    # The same checks as the Library before any byte is read: role, the shop's hourly uploads.
    await asyncio.to_thread(library.check_upload_allowed, found.principal)
    limit = get_settings().max_upload_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + 1024 * 1024:
        raise ApiError(
            413,
            "file_too_large",
            f"This file is larger than the {get_settings().max_upload_mb} MB limit. Split the "
            "manual into parts, or remove scanned pages you do not need, and upload again.",
        )
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(
            400, "invalid_request", "Send the PDF as multipart/form-data in a field named 'file'."
        )
    # The shop's uploads running at once, counted before the body is read; the file goes to
    # disk (Starlette's spooled part, then our own file), never whole into memory.
    with throttles.upload_slot(found.principal):
        try:
            form = await request.form(max_files=1, max_fields=10, max_part_size=limit + 1)
        except HTTPException as exc:
            raise ApiError(400, "invalid_request", "The multipart body could not be read.") from exc
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(
                    400, "invalid_request", "Send the PDF in a multipart field named 'file'."
                )
            path = await work_pools.UPLOADS.run(
                copy_to_spool,
                upload.file,
                directory=get_settings().data_dir / "spool",
                max_bytes=limit,
            )
            filename = upload.filename or "manual.pdf"
        finally:
            await form.close()
        try:
            result = await work_pools.UPLOADS.run(
                library.upload_document, found.principal, filename=filename, data=path
            )
        finally:
            path.unlink(missing_ok=True)
    document = _document(result.document)
    body = UploadAccepted(
        id=document.id,
        status=document.status,
        duplicate=result.duplicate,
        status_url=document.status_url,
        document=document,
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=202, headers={"Location": document.status_url}
    )


@endpoint
async def list_documents(request: Request) -> Response:
    found = await authorize(request)
    require(found.principal, Action.READ_LIBRARY)
    views = await asyncio.to_thread(library.list_documents, found.principal)
    return json_response(DocumentList(documents=[_document(v) for v in views]))


@endpoint
async def get_document(request: Request) -> Response:
    found = await authorize(request)
    require(found.principal, Action.READ_LIBRARY)
    document_id = path_id(request, "document_id")
    view = await asyncio.to_thread(library.get_document, found.principal, document_id=document_id)
    return json_response(_document(view))


@endpoint
async def delete_document(request: Request) -> Response:
    found = await authorize(request)
    document_id = path_id(request, "document_id")
    await asyncio.to_thread(library.delete_document, found.principal, document_id=document_id)
    return Response(status_code=204)


# --- conversations and usage ----------------------------------------------------------------


@endpoint
async def get_conversation(request: Request) -> Response:
    found = await authorize(request)
    require(found.principal, Action.READ_OWN_CONVERSATIONS)
    conversation_id = path_id(request, "conversation_id")
    messages = await asyncio.to_thread(
        conversations.get_messages, found.principal, conversation_id=conversation_id
    )
    return json_response(
        ConversationOut(
            id=conversation_id,
            messages=[
                MessageOut(
                    id=m.id,
                    role="user" if m.role == "user" else "assistant",
                    content=m.content,
                    created_at=m.created_at,
                    sources=[_source(s) for s in m.sources],
                    not_found=m.not_found,
                    offline=m.offline,
                    feedback=m.feedback,
                )
                for m in messages
            ],
        )
    )


@endpoint
async def delete_conversation(request: Request) -> Response:
    found = await authorize(request)
    require(found.principal, Action.READ_OWN_CONVERSATIONS)
    conversation_id = path_id(request, "conversation_id")
    await asyncio.to_thread(
        conversations.delete_conversation, found.principal, conversation_id=conversation_id
    )
    return Response(status_code=204)


@endpoint
async def get_usage(request: Request) -> Response:
    found = await authorize(request)
    summary = await asyncio.to_thread(usage_summary, found.principal)
    return json_response(UsageOut.model_validate(summary))


# --- the document and the application -------------------------------------------------------


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi_document(), headers={"Cache-Control": "public, max-age=300"})


async def docs(request: Request) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}"
    return HTMLResponse(docs_page(base))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(
            405,
            "method_not_allowed",
            "This method is not allowed here; see /api/v1/docs.",
            dict(exc.headers or {}),
        )
    if exc.status_code == 404:
        return error_response(404, "not_found", "There is no such API route; see /api/v1/docs.")
    return error_response(exc.status_code, "invalid_request", "The request could not be read.")


HANDLERS: dict[tuple[str, str], Handler] = {
    ("post", "/query"): query,
    ("post", "/query/stream"): query_stream,
    ("post", "/documents"): upload_document,
    ("get", "/documents"): list_documents,
    ("get", "/documents/{document_id}"): get_document,
    ("delete", "/documents/{document_id}"): delete_document,
    ("get", "/conversations/{conversation_id}"): get_conversation,
    ("delete", "/conversations/{conversation_id}"): delete_conversation,
    ("get", "/usage"): get_usage,
}


def _routes() -> list[Route]:
    by_path: dict[str, dict[str, Handler]] = {}
    for op in OPERATIONS:
        by_path.setdefault(op.path, {})[op.method.upper()] = HANDLERS[(op.method, op.path)]

    def dispatch(methods: dict[str, Handler]) -> Handler:
        async def route(request: Request) -> Response:
            return await methods[request.method](request)

        return route

    routes = [
        Route(path.replace("_id}", "_id:int}"), dispatch(methods), methods=list(methods))
        for path, methods in by_path.items()
    ]
    routes += [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
    return routes


rest_app = Starlette(routes=_routes(), exception_handlers={HTTPException: http_error})
"""Mounted at `/api/v1` by `techdocs_app.api` (see `rest_mount`)."""


def rest_mount(prefix: str = "/api/v1") -> Mount:
    """The REST app's mount. Starlette compiles a mount's path pattern without DOTALL, so a path
    holding a newline (`/api/v1/documents/%0A…`) did not match it, fell through to the page
    server and got a plain-text 404; with DOTALL every path under the prefix reaches the REST app,
    whose 404 is JSON like every other error it gives."""
    mount = Mount(prefix, app=rest_app)
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount
