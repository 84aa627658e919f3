"""The offline default answerer: quotes the best evidence from the sources, each piece cited.

It never writes anything the manuals do not say: it picks the sentences (or table rows) that best
cover the question and streams them verbatim, each run followed by its citation `[n]`. Tables come
back as a small markdown table (caption, header plus matching rows); numbers and units are never
cut. Selection is a few milliseconds of pure Python over at most a handful of passages, so the
first piece is yielded almost at once. The UI labels these answers (`offline = True`).

How a unit is chosen:
- sources are split into units: sentences, list items (their sentences stay one item), headings
  (short lines without a full stop) and table rows; PDF line wraps are rejoined, figure-label
  noise ("3 4") is dropped;
- the question's words are weighted: the asked-for phrase ("What *supply voltage range* does …")
  counts most, words naming the manual or product (document titles, part numbers, context the
  condenser appended in parentheses) count little, so a sentence that only repeats the product
  name never beats one that states the asked-for value;
- spec questions ("what/how much …", voltage, current, …) prefer units stating a number with a
  unit; a unit must match at least one asked-for word when the question has any;
- the best unit, then units that add asked-for words not yet covered or continue a chosen unit
  (the next sentence of the same paragraph), up to MAX_UNITS;
- "how do I …" questions quote the whole numbered list holding the best match (from its step 1,
  with the heading before it), in order.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from techdocs_app.providers.base import AnswerStreamInfo, SourcePassage, Turn
from techdocs_app.providers.prompts import NOT_FOUND_SENTENCE
from techdocs_app.text.identifiers import find_identifiers
from techdocs_app.text.words import STOPWORDS, compact, stem, terms

MODEL_NAME = "local:extractive"
MAX_UNITS = 4
"""Sentences or table rows in one answer (fewer when one unit covers the question)."""
MAX_STEPS = 10
"""Steps quoted for a procedure question (a list is not cut at MAX_UNITS)."""
MAX_UNIT_WORDS = 70
MIN_RELATIVE_SCORE = 0.45
"""A unit must score at least this share of the best unit to be quoted."""
FOCUS_WEIGHT = 1.6
SUBJECT_WEIGHT = 0.25

_ABBREVIATIONS = frozenset(
    "e.g i.e fig figs no nos approx max min typ ref vol etc vs cf pp p ca incl".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"'(\[]?[A-Z0-9])")
_INLINE_ITEM = re.compile(r"(?<=[.!?;:])\s+(?=\(?\d{1,2}[.)]\s*[A-Z])")
"""A list item run into the previous sentence: '… 250V. 3. Receiving module …'."""
_INLINE_BULLET = re.compile(r"\s*[◆•▪●■]\s*")
_LIST_ITEM = re.compile(
    r"^\s*(?:[-•*▪●◆■–]\s*|\(?(\d{1,2})[.)](?!\d)\s*(?=\S)|\(?[a-z][.)]\s+|step\s+(\d+)[:.)]?\s+)",
    re.I,
)
_TOC_LINE = re.compile(r"(?:\.\s?){4,}\s*\d|…{2,}|\.\.\.(?:\s*\d|\s*$)")
_CONTINUES = re.compile(r"[,(\-–/&+]$")
_PROCEDURE_CUES = re.compile(
    r"\b(how (?:do|can|should|to|is|are)|walk me through|procedure|steps?|install|replace|remove|"
    r"set up|setup|update|restore|change|start|reduce)\b",
    re.I,
)
_SPEC_CUES = re.compile(
    r"\b(how (?:much|many|long|fast|far|big|hot|heavy)|what (?:is|are) the|which|range|voltage|"
    r"current|power|temperature|torque|size|weight|pressure|speed|frequency|rating|capacity|"
    r"maximum|minimum|typical|default|limit|reach|sensitivity|wattage|budget|dimensions?)\b",
    re.I,
)
_VALUE = re.compile(
    r"(?<![A-Za-z\d])[-+–]?\d+(?:[.,]\d+)?\s?(?:%|°\s?[CF]|o[CF]\b|"
    r"(?:[kmµuMG]?(?:V|A|W|Hz|Ω|ohms?|bytes?|bits?|s|g)|mAh|Ah|dBm?|mm|cm|km|m|in|inch(?:es)?|"
    r"ft|feet|kg|lbs?|psig?|bar|N\.?m|Nm|rpm|bps|Gbps|Mbps|Kbytes|KB|MB|GB|watts?|volts?|"
    r"amps?|seconds?|minutes?|hours?|sec|min|h|ms|us|ns|turns?|degrees?|AWG)\b)"
)
_WH = re.compile(
    r"\b(?:what|which|how\s+(?:much|many|long|fast|far|big|hot|heavy|high|low|often))\b"
    r"(?:\s+(?:is|are|was|were|does|do|did|the|a|an|kind\s+of|type\s+of|sort\s+of))*\s+(.+)",
    re.I,
)
_PHRASE_END = re.compile(
    r"\b(?:of|for|on|in|at|to|does|do|did|is|are|was|were|should|can|could|must|will|would|when|"
    r"with|from|by|that|before|after|if|while|i|you|we|it|has|have)\b|[?,;:!.](?:\s|$)",
    re.I,
)
_QUESTION_FILLER = frozenset(
    """accept support take need denote decode indicate correspond mean explain describe find know
    work happen keep go run make check walk give call look kind sort type cause compare versus vs
    fix solve avoid prevent stop instead then once there here enough worth better procedure step
    method way start change letter digit character value anything something whether supposed
    typical typically""".split()
)


@dataclass
class _Unit:
    source: SourcePassage
    position: int
    text: str
    table: tuple[list[str], list[str]] | None = None
    """(header cells, row cells) when the unit is a table row; header [] for a key/value table."""
    caption: str = ""
    """The line naming the table ('TABLE 1 - COMPARISON OF …'), quoted above it."""
    list_item: bool = False
    marker: str = ""
    """The list number ('3') of the item this unit starts; '' for the item's later sentences."""
    block: int = 0
    """Units of one paragraph, list item or table share a block."""
    heading: bool = False
    score: float = 0.0
    terms: set[str] = field(default_factory=set)
    seq: list[str] = field(default_factory=list)
    matched: set[str] = field(default_factory=set)
    """The question terms this unit contains."""


