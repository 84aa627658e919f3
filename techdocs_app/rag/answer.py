"""Answering a question: condense → cache → embed → hybrid search → rerank → evidence check →
streamed, cited answer → save (Postgres history, Redis memory, answer cache) → query log.

`ask()` is an async generator of events (see CONTRACTS.md): Started, Sources, Token…, then Done, or
Failed with a plain `user_message`. Blocking work (database, embedding, Redis) runs in threads so
the event loop keeps serving other users. Every provider call has a deadline, and the whole answer
has one too, so a stalled vendor ends in Failed, never in a hung stream.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from sqlmodel import col, select

from techdocs_app import cache, memory
from techdocs_app.auth import Principal
from techdocs_app.db import conversations as conversations_db
from techdocs_app.db import query_logs
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import Chunk, Document, Organization
from techdocs_app.errors import NotFound, ProviderError, ProviderTimeout, TechDocsError
from techdocs_app.providers import get_answerer, get_condenser, get_embedder, get_reranker
from techdocs_app.providers.base import AnswerStreamInfo, RerankCandidate, SourcePassage, Turn
from techdocs_app.providers.local_rerank import STOPWORDS
from techdocs_app.providers.local_rerank import stem as rerank_stem
from techdocs_app.rag.retrieve import SearchHit, hybrid_search
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

T = TypeVar("T")

RANKED_KEEP = 10
"""Candidates kept in rerank order (the first `rerank_top_n` become sources; eval reads 10)."""
SNIPPET_CHARS = 320
TOKEN_GAP_FACTOR = 1.0
"""A stream that sends nothing for provider_timeout_s * this is abandoned."""
OVERALL_FACTOR = 3.0
"""The whole answer (all provider calls) gets provider_timeout_s * this + 5 s."""

# Evidence thresholds, calibrated on dev.jsonl (72 answerable vs 8 not_in_docs questions, local
# providers): best trade-off found was not_found 3/8 for 7/72 false refusals; see `is_weak`.
MIN_COVERAGE = 0.4
MIN_WEIGHTED = 0.4
STRONG_SIMILARITY = 0.55
MIN_SIMILARITY = 0.3


# --- events ---------------------------------------------------------------------------------------


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
    cache_hit: bool = False
    widened: bool = False
    """A follow-up's search on the previous turn's manuals was weak: the whole library was searched."""
    error: str | None = None


# --- question checks ------------------------------------------------------------------------------

_INJECTION_RE = re.compile(
    r"(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|above|previous)"
    r"|\b(system|developer)\s+(prompt|message|instructions?)\b"
    r"|\byou\s+are\s+now\b|\bact\s+as\s+(an?\s+)?(unrestricted|jailbroken|dan)\b"
    r"|\bjailbreak\b|</?\s*(system|instructions?)\s*>",
    re.IGNORECASE | re.DOTALL,
)


class QuestionRejected(TechDocsError):
    user_message = "Please ask a question about your manuals."

    def __init__(self, user_message: str, *, reason: str) -> None:
        super().__init__(user_message, detail=reason)
        self.reason = reason


def check_question(question: str | None) -> str:
    """The cleaned question, or QuestionRejected with a message saying what to do."""
    text = " ".join((question or "").split())
    limit = get_settings().max_question_chars
    if not text:
        raise QuestionRejected("Type a question about your manuals.", reason="empty")
    if len(text) < 2 or not any(ch.isalnum() for ch in text):
        raise QuestionRejected(
            "That question is too short. Ask about a spec, part number, fault code or procedure.",
            reason="too_short",
        )
    if len(text) > limit:
        raise QuestionRejected(
            f"That question is {len(text):,} characters long. Keep it under {limit:,} "
            "characters: ask about one thing and paste only the part of the text you need.",
            reason="too_long",
        )
    if _INJECTION_RE.search(text):
        raise QuestionRejected(
            "I can only answer questions about your manuals, and I can't change how I work. "
            "Ask about a spec, part number, fault code or procedure.",
            reason="injection",
        )
    return text


# --- evidence -------------------------------------------------------------------------------------

_STOP = frozenset(
    """a about above after again all also am an and any are as at be been before being below between
    both but by can could did do does doing done down during each for from further had has have
    having how i if in into is it its just me more most my no nor not now of off on once only or other
    our out over own same should so some such than that the their them then there these they this
    those through to too under until up very was we were what when where which while who whom why
    will with would you your get got use used using tell mean means need want please manual manuals
    much many way thing things still else one ones say show let may might must supposed""".split()
)
_WORD_RE = re.compile(r"[a-z0-9]+(?:[.,/+-][a-z0-9]+)*")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix in ("ing", "ies", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def key_terms(text: str) -> list[str]:
    return list(dict.fromkeys(_stem(w) for w in _WORD_RE.findall(text.lower()) if w not in _STOP))


@lru_cache(maxsize=8192)
def _term_set(text: str) -> frozenset[str]:
    """Cached: the same chunks come back as candidates question after question."""
    out: set[str] = set()
    for word in _WORD_RE.findall(text.lower()):
        out.add(_stem(word))
        if any(ch in word for ch in ".,/+-"):
            out.update(_stem(p) for p in re.split(r"[.,/+-]", word) if p)
    return frozenset(out)


def assess_evidence(
    query: str, hits: Sequence[SearchHit], *, pool: Sequence[SearchHit] | None = None
) -> dict[str, Any]:
    """Features of the best candidates: lexical coverage and vector similarity.

    coverage: the best share of the query's key terms found in one of `hits` (heading included);
    weighted: the same share with each term weighted by its rarity among the `pool` (all retrieved
    candidates): the product name found everywhere counts little, the asked-for attribute ("MTBF",
    "torque") counts most — and when no candidate has it, the question is likely not covered;
    similarity: the best cosine similarity of a candidate to the query.
    """
    terms = key_terms(query)
    pool = list(pool) if pool is not None else list(hits)
    pool_sets = [_term_set(f"{h.document_title} {h.heading} {h.content}") for h in pool]
    n = max(1, len(pool_sets))
    weights = {t: math.log((n + 1) / (sum(1 for w in pool_sets if t in w) + 0.5)) for t in terms}
    total = sum(weights.values()) or 1.0
    best_cov = 0.0
    best_weighted = 0.0
    for hit in hits:
        words = _term_set(f"{hit.document_title} {hit.heading} {hit.content}")
        if terms:
            best_cov = max(best_cov, sum(1 for t in terms if t in words) / len(terms))
            best_weighted = max(best_weighted, sum(weights[t] for t in terms if t in words) / total)
    best_sim = max((h.vector_similarity for h in hits), default=0.0)
    return {
        "coverage": round(best_cov, 4),
        "weighted": round(best_weighted, 4),
        "similarity": round(best_sim, 4),
        "terms": len(terms),
    }


def is_weak(evidence: dict[str, Any]) -> bool:
    """Too weak to answer.

    With the attribute check (`assess_attributes`, merged into `evidence`): weak when a word the
    question asks for ("What is the MTBF …") never occurs in the subject's manuals, when the
    asked-for words never share a section with each other and with the parts the question names
    ("current rating" of the "TMC2209"), or when the manuals hold under half of the question's
    attribute words. Without it (no manual could be profiled): no source is very close and the
    best one misses too much of the question."""
    if "attr_coverage" in evidence:
        return (
            bool(evidence.get("focus_missing"))
            or not evidence.get("together", True)
            or float(evidence["attr_coverage"]) < ATTRIBUTE_MIN_COVERAGE
        )
    similarity = evidence.get("similarity", 0.0)
    if similarity >= STRONG_SIMILARITY:
        return False
    if similarity < MIN_SIMILARITY:
        return True
    return (
        evidence.get("coverage", 0.0) < MIN_COVERAGE
        or evidence.get("weighted", evidence.get("coverage", 0.0)) < MIN_WEIGHTED
    )


# --- attribute coverage ---------------------------------------------------------------------------
# A question names a subject (a product, model or part: words of a manual's title or file name,
# identifiers) and asks for an attribute of it ("MTBF", "nozzle torque", "Wi-Fi bands"). Retrieval
# always finds the subject's manual, so similarity alone cannot tell "the manual says" from "the
# manual is about this product but never mentions that". The check below looks the asked-for words
# up in the whole text of the subject's manuals (cached per document and index version).

_QUALIFIERS = frozenset(
    """maximum minimum max min typical typically nominal default factory lowest highest largest
    smallest biggest best worst recommended allowed allowable permissible approximately approx
    roughly exactly actual actually likely possible usual usually normally normal standard
    specified required correct right proper total overall exact""".split()
)
"""Words that qualify the asked-for value; manuals often state the value without them."""
_FILLER = frozenset(
    """accept accepts accepted support supports supported take takes taking need needs needed
    denote denotes denoted decode indicate indicates indicated correspond corresponds mean meaning
    explain describe find found know work works working happen happens keep keeps go goes going
    run runs running make makes check walk through give gives call called look like kind sort
    type cause causes caused compare compared comparison versus vs per fix solve avoid prevent
    stop instead then once there here enough worth better reduce procedure procedures step steps
    method way start starting change changing letter letters digit digits character characters
    value values figure anything something whether happen according supposed""".split()
)
"""Question words that describe the form of the answer, not the attribute asked for."""
_NAME_GENERIC = frozenset(
    """manual manuals datasheet data sheet guide module reference quick start quickstart
    troubleshooting setting settings operation operating user instructions series document pdf
    www com site search the and for of""".split()
)
_SYNONYMS: dict[str, tuple[str, ...]] = {
    # General equivalences of technical writing (abbreviations and part names), both directions.
    "led": ("indicator", "light", "lamp"),
    "indicator": ("led", "light"),
    "stepper": ("motor",),
    "rx": ("receiver", "receive", "input"),
    "tx": ("transmitter", "transmit", "output"),
    "temp": ("temperature",),
    "psu": ("power",),
    "mcu": ("microcontroller", "processor", "cpu"),
    "cpu": ("mcu", "processor", "core"),
    "size": ("dimension", "dimensions", "mm"),
    "weight": ("mass", "kg", "g"),
    "weigh": ("weight", "mass", "kg"),
    "draw": ("consumption", "current", "power"),
    "pinout": ("pin",),
    "wattage": ("watt", "watts", "w"),
}
_WH_RE = re.compile(
    r"\b(?:what|which|how\s+(?:much|many|long|fast|far|big|hot|heavy|high|low|often|is|are))\b"
    r"(?:\s+(?:is|are|was|were|does|do|did|the|a|an|kind\s+of|type\s+of|sort\s+of))*\s+(.+)",
    re.IGNORECASE,
)
_PHRASE_END_RE = re.compile(
    r"\b(?:of|for|on|in|at|to|does|do|did|is|are|was|were|should|can|could|must|will|would|when|"
    r"with|from|by|that|before|after|if|while|i|you|we|it)\b|[?,;:!.]\s|[?,;!]$",
    re.IGNORECASE,
)
_Q_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[.,:/+\-][a-z0-9]+)*")
ATTRIBUTE_MIN_COVERAGE = 0.5
"""Share of the question's attribute words the subject's manuals must contain."""


def _norm_version(token: str) -> str:
    return re.sub(r"(\d)\.0+$", r"\1", token)


def _compact(token: str) -> str:
    return re.sub(r"[^a-z0-9]", "", token.lower())


def _vocabulary(text_: str) -> set[str]:
    """Every word of `text_` as written, stemmed, split at punctuation and compacted."""
    out: set[str] = set()
    for token in _Q_TOKEN_RE.findall(text_.lower()):
        out.add(token)
        out.add(rerank_stem(token))
        parts = [p for p in re.split(r"[.,:/+\-]", token) if p]
        if len(parts) > 1:
            out.add(_compact(token))
            out.add(_norm_version(token))
            for part in parts:
                out.add(part)
                out.add(rerank_stem(part))
    return out


class Lexicon:
    """A set of words with fast prefix look-ups (abbreviations) and digit-bearing words (codes)."""

    def __init__(self, words: set[str] | frozenset[str]) -> None:
        self.words = frozenset(words)
        self.sorted = sorted(self.words)
        self.with_digits = [w for w in self.sorted if _has_digit(w)]

    def has_prefix(self, prefix: str) -> bool:
        i = bisect.bisect_right(self.sorted, prefix)
        return i < len(self.sorted) and self.sorted[i].startswith(prefix)


@dataclass(frozen=True)
class DocumentProfile:
    """What one manual says, for the attribute check: its name words, its whole vocabulary and
    the vocabulary of each section (parent section, or a chunk that has no parent)."""

    document_id: int
    names: frozenset[str]
    lexicon: Lexicon
    sections: tuple[Lexicon, ...]


def name_words(title: str, filename: str) -> frozenset[str]:
    """Words of a manual's title and file name that can name a subject ('rt2', 'ender3', 'ender',
    'skr'); generic words ('manual', 'datasheet') are left out."""
    out: set[str] = set()
    stem_name = re.sub(r"\.pdf$", "", filename, flags=re.IGNORECASE)
    for token in re.split(r"[^a-z0-9.]+", f"{title} {stem_name}".lower()):
        token = token.strip(".")
        if not token or token in _NAME_GENERIC:
            continue
        out.add(_norm_version(token))
        for piece in re.findall(r"[a-z]+|\d+", token):
            if len(piece) >= 2 and piece not in _NAME_GENERIC and not piece.isdigit():
                out.add(piece)
    return frozenset(out)


def build_profile(
    document_id: int, title: str, filename: str, sections: Sequence[str]
) -> DocumentProfile:
    section_sets = [_vocabulary(s) for s in sections]
    vocabulary: set[str] = _vocabulary(title)
    for words in section_sets:
        vocabulary |= words
    return DocumentProfile(
        document_id=document_id,
        names=name_words(title, filename),
        lexicon=Lexicon(vocabulary),
        sections=tuple(Lexicon(w) for w in section_sets),
    )


def _has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)


def _names_match(token: str, names: frozenset[str]) -> bool:
    token = _norm_version(token)
    if token in names:
        return True
    if _has_digit(token) and len(token) >= 3:
        key = _compact(token)
        # "stm32f103rct6" names the manual "stm32f103_datasheet"; "f103" too.
        return any(
            len(n) >= 3 and _has_digit(n) and (_compact(n) in key or key in _compact(n))
            for n in names
        )
    return False


def _question_words(text_: str) -> list[tuple[str, str]]:
    """(token, stem) of the content words; word compounds ('heated-bed') split into their words,
    compounds with digits (part numbers) kept whole."""
    out: list[tuple[str, str]] = []
    for token in _Q_TOKEN_RE.findall(text_.lower()):
        if token in STOPWORDS:
            continue
        parts = [p for p in re.split(r"[.,:/+\-]", token) if p]
        if len(parts) > 1 and not _has_digit(token):
            out.extend((p, rerank_stem(p)) for p in parts if p not in STOPWORDS)
        else:
            out.append((token, rerank_stem(token)))
    return out


def _spellings(word: str) -> set[str]:
    """British/American spellings: 'colour' -> 'color', 'aluminium' -> 'aluminum'."""
    out = {word}
    if "our" in word:
        out.add(word.replace("our", "or"))
    if word.endswith(("ise", "ised", "ising")):
        out.add(word.replace("is", "iz"))
    if word == "aluminium":
        out.add("aluminum")
    return out


def _present(token: str, stem_: str, lexicon: Lexicon) -> bool:
    """Whether a question word occurs in a lexicon: as written, stemmed, as an abbreviation or
    longer form ('temp'/'temperature'), in the other spelling, or as a common synonym."""
    words = lexicon.words
    if (_spellings(token) | _spellings(stem_)) & words:
        return True
    if _has_digit(token):
        key = _compact(token)
        return len(key) >= 2 and (
            key in words or (len(key) >= 4 and any(key in w for w in lexicon.with_digits))
        )
    if len(stem_) >= 4 and lexicon.has_prefix(stem_):
        return True
    if any(token[:k] in words for k in range(4, len(token))):
        return True
    return any(s in words for s in _SYNONYMS.get(token, ()) + _SYNONYMS.get(stem_, ()))


def _identifier_present(identifier: str, lexicon: Lexicon) -> bool:
    """'TMC2209' as a word (or inside a longer code); 'PLS[2:0]' as its pieces."""
    lowered = identifier.lower()
    if _present(lowered, _compact(lowered), lexicon):
        return True
    pieces = re.findall(r"[a-z0-9]+", lowered)
    return len(pieces) > 1 and all(p in lexicon.words for p in pieces)


@dataclass
class QuestionParts:
    subject: set[str]
    attributes: list[tuple[str, str]]
    focus: list[tuple[str, str]]
    identifiers: list[str]
    focus_groups: list[list[tuple[str, str]]] = field(default_factory=list)
    """The focus split at "and"/"or": 'supply voltage range and maximum current' is two."""


def _needed(size: int) -> int:
    """Words of a focus phrase that must share a section: all of a short one, all but one of a
    long one (long phrases are the user's wording, a manual puts it its own way)."""
    return size if size <= 3 else size - 1


def question_parts(query: str, names: frozenset[str]) -> QuestionParts:
    """Split a standalone question into its subject (words naming a manual, and context the
    condenser appended in parentheses) and the attribute words; `focus` is the noun phrase a
    what/which/how-much question asks for ('What Wi-Fi bands does …' -> wi, fi, bands)."""
    main, _, context = query.partition("(")
    main = re.sub(r"(?i)(\w)['’]s\b", r"\1", main)
    words = _question_words(main)
    subject: set[str] = set()
    for token, stem_ in words + _question_words(context):
        if _names_match(token, names) or _names_match(stem_, names):
            subject.add(token)
    tokens = [t for t, _ in words]
    for i, token in enumerate(tokens):
        # "Ender 3", "Module 4": a number right after a name belongs to it.
        if token.isdigit() and i > 0 and tokens[i - 1] in subject:
            subject.add(token)

    def _keep(token: str, stem_: str) -> bool:
        return token not in subject and not ({token, stem_} & (_QUALIFIERS | _FILLER))

    attributes: list[tuple[str, str]] = []
    for token, stem_ in words:
        if _keep(token, stem_) and stem_ not in {s for _, s in attributes}:
            attributes.append((token, stem_))
    focus: list[tuple[str, str]] = []
    groups: list[list[tuple[str, str]]] = []
    match = _WH_RE.search(main)
    if match:
        rest = match.group(1)
        end = _PHRASE_END_RE.search(rest)
        phrase = rest[: end.start()] if end else rest
        for piece in re.split(r"(?i)\b(?:and|or)\b|[,&]", phrase):
            group = []
            for token, stem_ in _question_words(piece):
                if _keep(token, stem_) and (token, stem_) not in group:
                    group.append((token, stem_))
            if group:
                groups.append(group)
                focus.extend(w for w in group if w not in focus)
    identifiers = [
        i
        for i in _query_identifiers(main)
        if not _names_match(i.lower(), names) and _compact(i) not in subject
    ]
    return QuestionParts(subject, attributes, focus, identifiers, groups)


def assess_attributes(
    query: str, hits: Sequence[SearchHit], profiles: dict[int, DocumentProfile]
) -> dict[str, Any]:
    """Whether the subject's manuals mention what the question asks for.

    The subject's manuals are those among `hits` whose names match the most subject words (all of
    them when the question names none). Returns the attribute words missing from those manuals,
    the focus words missing, the share of attribute words present, and whether the question's
    other identifiers (a component like 'TMC2209') share one section with the focus words.
    """
    doc_ids = list(dict.fromkeys(h.document_id for h in hits if h.document_id in profiles))
    if not doc_ids:
        return {}
    all_names = frozenset().union(*(profiles[d].names for d in doc_ids))
    parts = question_parts(query, all_names)
    score = {
        d: sum(1 for t in parts.subject if _names_match(t, profiles[d].names)) for d in doc_ids
    }
    best = max(score.values())
    eligible = [profiles[d] for d in doc_ids if score[d] == best]

    def _anywhere(token: str, stem_: str) -> bool:
        return any(_present(token, stem_, p.lexicon) for p in eligible)

    missing = [t for t, s in parts.attributes if not _anywhere(t, s)]
    focus_missing = [t for t, s in parts.focus if not _anywhere(t, s)]
    coverage = 1.0 - len(missing) / len(parts.attributes) if parts.attributes else 1.0
    together = True
    if parts.focus and not focus_missing:
        # Each asked-for phrase, with the other parts the question names, in one section.
        together = all(
            any(
                all(_identifier_present(i, section) for i in parts.identifiers)
                and sum(1 for t, s in group if _present(t, s, section)) >= _needed(len(group))
                for p in eligible
                for section in p.sections
            )
            for group in parts.focus_groups
        )
    return {
        "subject": sorted(parts.subject),
        "manuals": [p.document_id for p in eligible],
        "attributes": [t for t, _ in parts.attributes],
        "missing": missing,
        "focus": [t for t, _ in parts.focus],
        "focus_missing": focus_missing,
        "attr_coverage": round(coverage, 4),
        "together": together,
    }


# --- citations ------------------------------------------------------------------------------------

_CITATION_RE = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")


def check_citations(answer: str, n_sources: int) -> tuple[str, list[int], list[int]]:
    """(answer with citations to missing sources removed, valid cited numbers, dropped numbers)."""
    valid: list[int] = []
    dropped: list[int] = []

    def _fix(match: re.Match[str]) -> str:
        keep: list[str] = []
        for part in re.split(r"[,;]", match.group(1)):
            number = int(part.strip())
            if 1 <= number <= n_sources:
                keep.append(str(number))
                if number not in valid:
                    valid.append(number)
            else:
                dropped.append(number)
        return "".join(f"[{n}]" for n in keep)

    cleaned = _CITATION_RE.sub(_fix, answer)
    if dropped:
        cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)
        cleaned = re.sub(r"[ \t]{2,}", " ", cleaned)
    return cleaned, valid, dropped


