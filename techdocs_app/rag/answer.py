"""Answering a question: condense → cache → embed → hybrid search → rerank → evidence check →
streamed, cited answer → save (Postgres history, Redis memory, answer cache) → query log.

`ask()` is an async generator of events (`rag.events`): Started, Sources, Token…, then Done, or
Failed with a plain `user_message`. Each stage is a short function below, in pipeline order.
Blocking work (database, embedding, Redis) runs in threads so the event loop keeps serving other
users. Every provider call has a deadline, and the whole answer has one too, so a stalled vendor
ends in Failed, never in a hung stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from techdocs_app import cache, memory
from techdocs_app.auth import Principal
from techdocs_app.billing import billing_enabled
from techdocs_app.billing.access import require_capability
from techdocs_app.billing.plans import Capability
from techdocs_app.db import conversations as conversations_db
from techdocs_app.db import passages as passages_db
from techdocs_app.db import query_logs
from techdocs_app.db.engine import session_scope
from techdocs_app.errors import (
    NotFound,
    ProviderError,
    ProviderTimeout,
    ReadOnlyPlan,
    TechDocsError,
)
from techdocs_app.observability.metrics import (
    observed_answer,
    provider_label,
    record_rerank_fallback,
)
from techdocs_app.providers import get_answerer, get_condenser, get_embedder, get_reranker
from techdocs_app.providers.base import AnswerStreamInfo, RerankCandidate, SourcePassage, Turn
from techdocs_app.providers.prompts import NOT_FOUND_SENTENCE
from techdocs_app.rag.attributes import assess_attributes, document_profiles
from techdocs_app.rag.citations import (
    MarkupFilter,
    check_citations,
    strip_markup,
    verify_answer,
)
from techdocs_app.rag.events import (
    AnswerEvent,
    AnswerTrace,
    Done,
    Failed,
    Sources,
    SourceView,
    Started,
    Token,
)
from techdocs_app.rag.evidence import (
    CLOSEST_LEAD,
    answerable_probability,
    assess_evidence,
    decide,
    is_weak,
    not_found_text,
)
from techdocs_app.rag.followup import (
    followup_wordings,
    fuse_scores,
    lacks_previous_manuals,
    merge_pools,
    moved_rewrite,
    names_another_model,
    new_identifiers,
    own_words,
    preferred_manuals,
    turn_manuals,
    wording_key,
)
from techdocs_app.rag.questions import QuestionRejected, check_question
from techdocs_app.rag.retrieve import SearchHit, hybrid_search
from techdocs_app.rag.units import ConversionStream, annotate_conversions
from techdocs_app.settings import get_settings
from techdocs_app.text.identifiers import query_identifiers

__all__ = [
    "AnswerEvent",
    "AnswerTrace",
    "Done",
    "Failed",
    "QuestionRejected",
    "SourceView",
    "Sources",
    "Started",
    "Token",
    "ask",
    "check_question",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

RANKED_KEEP = 10
"""Candidates kept in rerank order (the first `rerank_top_n` become sources; eval reads 10)."""
SNIPPET_CHARS = 320
TOKEN_GAP_FACTOR = 1.0
"""A stream that sends nothing for provider_timeout_s * this is abandoned."""
OVERALL_FACTOR = 3.0
"""The whole answer (all provider calls) gets provider_timeout_s * this + 5 s."""
CLOSEST_LISTED = 3
"""Passages listed when a "closest passages" answer has no sentence to quote."""
CRASH_MESSAGE = "Something went wrong while answering. Please try again."


# --- one answer's state ---------------------------------------------------------------------------


class _Deadline:
    def __init__(self, stage_s: float, overall_s: float) -> None:
        self.stage_s = stage_s
        self.end = time.monotonic() + overall_s

    def left(self) -> float:
        return max(0.01, min(self.stage_s, self.end - time.monotonic()))

    async def run(self, awaitable: Awaitable[T], stage: str) -> T:
        try:
            return await asyncio.wait_for(awaitable, timeout=self.left())
        except TimeoutError as exc:
            raise ProviderTimeout(detail=f"{stage} timed out") from exc


@dataclass
class _Context:
    conversation_id: int
    document_ids: list[int] | None
    index_version: int
    created: bool


@dataclass
class _Run:
    """What the stages of one `ask()` share."""

    principal: Principal
    trace: AnswerTrace
    deadline: _Deadline
    question: str
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    standalone: str = ""
    ctx: _Context | None = None
    history: list[Turn] = field(default_factory=list)
    focus: list[int] | None = None
    """The previous turn's manuals a follow-up prefers (None: no preference)."""
    wordings: list[tuple[str, float]] = field(default_factory=list)
    """(wording, weight) the candidates are ranked by, the standalone query first
    (`rag.followup.followup_wordings`: one for a question that is not a follow-up)."""

    @property
    def org_id(self) -> int:
        return self.principal.org_id

    @property
    def key_filter(self) -> list[int] | None:
        """The manuals the answer is confined to or prefers, for the trace: the conversation's
        document filter, or for a follow-up the previous turn's manuals (its search covers the
        filter or library; `rag.followup`)."""
        assert self.ctx is not None
        return self.ctx.document_ids if self.focus is None else self.focus

    def cache_key(self) -> str:
        """The answer-cache key (`cache.answer_key`) of everything the answer depends on: the
        standalone query, the document filter, and for a follow-up the previous manuals it
        prefers and its other wordings. A follow-up's sources are ranked by the question as
        typed (with the conversation's subject) and by its own words too, so two follow-ups
        that condense to the same query but were typed differently can get different sources,
        and a follow-up preferring a manual is not a question confined to it: neither may be
        served the other's answer. (The vendor answerer also reads the conversation; the key
        holds what decides which passages are found, ranked and cited, as for any question.)"""
        assert self.ctx is not None
        return cache.answer_key(
            org_id=self.org_id,
            index_version=self.ctx.index_version,
            query=self.standalone,
            document_ids=self.ctx.document_ids,
            preferred_ids=self.focus,
            wordings=self.wordings[1:],
        )

    def stamp(self, stage: str, since: float) -> None:
        self.timings[stage] = _ms(since)


