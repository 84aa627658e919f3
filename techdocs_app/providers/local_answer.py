"""The offline default answerer: quotes the best evidence from the sources, each piece cited.

It never writes anything the manuals do not say: it picks the sentences (or table rows) that best
cover the question and streams them verbatim, each followed by its citation `[n]`. Tables come back
as a small markdown table (header plus matching rows); numbers and units are never cut. Selection
is a few milliseconds of pure Python over at most a handful of passages, so the first piece is
yielded almost at once. The UI labels these answers (`offline = True`).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from techdocs_app.providers.base import AnswerStreamInfo, SourcePassage, Turn
from techdocs_app.providers.local_rerank import compact, find_identifiers, terms
from techdocs_app.rag.prompts import NOT_FOUND_SENTENCE

MODEL_NAME = "local:extractive"
MAX_UNITS = 5
"""Sentences or table rows in one answer."""
MAX_STEPS = 8
"""Steps quoted for a procedure question (a list is not cut at MAX_UNITS)."""
MAX_UNIT_WORDS = 70
MIN_RELATIVE_SCORE = 0.5
"""A unit must score at least this share of the best unit to be quoted."""

_ABBREVIATIONS = frozenset(
    "e.g i.e fig figs no nos approx max min typ ref vol etc vs cf pp p approx. ca incl".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"'(\[]?[A-Z0-9])")
_LIST_ITEM = re.compile(r"^\s*(?:[-•*▪●–]|\(?\d{1,2}[.)]|\(?[a-z][.)]|step\s+\d+[:.)]?)\s+", re.I)
_TOC_LINE = re.compile(r"(?:\.\s?){5,}|…{2,}")
_PROCEDURE_CUES = re.compile(
    r"\b(how (?:do|can|should|to|is|are)|walk me through|procedure|steps?|install|replace|remove|"
    r"set up|setup|update|restore|change|start)\b",
    re.I,
)
_SPEC_CUES = re.compile(
    r"\b(how (?:much|many|long|fast|far|big|hot)|what (?:is|are) the|which|range|voltage|current|"
    r"power|temperature|torque|size|weight|pressure|speed|frequency|rating|capacity|maximum|"
    r"minimum|typical|default|limit|reach|sensitivity|wattage)\b",
    re.I,
)


@dataclass
class _Unit:
    source: SourcePassage
    position: int
    text: str
    table: tuple[list[str], list[str]] | None = None
    """(header cells, row cells) when the unit is a table row."""
    list_item: bool = False
    score: float = 0.0


def _split_cells(line: str) -> list[str]:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return [c for c in cells]


def _is_table_line(line: str) -> bool:
    return line.count(" | ") >= 1 or (line.strip().startswith("|") and line.count("|") >= 3)


def _is_separator(line: str) -> bool:
    return bool(re.fullmatch(r"[\s|:\-]+", line)) and "-" in line


def _sentences(paragraph: str) -> list[str]:
    """Split on sentence ends, but not after common abbreviations ('e.g.', 'Fig.', 'No.')."""
    pieces = _SENTENCE_END.split(paragraph)
    out: list[str] = []
    for piece in pieces:
        if out:
            last_word = out[-1].rsplit(" ", 1)[-1].rstrip(".").lower()
            if last_word in _ABBREVIATIONS or len(out[-1]) < 12:
                out[-1] = f"{out[-1]} {piece}"
                continue
        out.append(piece)
    return [s.strip() for s in out if s.strip()]


def split_units(source: SourcePassage) -> list[_Unit]:
    """A source as quotable units: sentences, list items and table rows (with their header)."""
    units: list[_Unit] = []
    paragraph: list[str] = []
    header: list[str] | None = None

    def flush(list_item: bool = False) -> None:
        if paragraph:
            sentences = [" ".join(paragraph)] if list_item else _sentences(" ".join(paragraph))
            for sentence in sentences:
                units.append(_Unit(source, len(units), sentence, list_item=list_item))
            paragraph.clear()

    for raw in source.text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            header = None
            continue
        if _is_table_line(line):
            flush()
            if _is_separator(line):
                continue
            cells = _split_cells(line)
            if header is None:
                header = cells
                continue
            units.append(_Unit(source, len(units), " ".join(cells), table=(header, cells)))
            continue
        header = None
        if _LIST_ITEM.match(line):
            flush()
            paragraph.append(line)
            flush(list_item=True)
        else:
            paragraph.append(line)
    flush()
    return units


def _truncate(text: str, question_terms: set[str]) -> str:
    """Long units (run-on PDF text, big table cells) are cut to the window of words that holds
    the most question terms, on word boundaries so numbers and units stay whole."""
    words = text.split()
    if len(words) <= MAX_UNIT_WORDS:
        return " ".join(words)
    hits = [1 if question_terms & set(terms(w)) else 0 for w in words]
    window = sum(hits[:MAX_UNIT_WORDS])
    best, best_start = window, 0
    for start in range(1, len(words) - MAX_UNIT_WORDS + 1):
        window += hits[start + MAX_UNIT_WORDS - 1] - hits[start - 1]
        if window > best:
            best, best_start = window, start
    # Start a few words early so the matching phrase keeps its subject.
    start = max(0, best_start - 5) if best_start else 0
    end = min(len(words), start + MAX_UNIT_WORDS)
    prefix = "… " if start else ""
    suffix = " …" if end < len(words) else ""
    return prefix + " ".join(words[start:end]) + suffix


def _score_units(question: str, units: list[_Unit], n_sources: int) -> None:
    # The question's compounds count once (a model name is one fact, not five); units keep their
    # parts so "ER4L" still finds "QSFP-100G-ER4L-A-FL".
    q_terms = list(dict.fromkeys(terms(question, parts=False)))
    if not q_terms:
        return
    # Words of the manual's title (model names) say which manual, not which sentence answers.
    title_terms = {t for u in units for t in terms(u.source.document_title)}
    unit_terms = [
        set(terms(u.text + (" " + " ".join(u.table[0]) if u.table else ""))) for u in units
    ]
    df = Counter(t for ts in unit_terms for t in ts if t in q_terms)
    n = len(units)
    idf = {
        t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * (0.1 if t in title_terms else 1.0)
        for t in q_terms
    }
    total = sum(idf.values()) or 1.0
    q_seq = terms(question, parts=False)
    q_pairs = {(a, b) for a, b in zip(q_seq, q_seq[1:], strict=False) if a != b}
    titles = {compact(s.document_title) for s in {id(u.source): u.source for u in units}.values()}
    q_idents = [i for i in find_identifiers(question) if not any(i in t for t in titles)]
    wants_numbers = bool(_SPEC_CUES.search(question))
    for unit, ts in zip(units, unit_terms, strict=True):
        coverage = sum(idf[t] for t in q_terms if t in ts) / total
        if coverage == 0 or _TOC_LINE.search(unit.text):
            unit.score = 0.0
            continue
        seq = terms(unit.text)
        pairs = set(zip(seq, seq[1:], strict=False))
        phrase = len(q_pairs & pairs) / len(q_pairs) if q_pairs else 0.0
        blob = compact(unit.text)
        ident = (
            sum(1 for i in q_idents if len(i) >= 2 and i in blob) / len(q_idents) if q_idents else 0
        )
        # A value (not the digits of a model name like RM14) where the question asks for one.
        numbers = 0.1 if wants_numbers and re.search(r"(?<![A-Za-z\d])\d", unit.text) else 0.0
        rank_prior = 0.1 * (1 - (unit.source.number - 1) / max(1, n_sources))
        short_penalty = 0.15 if len(unit.text.split()) < 4 and not unit.table else 0.0
        unit.score = coverage + 0.3 * phrase + 0.2 * ident + numbers + rank_prior - short_penalty


def select_units(question: str, sources: Sequence[SourcePassage]) -> list[_Unit]:
    """The units to quote, in reading order (source by source, then position)."""
    units = [u for s in sources for u in split_units(s)]
    if not units:
        return []
    _score_units(question, units, len(sources))
    best = max(units, key=lambda u: u.score)
    if best.score <= 0:
        return []
    if _PROCEDURE_CUES.search(question) and not best.table:
        steps = _procedure_run(units, best)
        if len(steps) >= 3:
            return steps
    ranked = sorted(units, key=lambda u: (-u.score, u.source.number, u.position))
    chosen: list[_Unit] = []
    seen: list[str] = []
    for unit in ranked:
        if unit.score < best.score * MIN_RELATIVE_SCORE or len(chosen) >= MAX_UNITS:
            break
        key = " ".join(unit.text.lower().split())
        # Overlapping chunks repeat sentences: quote each once.
        if any(key in other or other in key for other in seen):
            continue
        seen.append(key)
        chosen.append(unit)
    order = {s.number: i for i, s in enumerate(sources)}
    return sorted(chosen, key=lambda u: (order[u.source.number], u.position))


def _procedure_run(units: list[_Unit], best: _Unit) -> list[_Unit]:
    """Steps read in order: the whole numbered/bulleted list holding the best unit (or the list
    that follows it), else the best unit and the sentences after it."""
    same = [u for u in units if u.source is best.source]
    index = same.index(best)
    if best.list_item:
        while index > 0 and same[index - 1].list_item:
            index -= 1
    run = [same[index]]
    for unit in same[index + 1 :]:
        if len(run) >= MAX_STEPS:
            break
        if run[-1].list_item and not unit.list_item:
            break
        run.append(unit)
    return run


def render(units: Sequence[_Unit], question: str = "") -> list[str]:
    """Pieces to stream: sentences with ' [n]', and each table's rows as one markdown block."""
    pieces: list[str] = []
    q_terms = set(terms(question))
    index = 0
    while index < len(units):
        unit = units[index]
        if unit.table is None:
            sep = "" if not pieces or pieces[-1].endswith("\n") else " "
            pieces.append(f"{sep}{_truncate(unit.text, q_terms)} [{unit.source.number}]")
            index += 1
            continue
        header = unit.table[0]
        rows = []
        while (
            index < len(units)
            and units[index].table is not None
            and units[index].source is unit.source
            and units[index].table[0] == header  # type: ignore[index]
        ):
            rows.append(units[index].table[1])  # type: ignore[index]
            index += 1
        width = max(len(header), *(len(r) for r in rows))
        lines = [
            "| " + " | ".join(_pad(header, width)) + " |",
            "|" + "---|" * width,
            *("| " + " | ".join(_pad(r, width)) + " |" for r in rows),
        ]
        lead = "\n\n" if pieces else ""
        pieces.append(f"{lead}" + "\n".join(lines) + f"\n\n[{unit.source.number}]\n\n")
    return pieces


def _pad(cells: list[str], width: int) -> list[str]:
    return [c.replace("|", "/") for c in cells] + [""] * (width - len(cells))


class ExtractiveAnswerer:
    name = "extractive"
    offline = True

    async def stream_answer(
        self,
        *,
        question: str,
        sources: Sequence[SourcePassage],
        history: Sequence[Turn],
        info: AnswerStreamInfo | None = None,
    ) -> AsyncIterator[str]:
        if info is not None:
            info.model = MODEL_NAME
        chosen = select_units(question, sources)
        pieces = render(chosen, question) if chosen else [NOT_FOUND_SENTENCE]
        words = 0
        for piece in pieces:
            words += len(piece.split())
            if info is not None:
                info.output_tokens = words
            yield piece
            await asyncio.sleep(0)