def not_found_text(searched: Sequence[str]) -> str:
    if not searched:
        return (
            "There are no manuals in your library to search yet. Upload the service manuals "
            "in the Library, then ask again."
        )
    shown = ", ".join(searched[:8])
    more = f" and {len(searched) - 8} more" if len(searched) > 8 else ""
    return (
        "I couldn't find this in your manuals, so I won't guess. "
        f"Searched: {shown}{more}. Try naming the model or part number, or upload the manual "
        "that covers it."
    )


# --- database helpers (run in threads) ------------------------------------------------------------


@dataclass
class _Context:
    conversation_id: int
    document_ids: list[int] | None
    index_version: int
    created: bool


def _open_conversation(
    principal: Principal,
    *,
    question: str,
    conversation_id: int | None,
    document_ids: Sequence[int] | None,
) -> _Context:
    with session_scope(org_id=principal.org_id) as session:
        index_version = session.exec(
            select(Organization.index_version).where(Organization.id == principal.org_id)
        ).first()
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


def searched_document_titles(org_id: int, document_ids: Sequence[int] | None) -> list[str]:
    with session_scope(org_id=org_id) as session:
        stmt = select(Document.title, Document.filename).where(
            Document.org_id == org_id, Document.status == "ready"
        )
        if document_ids is not None:
            stmt = stmt.where(col(Document.id).in_(list(document_ids)))
        rows = session.exec(stmt.order_by(col(Document.title))).all()
    return [title or filename for title, filename in rows]