@dataclass
class _Reply:
    """A finished answer: saved, remembered and (when fresh) cached the same way."""

    answer: str
    citations: list[int]
    outcome: str
    offline: bool
    searched: list[str]
    sources: list[SourceView]
    document_ids: tuple[int, ...]
    ranked: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def not_found(self) -> bool:
        return self.outcome == "not_found"

    def payload(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "citations": self.citations,
            "not_found": self.not_found,
            "outcome": self.outcome,
            "offline": self.offline,
            "searched_documents": self.searched,
            "sources": [asdict(s) for s in self.sources],
            "ranked": self.ranked,
            "evidence": self.evidence,
            "document_ids": list(self.document_ids),
        }

    @classmethod
    def from_payload(cls, cached: dict[str, Any]) -> _Reply:
        return cls(
            answer=str(cached["answer"]),
            citations=[int(c) for c in cached.get("citations", [])],
            outcome=str(
                cached.get("outcome") or ("not_found" if cached.get("not_found") else "answer")
            ),
            offline=bool(cached.get("offline")),
            searched=list(cached.get("searched_documents", [])),
            sources=[SourceView(**s) for s in cached.get("sources", [])],
            document_ids=tuple(int(d) for d in cached.get("document_ids", [])),
            ranked=list(cached.get("ranked", [])),
            evidence=dict(cached.get("evidence", {})),
        )


# --- the pipeline ---------------------------------------------------------------------------------


