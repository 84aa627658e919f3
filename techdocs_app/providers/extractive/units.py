"""A source as quotable units: sentences, list items, headings and table rows (PDF line wraps
rejoined, figure-label noise dropped)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from techdocs_app.providers.base import SourcePassage
from techdocs_app.text.identifiers import find_identifiers
from techdocs_app.text.words import STOPWORDS, compact, terms

_ABBREVIATIONS = frozenset(
    "e.g i.e fig figs no nos approx max min typ ref vol etc vs cf pp p ca incl".split()
)


_SENTENCE_END = re.compile(r"(?:(?<=[.!?;])|(?<=[.!?;][\"”’]))\s+(?=[\"'(\[]?[A-Z0-9])")
"""A sentence ends at a full stop, also inside a closing quote ('… is marked "C-MB144." The
letter C …')."""


_INLINE_ITEM = re.compile(r"(?<=[.!?;:])\s+(?=\(?\d{1,2}[.)]\s*[A-Z])")
"""A list item run into the previous sentence: '… 250V. 3. Receiving module …'."""


_INLINE_BULLET = re.compile(r"\s*[◆•▪●■]\s*")


_LIST_ITEM = re.compile(
    r"^\s*(?:[-•*▪●◆■–]\s*|\(?(\d{1,2})[.)](?!\d)\s*(?=\S)|\(?[a-z][.)]\s+|step\s+(\d+)[:.)]?\s+)",
    re.I,
)


_CONTINUES = re.compile(r"[,(\-–/&+]$")


ANAPHOR = re.compile(r"(?:It|Its|This|These|They|That|Those|Such|The latter)\b")
"""A sentence opening that refers back to the previous sentence's subject."""

SYMPTOM_LABEL = re.compile(
    r"(?i)^(?:problem|symptom|fault|trouble|condition|issue|malfunction)\s*(?:\d+\s*)?[:：]"
)
"""A troubleshooting entry's first line: 'Problem: Paper jams at the fuser exit.'"""

ANSWER_LABEL = re.compile(
    r"(?i)^(?:(?:possible|probable|likely)\s+)?(?:causes?|reasons?|solutions?|remed(?:y|ies)|"
    r"(?:corrective\s+)?actions?|fix|checks?|corrections?|repairs?)\s*[:：]"
)
"""The lines answering it: 'Cause: The exit rollers are worn.', 'Solution: Replace the fuser.'"""


VALUE = re.compile(
    r"(?<![A-Za-z\d])[-+–]?\d+(?:[.,]\d+)?\s?(?:%|°\s?[CF]|o[CF]\b|"
    r"(?:[kmµuMG]?(?:V|A|W|Hz|Ω|ohms?|bytes?|bits?|s|g)|mAh|Ah|dBm?|mm|cm|km|m|in|inch(?:es)?|"
    r"ft|feet|kg|lbs?|psig?|bar|N\.?m|Nm|rpm|bps|Gbps|Mbps|Kbytes|KB|MB|GB|watts?|volts?|"
    r"amps?|seconds?|minutes?|hours?|sec|min|h|ms|us|ns|turns?|degrees?|AWG)\b)"
)


@dataclass
class Unit:
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
    asked: set[str] = field(default_factory=set)
    """Those of `matched` that say what is asked, not which product or manual."""
    own: set[str] = field(default_factory=set)
    """Those of `matched` found in the unit's own text (a table row's cells, not its header)."""
    defines: bool = False
    """The unit defines a symbol or code character the question asks about ('H = BGA')."""
    features: tuple[float, ...] = ()
    """The scorer's features (`scoring.FEATURES`); () for a unit scored by a rule or not at all."""
    entry: bool = False
    """A figure's text cut to its entry for a code the question names (`figure_window`)."""
    share: float = 1.0
    """The share of its weighted features a unit scores (a sentence asking a question scores
    `scoring.QUESTION_SHARE`)."""


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
    first = line.split(" ", 1)[0]
    if (
        last in STOPWORDS
        and len(previous.split()) <= 6
        and first.istitle()
        and first.lower() in STOPWORDS
    ):
        # A short heading ending in a small word ('Printer does not power on') and a sentence
        # opening with one ('If the printer …'): a wrapped sentence goes on in lower case.
        return True
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


def split_units(source: SourcePassage) -> list[Unit]:
    """A source as quotable units: sentences, list items, headings and table rows."""
    units: list[Unit] = []
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
                and not VALUE.search(text)
            )
            pieces = [text] if heading else _sentences(text)
            for i, piece in enumerate(pieces):
                units.append(
                    Unit(
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
                    Unit(
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


FIGURE_WORDS = 25
"""A unit this long or longer may be a figure's text layer (`figure_text`); a short run of
numbers is a value or a table row."""

FIGURE_NUMBERS = 0.5
"""The share of a figure's text-layer words holding a digit: a memory map's addresses ('0x4000
0400 - 0x4000 07FF'), a package drawing's dimensions. Over the eval's passages, the units of 25
words or more at 0.5 and above are all drawings, maps and pinouts (0.97, 0.94, 0.77, 0.66, 0.62,
0.60, 0.59), the densest prose 0.39 (a temperature range list) and the densest table row with a
header 0.56 (kept: a header says what its numbers are)."""


def figure_text(unit: Unit) -> bool:
    """A figure's text dumped by the PDF (a memory map, a drawing's labels and dimensions) or a
    list run as one line (fuses, error codes, torque values, a pinout): mostly numbers and
    labels, no sentence (never three lowercase words in a row). Not quotable whole: it reads as a
    wall of numbers, and a headed table row is never one. Its entry for a code the question names
    is (`figure_window`)."""
    if unit.table is not None and unit.table[0]:
        return False
    words = unit.text.split()
    if len(words) < FIGURE_WORDS:
        return False
    if sum(1 for w in words if re.search(r"\d", w)) < FIGURE_NUMBERS * len(words):
        return False
    run = 0
    for word in words:
        run = run + 1 if re.fullmatch(r"[a-z][a-z\-]*[,;.]?", word) else 0
        if run >= 3:
            return False
    return True


FIGURE_WINDOW = 12
"""Words quoted of a figure's text layer around the code the question names: its entry ('F3 15
A', 'E07 fan 2 stalled', 'M10 49 N·m (36 ft·lb)', 'RTC 0x4000 2800 - 0x4000 2BFF', the pin
number before 'CAN-H') and its neighbours, as the reviewer's cases read; the list's label
('Torque values:') comes on top. Chosen on those cases (tests/unit/test_extractive_figure_lists.py):
no figure unit of the eval's passages holds a code its question names, so on dev, tune, the
rewordings and the part numbers (575 questions) no answer changes with the window rule (eval
before/after identical, answer for answer)."""

FIGURE_LEAD = 3
"""Words of the window before the code (a pinout numbers its pin before the signal's name)."""


def figure_keys(question: str, titles: list[str]) -> set[str]:
    """The codes a question names that a figure's list may hold as an entry's key: identifiers
    ('F3', 'e07', 'M10', 'CAN-H') and names typed in capitals ('RTC'), as compact keys; not those
    naming the manual (its title)."""
    keys = set(find_identifiers(question))
    keys |= {compact(w) for w in re.findall(r"(?<![\w\-])[A-Z][A-Z\d]+(?![\w\-])", question)}
    blobs = [compact(t) for t in titles]
    return {k for k in keys if len(k) >= 2 and not any(k in b for b in blobs)}


def figure_window(unit: Unit, keys: set[str], question_terms: set[str]) -> str:
    """The FIGURE_WINDOW words of a figure's text around a code of `keys` (the occurrence whose
    window holds the most question terms), after the list's label when it opens with one
    ('Fuses:'); '' when it holds none of them."""
    words = unit.text.split()
    at = [i for i, w in enumerate(words) if compact(w) in keys]
    if not at:
        return ""
    hits = [len(question_terms & set(terms(w))) for w in words]
    spans = [
        (max(0, i - FIGURE_LEAD), min(len(words), max(0, i - FIGURE_LEAD) + FIGURE_WINDOW))
        for i in at
    ]
    start, end = max(spans, key=lambda s: (sum(hits[s[0] : s[1]]), -s[0]))
    label = next((i + 1 for i, w in enumerate(words[:3]) if w.endswith(":")), 0)
    lead = ""
    if start <= label:
        start = 0
    elif label:
        lead = " ".join(words[:label]) + " … "
    else:
        lead = "… "
    tail = " …" if end < len(words) else ""
    return lead + " ".join(words[start:end]) + tail


def has_value(unit: Unit) -> bool:
    return bool(VALUE.search(unit.text))
