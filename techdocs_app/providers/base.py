"""One small interface per provider kind, each with one main method.

Real vendors and the embedded offline defaults implement these; `providers/__init__.py` is the one
place that chooses between them from settings. Vendor SDKs are imported only inside their own module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from techdocs_app.settings import EMBED_DIM

__all__ = [
    "EMBED_DIM",
    "AnswerStreamInfo",
    "Answerer",
    "Condenser",
    "Embedder",
    "RerankCandidate",
    "RerankResult",
    "Reranker",
    "SourcePassage",
    "Turn",
]


@dataclass(frozen=True)
class Turn:
    """One question/answer pair of a conversation, as memory keeps it."""

    question: str
    answer: str
    standalone_query: str = ""
    document_ids: tuple[int, ...] = ()
    identifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RerankCandidate:
    text: str
    heading: str = ""
    identifiers: tuple[str, ...] = ()
    document_title: str = ""
    fused_score: float = 0.0
    similarity: float | None = None
    """Cosine of the query and the chunk's stored embedding, when the search computed it (the
    local reranker uses it as a second, semantic ordering; None: lexical evidence only)."""


@dataclass(frozen=True)
class RerankResult:
    index: int
    """Position in the candidate list passed to `rerank`."""
    score: float


@dataclass(frozen=True)
class SourcePassage:
    """One numbered source given to an answerer; citations `[n]` refer to `number`."""

    number: int
    document_title: str
    page_start: int
    page_end: int
    heading: str
    text: str
    kind: str = "text"  # "text" or "table"
    score: float = 0.0
    focus: str = ""
    """The retrieved chunk inside `text` when `text` is its whole section ('' otherwise): where in
    the section the search found the question's words and meaning."""


@dataclass
class AnswerStreamInfo:
    """Filled in by an answerer while it streams (usage, model)."""

    model: str = ""
    output_tokens: int = 0
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Embedder(Protocol):
    model_name: str
    """Recorded on every chunk; vectors of different models are never compared."""
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


@runtime_checkable
class Reranker(Protocol):
    name: str

    async def rerank(
        self, query: str, candidates: Sequence[RerankCandidate], top_n: int
    ) -> list[RerankResult]: ...


@runtime_checkable
class Answerer(Protocol):
    name: str
    offline: bool
    """True for the extractive answerer: the UI labels its answers."""

    def stream_answer(
        self,
        *,
        question: str,
        sources: Sequence[SourcePassage],
        history: Sequence[Turn],
        info: AnswerStreamInfo | None = None,
    ) -> AsyncIterator[str]: ...


@runtime_checkable
class Condenser(Protocol):
    name: str

    async def condense(self, *, question: str, history: Sequence[Turn]) -> str: ...