@observed_answer(AnswerTrace)
async def ask(
    principal: Principal,
    *,
    question: str,
    conversation_id: int | None = None,
    document_ids: Sequence[int] | None = None,
    trace: AnswerTrace | None = None,
) -> AsyncIterator[AnswerEvent]:
    """Answer `question` for `principal`'s organization as a stream of events."""
    stage_s = get_settings().provider_timeout_s
    run = _Run(
        principal=principal,
        trace=trace if trace is not None else AnswerTrace(),
        deadline=_Deadline(stage_s, stage_s * OVERALL_FACTOR + 5.0),
        question=question,
    )
    try:
        run.question = run.standalone = check_question(question)
    except QuestionRejected as exc:
        yield await _rejected(run, exc, conversation_id)
        return
    try:
        # A read-only shop (trial or subscription ended): refused before any work, nothing saved.
        if billing_enabled():
            await asyncio.to_thread(require_capability, principal, Capability.ASK)
    except ReadOnlyPlan as exc:
        run.trace.error = f"ReadOnlyPlan:{exc.detail or ''}"
        yield Failed(exc.user_message)
        return
    try:
        await _open(run, conversation_id=conversation_id, document_ids=document_ids)
        await _condense(run)
        assert run.ctx is not None
        yield Started(conversation_id=run.ctx.conversation_id, standalone_query=run.standalone)

        cached = await asyncio.to_thread(cache.get_answer, run.cache_key(), org_id=run.org_id)
        if cached is not None:
            reply = _Reply.from_payload(cached)
            _trace_reply(run.trace, reply, cache_hit=True)
            yield Sources(sources=reply.sources)
            run.timings["first_token"] = _ms(run.started)
            yield Token(reply.answer)
            yield await _finish(run, reply, cache_hit=True)
            return

        ranked, scores, evidence = await _retrieve(run)
        outcome = decide(evidence)
        run.trace.outcome = outcome
        run.trace.not_found = outcome == "not_found"
        top_n = get_settings().rerank_top_n
        top_hits = [] if outcome == "not_found" else ranked[:top_n]
        top_scores = [] if outcome == "not_found" else scores[:top_n]
        sources = _source_views(top_hits, top_scores)
        yield Sources(sources=sources)

        offline = bool(get_answerer().offline)
        searched: list[str] = []
        citations: list[int] = []
        if outcome == "not_found":
            searched = await asyncio.to_thread(_searched_titles, run.org_id, run.ctx.document_ids)
            answer = not_found_text(searched)
            run.timings["first_token"] = _ms(run.started)
            yield Token(answer)
        else:
            parts: list[str] = []
            if outcome == "closest":
                parts.append(f"{CLOSEST_LEAD}\n\n")
                run.timings["first_token"] = _ms(run.started)
                yield Token(parts[0])
            passages = await _passages_for(run, top_hits, top_scores)
            async with aclosing(_stream_answer(run, passages)) as pieces:
                async for piece in pieces:
                    if piece.strip() == NOT_FOUND_SENTENCE and not "".join(parts[1:]).strip():
                        # The answerer found nothing to quote: the passages themselves are the
                        # closest thing the manuals hold.
                        outcome = "closest"
                        piece = _closest_listing(sources, lead=not parts)
                    parts.append(piece)
                    yield Token(piece)
            answer, citations = _checked_answer("".join(parts), passages)
            if outcome == "answer" and answer.startswith(NOT_FOUND_SENTENCE):
                # The model says the excerpts do not hold it: the passages stay, cited, as the
                # closest ones (the evidence decision, not the model, decides "not found").
                outcome = "closest"
            run.trace.outcome = outcome
        reply = _Reply(
            answer=answer,
            citations=citations,
            outcome=outcome,
            offline=offline,
            searched=searched,
            sources=sources,
            document_ids=turn_manuals(citations, sources, ranked[:top_n]),
            ranked=run.trace.ranked,
            evidence=evidence,
        )
        yield await _finish(run, reply, cache_hit=False)
    except Exception as exc:  # noqa: BLE001 - the stream must end with a plain message
        yield await _failed(run, exc, conversation_id)


# --- stages ---------------------------------------------------------------------------------------


async def _rejected(run: _Run, exc: QuestionRejected, conversation_id: int | None) -> Failed:
    log.info("question rejected org_id=%s reason=%s", run.org_id, exc.reason)
    run.trace.error = f"rejected:{exc.reason}"
    await asyncio.to_thread(
        _log_failure,
        run.principal,
        conversation_id=conversation_id,
        question=(run.question or "")[:10000],
        standalone_query="",
        error=run.trace.error,
        timings={"total": _ms(run.started)},
    )
    return Failed(exc.user_message)


async def _open(
    run: _Run, *, conversation_id: int | None, document_ids: Sequence[int] | None
) -> None:
    """The conversation (new or the user's own), with the question saved, and its history."""
    run.ctx = await asyncio.to_thread(
        _open_conversation,
        run.principal,
        question=run.question,
        conversation_id=conversation_id,
        document_ids=document_ids,
    )
    if not run.ctx.created:
        run.history = await asyncio.to_thread(
            memory.recent_turns, org_id=run.org_id, conversation_id=run.ctx.conversation_id
        )


