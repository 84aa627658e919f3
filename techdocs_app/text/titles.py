"""The words of a question that name a manual, however the technician writes the name.

A technician names a product in a shorter or split form of its manual's title: 'F103' for the
'STM32F103 datasheet', 'ender 3' for 'ender3 troubleshooting'. Such words say which manual the
question is about, not which of its pages answers it; a passage inherits them from its title.
Matched on the title's words (not inside a plain word: 'ring' does not name 'Timken bearing
setting'); a name with a digit also matches as part of a title word ('f103' in 'stm32f103').
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from techdocs_app.text.words import compact, raw_tokens

NAME_MIN = 3
"""Characters a part of a title word needs to count as naming it: 'f103' in 'stm32f103', not '3'
or 'e3' (a digit alone, or a size, names nothing). On the recorded candidates of the 422
single-turn answerable questions of the five tuning sets (the local reranker, MRR@10
reworded_questions): 2 and 3 give 0.739, 4, 5 and no part match at all 0.737 (the 'f103' of
'stm32f103'); dev, tune, reworded_followups and part_numbers are the same for all."""


@lru_cache(maxsize=1024)
def _title_words(title: str) -> frozenset[str]:
    """The title's words in compact form, a compound ('QSFP-100G-ERL4') whole and in parts."""
    words: set[str] = set()
    for token in raw_tokens(title):
        words.add(compact(token))
        words.update(compact(part) for part in re.split(r"[.,:/+\-]", token))
    words.discard("")
    return frozenset(words)


def _names(key: str, words: frozenset[str]) -> bool:
    """Whether `key` names a title word: a key with a letter ('f103', 'ender3'); a bare number
    ('error 2000', 'pin 103', '100 mA') names nothing, even inside 'Series 2000X'."""
    if not any(c.isalpha() for c in key):
        return False
    if key in words:
        return True
    return len(key) >= NAME_MIN and any(c.isdigit() for c in key) and any(key in w for w in words)


def title_terms(query_terms: Sequence[str], title: str) -> set[str]:
    """The query terms (`text.words.terms`) that name the manual titled `title`: a term that is a
    title word, a name with a digit inside one ('f103' of 'stm32f103'), or two adjacent terms
    that together are one ('ender', '3' of 'ender3')."""
    words = _title_words(title)
    if not words:
        return set()
    found = {t for t in query_terms if _names(compact(t), words)}
    for first, second in zip(query_terms, query_terms[1:], strict=False):
        if _names(compact(first + second), words):
            found.update((first, second))
    return found