def _parent_texts(org_id: int, parent_ids: Sequence[int]) -> dict[int, str]:
    if not parent_ids:
        return {}
    with session_scope(org_id=org_id) as session:
        rows = session.exec(
            select(Chunk.id, Chunk.content).where(
                Chunk.org_id == org_id, col(Chunk.id).in_(list(parent_ids))
            )
        ).all()
    return {int(i): c for i, c in rows}


_PROFILE_CACHE: OrderedDict[tuple[int, int, str, int], DocumentProfile] = OrderedDict()
_PROFILE_CACHE_SIZE = 64
_PROFILE_LOCK = threading.Lock()


def document_profiles(org_id: int, document_ids: Sequence[int]) -> dict[int, DocumentProfile]:
    """Profiles of these manuals, cached in memory by document, content hash and chunk count (so
    a re-indexed or replaced manual is profiled again). A first look reads the manual's chunks
    once (~0.8 s for a 130-page datasheet); later looks cost one small query."""
    wanted_ids = list(dict.fromkeys(int(d) for d in document_ids))
    out: dict[int, DocumentProfile] = {}
    with session_scope(org_id=org_id) as session:
        docs = session.exec(
            select(
                Document.id,
                Document.title,
                Document.filename,
                Document.sha256,
                Document.chunk_count,
            ).where(Document.org_id == org_id, col(Document.id).in_(wanted_ids))
        ).all()
        keys = {int(d): (org_id, int(d), sha or "", int(n or 0)) for d, _, _, sha, n in docs}
        missing: list[int] = []
        with _PROFILE_LOCK:
            for doc_id, key in keys.items():
                if key in _PROFILE_CACHE:
                    _PROFILE_CACHE.move_to_end(key)
                    out[doc_id] = _PROFILE_CACHE[key]
                else:
                    missing.append(doc_id)
        if not missing:
            return out
        rows = session.exec(
            select(Chunk.document_id, Chunk.id, Chunk.parent_id, Chunk.content)
            .where(Chunk.org_id == org_id, col(Chunk.document_id).in_(missing))
            .order_by(col(Chunk.document_id), col(Chunk.ordinal))
        ).all()
    sections: dict[int, dict[int, list[str]]] = {}
    for doc_id, chunk_id, parent_id, content in rows:
        sections.setdefault(int(doc_id), {}).setdefault(int(parent_id or chunk_id), []).append(
            content
        )
    for doc_id, title, filename, _, _ in docs:
        if doc_id is None or int(doc_id) not in missing:
            continue
        groups = sections.get(int(doc_id), {})
        profile = build_profile(
            int(doc_id), title or "", filename or "", ["\n".join(g) for g in groups.values()]
        )
        out[int(doc_id)] = profile
        with _PROFILE_LOCK:
            _PROFILE_CACHE[keys[int(doc_id)]] = profile
            while len(_PROFILE_CACHE) > _PROFILE_CACHE_SIZE:
                _PROFILE_CACHE.popitem(last=False)
    return out


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


