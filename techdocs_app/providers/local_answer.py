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
  unit or an amount in words ('two and one-half times'), most of all in a unit of the quantity
  asked for (volts for a voltage, seconds for 'how long'); a value in such a unit, or a phrase
  stating a limit or amount ('down to 2.7 V' for the lowest, 'not exceeding' for the maximum,
  'the amount of' for 'how much'), counts as the word asking for it; a unit must match at least
  one asked-for word when the question has any;
- a shop word matches the word manuals use for it ('psu'/'power', 'wiped'/'lost',
  `text.synonyms`); contractions ("won't") are no question words;
- a sentence referring back ("It has a melting point of …") also matches the question words of
  the sentence before it, its antecedent;
- only the manuals the question names by title ('my Ender 3 …') are quoted, when they are
  among the sources; a table row must match an asked-for word (not the product's name) in its
  own cells to be quoted next to the best row;
- the best unit, then units that add asked-for words not yet covered or continue a chosen unit
  (the next sentence of the same paragraph, also one opening with 'However', 'Therefore' …), up
  to MAX_UNITS; a value question whose best sentence states no number takes the next sentence
  when it does; a sentence ending in a colon keeps what it introduces;
- the best unit of another passage comes along when it scores close to the best (passages
  split one topic; the answer does not rest on one passage's wording), also after a
  procedure's steps, as a paragraph of its own; not a unit over 70 words (a revision history's
  changes match a question's words scattered), nor a table row matching the question mostly
  through its header (another parameter of the product), which is not taken to fill a short
  answer either;
- a figure's text layer (a memory map's addresses, a drawing's dimensions, a fuse or error-code
  list run as one line: mostly numbers, no sentence) is never quoted whole, also not under a
  heading matching the question; when it holds a code the question names ('F3', 'E07', 'M10',
  'CAN-H', 'RTC') and every asked-for word it matches sits near that code, the 12 words around
  it are quoted (after the list's label: 'Fuses: … F3 15 A, F4 7.5 A …'); a table cell over 70
  words is cut to its window holding the question's words, and columns empty in the header and every quoted row are left out;
- "how do I …" questions quote the whole numbered list holding the best match (from its step 1,
  with the heading before it), in order; steps the PDF printed elsewhere in the passage (columns,
  figures) are gathered by their numbers (not the last steps of another list printed before
  it); when the best unit opens no list (a line naming the model), the list of a close unit that
  does and matches an asked-for word the best misses is quoted; a phrasal verb matches the manual's one word ('shut … down' / 'shutdown procedures');
- troubleshooting: a why-question ('why?', "what's going on?") prefers a sentence stating a
  cause ('because', 'due to', 'When the nut … becomes loose'); a symptom's merged table cell
  carries over its cause/remedy rows (matched and quoted with the symptom row); a sentence ending
  in a colon keeps the whole checklist it introduces; an entry written as labelled lines
  ('Problem:' then 'Cause:', 'Solution:') is quoted whole; 'which one can't …' is answered by
  the exception ('except for UART5'); a code to decode ('what does C-MB144 mean?') matches the
  sentences naming its parts ('The letters MB denote …');
- two part numbers compared ('…RET6 vs …VET6') are answered by the ordering key's lines defining
  the characters they differ in ('R = 64 pins V = 100 pins'); a question about the manual's own
  version by its label and number ('DATASHEET 6.0', 'Rev 8'); a character named as a digit,
  letter or suffix ('the digit 7 at the end') by the key's line for it, a part number to decode
  ('STM32F103ZEH6') by the key's lines for each character after its family, all of them; a
  heading quoted alone is cited;
- a sentence asking a question (a manual's review question) scores half; an answer under
  `selection.FILL_WORDS` (35) words takes the runners-up scoring close to the best (not another
  variant's);
- within its source the best unit's paragraph, table rows or entry opens the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from techdocs_app.providers.base import AnswerStreamInfo, SourcePassage, Turn
from techdocs_app.providers.extractive.render import render
from techdocs_app.providers.extractive.selection import choose_units, select_units
from techdocs_app.providers.extractive.units import split_units
from techdocs_app.providers.prompts import NOT_FOUND_SENTENCE

__all__ = ["MODEL_NAME", "ExtractiveAnswerer", "select_units", "split_units"]

MODEL_NAME = "local:extractive"


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
        chosen, steps = choose_units(question, sources)
        pieces = render(chosen, question, steps=steps) if chosen else [NOT_FOUND_SENTENCE]
        words = 0
        for piece in pieces:
            words += len(piece.split())
            if info is not None:
                info.output_tokens = words
            yield piece
            await asyncio.sleep(0)
