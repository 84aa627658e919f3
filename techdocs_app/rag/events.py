"""What `rag.answer.ask()` streams: Started, Sources, Token…, then Done, or Failed with a plain
`user_message`; and the AnswerTrace a caller may pass to see inside one answer (eval, tests, CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SourceView:
    number: int
    chunk_id: int
    document_id: int
    document_title: str
    filename: str
    page_start: int
    page_end: int
    heading: str
    snippet: str
    score: float
    positions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Started:
    conversation_id: int
    standalone_query: str


@dataclass(frozen=True)
class Sources:
    sources: list[SourceView]


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Done:
    message_id: int
    answer: str
    citations: list[int]
    not_found: bool
    offline: bool
    searched_documents: list[str]
    timings: dict[str, float]
    cache_hit: bool
    outcome: str = "answer"
    """answer; closest (the nearest passages, cited and labelled as not exact); not_found."""


@dataclass(frozen=True)
class Failed:
    user_message: str


AnswerEvent = Started | Sources | Token | Done | Failed


@dataclass
class AnswerTrace:
    """What happened inside one `ask()` (filled when a caller passes one: eval, tests, CLI)."""

    standalone_query: str = ""
    ranked: list[dict[str, Any]] = field(default_factory=list)
    """Top candidates after rerank: chunk_id, document_id, filename, page_start, page_end."""
    evidence: dict[str, Any] = field(default_factory=dict)
    document_filter: list[int] | None = None
    not_found: bool = False
    outcome: str = ""
    """answer, closest or not_found (the evidence decision, see rag.evidence)."""
    cache_hit: bool = False
    widened: bool = False
    """A follow-up's best passage is in another manual than the previous turn's."""
    searched_previous: bool = False
    """A follow-up's library search held few passages of the previous turn's manuals, so those
    manuals were searched too (`rag.followup.lacks_previous_manuals`)."""
    error: str | None = None
