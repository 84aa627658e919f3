"""One local Starlette app speaking the three AI vendors' wire formats, served by uvicorn in a thread.

The real SDKs (openai, anthropic, cohere) are pointed at it with `base_url`; nothing is monkeypatched.
- OpenAI `POST /v1/embeddings`: deterministic vectors per text, `dimensions` honoured, and the
  `encoding_format` the SDK asks for (base64 little-endian float32 by default, or float lists).
- Anthropic `POST /v1/messages`: a JSON message, or with `"stream": true` the Messages SSE stream
  (message_start, content_block_start, content_block_delta text_delta, content_block_stop,
  message_delta with usage, message_stop; each with an `event:` line), optionally broken by an
  `error` event mid-stream.
- Cohere `POST /v2/rerank`: word-overlap relevance scores, best first, `top_n` honoured.

Tests steer it through `FakeVendorState`: queued HTTP failures per endpoint, a response delay per
endpoint (to provoke client timeouts), the text the fake model answers. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.server import EndpointSteering, serve_in_thread

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class RecordedRequest:
    endpoint: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeVendorState(EndpointSteering):
    """Endpoints: "embeddings", "messages", "rerank"."""

    message_text: str | Callable[[dict[str, Any]], str] = "The answer is 42 [1]."
    stream_error_after: int | None = None
    """Send an `error` event after this many text deltas (None: stream completes)."""
    token_delay_s: float = 0.0
    """Wait this long before each streamed text delta (a slow model)."""
    streams_cancelled: int = 0
    """Answer streams the client closed before their end."""
    requests: list[RecordedRequest] = field(default_factory=list)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.endpoint == endpoint]


def fake_vector(text: str, dim: int) -> np.ndarray:
    """A deterministic unit vector per text (the fake is a transport stand-in, not a model)."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dim).astype("<f4")
    return vec / np.linalg.norm(vec)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def build_app(state: FakeVendorState) -> Starlette:
    async def _prologue(endpoint: str, request: Request) -> tuple[dict[str, Any], Response | None]:
        body = await request.json()
        state.requests.append(
            RecordedRequest(endpoint, {k.lower(): v for k, v in request.headers.items()}, body)
        )
        status = await state.delay_then_failure(endpoint)
        if status is not None:
            kind = ERROR_TYPES.get(status, "api_error")
            if endpoint == "messages":
                payload: dict[str, Any] = {
                    "type": "error",
                    "error": {"type": kind, "message": f"fake {kind}"},
                }
            elif endpoint == "embeddings":
                payload = {"error": {"message": f"fake {kind}", "type": kind, "code": None}}
            else:
                payload = {"message": f"fake {kind}"}
            return body, JSONResponse(payload, status_code=status)
        return body, None

    async def embeddings(request: Request) -> Response:
        body, failure = await _prologue("embeddings", request)
        if failure is not None:
            return failure
        inputs = body["input"]
        if isinstance(inputs, str):
            inputs = [inputs]
        dim = int(body.get("dimensions") or 1536)
        fmt = body.get("encoding_format", "float")
        data = []
        for index, text in enumerate(inputs):
            vec = fake_vector(str(text), dim)
            embedding: Any = (
                base64.b64encode(vec.astype("<f4").tobytes()).decode()
                if fmt == "base64"
                else [float(x) for x in vec]
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(str(t).split()) for t in inputs)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def _answer_text(body: dict[str, Any]) -> str:
        text = state.message_text
        return text(body) if callable(text) else text

    async def messages(request: Request) -> Response:
        body, failure = await _prologue("messages", request)
        if failure is not None:
            return failure
        text = _answer_text(body)
        usage_in = sum(len(json.dumps(m)) // 4 for m in body.get("messages", []))
        out_tokens = max(1, len(text.split()))
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "msg_fake_1",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": usage_in, "output_tokens": out_tokens},
                }
            )

        def sse(event: str, data: dict[str, Any]) -> bytes:
            return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()

        async def stream() -> AsyncIterator[bytes]:
            yield sse(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_fake_1",
                        "type": "message",
                        "role": "assistant",
                        "model": body["model"],
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": usage_in, "output_tokens": 1},
                    },
                },
            )
            yield sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            pieces = re.findall(r"\S+\s*", text)
            for n, piece in enumerate(pieces):
                if state.token_delay_s:
                    try:
                        await asyncio.sleep(state.token_delay_s)
                    except asyncio.CancelledError:
                        state.streams_cancelled += 1
                        raise
                if state.stream_error_after is not None and n >= state.stream_error_after:
                    yield sse(
                        "error",
                        {
                            "type": "error",
                            "error": {"type": "overloaded_error", "message": "Overloaded"},
                        },
                    )
                    return
                yield sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            yield sse("content_block_stop", {"type": "content_block_stop", "index": 0})
            yield sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": out_tokens},
                },
            )
            yield sse("message_stop", {"type": "message_stop"})

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def rerank(request: Request) -> Response:
        body, failure = await _prologue("rerank", request)
        if failure is not None:
            return failure
        query = _words(body["query"])
        scored = []
        for index, doc in enumerate(body["documents"]):
            words = _words(doc if isinstance(doc, str) else json.dumps(doc))
            scored.append((len(query & words) / (len(query) or 1), index))
        scored.sort(key=lambda item: (-item[0], item[1]))
        top_n = body.get("top_n") or len(scored)
        return JSONResponse(
            {
                "id": "rerank_fake_1",
                "results": [{"index": i, "relevance_score": s} for s, i in scored[:top_n]],
                "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
            }
        )

    return Starlette(
        routes=[
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/v2/rerank", rerank, methods=["POST"]),
        ]
    )


@dataclass
class FakeVendors:
    state: FakeVendorState
    url: str
    """`http://127.0.0.1:PORT` (Anthropic and Cohere base_url; OpenAI takes `url + "/v1"`)."""

    def reset(self) -> None:
        self.state.failures.clear()
        self.state.delay_s.clear()
        self.state.message_text = "The answer is 42 [1]."
        self.state.stream_error_after = None
        self.state.token_delay_s = 0.0
        self.state.streams_cancelled = 0
        self.state.requests.clear()


@contextmanager
def running_fake_vendors() -> Iterator[FakeVendors]:
    """Serve the fake on a random free port of 127.0.0.1 for the duration of the block."""
    state = FakeVendorState()
    with serve_in_thread(build_app(state), name="fake-vendors") as url:
        yield FakeVendors(state=state, url=url)