def _split_cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_table_line(line: str) -> bool:
    return line.count(" | ") >= 1 or (line.strip().startswith("|") and line.count("|") >= 3)


def _is_separator(line: str) -> bool:
    return bool(re.fullmatch(r"[\s|:\-]+", line)) and "-" in line


def _is_noise(line: str) -> bool:
    """Figure labels and page furniture: no word of two letters ('3 4', '2-4', '[1]')."""
    return not re.search(r"[A-Za-z]{2}", line)


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


def _starts_new_line_unit(previous: str, line: str) -> bool:
    """Whether a PDF line starts a new unit rather than continuing a wrapped sentence."""
    if not previous:
        return True
    if not re.match(r"[\"'(\[]?[A-Z0-9]", line):
        return False
    if re.search(r"[.!?:;]$", previous):
        return True
    last = previous.rsplit(" ", 1)[-1].lower()
    return not (_CONTINUES.search(previous) or last in STOPWORDS)


def _table_header(rows: list[list[str]]) -> tuple[list[str], int]:
    """The header row and the index of the first data row. A first row that is mostly empty
    (a spanning group title) gives way to the row under it; a first row holding a value
    ('IP address | 192.168.100.3') means a key/value table without header."""
    first = rows[0]
    filled = [c for c in first if c]
    if len(filled) == 2 and len(first) <= 3 and re.search(r"\d", filled[1]):
        return [], 0
    if len(rows) > 1 and (len(filled) * 2 <= len(first) or (first[0] and rows[1][0] == first[0])):
        # Two header lines: a group title over column names, or a header wrapped in two rows.
        second = rows[1]
        width = max(len(first), len(second))
        merged = []
        for i in range(width):
            a = first[i] if i < len(first) else ""
            b = second[i] if i < len(second) else ""
            merged.append(a if a == b or not b else b if not a else f"{a} {b}")
        return merged, 2
    return first, 1