async def _condense(run: _Run) -> None:
    """A follow-up becomes a standalone query; it prefers the previous turn's manuals."""
    t = time.perf_counter()
    if run.history:
        try:
            standalone = await run.deadline.run(
                get_condenser().condense(question=run.question, history=run.history), "condense"
            )
            run.standalone = " ".join((standalone or "").split()) or run.question
        except (ProviderError, OSError) as exc:
            log.warning("condense failed (%s); using the question with context", exc)
            previous = run.history[-1]
            run.standalone = f"{previous.standalone_query or previous.question} {run.question}"
    run.stamp("condense", t)
    run.trace.standalone_query = run.standalone
    assert run.ctx is not None
    run.focus = preferred_manuals(
        run.question, run.standalone, run.history, explicit=run.ctx.document_ids
    )
    new = new_identifiers(run.question, run.history)
    moved = moved_rewrite(run.question, run.standalone, run.history) if run.focus and new else None
    # Only a follow-up that would move is looked up in the previous manuals (a scan of their
    # chunks): 'and the R11?' after a question about the Ender-3, whose manuals never write
    # 'R11', names another model, asked the previous question with no preference for the
    # printer's manuals (`rag.followup.moved_rewrite`).
    if moved is not None and run.focus and new:
        named = await asyncio.to_thread(_documents_naming, run.org_id, run.focus, sorted(new))
        if not named:
            run.standalone, run.focus = moved, None
            run.trace.standalone_query = moved
    run.wordings = followup_wordings(run.question, run.standalone, run.history)
    run.trace.document_filter = run.key_filter


async def _retrieve(run: _Run) -> tuple[list[SearchHit], list[float], dict[str, Any]]:
    """Embed, search, rerank and weigh the evidence. A follow-up searches the library (or the
    conversation's filter), joined by the previous turn's manuals when it holds few of their
    passages, and is ranked by several wordings with a mild preference for the previous manuals
    (`rag.followup`)."""
    assert run.ctx is not None
    t = time.perf_counter()
    vector = await _embed(run.org_id, run.standalone, run.deadline)
    run.stamp("embed", t)

    t = time.perf_counter()
    hits = await _search(run.org_id, run.standalone, vector, run.ctx.document_ids)
    if run.focus and names_another_model(
        new_identifiers(run.question, run.history), hits, run.focus
    ):
        run.focus = None  # what it names is not written in the previous manuals
    if run.focus and lacks_previous_manuals(hits, run.focus):
        # The library's best passages are elsewhere: the previous manuals' best join the pool.
        run.trace.searched_previous = True
        hits = merge_pools(hits, await _search(run.org_id, run.standalone, vector, run.focus))
    run.stamp("search", t)

    t = time.perf_counter()
    ranked, scores, by_wording = await _rank(run, hits)
    top_n = get_settings().rerank_top_n
    evidence = await _evidence(run.org_id, run.standalone, ranked[:top_n], hits)
    own = own_words(run.question, run.standalone)
    if is_weak(evidence) and wording_key(own) in by_wording and own != run.standalone.strip():
        # The carried context and the previous manuals may be what misleads ('and how many rings
        # before the telephone module answers?' after a question about an SFP): the ranking by the
        # follow-up's own words alone, when its evidence is stronger. Its scores came with the
        # others (`_rank`): no further reranker call.
        alone, alone_scores = _ordered(hits, by_wording[wording_key(own)])
        alone_evidence = await _evidence(run.org_id, own, alone[:top_n], hits)
        if alone_evidence.get("p_answerable", 0.0) > evidence.get("p_answerable", 0.0):
            ranked, scores, evidence = alone, alone_scores, alone_evidence
    # The follow-up left the previous manuals: its best passage is in another one.
    run.trace.widened = bool(run.focus and ranked and ranked[0].document_id not in run.focus)
    run.stamp("rerank", t)
    run.trace.ranked = _ranked_dicts(ranked)
    run.trace.evidence = evidence
    return ranked, scores, evidence


