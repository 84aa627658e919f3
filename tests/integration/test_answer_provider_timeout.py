"""A slow or failing answer vendor ends the stream with Failed (and a logged failure), never a hang.

The real Anthropic SDK talks to the local fake server from tests/fakes/vendors.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.vendors import FakeVendors, running_fake_vendors
from tests.integration.test_answer_flow import collect, ingest, query_logs

pytestmark = pytest.mark.integration

QUESTION = "What is the power budget and reach of the TS2017-S31C-SO?"


@pytest.fixture
def claude(db, monkeypatch) -> Iterator[FakeVendors]:  # noqa: ANN001
    from techdocs_app.providers import reset_providers
    from techdocs_app.settings import get_settings

    with running_fake_vendors() as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("PROVIDER_TIMEOUT_S", "3")
        get_settings.cache_clear()
        reset_providers()
        try:
            yield fake
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()
            reset_providers()


async def test_slow_vendor_gives_failed_and_a_logged_failure(claude, make_org, corpus_dir) -> None:  # noqa: ANN001
    from techdocs_app.rag.answer import Failed, Sources, Started, Token

    shop = make_org("Slow vendor")
    ingest(shop, corpus_dir)
    claude.state.delay_s["messages"] = 15.0
    events = await collect(shop, QUESTION)
    assert isinstance(events[0], Started) and isinstance(events[1], Sources)
    assert not any(isinstance(e, Token) for e in events)
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert "took too long" in failed.user_message
    assert claude.state.requests_to("messages")  # the vendor was really called
    (log,) = query_logs(shop.org_id)
    assert log.error and "Timeout" in log.error
    assert log.conversation_id == events[0].conversation_id


async def test_vendor_answer_is_streamed_and_citations_checked(
    claude, make_org, corpus_dir
) -> None:  # noqa: ANN001
    from techdocs_app.rag.answer import Done, Token

    shop = make_org("Claude")
    ingest(shop, corpus_dir)
    from tests.integration.test_answer_outcomes import _excerpts, _first_sentence

    claude.state.message_text = lambda body: (
        f"{_first_sentence(_excerpts(body)[1])} [1] {_first_sentence(_excerpts(body)[2])} [2][9]"
    )
    events = await collect(shop, QUESTION)
    done = events[-1]
    assert isinstance(done, Done) and not done.offline
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert "[9]" in streamed  # streamed as the vendor wrote it …
    assert "[9]" not in done.answer  # … but the saved answer drops the citation to no source
    assert done.citations == [1, 2]
    (request,) = claude.state.requests_to("messages")
    assert request.body.get("stream") is True


async def test_vendor_error_mid_stream_gives_failed(claude, make_org, corpus_dir) -> None:  # noqa: ANN001
    from techdocs_app.rag.answer import Failed

    shop = make_org("Broken vendor")
    ingest(shop, corpus_dir)
    claude.state.message_text = "The power budget is 0-13.0 dB [1] and more words follow here."
    claude.state.stream_error_after = 2
    events = await collect(shop, QUESTION)
    assert isinstance(events[-1], Failed)
    assert events[-1].user_message.startswith("The answer service")
    (log,) = query_logs(shop.org_id)
    assert log.error
