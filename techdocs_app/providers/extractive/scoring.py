"""Each unit's score for a question: weighted term coverage, phrase, identifiers, values,
table labels and the source's rank."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from techdocs_app.providers.extractive.question import (
    SPEC_CUES,
    focus_terms,
    question_terms,
    subject_terms,
)
from techdocs_app.providers.extractive.render import MAX_UNIT_WORDS
from techdocs_app.providers.extractive.units import ANAPHOR, VALUE, Unit
from techdocs_app.text.identifiers import find_identifiers
from techdocs_app.text.words import compact, terms

FOCUS_WEIGHT = 1.6


SUBJECT_WEIGHT = 0.25


_NUMBERED = re.compile(r"^([a-z]{3,})\d{1,2}$")
_TOC_LINE = re.compile(r"(?:\.\s?){4,}\s*\d|…{2,}|\.\.\.(?:\s*\d|\s*$)")


def _expansions(q_terms: Sequence[str], vocabulary: set[str]) -> dict[str, set[str]]:
    """The unit terms each question term matches: itself, and for words of five letters or more
    those sharing a stem with it ('wattage'/'watts', 'lacing'/'lace')."""
    out: dict[str, set[str]] = {}
    for term in q_terms:
        found = {term}
        if len(term) >= 5 and term.isalpha():
            found |= {
                u
                for u in vocabulary
                if len(u) >= 4
                and u[:4] == term[:4]
                and u.isalpha()
                and (u.startswith(term) or term.startswith(u))
            }
        out[term] = found
    return out


def _inherit_antecedents(units: list[Unit]) -> None:
    """A sentence that refers back ('It has a melting point of 361 °F.', 'These types are
    semiconducting …') is about the previous sentence's subject: it matches that sentence's
    question terms too, so the sentence stating the asked-for fact can win over its antecedent,
    which only names the subject."""
    for before, unit in zip(units, units[1:], strict=False):
        if (
            unit.table is None
            and not unit.heading
            and before.table is None
            and before.source is unit.source
            and before.block == unit.block
            and ANAPHOR.match(unit.text)
        ):
            unit.matched = unit.matched | before.matched


def score_units(question: str, units: list[Unit], n_sources: int) -> None:
    q_terms = question_terms(question)
    if not q_terms:
        return
    main, _, context = question.partition("(")
    focus = focus_terms(question)
    context_terms = set(question_terms(context)) - set(question_terms(main))
    # Words of the manual's title and of the question's model names say which manual, not which
    # sentence answers.
    sources = list({id(u.source): u.source for u in units}.values())
    titles = {compact(s.document_title) for s in sources}
    idents = find_identifiers(main)
    subject = (context_terms | subject_terms(main, sources)) - focus
    header_terms: dict[tuple[str, ...], set[str]] = {}
    for unit in units:
        unit.seq = terms(unit.text)
        unit.terms = set(unit.seq)
        # A numbered instance names its kind: 'ADC1_IN16' is an ADC input, 'USART2' a USART.
        unit.terms |= {m.group(1) for t in unit.seq if (m := _NUMBERED.match(t))}
        if unit.table and unit.table[0]:
            header = tuple(unit.table[0])
            if header not in header_terms:
                header_terms[header] = set(terms(" ".join(header)))
            unit.terms |= header_terms[header]
    expansions = _expansions(q_terms, set().union(*(u.terms for u in units)))
    for unit in units:
        unit.matched = {t for t in q_terms if unit.terms & expansions[t]}
    df = Counter(t for u in units for t in u.matched)
    _inherit_antecedents(units)
    n = len(units)
    weight: dict[str, float] = {}
    for t in q_terms:
        idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
        factor = FOCUS_WEIGHT if t in focus else SUBJECT_WEIGHT if t in subject else 1.0
        weight[t] = idf * factor
    total = sum(weight.values()) or 1.0
    asked = [t for t in q_terms if t not in subject]
    q_seq = terms(main, parts=False)
    q_pairs = {(a, b) for a, b in zip(q_seq, q_seq[1:], strict=False) if a != b}
    q_idents = [i for i in idents if not any(i in t for t in titles) and len(i) >= 2]
    wants_values = bool(SPEC_CUES.search(main))
    # A symbol the question asks about ('What's K in that formula?', 'what does the letter T
    # denote?') and the line defining it ('K = Constant to compensate for …', or a key of an
    # ordering scheme 'Package H = BGA T = LQFP'). The C of '°C' and the E of 'E-steps' are not
    # symbols.
    symbols = set(re.findall(r"(?<![\w'’°\-])([B-HJ-Z])(?![\w'’\-])", main))
    definition = (
        re.compile(
            rf"^\s*(?:where:?\s*)?(?:{'|'.join(sorted(symbols))})\s*(?:=|:|–)\s*\S"
            rf"|(?<![\w'’])(?:{'|'.join(sorted(symbols))})\s=\s\S"
        )
        if symbols
        else None
    )
    for unit in units:
        matched = unit.matched
        unit.asked = matched - subject
        defines = definition is not None and definition.search(unit.text) is not None
        if defines:
            unit.score = 1.0 + 0.1 * (1 - (unit.source.number - 1) / max(1, n_sources))
            continue
        if not matched or _TOC_LINE.search(unit.text):
            unit.score = 0.0
            continue
        if asked and not matched & set(asked):
            unit.score = 0.0  # names the product, says nothing about what was asked
            continue
        coverage = sum(weight[t] for t in matched) / total
        pairs = set(zip(unit.seq, unit.seq[1:], strict=False))
        phrase = len(q_pairs & pairs) / len(q_pairs) if q_pairs else 0.0
        blob = compact(unit.text)
        ident = sum(1 for i in q_idents if i in blob) / len(q_idents) if q_idents else 0.0
        value = 0.0
        if wants_values:
            if VALUE.search(unit.text):
                value = 0.3
            elif re.search(r"(?<![A-Za-z\d])\d", unit.text):
                value = 0.1
        label = 0.0
        if unit.table is not None:
            # A row labelled with the asked-for words ('IP address | 192.168.100.3').
            label_terms = set(terms(next((c for c in unit.table[1] if c), "")))
            if label_terms:
                label = 0.3 * sum(1 for t in label_terms if t in matched) / len(label_terms)
        rank_prior = 0.1 * (1 - (unit.source.number - 1) / max(1, n_sources))
        words = len(unit.text.split())
        short_penalty = 0.1 if words < 4 and not unit.table else 0.0
        long_penalty = 0.1 if words > 2 * MAX_UNIT_WORDS else 0.0
        unit.score = (
            coverage
            + 0.3 * phrase
            + 0.2 * ident
            + value
            + label
            + rank_prior
            - short_penalty
            - long_penalty
        )