async def _rank(
    run: _Run, hits: list[SearchHit]
) -> tuple[list[SearchHit], list[float], dict[str, dict[int, float]]]:
    """Hits in rerank order with their scores, and each wording's reranker scores (by
    `wording_key`). A follow-up: the fused order of its wordings (one reranker call each, at
    once), each hit with its score for the condensed query."""
    wordings = run.wordings
    if (len(wordings) == 1 and run.focus is None) or not hits:
        ranked, scores = await _rerank(run.standalone, hits, run.deadline)
        return ranked, scores, {}
    scored = await asyncio.gather(
        *(_rerank_scores(text, hits, run.deadline, len(hits)) for text, _ in wordings)
    )
    # A wording whose reranker call failed votes with the search's fused order.
    scored = [s or {i: float(h.score) for i, h in enumerate(hits)} for s in scored]
    by_wording = {wording_key(text): s for (text, _), s in zip(wordings, scored, strict=True)}
    fused = fuse_scores(
        [(weight, scores) for (_, weight), scores in zip(wordings, scored, strict=True)],
        documents=[h.document_id for h in hits],
        preferred=run.focus or (),
    )
    keep = max(RANKED_KEEP, get_settings().rerank_top_n)
    order = sorted(range(len(hits)), key=lambda i: (-fused[i], i))[:keep]
    condensed = scored[0]
    return (
        [hits[i] for i in order],
        [condensed.get(i, hits[i].score) for i in order],
        by_wording,
    )


async def _passages_for(
    run: _Run, hits: Sequence[SearchHit], scores: Sequence[float]
) -> list[SourcePassage]:
    parents = await asyncio.to_thread(
        _parent_texts, run.org_id, sorted({h.parent_id for h in hits if h.parent_id is not None})
    )
    return _passages(hits, scores, parents)


async def _stream_answer(run: _Run, passages: Sequence[SourcePassage]) -> AsyncGenerator[str, None]:
    """The answerer's pieces as they come; a stream silent for longer than the gap is abandoned.
    No image, HTML element or link target is ever streamed (`MarkupFilter`)."""
    answerer = get_answerer()
    stream = answerer.stream_answer(
        question=run.standalone, sources=passages, history=run.history, info=AnswerStreamInfo()
    )
    # Unit conversions go in as the text streams: the offline answerer yields whole sentences and
    # table blocks; a vendor's tokens are held back to the end of each clause.
    conversions = None if answerer.offline else ConversionStream()
    markup = MarkupFilter()
    gap = run.deadline.stage_s * TOKEN_GAP_FACTOR
    first = True
    try:
        while True:
            try:
                piece = await asyncio.wait_for(
                    anext(stream),
                    timeout=max(0.01, min(gap, run.deadline.end - time.monotonic())),
                )
            except StopAsyncIteration:
                break
            except TimeoutError as exc:
                raise ProviderTimeout(detail="answer stream stalled") from exc
            piece = markup.feed(piece)
            piece = conversions.feed(piece) if conversions else annotate_conversions(piece)
            if not piece:
                continue
            if first:
                run.timings["first_token"] = _ms(run.started)
                first = False
            yield piece
        rest = markup.flush()
        rest = (
            (conversions.feed(rest) + conversions.flush())
            if conversions
            else (annotate_conversions(rest))
        )
        if rest:
            if first:
                run.timings["first_token"] = _ms(run.started)
            yield rest
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:  # noqa: BLE001 - closing a broken vendor stream
                log.debug("closing the answer stream failed", exc_info=True)


def _closest_listing(sources: Sequence[SourceView], *, lead: bool) -> str:
    """The closest passages as a cited list (when the answerer found nothing to quote)."""
    lines = [f"{CLOSEST_LEAD}\n"] if lead else []
    for source in sources[:CLOSEST_LISTED]:
        pages = (
            f"p. {source.page_start}"
            if source.page_start == source.page_end
            else f"pp. {source.page_start}-{source.page_end}"
        )
        where = " — ".join(p for p in (source.document_title, pages, source.heading) if p)
        lines.append(f"- {where}: {source.snippet} [{source.number}]")
    return "\n".join(lines)


def _checked_answer(text: str, passages: Sequence[SourcePassage]) -> tuple[str, list[int]]:
    """The answer with citations to missing or unsupporting passages and unsupported claims
    removed (each logged), and the cited numbers."""
    answer, _, dropped = check_citations(strip_markup(text).strip(), len(passages))
    if dropped:
        log.warning("dropped citations to missing sources: %s", dropped)
    verified = verify_answer(answer, passages)
    if verified.dropped_citations:
        log.warning(
            "dropped citations whose passage does not support the sentence: %s",
            verified.dropped_citations,
        )
    if verified.dropped_claims:
        log.warning("dropped %d unsupported sentences from an answer", len(verified.dropped_claims))
    if not verified.text:
        raise ProviderError(detail="empty answer")
    return verified.text, verified.citations


