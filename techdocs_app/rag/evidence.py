"""The evidence decision: answer, the closest passages, or not found.

Features of the retrieved candidates (`evidence_features`): vector similarity, lexical coverage of
the question (plain and weighted by rarity among the candidates), the attribute check of
`rag.attributes` (how much of what the question asks for the subject's manuals mention at all and
in one section, whether the question names a model no manual mentions, whether it names an
acronym or code the subject's manuals never write), agreement between the search arms on the best
candidate, and whether the question asks for a quantity of a kind (torque, temperature, mass, …:
`rag.quantities`, pint's dimensions) that no retrieved passage states. A small logistic model
turns them into the probability that the manuals answer the question (`answerable_probability`);
its weights and the two thresholds were fitted on the tune question set plus dev and the
technicians' rewordings of their questions (`python -m techdocs_app.bench.fit_evidence`, which
prints the numbers below, with each weight on the side `DIRECTIONS` allows and the thresholds
checked by leave-one-manual-out cross-validation) and checked on validate. No validate question
was ever fitted on or read, but validate's aggregate figures have been seen after each round and
steered what the next round worked on (this one's weight on false refusals): treat its figures as
slightly optimistic.

Outcomes (`decide`): at or above ANSWER_THRESHOLD an answer; at or above CLOSEST_THRESHOLD "the
closest passages", cited and labelled as not exact; below it "not in your manuals", naming the
manuals searched. A refusal is only for questions with nothing relevant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

from techdocs_app.rag.quantities import asked_dimension, stated_dimensions
from techdocs_app.rag.retrieve import SearchHit
from techdocs_app.text.condenser_context import split_context
from techdocs_app.text.words import expand_contractions, is_function_word, stem, strip_how_measure

Outcome = Literal["answer", "closest", "not_found"]

FEATURES = (
    "similarity",
    "coverage",
    "weighted",
    "attr_coverage",
    "section_coverage",
    "focus_missing",
    "unknown_model",
    "arms",
    "quantity_missing",
    "named_missing",
)
"""The model's inputs, in order (each in [0, 1])."""
DIRECTIONS = {
    "similarity": 1,
    "coverage": 1,
    "weighted": 1,
    "attr_coverage": 1,
    "section_coverage": 1,
    "focus_missing": -1,
    "unknown_model": -1,
    "arms": 1,
    "quantity_missing": -1,
    "named_missing": -1,
}
"""Which way each input may move the probability of an answer: more of the question found is
never evidence against it. The fit gives a feature whose weight comes out the other way (a
quirk of correlated inputs on a few hundred questions) no weight at all."""

