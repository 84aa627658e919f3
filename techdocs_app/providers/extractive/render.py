"""The chosen units as streamed pieces: sentences with their citation, steps as a numbered list,
table rows as a markdown table under their caption."""

from __future__ import annotations

from collections.abc import Sequence

from techdocs_app.providers.extractive.units import Unit
from techdocs_app.text.words import terms

MAX_UNIT_WORDS = 70


def _truncate(text: str, question_terms: set[str], limit: int = MAX_UNIT_WORDS) -> str:
    """Long units (run-on PDF text, big table cells) are cut to the window of words that holds
    the most question terms, on word boundaries so numbers and units stay whole."""
    words = text.split()
    if len(words) <= limit:
        return " ".join(words)
    hits = [1 if question_terms & set(terms(w)) else 0 for w in words]
    window = sum(hits[:limit])
    best, best_start = window, 0
    for start in range(1, len(words) - limit + 1):
        window += hits[start + limit - 1] - hits[start - 1]
        if window > best:
            best, best_start = window, start
    # Start a few words early so the matching phrase keeps its subject.
    start = max(0, best_start - 5) if best_start else 0
    end = min(len(words), start + limit)
    prefix = "… " if start else ""
    suffix = " …" if end < len(words) else ""
    return prefix + " ".join(words[start:end]) + suffix


def render(units: Sequence[Unit], question: str = "", steps: bool = False) -> list[str]:
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
            elif steps and unit.list_item and unit.source is units[0].source:
                if unit.marker or step_no == 0:
                    step_no += 1
                    lead = "\n" if pieces else ""
                    text = f"{lead}{step_no}. {text}"
                else:
                    text = f" {text}"
            elif steps and unit.heading:
                text = f"{text}:" if not pieces else f"\n{text}:"
            elif steps and index > 0 and units[index - 1].list_item:
                # A sentence after the steps (another passage's, a list item there too) is a
                # paragraph of its own, not a step of this procedure.
                text = f"\n\n{text}"
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
            # A heading names what follows it from its source; quoted alone (a datasheet's
            # 'DATASHEET 6.0' for its version) it is the answer, cited like a sentence.
            names_next = nxt is not None and nxt.source is unit.source
            if unit.heading and not steps and names_next:
                text = text + ":"
            if unit.heading and names_next and not (steps and unit.list_item and index > 0):
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
            # A cell runs as long as a sentence may (a revision history's 'Changes', a figure's
            # text the PDF put in one cell): cut to its window holding the question's words.
            row = units[index].table[1]  # type: ignore[index]
            rows.append([_truncate(cell, q_terms) for cell in row])
            index += 1
        lead = "\n\n" if pieces else ""
        caption = f"{unit.caption}\n\n" if unit.caption else ""
        if not header:
            lines = [" — ".join(c for c in r if c) for r in rows]
            pieces.append(f"{lead}{caption}" + "\n".join(lines) + f" [{unit.source.number}]\n\n")
            continue
        width = max(len(header), *(len(r) for r in rows))
        header, *rows = _drop_empty_columns([_pad(header, width), *(_pad(r, width) for r in rows)])
        width = len(header)
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "---|" * width,
            *("| " + " | ".join(r) + " |" for r in rows),
        ]
        pieces.append(f"{lead}{caption}" + "\n".join(lines) + f"\n\n[{unit.source.number}]\n\n")
    return pieces


def _drop_empty_columns(table: list[list[str]]) -> list[list[str]]:
    """The columns with a cell in the header or a quoted row: a PDF table's spanning cells leave
    empty columns ('| Parameter | | Symbol | | Min | |'), which a tablet shows as gaps."""
    keep = [i for i in range(len(table[0])) if any(row[i] for row in table)]
    return [[row[i] for i in keep] for row in table] if keep else table


def _pad(cells: list[str], width: int) -> list[str]:
    return [c.replace("|", "/") for c in cells] + [""] * (width - len(cells))