# --- the pipeline ---------------------------------------------------------------------------------


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
        if hit.parent_id is not None and hit.parent_id in parents:
            if hit.parent_id not in used_parents:
                used_parents.add(hit.parent_id)
                parent = parents[hit.parent_id]
                text_ = parent if hit.content[:80] in parent else f"{hit.content}\n\n{parent}"
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


async def _rerank(
    query: str, hits: list[SearchHit], deadline: _Deadline
) -> tuple[list[SearchHit], list[float]]:
    """Hits in rerank order with their scores; the fused order when the reranker fails."""
    if not hits:
        return [], []
    keep = max(RANKED_KEEP, get_settings().rerank_top_n)
    candidates = [
        RerankCandidate(
            text=h.content,
            heading=h.heading,
            identifiers=tuple(h.identifiers),
            document_title=h.document_title,
            fused_score=h.score,
        )
        for h in hits
    ]
    try:
        results = await deadline.run(
            get_reranker().rerank(query, candidates, min(keep, len(hits))), "rerank"
        )
    except (ProviderError, TimeoutError, OSError) as exc:
        log.warning("rerank failed (%s); using the fused order", type(exc).__name__)
        results = []
    order: list[int] = []
    scores: list[float] = []
    for result in results:
        if 0 <= result.index < len(hits) and result.index not in order:
            order.append(result.index)
            scores.append(float(result.score))
    for index in range(len(hits)):
        if len(order) >= keep:
            break
        if index not in order:
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
    except Exception:  # noqa: BLE001 - the check is an aid; without it the older rule decides
        log.exception("attribute check failed; using similarity and coverage only")
    return evidence