# The choice (issue 9, round 5): a technician's own words must not read as "not in the
# manuals". The previous rule (synthetic reworded copies, weight 0.5) held 1.9% false refusals
# out of manual on dev + tune but refused 14.5% of reworded_questions (the technicians'
# rewordings of every single-turn dev and tune question) held out the same way. Those rewordings
# are examples of the fit (each weighing 0.25 of a question, held out with its original's
# manual) and their false refusals a constraint. Rule, leave-one-manual-out (near misses grouped
# by closest_doc): false refusals <= 0.025, rewordings' false refusals <= 0.05 and closest <=
# 0.15, synthetic stress <= 0.30, then the most near misses refused, the probes' counted with
# the others.
# Round 6 (part numbers): part_numbers.jsonl (39 part-number questions on pages dev and tune
# cite, 10 near misses) joins the fit like the rewordings (weight 0.25, each held out with its
# own manual; its false refusals <= 0.05 and closest <= 0.15 too): without it a refit could
# trade those questions away unseen. Refitted after the features read order codes as their
# manuals do (`rag.attributes`: a code the manual's ordering key produces is no unknown model,
# an entry the key does not list, 'the letter U', is one; a question pointing at a piece of its
# code, 'is the 4 an AWG size', asks to decode it; a document's 'rev'/'version' is no asked-for
# attribute), `rag.evidence` finds a full order code in a passage that writes its model, and the
# identifier arm finds the ordering key by the code's family prefix (`rag.retrieve`). On the
# features before them (main 703cd43, this machine's candidates) the same rule with the part
# numbers in the fit falls to 0.258 near misses refused out of manual (the decodable codes read
# as unknown models: unknown model -4.9), so they were measured only then. Leave-one-manual-out
# against that fit (without the part numbers, refitted on this machine), false refusal / closest
# / not found / stress: 0.000 / 0.014 / 0.613 / 0.159 -> 0.000 / 0.024 / 0.613 / 0.206; the
# rewordings' false refusal / closest / not found 0.035 / 0.139 / 0.484 -> 0.040 / 0.145 /
# 0.484; the part numbers' 0.128 / 0.077 / 0.700 (in the eval, not fitted) -> 0.000 / 0.026 /
# 0.800 held out. Per manual: near misses refused 19 of 31 and the rewordings' 15 of 31 both
# (no manual moved), answerable refused 0 of 210 both, the rewordings' 6 -> 7 of 173 (arista
# 2 -> 1, btt_skr 0 -> 2), part numbers refused 0 of 39, their near misses 8 of 10. The budget
# sits on the rewordings' 0.05 limit again (the next budget holds 0.058). The weights: coverage
# 2.5, section coverage 3.4, focus missing -3.3, unknown model -7.4, quantity missing -7.6,
# named missing -4.8, similarity 0.25 (weighted 0: it came out against its direction).
# Round 6, second task (issue 9): a manual's word is read as a technician types it
# (`rag.attributes._vocabulary`): a unit glued to its value ('13.0dB', '20km') is a word of the
# manual, and two adjacent words are one ('hot end' -> 'hotend', 'Min temp' -> 'MINTEMP', 'bit
# rate' -> 'bitrate'). Answerable rewordings read as asking for a word the manual lacks no more,
# so the same rule refuses one near miss more. Refitted; leave-one-manual-out against the fit
# above (same machine), false refusal / closest / not found / stress: 0.000 / 0.024 / 0.613 /
# 0.206 -> 0.000 / 0.029 / 0.645 / 0.215; the rewordings' false refusal / closest / not found
# 0.040 / 0.145 / 0.484 -> 0.035 / 0.145 / 0.484; the part numbers' 0.000 / 0.026 / 0.800 both;
# leave-one-vendor-out not found 0.548 -> 0.645. Per manual: near misses refused 19 -> 20 of 31
# (trikdis_rl14 3 -> 4 of 5), the rewordings' 15 of 31 both (ender3_troubleshooting 3 -> 2,
# timken 3 -> 4), answerable refused 0 of 210 both, the rewordings' 7 -> 6 of 173 (arista 1 ->
# 2, ender3_troubleshooting 1 -> 0, smartoptics 1 -> 0), part numbers 0 of 39 and 8 of 10 both.
# Similarity's weight came out against its direction (0). The same reading of passages for
# coverage (`key_terms` against `_term_set`) was tried and dropped: the rewordings' false
# refusals 0.035 -> 0.046 out of manual, nothing more refused.
# Round 6, last refit: after the extractive engineer's shop words joined `text.synonyms` (which
# the attribute check reads) and the condenser's rewrites changed. Leave-one-manual-out, false
# refusal / closest / not found / stress: 0.000 / 0.029 / 0.645 / 0.215 -> 0.000 / 0.033 / 0.645 /
# 0.215; the rewordings' 0.035 / 0.145 / 0.484 -> 0.035 / 0.133 / 0.484; the part numbers' 0.000
# / 0.026 / 0.800 both; no weight moved by more than 0.07 (similarity, 0.02 -> 0.09).
# Round 7 (near misses, issue 9 section 2): the attribute check reads the asked-for phrase of
# questions without a question word ('rx jitter tolerance spec of the TS2017-S31C-SO?', 'Does
# the STM32F103's internal SRAM have parity checking?': `rag.attributes._asked_phrase`), so a
# word of it no manual writes is a missing focus; and a variant pinned by a value the subject's
# manuals never write in a unit they do write ('the 40 km version' of a 20 km module:
# `rag.attributes.values_missing`) is an unknown model. With these constants unchanged (eval,
# this machine), not found / false refusal / closest: dev 0.625 / 0.000 / 0.000 both; tune 0.652
# / 0.000 / 0.058 -> 0.696 / 0.000 / 0.051; reworded_questions 0.484 / 0.023 / 0.145 -> 0.548 /
# 0.023 / 0.150; part_numbers 0.800 / 0.000 / 0.026 both; reworded_followups 0.000 / 0.012 /
# 0.062 both. The refit on them (same command, not written) holds leave-one-manual-out 0.000 /
# 0.038 / 0.710 / 0.248 (false refusal / closest / not found / stress; before 0.000 / 0.033 /
# 0.645 / 0.215), the rewordings' 0.035 / 0.145 / 0.548 (before 0.035 / 0.133 / 0.484), the part
# numbers' 0.000 / 0.051 / 0.800; but in the eval it refuses 7 of the 173 rewordings (0.040,
# 4 with these constants: focus missing -3.3 -> -3.9, similarity 0 -> 2.3) for one near miss
# more on tune (0.739): a false refusal traded for a near miss, so those constants stayed.
# Round 7, last refit, after every merge of the round (chunking, stemmer, tokens, the reranker's
# question reading, the reviews' fixes of the focus and variant readings): with the round-6
# constants the eval gave tune 0.739 / 0.007 / 0.051 (not found / false refusal / closest),
# rewordings 0.548 / 0.035 / 0.162; refitted (below) tune 0.739 / 0.007 / 0.058, rewordings
# 0.548 / 0.029 / 0.145, dev and part numbers unchanged: one rewording less refused and their
# closest back under 0.15, so written.
# Fitted by `python -m techdocs_app.bench.fit_evidence --write` on `eval --json` of dev + tune:
# 241 questions, 31 not in the manuals, about 14 manuals of 9 vendors. No weight (it came out
# against its direction): weighted, attr_coverage. Reworded copies of the answerable questions
# weigh 0.0 times their question. The 204 questions of reworded_questions (their rewordings by
# technicians) weigh 0.25 each, held out with their original's manual. The 49 questions of
# part_numbers (technicians' part-number questions and near misses) weigh 0.25 each, held out with
# their manual. Budgets: of those within 0.025 false refusals, 0.3 rewording stress and 0.05 false
# refusals of the rewordings and of the part numbers each in leave-one-manual-out CV, the one with
# the most not found; closest the largest within 0.08. false_refusal / closest / not_found_acc /
# stress: in-sample 0.005 / 0.033 / 0.710 / 0.216; 5-fold CV 0.005 / 0.031 / 0.653 / 0.166;
# leave-one-manual-out 0.005 / 0.048 / 0.645 / 0.189; leave-one-vendor-out 0.005 / 0.043 / 0.645 /
# 0.189. The rewordings' false_refusal / closest / not_found_acc: leave-one-manual-out 0.029 /
# 0.145 / 0.452, in-sample 0.029 / 0.139 / 0.548. The part numbers' false_refusal / closest /
# not_found_acc: leave-one-manual-out 0.000 / 0.051 / 0.800, in-sample 0.000 / 0.026 / 0.800.
WEIGHTS = (1.549, 2.456, 0.000, 0.000, 2.685, -3.793, -7.533, 0.382, -7.443, -5.379)
BIAS = -3.009
ANSWER_THRESHOLD = 0.495
CLOSEST_THRESHOLD = 0.083