async def _finish(run: _Run, reply: _Reply, *, cache_hit: bool) -> Done:
    """Save the turn (Postgres message and query log, Redis memory), cache a fresh answer."""
    assert run.ctx is not None
    run.timings["total"] = _ms(run.started)
    message_id = await asyncio.to_thread(
        _save_answer,
        run.principal,
        conversation_id=run.ctx.conversation_id,
        answer=reply.answer,
        standalone_query=run.standalone,
        sources=reply.sources,
        not_found=reply.not_found,
        offline=reply.offline,
        latency_ms=int(run.timings["total"]),
        question=run.question,
        cache_hit=cache_hit,
        timings=run.timings,
        outcome=reply.outcome,
    )
    await asyncio.to_thread(
        memory.remember_turn,
        org_id=run.org_id,
        conversation_id=run.ctx.conversation_id,
        turn=Turn(
            question=run.question,
            answer=reply.answer,
            standalone_query=run.standalone,
            document_ids=reply.document_ids,
            identifiers=tuple(query_identifiers(run.standalone)),
        ),
    )
    if not cache_hit:
        await asyncio.to_thread(
            cache.put_answer, run.cache_key(), org_id=run.org_id, payload=reply.payload()
        )
    return Done(
        message_id=message_id,
        answer=reply.answer,
        citations=reply.citations,
        not_found=reply.not_found,
        offline=reply.offline,
        searched_documents=reply.searched,
        timings=run.timings,
        cache_hit=cache_hit,
        outcome=reply.outcome,
    )


async def _failed(run: _Run, exc: Exception, conversation_id: int | None) -> Failed:
    run.timings["total"] = _ms(run.started)
    conversation = run.ctx.conversation_id if run.ctx else conversation_id
    if isinstance(exc, TechDocsError):
        log.warning(
            "answer failed org_id=%s conversation_id=%s: %s (%s)",
            run.org_id,
            conversation,
            type(exc).__name__,
            exc.detail or "",
        )
        run.trace.error = f"{type(exc).__name__}:{exc.detail or ''}"
        message = exc.user_message
    else:
        log.exception("answer crashed org_id=%s", run.org_id)
        run.trace.error = type(exc).__name__
        message = CRASH_MESSAGE
    await asyncio.to_thread(
        _log_failure,
        run.principal,
        conversation_id=conversation,
        question=run.question,
        standalone_query=run.standalone,
        error=run.trace.error,
        timings=run.timings,
    )
    return Failed(message)


def _trace_reply(trace: AnswerTrace, reply: _Reply, *, cache_hit: bool) -> None:
    trace.cache_hit = cache_hit
    trace.ranked = list(reply.ranked)
    trace.evidence = dict(reply.evidence)
    trace.not_found = reply.not_found


# --- retrieval helpers ----------------------------------------------------------------------------


async def _embed(org_id: int, query: str, deadline: _Deadline) -> list[float]:
    embedder = get_embedder()
    cached = await asyncio.to_thread(
        cache.get_query_embedding, org_id=org_id, model=embedder.model_name, query=query
    )
    if cached is not None:
        return cached
    vector = await deadline.run(asyncio.to_thread(embedder.embed_query, query), "embed")
    await asyncio.to_thread(
        cache.put_query_embedding,
        org_id=org_id,
        model=embedder.model_name,
        query=query,
        vector=vector,
    )
    return vector


async def _search(
    org_id: int, query: str, vector: list[float], document_ids: list[int] | None
) -> list[SearchHit]:
    settings = get_settings()
    return await asyncio.to_thread(
        hybrid_search,
        org_id=org_id,
        query=query,
        query_vector=vector,
        document_ids=document_ids,
        k=settings.retrieval_top_k,
        embed_model=get_embedder().model_name,
    )


