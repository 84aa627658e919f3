"""`POST /api/v1/query/stream` over real HTTP (the app's routes served by uvicorn), with Claude's
real SDK against the local fake: the events in order, and a client that goes away mid-answer
makes the server stop the answer (the vendor stream is closed, nothing is saved as answered)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.server import serve_in_thread
from tests.fakes.vendors import FakeVendors, running_fake_vendors
from tests.integration.test_answer_flow import ingest

pytestmark = pytest.mark.integration

QUESTION = "What is the power budget and reach of the TS2017-S31C-SO?"


@pytest.fixture
def live(db: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FakeVendors]]:
    from techdocs_app import cache, jobs
    from techdocs_app.api import api
    from techdocs_app.providers import reset_providers
    from techdocs_app.settings import get_settings

    with running_fake_vendors() as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        get_settings.cache_clear()
        reset_providers()
        cache.reset_redis()
        jobs.reset_jobs()
        try:
            with serve_in_thread(api, name="techdocs-api") as url:
                yield url, fake
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()
            reset_providers()


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Parse Server-Sent Events (`event:` + `data:` lines, blank line between events)."""
    name, data = "", []
    for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and name:
            yield name, json.loads("\n".join(data))
            name, data = "", []


def _key(principal: Any) -> dict[str, str]:
    from techdocs_app.api_keys import create_api_key

    return {
        "Authorization": f"Bearer {create_api_key(principal, name='sse', role='member').secret}"
    }


def test_stream_sends_sources_tokens_then_done(live, make_org, corpus_dir) -> None:  # noqa: ANN001
    url, fake = live
    shop = make_org("Stream Shop")
    ingest(shop, corpus_dir)
    fake.state.message_text = "The power budget is given in the table [1]. Reach is 10 km [1]."
    with httpx.stream(
        "POST",
        f"{url}/api/v1/query/stream",
        headers=_key(shop),
        json={"question": QUESTION},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(_events(response.iter_lines()))
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done"
    assert set(names[1:-1]) == {"token"} and len(names) > 3
    sources, done = events[0][1], events[-1][1]
    assert sources["conversation_id"] == done["conversation_id"] > 0
    assert sources["sources"] and sources["sources"][0]["page_start"] >= 1
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert done["answer"].startswith("The power budget") and streamed.startswith("The power budget")
    # The saved answer is the streamed one, less any citation its passage does not support.
    assert done["answer"].replace(" [1]", "") == streamed.replace(" [1]", "")
    assert done["citations"] == [1] and not done["offline"]

    # A question refused at once answers as JSON, like POST /query.
    refused = httpx.post(
        f"{url}/api/v1/query/stream",
        headers=_key(shop),
        json={"question": "torque " * 400},
        timeout=30,
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_question"


def test_a_client_that_disconnects_stops_the_answer(live, make_org, corpus_dir) -> None:  # noqa: ANN001
    from prometheus_client import REGISTRY

    from techdocs_app.conversations import get_messages

    url, fake = live
    shop = make_org("Hang-up Shop")
    ingest(shop, corpus_dir)
    fake.state.message_text = " ".join(f"word{i}" for i in range(60)) + " [1]."
    fake.state.token_delay_s = 0.25  # about 15 s for the whole answer
    cancelled_before = (
        REGISTRY.get_sample_value("techdocs_questions_total", {"outcome": "cancelled"}) or 0.0
    )

    with httpx.stream(
        "POST",
        f"{url}/api/v1/query/stream",
        headers=_key(shop),
        json={"question": QUESTION},
        timeout=30,
    ) as response:
        seen = []
        for name, data in _events(response.iter_lines()):
            seen.append((name, data))
            if name == "token":
                break  # the client hangs up after the first words
    conversation_id = seen[0][1]["conversation_id"]
    hung_up = time.monotonic()

    deadline = hung_up + 10
    while fake.state.streams_cancelled == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.state.streams_cancelled == 1, "the server kept generating after the client left"
    assert len(fake.state.requests_to("messages")) == 1
    # The question was recorded, but no answer: the work stopped.
    messages = get_messages(shop, conversation_id=conversation_id)
    assert [m.role for m in messages] == ["user"]
    cancelled = REGISTRY.get_sample_value("techdocs_questions_total", {"outcome": "cancelled"})
    assert cancelled == cancelled_before + 1