_WORD_RE = re.compile(r"[a-z0-9]+(?:[.,/+-][a-z0-9]+)*")


def key_terms(text: str) -> list[str]:
    """The question's content terms, stemmed: contractions written out ("won't", "f103's"),
    inflected stop words ('tells', 'wants') and the measure of 'how long' left out."""
    words = _WORD_RE.findall(strip_how_measure(expand_contractions(text)).lower())
    return list(dict.fromkeys(stem(w) for w in words if not is_function_word(w)))


ORDER_SUFFIX_MAX = 4
"""Characters a full order code adds to the model a passage writes ('STM32F103RE' + 'T6':
package and temperature range; 'xxx' options at most 3 more)."""
ORDER_MODEL_MIN = 6
"""Characters of the passage's model a full order code must start with: shorter codes ('F103',
'RT2') are prefixes of too many others."""


def _term_found(term: str, words: frozenset[str]) -> bool:
    """A question term among a passage's words: as stemmed, as the singular the small stemmer
    leaves ('ups', 'pull-ups'), or, for a code, inside a longer code of the passage ('f103' in
    'stm32f103', 'er4l' in 'qsfp-100g-er4l-a-fl'): a technician types the distinctive part; or a
    full order code whose model the passage writes ('stm32f103ret6' of 'STM32F103RE'): a
    technician reads the whole code off the chip or label."""
    if term in words or (len(term) >= 3 and term.endswith("s") and term[:-1] in words):
        return True
    key = re.sub(r"[^a-z0-9]", "", term)
    if len(key) < 4 or not any(c.isdigit() for c in key) or not any(c.isalpha() for c in key):
        return False
    return any(
        key in w
        or (
            ORDER_MODEL_MIN <= len(w)
            and key.startswith(w)
            and len(key) - len(w) <= ORDER_SUFFIX_MAX
            and not _new_field_after(term, len(w))
        )
        for w in _code_keys(words)
    )