def _query_identifiers(text_: str) -> list[str]:
    from techdocs_app.rag.identifiers import query_identifiers

    return list(query_identifiers(text_))


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


def _focus_documents(
    question: str, history: Sequence[Turn], explicit: list[int] | None
) -> list[int] | None:
    """A follow-up stays on the previous turn's manuals unless it names a new model/part."""
    if explicit is not None or not history or not history[-1].document_ids:
        return None
    previous = history[-1]
    own = {i.lower() for i in _query_identifiers(question)}
    known = {i.lower() for i in previous.identifiers} | {
        i.lower() for i in _query_identifiers(previous.standalone_query or previous.question)
    }
    if own - known:
        return None
    return list(previous.document_ids[:2])


async def ask(
    principal: Principal,
    *,
    question: str,
    conversation_id: int | None = None,
    document_ids: Sequence[int] | None = None,
    trace: AnswerTrace | None = None,
) -> AsyncIterator[AnswerEvent]:
    """Answer `question` for `principal`'s organization as a stream of events."""
    settings = get_settings()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    trace = trace if trace is not None else AnswerTrace()
    try:
        cleaned = check_question(question)
    except QuestionRejected as exc:
        log.info("question rejected org_id=%s reason=%s", principal.org_id, exc.reason)
        await asyncio.to_thread(
            _log_failure,
            principal,
            conversation_id=conversation_id,
            question=(question or "")[:10000],
            standalone_query="",
            error=f"rejected:{exc.reason}",
            timings={"total": _ms(started)},
        )
        trace.error = f"rejected:{exc.reason}"
        yield Failed(exc.user_message)
        return

    stage_s = settings.provider_timeout_s
    deadline = _Deadline(stage_s, stage_s * OVERALL_FACTOR + 5.0)
    ctx: _Context | None = None
    standalone = cleaned
    try:
        ctx = await asyncio.to_thread(
            _open_conversation,
            principal,
            question=cleaned,
            conversation_id=conversation_id,
            document_ids=document_ids,
        )
        history: list[Turn] = []
        if not ctx.created:
            history = await asyncio.to_thread(
                memory.recent_turns, org_id=principal.org_id, conversation_id=ctx.conversation_id
            )

        t = time.perf_counter()
        if history:
            try:
                standalone = await deadline.run(
                    get_condenser().condense(question=cleaned, history=history), "condense"
                )
                standalone = " ".join((standalone or "").split()) or cleaned
            except (ProviderError, OSError) as exc:
                log.warning("condense failed (%s); using the question with context", exc)
                standalone = f"{history[-1].standalone_query or history[-1].question} {cleaned}"
        timings["condense"] = _ms(t)
        trace.standalone_query = standalone
        filter_ids = ctx.document_ids
        focus = _focus_documents(cleaned, history, filter_ids)
        key_filter = filter_ids if focus is None else focus
        trace.document_filter = key_filter
        yield Started(conversation_id=ctx.conversation_id, standalone_query=standalone)

        cached = await asyncio.to_thread(
            cache.get_answer,
            org_id=principal.org_id,
            index_version=ctx.index_version,
            query=standalone,
            document_ids=key_filter,
        )
        if cached is not None:
            async for event in _answer_from_cache(
                principal, ctx, cleaned, standalone, cached, started, timings, trace
            ):
                yield event
            return

        t = time.perf_counter()
        vector = await _embed(principal.org_id, standalone, deadline)
        timings["embed"] = _ms(t)

        t = time.perf_counter()
        hits = await _search(principal.org_id, standalone, vector, key_filter)
        timings["search"] = _ms(t)

        t = time.perf_counter()
        ranked, scores = await _rerank(standalone, hits, deadline)
        evidence = await _evidence(
            principal.org_id, standalone, ranked[: settings.rerank_top_n], hits
        )
        if focus is not None and is_weak(evidence):
            # The follow-up moved away from the previous manuals: search the whole library.
            trace.widened = True
            t_search = time.perf_counter()
            hits = await _search(principal.org_id, standalone, vector, filter_ids)
            timings["search"] += _ms(t_search)
            ranked, scores = await _rerank(standalone, hits, deadline)
            evidence = await _evidence(
                principal.org_id, standalone, ranked[: settings.rerank_top_n], hits
            )
        timings["rerank"] = _ms(t)
        trace.ranked = _ranked_dicts(ranked)
        trace.evidence = evidence

        not_found = is_weak(evidence)
        trace.not_found = not_found
        top_hits = [] if not_found else ranked[: settings.rerank_top_n]
        top_scores = [] if not_found else scores[: settings.rerank_top_n]
        sources = _source_views(top_hits, top_scores)
        yield Sources(sources=sources)

        answerer = get_answerer()
        offline = bool(answerer.offline)
        searched: list[str] = []
        if not_found:
            searched = await asyncio.to_thread(
                searched_document_titles, principal.org_id, filter_ids
            )
            answer = not_found_text(searched)
            timings["first_token"] = _ms(started)
            yield Token(answer)
            citations: list[int] = []
        else:
            parents = await asyncio.to_thread(
                _parent_texts,
                principal.org_id,
                sorted({h.parent_id for h in top_hits if h.parent_id is not None}),
            )
            passages = _passages(top_hits, top_scores, parents)
            parts: list[str] = []
            info = AnswerStreamInfo()
            stream = answerer.stream_answer(
                question=standalone, sources=passages, history=history, info=info
            )
            gap = stage_s * TOKEN_GAP_FACTOR
            try:
                while True:
                    try:
                        piece = await asyncio.wait_for(
                            anext(stream),
                            timeout=max(0.01, min(gap, deadline.end - time.monotonic())),
                        )
                    except StopAsyncIteration:
                        break
                    except TimeoutError as exc:
                        raise ProviderTimeout(detail="answer stream stalled") from exc
                    if not piece:
                        continue
                    if not parts:
                        timings["first_token"] = _ms(started)
                    parts.append(piece)
                    yield Token(piece)
            finally:
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    try:
                        await aclose()
                    except Exception:  # noqa: BLE001 - closing a broken vendor stream
                        log.debug("closing the answer stream failed", exc_info=True)
            answer, citations, dropped = check_citations("".join(parts).strip(), len(sources))
            if dropped:
                log.warning("dropped citations to missing sources: %s", dropped)
            if not answer:
                raise ProviderError(detail="empty answer")

        timings["total"] = _ms(started)
        latency_ms = int(timings["total"])
        message_id = await asyncio.to_thread(
            _save_answer,
            principal,
            conversation_id=ctx.conversation_id,
            answer=answer,
            standalone_query=standalone,
            sources=sources,
            not_found=not_found,
            offline=offline,
            latency_ms=latency_ms,
            question=cleaned,
            cache_hit=False,
            timings=timings,
        )
        turn = Turn(
            question=cleaned,
            answer=answer,
            standalone_query=standalone,
            document_ids=tuple(
                dict.fromkeys(
                    [sources[n - 1].document_id for n in citations]
                    + [s.document_id for s in sources]
                )
            ),
            identifiers=tuple(_query_identifiers(standalone)),
        )
        await asyncio.to_thread(
            memory.remember_turn,
            org_id=principal.org_id,
            conversation_id=ctx.conversation_id,
            turn=turn,
        )
        await asyncio.to_thread(
            cache.put_answer,
            org_id=principal.org_id,
            index_version=ctx.index_version,
            query=standalone,
            document_ids=key_filter,
            payload={
                "answer": answer,
                "citations": citations,
                "not_found": not_found,
                "offline": offline,
                "searched_documents": searched,
                "sources": [asdict(s) for s in sources],
                "ranked": trace.ranked,
                "evidence": evidence,
                "document_ids": list(turn.document_ids),
            },
        )
        yield Done(
            message_id=message_id,
            answer=answer,
            citations=citations,
            not_found=not_found,
            offline=offline,
            searched_documents=searched,
            timings=timings,
            cache_hit=False,
        )
    except Exception as exc:  # noqa: BLE001 - the stream must end with a plain message
        timings["total"] = _ms(started)
        if isinstance(exc, TechDocsError):
            log.warning(
                "answer failed org_id=%s conversation_id=%s: %s (%s)",
                principal.org_id,
                ctx.conversation_id if ctx else conversation_id,
                type(exc).__name__,
                exc.detail or "",
            )
            trace.error = f"{type(exc).__name__}:{exc.detail or ''}"
            message = exc.user_message
        else:
            log.exception("answer crashed org_id=%s", principal.org_id)
            trace.error = type(exc).__name__
            message = "Something went wrong while answering. Please try again."
        await asyncio.to_thread(
            _log_failure,
            principal,
            conversation_id=ctx.conversation_id if ctx else conversation_id,
            question=cleaned,
            standalone_query=standalone,
            error=trace.error,
            timings=timings,
        )
        yield Failed(message)


