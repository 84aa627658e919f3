"""The offline default reranker: lexical evidence re-scored over the candidate set.

No cross-encoder weights can be shipped here, so this reranker looks at what the fused retrieval
score cannot: how well *this* passage covers the question relative to the other candidates.
Features, each in [0, 1]:
- BM25 of the query terms over the passage, IDF estimated over the candidate set (a term found in
  every candidate tells nothing about which one is best);
- coverage: the IDF-weighted share of distinct query terms the passage contains;
- phrase: the share of the query's adjacent term pairs found adjacent in the passage;
- heading: the share of query terms in the passage's heading and document title;
- identifiers: the share of the query's part numbers/model names found in the passage;
- fused: the retrieval score (normalised by the best candidate's).
The weighted sum is deterministic; ties keep the retrieval order.

The small text helpers here (`terms`, `find_identifiers`, …) are shared by the other offline
providers (extractive answerer, condenser).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache

from techdocs_app.providers.base import RerankCandidate, RerankResult

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more most
    my no nor not now of off on once only or other our ours out over own same she should so some such
    than that the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    what's whats it's i'm i've don't doesn't isn't can't cannot also get gets got use used using
    tell mean means need needs want please manual manuals say says said show shows let one ones
    may might must shall much many way thing things instead still else""".split()
)
"""English function words plus question filler that never decides which passage answers."""

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:[.,:/+\-][A-Za-z0-9]+)*[+\-]?")
_IDENT_RE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9\-/.]*\d)(?=[A-Za-z0-9\-/.]*[A-Za-z])"
    r"[A-Za-z0-9]+(?:[\-/.][A-Za-z0-9]+)*"
)
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s", "e")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately small suffix stripper: 'pins'/'pin', 'lacing'/'lace', 'clears'/'clear'."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            base = word[: -len(suffix)]
            return base + "y" if suffix in ("ies", "ied") else base
    return word


def raw_tokens(text: str) -> list[str]:
    """Lower-cased word tokens; compounds like `qsfp-100g-er4l` or `12,6` stay whole."""
    return [t.lower() for t in _TOKEN_RE.findall(text)]


def terms(text: str, *, parts: bool = True) -> list[str]:
    """Content terms in order: stop words dropped, stemmed; compounds like `qsfp-100g-er4l` also
    yield their parts (`parts=False` keeps only the compound, so one name counts once)."""
    return list(_terms(text, parts))


@lru_cache(maxsize=8192)
def _terms(text: str, parts: bool) -> tuple[str, ...]:
    """Cached: the same chunks come back as candidates question after question."""
    out: list[str] = []
    for token in raw_tokens(text):
        if token in STOPWORDS:
            continue
        pieces = re.split(r"[.,:/+\-]", token)
        if len(pieces) > 1:
            out.append(token)
            if parts:
                out.extend(stem(p) for p in pieces if len(p) >= 2 and p not in STOPWORDS)
        else:
            out.append(stem(token))
    return tuple(out)