def _new_field_after(term: str, n: int) -> bool:
    """Whether `term` starts a field of its own after its first `n` letters and digits
    ('qsfp-100g-zr4' after 'qsfp100g': '-zr4' is another variant of the family, not an order
    suffix; 'stm32f103ret6' after 'stm32f103re' goes on without a separator)."""
    seen = 0
    for i, ch in enumerate(term):
        if ch.isalnum():
            seen += 1
            if seen == n:
                return i + 1 < len(term) and not term[i + 1].isalnum()
    return False


@lru_cache(maxsize=8192)
def _code_keys(words: frozenset[str]) -> tuple[str, ...]:
    """The words of a passage that hold digits, compacted ('qsfp-100g' -> 'qsfp100g')."""
    return tuple(re.sub(r"[^a-z0-9]", "", w) for w in words if any(c.isdigit() for c in w))


@lru_cache(maxsize=8192)
def _term_set(text: str) -> frozenset[str]:
    """Cached: the same chunks come back as candidates question after question."""
    out: set[str] = set()
    for word in _WORD_RE.findall(text.lower()):
        out.add(stem(word))
        if any(ch in word for ch in ".,/+-"):
            out.update(stem(p) for p in re.split(r"[.,/+-]", word) if p)
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
    weights = {
        t: math.log((n + 1) / (sum(1 for w in pool_sets if _term_found(t, w)) + 0.5)) for t in terms
    }
    total = sum(weights.values()) or 1.0
    best_cov = 0.0
    best_weighted = 0.0
    hit_terms: list[list[str]] = []
    for hit in hits:
        words = _term_set(f"{hit.document_title} {hit.heading} {hit.content}")
        if terms:
            found = [t for t in terms if _term_found(t, words)]
            hit_terms.append(found)
            best_cov = max(best_cov, len(found) / len(terms))
            best_weighted = max(best_weighted, sum(weights[t] for t in found) / total)
    best_sim = max((h.vector_similarity for h in hits), default=0.0)
    dimension = asked_dimension(split_context(query)[0])
    # Any candidate of the same manuals may state it (a table's unit can sit in a sibling chunk).
    manuals = {h.document_id for h in hits}
    quantity_missing = dimension is not None and not any(
        dimension in stated_dimensions(h.content) for h in pool if h.document_id in manuals
    )
    return {
        "quantity_asked": dimension is not None,
        "quantity_missing": quantity_missing,
        "coverage": round(best_cov, 4),
        "weighted": round(best_weighted, 4),
        "similarity": round(best_sim, 4),
        "arms": round(_arm_agreement(hits), 4),
        "terms": len(terms),
        "candidates": len(hits),
        # For the fitting script's rewording stress test (bench.fit_evidence.reworded): which
        # terms each candidate holds, each term's weight, and the weight of a term no candidate
        # of the pool holds.
        "hit_terms": hit_terms,
        "term_weights": {t: round(w, 4) for t, w in weights.items()},
        "unseen_weight": round(math.log((n + 1) / 0.5), 4),
    }


