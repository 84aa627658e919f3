"""Structured logs (fields, context ids, scrubbing), request ids, metrics helpers and the
/metrics guard — nothing external."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from techdocs_app.observability import logs
from techdocs_app.observability.metrics import provider_of
from techdocs_app.observability.middleware import RequestContextMiddleware

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    logger = logging.getLogger("techdocs_test.observability")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_context_ids(json_log) -> None:  # noqa: ANN001
    logger, stream = json_log
    logger.info("before")
    with logs.log_context(request_id="req-12345678", org_id=7, user_id=3):
        logger.info("document %s stored", 42)
        with logs.log_context(job_id="ingest-42"):
            logger.warning("inside the job")
    logger.info("after")
    before, stored, job, after = _lines(stream)
    assert before["message"] == "before" and "org_id" not in before
    assert stored == {
        "ts": stored["ts"],
        "level": "info",
        "logger": "techdocs_test.observability",
        "message": "document 42 stored",
        "request_id": "req-12345678",
        "org_id": 7,
        "user_id": 3,
    }
    assert job["job_id"] == "ingest-42" and job["level"] == "warning" and job["org_id"] == 7
    assert "request_id" not in after and "job_id" not in after


def test_emails_tokens_keys_and_passwords_never_reach_a_line(json_log) -> None:  # noqa: ANN001
    logger, stream = json_log
    logger.info("signup for Jane.Doe+shop@example.co.uk failed")
    logger.info("header Authorization: Bearer abcdefghijklmnop1234 was sent")
    logger.info("key td_live_AbCdEf123456_secretpart used")
    logger.info("connect postgresql://techdocs:hunter2pass@db:5432/techdocs")
    logger.info("settings SESSION_SECRET=s3cr3tvalue METRICS_TOKEN: tok123456")
    try:
        raise ValueError("bad login for bob@shop.example with password=letmein99")
    except ValueError:
        logger.exception("sign-in crashed")
    text = stream.getvalue()
    for secret in (
        "Jane.Doe",
        "example.co.uk",
        "abcdefghijklmnop1234",
        "td_live_AbCdEf123456",
        "hunter2pass",
        "s3cr3tvalue",
        "tok123456",
        "bob@shop.example",
        "letmein99",
    ):
        assert secret not in text, secret
    lines = _lines(stream)
    assert lines[0]["message"] == "signup for [email] failed"
    assert lines[-1]["exc_type"] == "ValueError" and "Traceback" in lines[-1]["exc"]


def test_configure_logging_is_the_one_root_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logging.basicConfig()
        logs.configure_logging("json", "INFO")
        logs.configure_logging("json", "INFO")
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
        logs.configure_logging("text", "WARNING")
        assert isinstance(root.handlers[0].formatter, logs.TextFormatter)
        assert root.level == logging.WARNING
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def test_production_default_is_json_and_development_text() -> None:
    code = (
        "from techdocs_app.settings import Settings\n"
        "print(Settings(_env_file=None, environment='production').effective_log_format,"
        " Settings(_env_file=None).effective_log_format,"
        " Settings(_env_file=None, environment='production', log_format='text')"
        ".effective_log_format)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.split() == ["json", "text", "text"], out.stderr


def _echo_app() -> Starlette:
    async def echo(request: Request) -> PlainTextResponse:
        logging.getLogger("techdocs_test.request").info("handled")
        return PlainTextResponse(str(logs.current_context().get("request_id")))

    app = Starlette(routes=[Route("/echo", echo)])
    app.add_middleware(RequestContextMiddleware)
    return app


def test_every_request_gets_an_id_in_context_and_response() -> None:
    with TestClient(_echo_app()) as client:
        first = client.get("/echo")
        second = client.get("/echo")
        given = client.get("/echo", headers={"X-Request-ID": "lb-7f3a9c21e0"})
        hostile = client.get("/echo", headers={"X-Request-ID": "<script>x</script>"})
    assert first.text == first.headers["x-request-id"] and len(first.text) == 32
    assert second.text != first.text
    assert given.text == given.headers["x-request-id"] == "lb-7f3a9c21e0"
    assert hostile.text != "<script>x</script>" and len(hostile.text) == 32
    assert logs.current_context().get("request_id") is None  # nothing leaks out


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("ProviderTimeout:anthropic answer: timeout", ("anthropic", "timeout")),
        ("ProviderError:openai embeddings: 500 InternalServerError", ("openai", "error")),
        ("ProviderTimeout:answer stream stalled", ("local", "timeout")),
        ("ProviderTimeout:embed timed out", ("local", "timeout")),
        ("ProviderError:empty answer", ("local", "error")),
        ("rejected:too_short", None),
        ("OperationalError:", None),
    ],
)
def test_provider_of_a_failure(error: str, expected: tuple[str, str] | None) -> None:
    # With no vendor keys the configured providers are the local ones.
    assert provider_of(error) == expected


def _scrape_after_two_processes(tmp_path: Path, code: str) -> str:
    """Run `code` in two processes in multiprocess mode (as the backend's workers), then one
    scrape of what they counted, summed."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    scrape = (
        "from prometheus_client import CollectorRegistry, multiprocess, generate_latest\n"
        "r = CollectorRegistry(); multiprocess.MultiProcessCollector(r)\n"
        "print(generate_latest(r).decode())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", scrape], cwd=REPO, env=env, capture_output=True, text=True
    ).stdout


