"""JSON errors of the REST API: `{"error": {"code": "...", "message": "..."}}`.

`code` is stable (integrations branch on it); `message` is the plain sentence the UI shows.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from techdocs_app.errors import (
    AuthError,
    IngestFailed,
    LimitReached,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderTimeout,
    TechDocsError,
    UploadRejected,
    ValidationFailed,
)

GENERIC = "Something went wrong. Please try again."


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


# (exception class, HTTP status, code), most specific first.
_MAPPING: tuple[tuple[type[TechDocsError], int, str], ...] = (
    (PermissionDenied, 403, "forbidden"),
    (AuthError, 401, "unauthorized"),
    (NotFound, 404, "not_found"),
    (UploadRejected, 422, "upload_rejected"),
    (IngestFailed, 422, "ingest_failed"),
    (ValidationFailed, 422, "validation_failed"),
    (LimitReached, 402, "limit_reached"),
    (ProviderTimeout, 504, "provider_timeout"),
    (ProviderError, 502, "provider_error"),
)


def status_of(cls: type[TechDocsError]) -> tuple[int, str]:
    """(HTTP status, code) of an error class."""
    for mapped, status, code in _MAPPING:
        if issubclass(cls, mapped):
            return status, code
    return 400, "bad_request"


def from_exception(exc: TechDocsError) -> ApiError:
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:  # RateLimited (security's limiter) or anything that says when
        seconds = max(1, int(float(retry_after) + 0.999))
        return ApiError(
            429, "rate_limited", exc.user_message, headers={"Retry-After": str(seconds)}
        )
    status, code = status_of(type(exc))
    return ApiError(status, code, exc.user_message)