def split_units(source: SourcePassage) -> list[_Unit]:
    """A source as quotable units: sentences, list items, headings and table rows."""
    units: list[_Unit] = []
    segments: list[tuple[str, str | None, bool]] = []  # text, list marker (None: not a list item)
    block = 0

    def add_segments() -> None:
        nonlocal block
        for text, marker, item in segments:
            block += 1
            text = text.strip()
            words = text.split()
            heading = (
                (not item or (len(words) <= 5 and not re.search(r"[.;:]", text)))
                and len(words) <= 8
                and not re.search(r"[.!;]$", text)
                and not _VALUE.search(text)
            )
            pieces = [text] if heading else _sentences(text)
            for i, piece in enumerate(pieces):
                units.append(
                    _Unit(
                        source,
                        len(units),
                        piece,
                        list_item=item,
                        marker=(marker or "") if i == 0 else "",
                        block=block,
                        heading=heading,
                    )
                )
        segments.clear()

    def add_text_line(line: str) -> None:
        # Inline bullets and list items run together on one PDF line become their own segments.
        parts = [p for p in _INLINE_BULLET.split(line) if p.strip()]
        bulleted = len(parts) > 1 or line.lstrip().startswith(("◆", "•", "▪", "●", "■"))
        for part in parts:
            for piece in _INLINE_ITEM.split(part):
                piece = piece.strip()
                if not piece:
                    continue
                match = _LIST_ITEM.match(piece)
                if match or bulleted:
                    marker = (match.group(1) or match.group(2) or "") if match else ""
                    body = piece[match.end() :] if match else piece
                    segments.append((body, marker, True))
                elif segments and not _starts_new_line_unit(segments[-1][0], piece):
                    text, marker, item = segments[-1]
                    segments[-1] = (f"{text} {piece}", marker, item)
                else:
                    segments.append((piece, None, False))

    lines = [raw.strip() for raw in source.text.splitlines()]
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line:
            add_segments()
            index += 1
            continue
        if _is_table_line(line):
            rows = []
            while index < len(lines) and lines[index] and _is_table_line(lines[index]):
                if not _is_separator(lines[index]):
                    rows.append(_split_cells(lines[index]))
                index += 1
            caption = ""
            if segments and not segments[-1][2] and len(segments[-1][0].split()) <= 14:
                caption = segments.pop()[0]
            add_segments()
            if not rows:
                continue
            header, start = _table_header(rows)
            block += 1
            for row in rows[start:]:
                if not any(row):
                    continue
                units.append(
                    _Unit(
                        source,
                        len(units),
                        " ".join(c for c in row if c),
                        table=(header, row),
                        caption=caption,
                        block=block,
                    )
                )
            continue
        index += 1
        if _is_noise(line):
            continue
        add_text_line(line)
    add_segments()
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


_HOW_ADJECTIVE = re.compile(
    r"(?i)\bhow\s+(?:much|many|long|fast|far|big|hot|heavy|high|low|often)\b"
)


def _question_terms(question: str) -> list[str]:
    """Content terms of the question. Compounds naming a part ('qsfp-100g-er4l') stay one term;
    word compounds ('stringing/oozing', 'hot-blade') also count by their words. 'How fast' asks
    for a value; 'fast' is not a word to look for."""
    out: list[str] = []
    for token in terms(_HOW_ADJECTIVE.sub(" ", question), parts=False):
        out.append(token)
        if re.search(r"[.,:/+\-]", token) and not re.search(r"\d", token):
            out.extend(stem(p) for p in re.split(r"[.,:/+\-]", token) if len(p) >= 2)
    return list(dict.fromkeys(t for t in out if t not in STOPWORDS))