async def _rerank_scores(
    query: str, hits: list[SearchHit], deadline: _Deadline, top_n: int
) -> dict[int, float]:
    """The reranker's scores of its `top_n` best hits by index; empty when it fails or times
    out, which is logged and counted (`techdocs_rerank_fallbacks_total{provider,reason}`): the
    caller then ranks by the search's fused order, and the answer still arrives."""
    reranker = get_reranker()
    candidates = [
        RerankCandidate(
            text=h.content,
            heading=h.heading,
            identifiers=tuple(h.identifiers),
            document_title=h.document_title,
            fused_score=h.score,
            similarity=h.vector_similarity,
        )
        for h in hits
    ]
    try:
        results = await deadline.run(reranker.rerank(query, candidates, top_n), "rerank")
    except (ProviderError, TimeoutError, OSError) as exc:
        reason = "timeout" if isinstance(exc, ProviderTimeout | TimeoutError) else "error"
        provider = provider_label(reranker)
        log.warning(
            "rerank failed (%s %s: %s); using the fused order",
            provider,
            reason,
            getattr(exc, "detail", None) or type(exc).__name__,
        )
        record_rerank_fallback(provider=provider, reason=reason)
        return {}
    scores: dict[int, float] = {}
    for result in results:
        if 0 <= result.index < len(hits) and result.index not in scores:
            scores[result.index] = float(result.score)
    return scores


async def _rerank(
    query: str, hits: list[SearchHit], deadline: _Deadline
) -> tuple[list[SearchHit], list[float]]:
    """Hits in rerank order with their scores; the fused order when the reranker fails."""
    if not hits:
        return [], []
    keep = max(RANKED_KEEP, get_settings().rerank_top_n)
    reranked = await _rerank_scores(query, hits, deadline, min(keep, len(hits)))
    return _ordered(hits, reranked)


def _ordered(
    hits: list[SearchHit], reranked: dict[int, float]
) -> tuple[list[SearchHit], list[float]]:
    """The reranker's order (its scores by hit index), then the fused order for hits it did not
    score (all of them when it failed)."""
    keep = max(RANKED_KEEP, get_settings().rerank_top_n)
    order = list(reranked)
    scores = list(reranked.values())
    for index in range(len(hits)):
        if len(order) >= keep:
            break
        if index not in reranked:
            order.append(index)
            scores.append(float(hits[index].score))
    return [hits[i] for i in order[:keep]], scores[:keep]


async def _evidence(
    org_id: int,
    query: str,
    top: Sequence[SearchHit],
    pool: Sequence[SearchHit],
) -> dict[str, Any]:
    """Similarity/coverage features of the sources plus the attribute check over their manuals."""
    evidence = assess_evidence(query, top, pool=pool)
    if not top:
        return evidence
    try:
        profiles = await asyncio.to_thread(document_profiles, org_id, [h.document_id for h in top])
        evidence.update(assess_attributes(query, top, profiles))
    except Exception:  # noqa: BLE001 - the check is an aid; without it the other features decide
        log.exception("attribute check failed; using similarity and coverage only")
    evidence["p_answerable"] = round(answerable_probability(evidence), 4)
    return evidence