def _arm_agreement(hits: Sequence[SearchHit]) -> float:
    """Share of the three search arms that ranked the best candidate in their top 10."""
    if not hits:
        return 0.0
    top = hits[0]
    ranks = (top.vector_rank, top.keyword_rank, top.identifier_rank)
    return sum(1 for r in ranks if r is not None and r <= 10) / 3


def evidence_features(evidence: dict[str, Any]) -> tuple[float, ...]:
    """The model's inputs from an `assess_evidence` + `assess_attributes` dict. Without the
    attribute check (it could not run) the candidates' own coverage stands in for the manuals'."""
    focus = evidence.get("focus") or []
    focus_missing = evidence.get("focus_missing") or []
    values = {
        "similarity": float(evidence.get("similarity", 0.0)),
        "coverage": float(evidence.get("coverage", 0.0)),
        "weighted": float(evidence.get("weighted", 0.0)),
        "attr_coverage": float(evidence.get("attr_coverage", evidence.get("coverage", 0.0))),
        "section_coverage": float(evidence.get("section_coverage", evidence.get("coverage", 0.0))),
        "focus_missing": len(focus_missing) / len(focus) if focus else 0.0,
        "unknown_model": 1.0 if evidence.get("unknown_models") else 0.0,
        "arms": float(evidence.get("arms", 0.0)),
        "quantity_missing": 1.0 if evidence.get("quantity_missing") else 0.0,
        "named_missing": 1.0 if evidence.get("named_missing") else 0.0,
    }
    return tuple(values[name] for name in FEATURES)


def answerable_probability(evidence: dict[str, Any]) -> float:
    z = BIAS + sum(w * x for w, x in zip(WEIGHTS, evidence_features(evidence), strict=True))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def nothing_relevant(evidence: dict[str, Any]) -> bool:
    """No candidate at all, or none holding a single key word of the question (title and heading
    included): a question about something the library does not cover ("how do I pair the
    Bluetooth remote?" in a shop of brake manuals). Refused whatever the model says: its fitted
    sets hold near misses about the same products, never a question this far off, so it cannot
    learn this (with the bias alone it gives such a question about 0.15). No answerable dev or
    tune question has a coverage of 0 (the lowest is 0.10)."""
    return not evidence.get("candidates") or (
        float(evidence.get("coverage", 0.0)) <= 0.0 and float(evidence.get("weighted", 0.0)) <= 0.0
    )


def decide(evidence: dict[str, Any]) -> Outcome:
    """answer, closest or not_found for these features (nothing relevant: not_found)."""
    if nothing_relevant(evidence):
        return "not_found"
    probability = answerable_probability(evidence)
    if probability >= ANSWER_THRESHOLD:
        return "answer"
    if probability >= CLOSEST_THRESHOLD:
        return "closest"
    return "not_found"


def is_weak(evidence: dict[str, Any]) -> bool:
    """Too weak to answer from (the closest passages or not found)."""
    return decide(evidence) != "answer"


CLOSEST_LEAD = "I could not find this exactly; the closest passages are:"
"""How a "closest passages" answer opens (the UI labels it as not exact too)."""


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