def _focus_terms(question: str) -> set[str]:
    """The phrase a what/which/how-much question asks for: 'What supply voltage range and maximum
    current does …' -> supply, voltage, range, maximum, current."""
    main = re.sub(r"(?i)\b(what|which)['’]s\b", r"\1 is", question.partition("(")[0])
    match = _WH.search(main)
    if not match:
        return set()
    rest = match.group(1)
    end = _PHRASE_END.search(rest)
    phrase = rest[: end.start()] if end else rest
    return {t for t in _question_terms(phrase) if t not in _QUESTION_FILLER}


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


def _score_units(question: str, units: list[_Unit], n_sources: int) -> None:
    q_terms = _question_terms(question)
    if not q_terms:
        return
    main, _, context = question.partition("(")
    focus = _focus_terms(question)
    context_terms = set(_question_terms(context)) - set(_question_terms(main))
    # Words of the manual's title and of the question's model names say which manual, not which
    # sentence answers.
    sources = list({id(u.source): u.source for u in units}.values())
    titles = {compact(s.document_title) for s in sources}
    idents = find_identifiers(main)
    subject = (context_terms | _subject_terms(main, sources)) - focus
    header_terms: dict[tuple[str, ...], set[str]] = {}
    for unit in units:
        unit.seq = terms(unit.text)
        unit.terms = set(unit.seq)
        if unit.table and unit.table[0]:
            header = tuple(unit.table[0])
            if header not in header_terms:
                header_terms[header] = set(terms(" ".join(header)))
            unit.terms |= header_terms[header]
    expansions = _expansions(q_terms, set().union(*(u.terms for u in units)))
    for unit in units:
        unit.matched = {t for t in q_terms if unit.terms & expansions[t]}
    df = Counter(t for u in units for t in u.matched)
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
    wants_values = bool(_SPEC_CUES.search(main))
    for unit in units:
        matched = unit.matched
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
            if _VALUE.search(unit.text):
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


def _subject_terms(question: str, sources: Sequence[SourcePassage]) -> set[str]:
    """Question words naming the product or manual: words and model names found in a document
    title ('Ender' in 'ENDER3QUICKSTART') or in the section path of most sources ('SKR MINI E3
    V2.0'), and model-number parts next to one ('Ender 3', 'E3', 'V2.0')."""
    titles = [compact(s.document_title) for s in sources]
    heads = [compact(s.heading) for s in sources]
    tokens = terms(question, parts=False)
    # Names are written with capitals or digits ('SKR Mini E3'); a topic word ('aluminum') is not.
    named = {
        t.lower()
        for i, t in enumerate(re.findall(r"[A-Za-z0-9][\w.\-/+]*", question))
        if re.search(r"\d", t) or (i > 0 and re.search(r"[A-Z]", t))
    }
    flags = []
    for token in tokens:
        key = compact(token)
        in_heads = token in named and sum(1 for h in heads if key in h) >= max(2, 0.6 * len(heads))
        flags.append(
            bool(key)
            and ((len(key) >= 3 and any(key in t for t in titles)) or (len(key) >= 2 and in_heads))
        )
    for i, token in enumerate(tokens):
        near = (i > 0 and flags[i - 1]) or (i + 1 < len(tokens) and flags[i + 1])
        if not flags[i] and near and re.search(r"\d", token):
            flags[i] = True
    return {t for t, flag in zip(tokens, flags, strict=True) if flag}


def _has_value(unit: _Unit) -> bool:
    return bool(_VALUE.search(unit.text))


def _focus_of(question: str) -> set[str]:
    focus = _focus_terms(question)
    return focus or {
        t for t in _question_terms(question.partition("(")[0]) if t not in _QUESTION_FILLER
    }


def select_units(question: str, sources: Sequence[SourcePassage]) -> list[_Unit]:
    """The units to quote, in reading order (source by source, then position)."""
    return _select(question, sources)[0]


