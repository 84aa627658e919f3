"""The OpenAPI 3.1 document of the REST API (`/api/v1/openapi.json`) and its docs page
(`/api/v1/docs`: plain server-rendered HTML, no scripts, works offline).

The operation table below is the one description of every route: `app.py` registers its handlers
under the same (method, path) pairs, and a test checks that both agree.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from techdocs_app.rest.schemas import (
    MAX_ID,
    ConversationOut,
    DocumentList,
    DocumentOut,
    ErrorResponse,
    QueryRequest,
    QueryResponse,
    UploadAccepted,
    UploadForm,
    UsageOut,
)

PREFIX = "/api/v1"
CONTINUATION = " \\\n  "
VERSION = "1.0.0"

ERRORS = {
    400: "The request is malformed (`invalid_request`).",
    401: "No valid API key (`unauthorized`).",
    402: "The shop is read-only: its trial or subscription has ended (`limit_reached`).",
    403: "The key's role does not allow this (`forbidden`).",
    404: "No such object in the key's organization (`not_found`).",
    413: "The file is larger than the upload limit (`file_too_large`).",
    422: "The input cannot be used: `invalid_question`, `upload_rejected`, `validation_failed`.",
    429: "Too many requests for this key (`rate_limited`); see `Retry-After`.",
    502: "A provider failed (`provider_error`).",
    504: "A provider took too long (`provider_timeout`).",
}


DEFAULT_ERRORS = (400, 401, 403, 429)
BY_ID_ERRORS = (400, 401, 403, 404, 429)
"""A route naming one object by id: also 404 when it is not in the key's organization."""
QUESTION_ERRORS = (400, 401, 402, 403, 404, 422, 429, 502, 504)
"""Both question routes (answered and streamed) fail the same ways."""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    tag: str
    success: int
    response: type[BaseModel] | None
    request: type[BaseModel] | None = None
    request_type: str = "application/json"
    response_type: str = "application/json"
    errors: tuple[int, ...] = DEFAULT_ERRORS
    path_params: tuple[str, ...] = ()
    example: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/query",
        "query",
        "Ask a question",
        "Answers from the organization's manuals, with numbered sources (the same pipeline as "
        "the chat). Pass `conversation_id` from an earlier answer to ask a follow-up.",
        "questions",
        200,
        QueryResponse,
        QueryRequest,
        errors=QUESTION_ERRORS,
        example='{"question": "What is the torque for the caliper bracket bolts?"}',
    ),
    Operation(
        "post",
        "/query/stream",
        "query_stream",
        "Ask a question, streamed (Server-Sent Events)",
        "The answer as it is written, as `text/event-stream`: one `sources` event "
        "(`{conversation_id, sources}`), `token` events (`{text}`), then `done` (the same "
        "body as `POST /query`) or `error` (`{code, message}`). Closing the connection stops "
        "the answer.",
        "questions",
        200,
        None,
        QueryRequest,
        response_type="text/event-stream",
        errors=QUESTION_ERRORS,
        example='{"question": "and the slide pins?", "conversation_id": 12}',
    ),
    Operation(
        "post",
        "/documents",
        "upload_document",
        "Upload a manual (PDF)",
        "Checks the file like the Library does (PDF, size, encryption, pages), stores it and "
        "queues its processing. Answers 202 with the document's id and the URL to poll for "
        "its status. The same PDF uploaded again answers the existing document.",
        "documents",
        202,
        UploadAccepted,
        UploadForm,
        request_type="multipart/form-data",
        errors=(400, 401, 402, 403, 413, 422, 429),
    ),
    Operation(
        "get",
        "/documents",
        "list_documents",
        "List the manuals",
        "Every manual of the organization with its status and progress.",
        "documents",
        200,
        DocumentList,
    ),
    Operation(
        "get",
        "/documents/{document_id}",
        "get_document",
        "A manual's status and progress",
        "Poll this after an upload: `status` goes pending → processing → ready (or failed, "
        "with `error_message` saying what to do).",
        "documents",
        200,
        DocumentOut,
        errors=BY_ID_ERRORS,
        path_params=("document_id",),
    ),
    Operation(
        "delete",
        "/documents/{document_id}",
        "delete_document",
        "Delete a manual",
        "Removes the manual, its search index and its stored file.",
        "documents",
        204,
        None,
        errors=BY_ID_ERRORS,
        path_params=("document_id",),
    ),
    Operation(
        "get",
        "/conversations/{conversation_id}",
        "get_conversation",
        "A conversation",
        "Every question and answer of a conversation started with this key's creator.",
        "conversations",
        200,
        ConversationOut,
        errors=BY_ID_ERRORS,
        path_params=("conversation_id",),
    ),
    Operation(
        "delete",
        "/conversations/{conversation_id}",
        "delete_conversation",
        "Delete a conversation",
        "Removes the conversation and its messages.",
        "conversations",
        204,
        None,
        errors=BY_ID_ERRORS,
        path_params=("conversation_id",),
    ),
    Operation(
        "get",
        "/usage",
        "get_usage",
        "Usage",
        "Questions this month and per day (last 30 days), manuals and pages, seats. Owners "
        "and admins.",
        "usage",
        200,
        UsageOut,
    ),
)


SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "description": (
        "One event of the stream; `data` is JSON: `sources` {conversation_id, sources}, "
        "`token` {text}, `done` (as POST /query answers), `error` {code, message}."
    ),
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["sources", "token", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    requests = {op.request for op in OPERATIONS if op.request is not None}
    responses = {op.response for op in OPERATIONS if op.response is not None} | {ErrorResponse}
    _, top = models_json_schema(
        [(m, "validation") for m in sorted(requests, key=lambda m: m.__name__)]
        + [(m, "serialization") for m in sorted(responses, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "description": op.description,
            "tags": [op.tag],
            "responses": {},
        }
        if op.path_params:
            entry["parameters"] = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                }
                for name in op.path_params
            ]
        if op.request is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {op.request_type: {"schema": _ref(op.request)}},
            }
        if op.response is not None:
            entry["responses"][str(op.success)] = {
                "description": op.summary,
                "content": {op.response_type: {"schema": _ref(op.response)}},
            }
        elif op.response_type == "text/event-stream":
            entry["responses"][str(op.success)] = {
                "description": "Server-Sent Events: sources, token…, done or error.",
                "content": {"text/event-stream": {"schema": SSE_EVENT}},
            }
        else:
            entry["responses"][str(op.success)] = {"description": "Done; no content."}
        for status in op.errors:
            entry["responses"][str(status)] = {
                "description": ERRORS[status],
                "content": {"application/json": {"schema": _ref(ErrorResponse)}},
                **(
                    {"headers": {"Retry-After": {"schema": {"type": "integer"}}}}
                    if status == 429
                    else {}
                ),
            }
        paths.setdefault(PREFIX + op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TechDocs AI API",
            "version": VERSION,
            "description": (
                "Ask your shop's manuals from your own software. Authenticate with an API key "
                "created on the Settings page: `Authorization: Bearer td_live_…`. Errors are "
                '`{"error": {"code", "message"}}` with a stable `code`.'
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from the Settings page (td_live_…).",
                }
            },
        },
    }


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TechDocs AI API</title>
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#0f2a4a}}
code,pre{{font:14px/1.4 ui-monospace,monospace;background:#f1f4f8;border-radius:4px}}
pre{{padding:.75rem;overflow-x:auto}} code{{padding:0 .2rem}}
section{{border-top:1px solid #d5dbe3;padding-top:1rem;margin-top:1.5rem}}
.m{{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}}
td{{padding:.15rem .75rem .15rem 0;vertical-align:top}}
</style></head><body>
<h1>TechDocs AI API <small>v{version}</small></h1>
<p>{intro}</p>
<p>The machine-readable description: <a href="{prefix}/openapi.json">{prefix}/openapi.json</a>.</p>
{sections}
</body></html>
"""


def _schema_json(model: type[BaseModel] | None, mode: str) -> str:
    if model is None:
        return ""
    return json.dumps(model.model_json_schema(mode=mode), indent=2)  # type: ignore[arg-type]


def docs_page(base_url: str = "http://127.0.0.1:3000") -> str:
    """The human-readable reference: every route with its curl example, body and answers."""
    doc = openapi_document()
    sections = []
    for op in OPERATIONS:
        path = PREFIX + op.path.replace("{document_id}", "42").replace("{conversation_id}", "12")
        curl = [
            f"curl -X {op.method.upper()} {base_url}{path}",
            '-H "Authorization: Bearer $TECHDOCS_KEY"',
        ]
        if op.request_type == "multipart/form-data":
            curl.append('-F "file=@brake-manual.pdf;type=application/pdf"')
        elif op.request is not None:
            curl += ['-H "Content-Type: application/json"', f"-d '{op.example or '{}'}'"]
        if op.response_type == "text/event-stream":
            curl.insert(1, "-N")
        answers = "".join(
            f"<tr><td><code>{html.escape(code)}</code></td><td>{html.escape(r['description'])}</td></tr>"
            for code, r in doc["paths"][PREFIX + op.path][op.method]["responses"].items()
        )
        body = _schema_json(op.request, "validation")
        result = _schema_json(op.response, "serialization")
        command = html.escape(CONTINUATION.join(curl))
        sections.append(
            f'<section id="{html.escape(op.operation_id)}"><h2><span class="m">'
            f"{html.escape(op.method)}</span> <code>{html.escape(PREFIX + op.path)}</code></h2>"
            f"<p><strong>{html.escape(op.summary)}.</strong> {html.escape(op.description)}</p>"
            f"<pre>{command}</pre>"
            + (
                f"<h3>Request body ({html.escape(op.request_type)})</h3><pre>{html.escape(body)}</pre>"
                if body
                else ""
            )
            + (f"<h3>Answer {op.success}</h3><pre>{html.escape(result)}</pre>" if result else "")
            + f"<h3>Status codes</h3><table>{answers}</table></section>"
        )
    return _PAGE.format(
        version=VERSION,
        intro=html.escape(doc["info"]["description"]),
        prefix=PREFIX,
        sections="\n".join(sections),
    )