# --- views of the hits ----------------------------------------------------------------------------


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _source_views(hits: Sequence[SearchHit], scores: Sequence[float]) -> list[SourceView]:
    views = []
    for number, (hit, score) in enumerate(zip(hits, scores, strict=True), start=1):
        snippet = " ".join(hit.content.split())
        if len(snippet) > SNIPPET_CHARS:
            snippet = snippet[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"
        views.append(
            SourceView(
                number=number,
                chunk_id=hit.chunk_id,
                document_id=hit.document_id,
                document_title=hit.document_title,
                filename=hit.filename,
                page_start=hit.page_start,
                page_end=hit.page_end,
                heading=hit.heading,
                snippet=snippet,
                score=round(float(score), 4),
                positions=hit.positions,
            )
        )
    return views


def _passages(
    hits: Sequence[SearchHit], scores: Sequence[float], parents: dict[int, str]
) -> list[SourcePassage]:
    """Answer context: a child's parent section (once per section), else the child itself."""
    used_parents: set[int] = set()
    passages = []
    for number, (hit, score) in enumerate(zip(hits, scores, strict=True), start=1):
        text_ = hit.content
        focus = ""
        if hit.parent_id is not None and hit.parent_id in parents:
            if hit.parent_id not in used_parents:
                used_parents.add(hit.parent_id)
                parent = parents[hit.parent_id]
                text_ = parent if hit.content[:80] in parent else f"{hit.content}\n\n{parent}"
                focus = hit.content
        passages.append(
            SourcePassage(
                number=number,
                document_title=hit.document_title,
                page_start=hit.page_start,
                page_end=hit.page_end,
                heading=hit.heading,
                text=text_,
                kind=hit.kind,
                score=float(score),
                focus=focus,
            )
        )
    return passages


def _ranked_dicts(hits: Sequence[SearchHit]) -> list[dict[str, Any]]:
    return [
        {
            "chunk_id": h.chunk_id,
            "document_id": h.document_id,
            "filename": h.filename,
            "page_start": h.page_start,
            "page_end": h.page_end,
        }
        for h in hits
    ]


# --- database work (run in threads) ---------------------------------------------------------------


def _open_conversation(
    principal: Principal,
    *,
    question: str,
    conversation_id: int | None,
    document_ids: Sequence[int] | None,
) -> _Context:
    with session_scope(org_id=principal.org_id) as session:
        index_version = passages_db.index_version(session, org_id=principal.org_id)
        if index_version is None:
            raise NotFound("Your organization was not found. Sign in again.")
        if conversation_id is not None:
            conversation = conversations_db.get_conversation(
                session,
                org_id=principal.org_id,
                conversation_id=conversation_id,
                user_id=principal.user_id,
            )
            if conversation is None:
                raise NotFound("That conversation was not found. Start a new one.")
            created = False
        else:
            conversation = conversations_db.create_conversation(
                session,
                org_id=principal.org_id,
                user_id=principal.user_id,
                title=question[:120],
                document_ids=document_ids or (),
            )
            created = True
        assert conversation.id is not None
        conversations_db.add_message(
            session,
            org_id=principal.org_id,
            conversation_id=conversation.id,
            role="user",
            content=question,
        )
        if not created:
            conversations_db.touch_conversation(
                session, org_id=principal.org_id, conversation_id=conversation.id
            )
        if document_ids is not None:
            filter_ids: list[int] | None = sorted({int(d) for d in document_ids})
        elif conversation.document_ids:
            filter_ids = sorted({int(d) for d in conversation.document_ids})
        else:
            filter_ids = None
        return _Context(conversation.id, filter_ids, int(index_version), created)


def _searched_titles(org_id: int, document_ids: Sequence[int] | None) -> list[str]:
    with session_scope(org_id=org_id) as session:
        return passages_db.ready_document_titles(session, org_id=org_id, document_ids=document_ids)


def _documents_naming(org_id: int, document_ids: Sequence[int], names: Sequence[str]) -> set[int]:
    with session_scope(org_id=org_id) as session:
        return passages_db.documents_naming(
            session, org_id=org_id, document_ids=document_ids, names=names
        )


def _parent_texts(org_id: int, parent_ids: Sequence[int]) -> dict[int, str]:
    if not parent_ids:
        return {}
    with session_scope(org_id=org_id) as session:
        return passages_db.chunk_texts(session, org_id=org_id, chunk_ids=parent_ids)


def _save_answer(
    principal: Principal,
    *,
    conversation_id: int,
    answer: str,
    standalone_query: str,
    sources: list[SourceView],
    not_found: bool,
    offline: bool,
    latency_ms: int,
    question: str,
    cache_hit: bool,
    timings: dict[str, float],
    outcome: str | None = None,
) -> int:
    with session_scope(org_id=principal.org_id) as session:
        message = conversations_db.add_message(
            session,
            org_id=principal.org_id,
            conversation_id=conversation_id,
            role="assistant",
            content=answer,
            standalone_query=standalone_query,
            sources=[asdict(s) for s in sources],
            not_found=not_found,
            offline_answer=offline,
            latency_ms=latency_ms,
        )
        conversations_db.touch_conversation(
            session, org_id=principal.org_id, conversation_id=conversation_id
        )
        query_logs.add_query_log(
            session,
            org_id=principal.org_id,
            user_id=principal.user_id,
            conversation_id=conversation_id,
            question=question,
            standalone_query=standalone_query,
            cache_hit=cache_hit,
            n_sources=len(sources),
            not_found=not_found,
            timings=timings,
            outcome=outcome,
        )
        assert message.id is not None
        return message.id


def _log_failure(
    principal: Principal,
    *,
    conversation_id: int | None,
    question: str,
    standalone_query: str,
    error: str,
    timings: dict[str, float],
) -> None:
    try:
        with session_scope(org_id=principal.org_id) as session:
            query_logs.add_query_log(
                session,
                org_id=principal.org_id,
                user_id=principal.user_id,
                conversation_id=conversation_id,
                question=question,
                standalone_query=standalone_query,
                error=error[:2000],
                timings=timings,
            )
    except Exception:  # noqa: BLE001 - logging a failure must never raise a second one
        log.exception("could not write the query log for a failed question")