def _select(question: str, sources: Sequence[SourcePassage]) -> tuple[list[_Unit], bool]:
    """The units to quote and whether they are a procedure's steps (quoted as a numbered list)."""
    units = [u for s in sources for u in split_units(s)]
    if not units:
        return [], False
    _score_units(question, units, len(sources))
    best = max(units, key=lambda u: u.score)
    if best.score <= 0:
        return [], False
    if _PROCEDURE_CUES.search(question) and not best.table:
        steps = _procedure_run(units, best)
        if len(steps) >= 3:
            return steps, True
    wanted = _focus_of(question)
    wants_values = bool(_SPEC_CUES.search(question.partition("(")[0]))
    ranked = sorted(units, key=lambda u: (-u.score, u.source.number, u.position))
    chosen: list[_Unit] = [best]
    seen = [_key(best.text)]
    covered = wanted & best.matched

    def take(unit: _Unit) -> bool:
        key = _key(unit.text)
        # Overlapping chunks repeat sentences: quote each once.
        if any(key in other or other in key for other in seen):
            return False
        seen.append(key)
        chosen.append(unit)
        covered.update(wanted & unit.matched)
        return True

    if wants_values and not _has_value(best):
        # A spec question wants a value: the best unit stating one comes along.
        valued = [u for u in ranked if _has_value(u) and u.score >= best.score * 0.3]
        if valued:
            take(valued[0])
    # A table row matched only through its header ('Pin') is one of many: it must match in its
    # own cells to be quoted next to the best row.
    candidates = [
        u
        for u in ranked
        if u is not best
        and not u.heading
        and u.score > 0
        and (u.table is None or u.matched & set(u.seq))
    ]
    # First the units that add an asked-for word, continue a chosen sentence or extend a chosen
    # table; then, if room is left, units scoring close to the best.
    for unit in candidates:
        if len(chosen) >= MAX_UNITS:
            break
        neighbour = any(
            c.source is unit.source
            and c.block == unit.block
            and abs(c.position - unit.position) == 1
            for c in chosen
        )
        if unit.score < best.score * MIN_RELATIVE_SCORE and not neighbour:
            continue
        if neighbour or (wanted - covered) & unit.matched:
            take(unit)
    for unit in candidates:
        if len(chosen) >= MAX_UNITS or unit.score < best.score * MIN_RELATIVE_SCORE:
            break
        same_table = unit.table is not None and any(
            c.table is not None and c.source is unit.source and c.block == unit.block
            for c in chosen
        )
        if (same_table or unit.score >= best.score * 0.8) and unit not in chosen:
            take(unit)
    _add_continuations(units, chosen)
    _add_headings(units, chosen)
    order = {s.number: i for i, s in enumerate(sources)}
    return sorted(chosen, key=lambda u: (order[u.source.number], u.position)), False


def _add_continuations(units: list[_Unit], chosen: list[_Unit]) -> None:
    """A chosen sentence whose paragraph goes on with short value statements ('Permissible
    voltage variation is from 11 to 15 V. Current not exceeding 150 mA.') keeps them: the values
    belong to the same item."""
    ids = {id(u) for u in chosen}
    position = {id(u): i for i, u in enumerate(units)}
    queue = list(chosen)
    while queue and len(chosen) < MAX_UNITS + 2:
        unit = queue.pop(0)
        i = position[id(unit)] + 1
        after = units[i] if i < len(units) else None
        if (
            unit.table is None
            and after is not None
            and id(after) not in ids
            and after.source is unit.source
            and after.block == unit.block
            and after.table is None
            and len(after.text.split()) <= 12
            and _VALUE.search(after.text)
        ):
            chosen.append(after)
            ids.add(id(after))
            queue.append(after)


