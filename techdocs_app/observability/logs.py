"""Structured logs: one JSON object per line (`LOG_FORMAT=json`, the production default) or text.

Every record carries the ids of what it belongs to, from context variables set at the edges:
`request_id` (HTTP requests, `RequestContextMiddleware`), `job_id` (RQ jobs), `org_id` and
`user_id` (the authenticated principal or the job's organization). Set them with
`bind(org_id=..., user_id=...)` or `log_context(...)`.

What never reaches a log line: question text, email addresses and secrets. Our code logs ids, not
content; as a second line of defence every message and traceback is scrubbed of email addresses,
bearer tokens, API keys (`td_…`) and `key=value` secrets before it is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

CONTEXT_FIELDS = ("request_id", "job_id", "org_id", "user_id")
_context: dict[str, ContextVar[Any]] = {
    name: ContextVar(f"techdocs_{name}", default=None) for name in CONTEXT_FIELDS
}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_API_KEY = re.compile(r"\btd_(?:live|test)_[A-Za-z0-9_-]{8,}")
_SECRET_KV = re.compile(
    r"(?i)\b([A-Z0-9_]*(?:password|secret|token|api_key|apikey|authorization)[A-Z0-9_]*)"
    r"(\s*[=:]\s*)([^\s,;&]+)"
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")


def scrub(text: str) -> str:
    """Remove email addresses, tokens, API keys and passwords from a log message."""
    text = _EMAIL.sub("[email]", text)
    text = _API_KEY.sub("[api-key]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _URL_PASSWORD.sub(r"\1[redacted]\3", text)
    return _SECRET_KV.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)


def current_context() -> dict[str, Any]:
    return {name: var.get() for name, var in _context.items() if var.get() is not None}


def bind(**values: Any) -> None:
    """Set context ids for the rest of this task/thread (e.g. after authenticating a request)."""
    for name, value in values.items():
        if name not in _context:
            raise KeyError(f"unknown log context field {name!r}")
        _context[name].set(value)


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Context ids for the duration of a block (restored afterwards)."""
    tokens = []
    for name, value in values.items():
        if name not in _context:
            raise KeyError(f"unknown log context field {name!r}")
        tokens.append((name, _context[name].set(value)))
    try:
        yield
    finally:
        for name, token in reversed(tokens):
            _context[name].reset(token)


class ContextFilter(logging.Filter):
    """Copies the context ids onto every record (so any formatter can use them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, _context[name].get())
        return True


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", <context ids>, "exc_type", "exc"}` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = scrub("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines for development, with the context ids that are set."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = scrub(super().format(record))
        ids = " ".join(
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        )
        return f"{line} [{ids}]" if ids else line


_HANDLER_NAME = "techdocs"


def configure_logging(fmt: str | None = None, level: str | None = None) -> None:
    """Make ours the one root handler of this process (idempotent), so that every line has the
    chosen format: a handler installed earlier (`basicConfig`) would print each record twice."""
    from techdocs_app.settings import get_settings

    settings = get_settings()
    fmt = fmt or settings.effective_log_format
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel((level or settings.log_level).upper())