def _local_normalize_identifier(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


def _local_query_identifiers(query: str) -> list[str]:
    found: list[str] = []
    for match in _IDENT_RE.finditer(query):
        norm = _local_normalize_identifier(match.group(0))
        if len(norm) >= 2 and norm not in found:
            found.append(norm)
    return found


@lru_cache(maxsize=1)
def _identifier_functions() -> tuple[Callable[[str], list[str]], Callable[[str], str]]:
    """techdocs_app.rag.identifiers when it is installed, else the local regex versions."""
    try:
        from techdocs_app.rag import identifiers as module
    except ImportError:
        return _local_query_identifiers, _local_normalize_identifier
    query_fn = getattr(module, "query_identifiers", None) or _local_query_identifiers
    norm_fn = getattr(module, "normalize_identifier", None) or _local_normalize_identifier
    return query_fn, norm_fn


def normalize_identifier(value: str) -> str:
    try:
        return _identifier_functions()[1](value)
    except Exception:  # noqa: BLE001 - a sibling module's bug must not break ranking
        return _local_normalize_identifier(value)


def find_identifiers(text: str) -> list[str]:
    """Part numbers, model names and codes in `text` as compact keys ('QSFP100GER4LAFL'), so the
    hyphenation and spacing of a manual never decide a match."""
    try:
        found = list(_identifier_functions()[0](text))
    except Exception:  # noqa: BLE001 - fall back to the local regex
        found = _local_query_identifiers(text)
    out: list[str] = []
    for value in found:
        key = compact(normalize_identifier(value))
        if len(key) >= 2 and key not in out:
            out.append(key)
    return out


@lru_cache(maxsize=65536)
def compact(text: str) -> str:
    """Upper-case letters and digits only: 'QSFP-100G ER4L' -> 'QSFP100GER4L'."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


# Tuned on the dev set (eval): the fused retrieval score at 0.5-0.7 gives MRR@10 0.860-0.874;
# 0.2 gave 0.841 and 1.0 0.819. 0.6 sits in the middle of that plateau.
WEIGHTS = {
    "bm25": 0.28,
    "coverage": 0.22,
    "phrase": 0.10,
    "heading": 0.08,
    "identifiers": 0.12,
    "fused": 0.60,
}


class LocalReranker:
    name = "local-lexical"

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b

    async def rerank(
        self, query: str, candidates: Sequence[RerankCandidate], top_n: int
    ) -> list[RerankResult]:
        scores = self.score(query, candidates)
        order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
        return [RerankResult(index=i, score=scores[i]) for i in order[: max(0, top_n)]]

    def score(self, query: str, candidates: Sequence[RerankCandidate]) -> list[float]:
        """One combined score per candidate (synchronous; cheap for tens of candidates)."""
        n = len(candidates)
        if n == 0:
            return []
        q_terms = terms(query)
        q_set = list(dict.fromkeys(q_terms))
        q_pairs = {(a, b) for a, b in zip(q_terms, q_terms[1:], strict=False) if a != b}
        q_idents = find_identifiers(query)

        bodies = [terms(c.text) for c in candidates]
        body_counts = [Counter(t) for t in bodies]
        head_sets = [set(terms(f"{c.heading} {c.document_title}")) for c in candidates]
        df = Counter(
            t
            for counts, heads in zip(body_counts, head_sets, strict=True)
            for t in set(counts) | heads
        )
        idf = {t: max(0.05, math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))) for t in q_set}
        q_weight = sum(idf.values()) or 1.0
        avg_len = sum(len(b) for b in bodies) / n or 1.0

        bm25 = []
        features: list[dict[str, float]] = []
        for cand, body, counts, heads in zip(
            candidates, bodies, body_counts, head_sets, strict=True
        ):
            length_norm = self.k1 * (1 - self.b + self.b * len(body) / avg_len)
            bm25.append(
                sum(
                    idf[t] * counts[t] * (self.k1 + 1) / (counts[t] + length_norm)
                    for t in q_set
                    if counts[t]
                )
            )
            present = [t for t in q_set if counts[t] or t in heads]
            pairs = set(zip(body, body[1:], strict=False))
            features.append(
                {
                    "coverage": sum(idf[t] for t in present) / q_weight if q_set else 0.0,
                    "phrase": len(q_pairs & pairs) / len(q_pairs) if q_pairs else 0.0,
                    "heading": (
                        sum(idf[t] for t in q_set if t in heads) / q_weight if q_set else 0.0
                    ),
                    "identifiers": self._identifier_match(q_idents, cand),
                }
            )

        best_bm25 = max(bm25) or 1.0
        fused = [c.fused_score for c in candidates]
        best_fused = max(fused)
        scores = []
        for rank, (feat, raw) in enumerate(zip(features, bm25, strict=True)):
            if best_fused > 0:
                fused_norm = max(0.0, fused[rank]) / best_fused
            else:  # no scores given: trust the order the candidates came in
                fused_norm = 1.0 - rank / n
            total = (
                WEIGHTS["bm25"] * raw / best_bm25
                + WEIGHTS["coverage"] * feat["coverage"]
                + WEIGHTS["phrase"] * feat["phrase"]
                + WEIGHTS["heading"] * feat["heading"]
                + WEIGHTS["identifiers"] * feat["identifiers"]
                + WEIGHTS["fused"] * fused_norm
            )
            scores.append(round(total, 6))
        return scores

    @staticmethod
    def _identifier_match(q_idents: list[str], cand: RerankCandidate) -> float:
        if not q_idents:
            return 0.0
        own = {compact(normalize_identifier(i)) for i in cand.identifiers}
        words = {compact(w) for w in re.split(r"\s+", f"{cand.heading} {cand.text}") if w}
        blob = compact(f"{cand.document_title} {cand.heading} {cand.text}")
        total = 0.0
        for ident in q_idents:
            if ident in own or ident in words:
                total += 1.0
            elif len(ident) >= 4 and ident in blob:
                total += 0.6
        return total / len(q_idents)