def _add_headings(units: list[_Unit], chosen: list[_Unit]) -> None:
    """A chosen paragraph that opens a section keeps the section's heading ('Stringing or
    oozing', 'Axis movement is not normal?'): it says which case the sentences answer."""
    ids = {id(u) for u in chosen}
    position = {id(u): i for i, u in enumerate(units)}
    for unit in list(chosen):
        i = position[id(unit)]
        before = units[i - 1] if i > 0 else None
        if (
            unit.table is None
            and before is not None
            and before.heading
            and before.source is unit.source
            and id(before) not in ids
            and before.score > 0
        ):
            chosen.append(before)
            ids.add(id(before))


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _procedure_run(units: list[_Unit], best: _Unit) -> list[_Unit]:
    """Steps read in order: the whole numbered/bulleted list holding the best unit (from its
    first step, with the heading right before it), or the list right after the best unit (a
    heading or lead-in sentence); else the best unit and the sentences after it."""
    same = [u for u in units if u.source is best.source]
    index = same.index(best)
    lead_in = same[index + 1 : index + 4]
    if not (best.list_item or any(u.list_item for u in lead_in)):
        return []  # prose: the usual selection quotes it
    if best.list_item and not best.heading:
        while index > 0 and same[index - 1].list_item and same[index].marker != "1":
            index -= 1
        if index > 0 and same[index - 1].heading:
            index -= 1
    run = [same[index]]
    for unit in same[index + 1 :]:
        if len({u.block for u in run}) >= MAX_STEPS or unit.table is not None:
            break
        if run[-1].list_item and not unit.list_item:
            break
        if unit.list_item and unit.marker == "1" and any(u.marker for u in run if not u.heading):
            break  # the next list starts
        if unit.heading and not unit.list_item and len(run) > 1:
            break
        run.append(unit)
    return run


def render(units: Sequence[_Unit], question: str = "", steps: bool = False) -> list[str]:
    """Pieces to stream: sentences (a source's consecutive sentences share one ' [n]'), steps as
    a numbered list, and each table's rows as one markdown block under its caption."""
    pieces: list[str] = []
    q_terms = set(terms(question))
    index = 0
    step_no = 0
    while index < len(units):
        unit = units[index]
        nxt = units[index + 1] if index + 1 < len(units) else None
        if unit.table is None:
            text = _truncate(unit.text, q_terms)
            if unit.heading:
                text = text.rstrip(" :")
            if steps and unit.heading and index == 0:
                text = f"{text}:"
            elif steps and unit.list_item:
                if unit.marker or step_no == 0:
                    step_no += 1
                    lead = "\n" if pieces else ""
                    text = f"{lead}{step_no}. {text}"
                else:
                    text = f" {text}"
            elif steps and unit.heading:
                text = f"{text}:" if not pieces else f"\n{text}:"
            else:
                sep = "" if not pieces or pieces[-1].endswith("\n") else " "
                text = f"{sep}{text}"
            cite = (
                nxt is None
                or nxt.source is not unit.source
                or nxt.table is not None
                or (steps and (nxt.marker or nxt.heading or not nxt.list_item))
                or (not steps and nxt.position != unit.position + 1)
                or unit.heading
            )
            if unit.heading and not steps:
                text = text + ":"
            if unit.heading and not (steps and unit.list_item and index > 0):
                cite = False
            pieces.append(f"{text} [{unit.source.number}]" if cite else text)
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
        lead = "\n\n" if pieces else ""
        caption = f"{unit.caption}\n\n" if unit.caption else ""
        if not header:
            lines = [" — ".join(c for c in r if c) for r in rows]
            pieces.append(f"{lead}{caption}" + "\n".join(lines) + f" [{unit.source.number}]\n\n")
            continue
        width = max(len(header), *(len(r) for r in rows))
        lines = [
            "| " + " | ".join(_pad(header, width)) + " |",
            "|" + "---|" * width,
            *("| " + " | ".join(_pad(r, width)) + " |" for r in rows),
        ]
        pieces.append(f"{lead}{caption}" + "\n".join(lines) + f"\n\n[{unit.source.number}]\n\n")
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
        chosen, steps = _select(question, sources)
        pieces = render(chosen, question, steps=steps) if chosen else [NOT_FOUND_SENTENCE]
        words = 0
        for piece in pieces:
            words += len(piece.split())
            if info is not None:
                info.output_tokens = words
            yield piece
            await asyncio.sleep(0)
