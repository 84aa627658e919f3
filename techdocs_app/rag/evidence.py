"""The evidence decision: are the retrieved passages good enough to answer from?

Features of the best candidates (lexical coverage, vector similarity) and the attribute check
(`rag.attributes`) decide between an answer and "not in your manuals" (`not_found_text`, naming
the manuals searched).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from techdocs_app.rag.attributes import ATTRIBUTE_MIN_COVERAGE
from techdocs_app.rag.retrieve import SearchHit

# Evidence thresholds, calibrated on dev.jsonl (72 answerable vs 8 not_in_docs questions, local
# providers): best trade-off found was not_found 3/8 for 7/72 false refusals; see `is_weak`.
MIN_COVERAGE = 0.4
MIN_WEIGHTED = 0.4
STRONG_SIMILARITY = 0.55
MIN_SIMILARITY = 0.3

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
