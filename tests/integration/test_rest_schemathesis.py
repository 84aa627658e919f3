"""schemathesis (from PyPI) against the live API: the app's routes served over HTTP by uvicorn,
with a valid key of an organization that has a manual. Bounded in examples and time. It must find
no 5xx, no status code, content type, header or body outside the OpenAPI document, and refuse
requests that break the schema or carry no key."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _reset_settings_caches
from tests.fakes.server import serve_in_thread
from tests.integration.test_answer_flow import ingest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance,negative_data_rejection,"
    "ignored_auth,unsupported_method,missing_required_header,allow_header_conformance"
)
MAX_EXAMPLES = "8"
MAX_TIME_S = "30"


@pytest.fixture
def live_api(db: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from techdocs_app import cache, jobs
    from techdocs_app.api import api

    # The fuzzer sends hundreds of requests a minute with one key.
    monkeypatch.setenv("API_RATE_LIMIT_PER_MINUTE", "100000")
    monkeypatch.setenv("API_QUERY_RATE_LIMIT_PER_MINUTE", "100000")
    _reset_settings_caches()
    cache.reset_redis()
    jobs.reset_jobs()
    try:
        with serve_in_thread(api, name="techdocs-api") as url:
            yield url
    finally:
        monkeypatch.undo()
        _reset_settings_caches()


def test_schemathesis_finds_no_server_error_or_schema_violation(
    live_api: str,
    make_org,
    corpus_dir: Path,  # noqa: ANN001
) -> None:
    from techdocs_app.api_keys import create_api_key

    shop = make_org("Fuzzed Optics")
    ingest(shop, corpus_dir)
    secret = create_api_key(shop, name="schemathesis", role="owner").secret
    report = REPO / "artifacts" / "schemathesis"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{live_api}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {secret}",
            "--checks",
            CHECKS,
            "--max-examples",
            MAX_EXAMPLES,
            "--max-time",
            MAX_TIME_S,
            "--seed",
            "20261130",
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "60",
            "--no-shrink",
            "--report",
            "junit",
            "--report-dir",
            str(report),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "9 selected / 9 total" in result.stdout and "Tested: 9" in result.stdout, summary
    assert "Fuzzing" in result.stdout and "Coverage" in result.stdout, summary