def test_metrics_are_summed_over_processes(tmp_path: Path) -> None:
    """Two processes (as the app's backend workers) count questions; one scrape sums them."""
    code = (
        "from techdocs_app.observability.metrics import record_question\n"
        "record_question(outcome='answered', timings_ms={'total': 120.0}, cache_hit=False)\n"
        "record_question(outcome='not_found', timings_ms={'total': 80.0}, cache_hit=True)\n"
    )
    text = _scrape_after_two_processes(tmp_path, code)
    assert 'techdocs_questions_total{outcome="answered"} 2.0' in text
    assert 'techdocs_questions_total{outcome="not_found"} 2.0' in text
    assert 'techdocs_answer_cache_total{result="hit"} 2.0' in text
    assert 'techdocs_answer_stage_seconds_count{stage="total"} 4.0' in text


def test_rerank_fallbacks_are_summed_over_processes_and_rendered(tmp_path: Path) -> None:
    """The backend's processes count fallbacks in multiprocess mode and one scrape sums them by
    provider and reason; an unknown reason counts as error. (`/metrics` itself:
    tests/integration/test_rerank_fallback.py.)"""
    code = (
        "from techdocs_app.observability.metrics import record_rerank_fallback\n"
        "record_rerank_fallback(provider='cohere', reason='timeout')\n"
        "record_rerank_fallback(provider='cohere', reason='error')\n"
        "record_rerank_fallback(provider='cohere', reason='weird')\n"
    )
    text = _scrape_after_two_processes(tmp_path, code)
    assert 'techdocs_rerank_fallbacks_total{provider="cohere",reason="timeout"} 2.0' in text
    assert 'techdocs_rerank_fallbacks_total{provider="cohere",reason="error"} 4.0' in text


def test_provider_labels() -> None:
    from techdocs_app.observability.metrics import provider_label
    from techdocs_app.providers.cohere_rerank import CohereReranker
    from techdocs_app.providers.local_rerank import LocalReranker

    cohere = CohereReranker(api_key="co-test", base_url="http://127.0.0.1:9")
    assert provider_label(cohere) == "cohere"
    assert provider_label(LocalReranker()) == "local"


def test_text_lines_keep_the_logger_name_and_scrub_the_message() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.TextFormatter())
    handler.addFilter(logs.ContextFilter())
    logger = logging.getLogger("techdocs_app.api_keys")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("api key created for jane@shop.example")
        try:
            raise RuntimeError("token=abcdef123456")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert "techdocs_app.api_keys: api key created for [email]" in text
    assert "abcdef123456" not in text and "Traceback" in text
