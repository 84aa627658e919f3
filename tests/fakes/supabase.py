"""A local Starlette server speaking Supabase Storage's REST object API (served by uvicorn in a thread).

Enough of the wire format for `techdocs_app.storage.SupabaseFileStore` with the real httpx client:
- auth: `Authorization: Bearer <service key>` and `apikey` must both carry the service key, else 400
  with `{"statusCode": "403", "error": "Unauthorized", "message": ...}` (Supabase's shape: the
  status code is a string in the body).
- `POST /storage/v1/object/{bucket}/{path}` upload (409 Duplicate unless `x-upsert: true`),
  `PUT` overwrite, `GET` (also `/object/authenticated/...`) download, `HEAD` exists,
  `DELETE` one object, `DELETE /storage/v1/object/{bucket}` with `{"prefixes": [...]}`.
- a missing object: 400 `{"statusCode": "404", "error": "not_found", "message": "Object not found"}`.
Path segments arrive percent-encoded and are stored decoded. Tests can queue failures per method.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import serve_in_thread


@dataclass
class SupabaseState:
    service_key: str
    buckets: set[str] = field(default_factory=lambda: {"manuals"})
    objects: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    failures: dict[str, list[int]] = field(default_factory=dict)
    """HTTP method -> statuses to answer its next requests with."""
    requests: list[tuple[str, str]] = field(default_factory=list)

    def fail_next(self, method: str, *statuses: int) -> None:
        self.failures.setdefault(method.upper(), []).extend(statuses)


def _error(status: str, error: str, message: str, http: int = 400) -> JSONResponse:
    return JSONResponse(
        {"statusCode": status, "error": error, "message": message}, status_code=http
    )


def build_app(state: SupabaseState) -> Starlette:
    def authorized(request: Request) -> bool:
        return (
            request.headers.get("authorization") == f"Bearer {state.service_key}"
            and request.headers.get("apikey") == state.service_key
        )

    def split(raw: str) -> tuple[str, str]:
        bucket, _, path = raw.partition("/")
        return unquote(bucket), "/".join(unquote(p) for p in path.split("/"))

    async def object_route(request: Request) -> Response:
        raw_path = request.scope.get("raw_path", b"").decode()
        prefix = "/storage/v1/object/"
        rest = raw_path.split("?", 1)[0][len(prefix) :]
        if rest.startswith("authenticated/"):
            rest = rest[len("authenticated/") :]
        method = request.method
        state.requests.append((method, rest))
        if not authorized(request):
            return _error("403", "Unauthorized", "Invalid Compact JWS")
        queued = state.failures.get(method)
        if queued:
            status = queued.pop(0)
            return _error(str(status), "internal", "injected failure", http=status)
        bucket, path = split(rest)
        if bucket not in state.buckets:
            return _error("404", "Bucket not found", "Bucket not found")
        if method == "DELETE" and not path:
            body = await request.json()
            removed = []
            for prefix_path in body.get("prefixes", []):
                if state.objects.pop((bucket, prefix_path), None) is not None:
                    removed.append({"name": prefix_path, "bucket_id": bucket})
            return JSONResponse(removed)
        if not path:
            return _error("400", "invalid", "missing object path")
        key = (bucket, path)
        if method in ("POST", "PUT"):
            upsert = request.headers.get("x-upsert", "false").lower() == "true"
            if method == "POST" and key in state.objects and not upsert:
                return _error("409", "Duplicate", "The resource already exists", http=400)
            if method == "PUT" and key not in state.objects and not upsert:
                return _error("404", "not_found", "Object not found")
            data = await request.body()
            state.objects[key] = (data, request.headers.get("content-type", ""))
            return JSONResponse({"Key": f"{bucket}/{path}", "Id": f"{hash(key) & 0xFFFF:x}"})
        if key not in state.objects:
            return _error("404", "not_found", "Object not found")
        data, content_type = state.objects[key]
        if method == "GET":
            return Response(data, media_type=content_type or "application/octet-stream")
        if method == "HEAD":
            return Response(b"", headers={"content-length": str(len(data))})
        if method == "DELETE":
            del state.objects[key]
            return JSONResponse({"message": "Successfully deleted"})
        return _error("405", "method", "Method not allowed", http=405)

    return Starlette(
        routes=[
            Route(
                "/storage/v1/object/{rest:path}",
                object_route,
                methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            )
        ]
    )


@dataclass
class FakeSupabase:
    state: SupabaseState
    url: str
    """`http://127.0.0.1:PORT` (what SUPABASE_URL would be)."""


@contextmanager
def running_fake_supabase(service_key: str = "service-role-test-key") -> Iterator[FakeSupabase]:
    state = SupabaseState(service_key=service_key)
    with serve_in_thread(build_app(state), name="fake-supabase") as url:
        yield FakeSupabase(state=state, url=url)
