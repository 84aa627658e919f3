"""Which chat-state writes an answer in progress makes (state.draft.DraftBatcher)."""

from __future__ import annotations

from techdocs_app.state.draft import WRITING_STATUS, DraftBatcher, DraftWrite


def _batcher() -> DraftBatcher:
    return DraftBatcher(flush_s=0.05, hold_s=0.15, stop_check_s=1.0, now=0.0)


def test_sources_go_out_with_words_that_follow_at_once() -> None:
    draft = _batcher()
    draft.started(42)
    draft.add_sources(["s1", "s2"], now=0.30)
    assert draft.due(0.30) is None
    assert abs(draft.timeout(0.30) - 0.15) < 1e-9
    draft.add_words("The RT2 ")
    write = draft.due(0.31)
    assert write == DraftWrite(text="The RT2 ", sources=["s1", "s2"], conversation_id=42, status="")
    # Written once: the next words do not carry the sources again.
    draft.add_words("takes 12 V.")
    assert draft.due(0.37) == DraftWrite(text="The RT2 takes 12 V.", status="")


def test_sources_go_out_alone_when_the_words_are_slow() -> None:
    draft = _batcher()
    draft.started(7)
    draft.add_sources(["s1"], now=0.2)
    assert draft.due(0.3) is None
    assert abs(draft.timeout(0.3) - 0.05) < 1e-9
    write = draft.due(0.36)
    assert write == DraftWrite(sources=["s1"], conversation_id=7, status=WRITING_STATUS)
    draft.add_words("First")
    assert draft.due(0.9) == DraftWrite(text="First", status="")


def test_no_sources_clears_the_status() -> None:
    draft = _batcher()
    draft.add_sources([], now=0.0)
    assert draft.due(0.2) == DraftWrite(sources=[], conversation_id=0, status="")


def test_first_words_at_once_then_batches_at_most_every_flush() -> None:
    draft = _batcher()
    draft.add_words("a")
    assert draft.due(1.00) == DraftWrite(text="a", status="")
    draft.add_words("b")
    assert draft.due(1.01) is None
    draft.add_words("c")
    assert draft.due(1.04) is None
    assert abs(draft.timeout(1.04) - 0.01) < 1e-9
    assert draft.due(1.05) == DraftWrite(text="abc", status="")
    assert draft.all_text() == "abc"


def test_nothing_is_written_once_finished() -> None:
    draft = _batcher()
    draft.add_sources(["s"], now=0.0)
    draft.add_words("whole answer")
    assert draft.due(0.01, finished=True) is None
    assert draft.all_text() == "whole answer"


def test_while_searching_the_stop_flag_is_read_every_stop_check() -> None:
    draft = _batcher()
    assert abs(draft.timeout(0.4) - 0.6) < 1e-9
    assert draft.due(0.5) is None
    assert draft.due(1.0) == DraftWrite()
    assert draft.due(1.5) is None
    assert draft.due(2.0) == DraftWrite()