async def _answer_from_cache(
    principal: Principal,
    ctx: _Context,
    question: str,
    standalone: str,
    cached: dict[str, Any],
    started: float,
    timings: dict[str, float],
    trace: AnswerTrace,
) -> AsyncIterator[AnswerEvent]:
    sources = [SourceView(**s) for s in cached.get("sources", [])]
    answer = str(cached["answer"])
    trace.cache_hit = True
    trace.ranked = list(cached.get("ranked", []))
    trace.evidence = dict(cached.get("evidence", {}))
    trace.not_found = bool(cached.get("not_found"))
    yield Sources(sources=sources)
    timings["first_token"] = _ms(started)
    yield Token(answer)
    timings["total"] = _ms(started)
    message_id = await asyncio.to_thread(
        _save_answer,
        principal,
        conversation_id=ctx.conversation_id,
        answer=answer,
        standalone_query=standalone,
        sources=sources,
        not_found=bool(cached.get("not_found")),
        offline=bool(cached.get("offline")),
        latency_ms=int(timings["total"]),
        question=question,
        cache_hit=True,
        timings=timings,
    )
    await asyncio.to_thread(
        memory.remember_turn,
        org_id=principal.org_id,
        conversation_id=ctx.conversation_id,
        turn=Turn(
            question=question,
            answer=answer,
            standalone_query=standalone,
            document_ids=tuple(int(d) for d in cached.get("document_ids", [])),
            identifiers=tuple(_query_identifiers(standalone)),
        ),
    )
    yield Done(
        message_id=message_id,
        answer=answer,
        citations=[int(c) for c in cached.get("citations", [])],
        not_found=bool(cached.get("not_found")),
        offline=bool(cached.get("offline")),
        searched_documents=list(cached.get("searched_documents", [])),
        timings=timings,
        cache_hit=True,
    )
