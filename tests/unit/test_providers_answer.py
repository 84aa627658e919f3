"""Answerers: the extractive offline answerer, and Claude through the real SDK against the fake."""

from __future__ import annotations

import pytest

from techdocs_app.errors import ProviderError, ProviderTimeout
from techdocs_app.providers.anthropic_answer import ClaudeAnswerer
from techdocs_app.providers.base import Answerer, AnswerStreamInfo, SourcePassage, Turn
from techdocs_app.providers.local_answer import ExtractiveAnswerer
from techdocs_app.providers.prompts import NOT_FOUND_SENTENCE
from tests.fakes.vendors import FakeVendors

RT2 = SourcePassage(
    number=1,
    document_title="Trikdis RT2",
    page_start=2,
    page_end=2,
    heading="Technical specifications",
    text=(
        "The RT2 telephone receiving module is a component of the receiver RM14.\n"
        "It is powered from the receiver. Supply voltage 12.6 V, permissible 11-15 V; "
        "current not exceeding 150 mA.\n\n"
        "Dimensions of the module are 100 x 80 mm. The module is mounted in a slot."
    ),
)
PINS = SourcePassage(
    number=2,
    document_title="QSFP-100G-ER4L-A-FL",
    page_start=6,
    page_end=6,
    heading="Pin descriptions",
    kind="table",
    text=(
        "Pin | Logic | Symbol | Name/Description\n"
        "30 | | Vcc1 | +3.3V Power Supply\n"
        "31 | LVTTL-I | LPMode | Low Power Mode\n"
        "32 | | GND | Ground"
    ),
)
STEPS = SourcePassage(
    number=3,
    document_title="Ender 3 quick start",
    page_start=4,
    page_end=4,
    heading="Bed leveling",
    text=(
        "Bed leveling\n"
        "1. Disable steppers from the Prepare menu.\n"
        "2. Move the nozzle to each corner of the bed.\n"
        "3. Adjust the leveling nuts until a sheet of paper just drags.\n"
        "4. Repeat for all four corners.\n"
        "Keep the nozzle clean."
    ),
)


async def _collect(answerer: Answerer, question: str, sources, history=(), info=None) -> str:
    return "".join(
        [
            piece
            async for piece in answerer.stream_answer(
                question=question, sources=sources, history=history, info=info
            )
        ]
    )


async def test_extractive_quotes_spec_sentence_with_citation() -> None:
    answerer = ExtractiveAnswerer()
    assert isinstance(answerer, Answerer) and answerer.offline
    info = AnswerStreamInfo()
    answer = await _collect(
        answerer, "What supply voltage and current does the RT2 accept?", [RT2, PINS], info=info
    )
    assert "permissible 11-15 V; current not exceeding 150 mA. [1]" in answer
    assert "Dimensions" not in answer
    assert info.model == "local:extractive" and info.output_tokens > 0


async def test_extractive_table_rows_as_markdown() -> None:
    answer = await _collect(
        ExtractiveAnswerer(), "Which pin of the QSFP-100G-ER4L-A-FL is LPMode?", [PINS, RT2]
    )
    assert "| Pin | Logic | Symbol | Name/Description |" in answer
    assert "|---|---|---|---|" in answer
    assert "| 31 | LVTTL-I | LPMode | Low Power Mode |" in answer
    assert "Ground" not in answer
    assert "[2]" in answer and "[1]" not in answer  # PINS is source 2; RT2 does not answer


async def test_extractive_procedure_keeps_steps_in_order() -> None:
    answer = await _collect(
        ExtractiveAnswerer(), "What is the bed leveling procedure for the Ender 3?", [STEPS]
    )
    first, last = answer.index("Disable steppers"), answer.index("Repeat for all four corners")
    assert first < answer.index("Move the nozzle") < answer.index("Adjust the leveling") < last
    assert answer.count("[3]") >= 4


async def test_extractive_not_found_and_first_piece_streams() -> None:
    assert await _collect(ExtractiveAnswerer(), "What torque for the nozzle?", []) == (
        NOT_FOUND_SENTENCE
    )
    stream = ExtractiveAnswerer().stream_answer(
        question="What current does the RT2 draw?", sources=[RT2], history=[]
    )
    first = await anext(stream)
    assert "150 mA" in first and first.endswith("[1]")
    await stream.aclose()


def _claude(fake: FakeVendors, timeout_s: float = 5.0) -> ClaudeAnswerer:
    return ClaudeAnswerer(
        api_key="sk-ant-test", base_url=fake.url, model="claude-test", timeout_s=timeout_s
    )


async def test_claude_streams_text_and_fills_info(fake: FakeVendors) -> None:
    fake.state.message_text = "Supply 11-15 V, current up to 150 mA [1]. Pin 31 is LPMode [2]."
    history = [Turn(question="What is the RT2?", answer="A telephone receiving module [1].")]
    info = AnswerStreamInfo()
    pieces = [
        p
        async for p in _claude(fake).stream_answer(
            question="What supply does it need?", sources=[RT2, PINS], history=history, info=info
        )
    ]
    assert len(pieces) > 3  # streamed, not one block
    assert "".join(pieces) == fake.state.message_text
    assert info.model == "claude-test"
    assert info.output_tokens == len(fake.state.message_text.split())

    (call,) = fake.state.requests_to("messages")
    body = call.body
    assert body["stream"] is True and body["model"] == "claude-test"
    assert "numbered excerpts" in body["system"] and "[1]" in body["system"]
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert body["messages"][0]["content"] == "What is the RT2?"
    last = body["messages"][-1]["content"]
    assert "[1] Trikdis RT2 — p. 2 — Technical specifications" in last
    assert "[2] QSFP-100G-ER4L-A-FL — p. 6 — Pin descriptions (table" in last
    assert "Question: What supply does it need?" in last


@pytest.mark.parametrize(("status", "phrase"), [(529, "overloaded"), (500, "failed")])
async def test_claude_http_errors_become_provider_errors(
    fake: FakeVendors, status: int, phrase: str
) -> None:
    fake.state.fail_next("messages", status)
    with pytest.raises(ProviderError) as caught:
        await _collect(_claude(fake), "q", [RT2])
    assert not isinstance(caught.value, ProviderTimeout)
    assert phrase in caught.value.user_message
    assert len(fake.state.requests_to("messages")) == 1  # SDK retries are off


async def test_claude_error_event_mid_stream(fake: FakeVendors) -> None:
    fake.state.message_text = "one two three four five six"
    fake.state.stream_error_after = 2
    received: list[str] = []
    with pytest.raises(ProviderError) as caught:
        async for piece in _claude(fake).stream_answer(question="q", sources=[RT2], history=[]):
            received.append(piece)
    assert "".join(received) == "one two "
    assert "overloaded" in caught.value.user_message


async def test_claude_slow_server_times_out(fake: FakeVendors) -> None:
    fake.state.delay_s["messages"] = 2.0
    with pytest.raises(ProviderTimeout) as caught:
        await _collect(_claude(fake, timeout_s=0.2), "q", [RT2])
    assert "too long" in caught.value.user_message
