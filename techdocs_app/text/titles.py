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


NUMBER_NAME_MIN = 3
"""Digits a bare number needs to name a manual whose title has another model token: the
'2465' of 'Tektronix 2465 Service Manual'. A question's short number is a pin, an error code, a
size ('pin 12', 'error 87', '12 V') far more often than a model, so '87' names only a title whose
only model token it is ('Fluke 87 Multimeter'). No manual of the eval corpus has a number of its
own in its title (its titles' numbers are parts of codes: 'STM32F103', 'QSFP-100G-ERL4'), so the
tuning sets cannot measure it: chosen on the review's instruments (Tek 2465, Fluke 87, HP 8920)."""


@lru_cache(maxsize=1024)
def _title_numbers(title: str) -> frozenset[str]:
    """The title's standalone numbers that name it: a token of digits alone ('2465' of
    'Tektronix 2465'), of `NUMBER_NAME_MIN` digits or more, or the title's only token with a
    digit ('87' of 'Fluke 87'); not a number inside a code or range ('2465B', '100-240')."""
    tokens = raw_tokens(title)
    numbers = {t for t in tokens if t.isascii() and t.isdigit()}
    models = [t for t in tokens if any(c.isdigit() for c in t)]
    return frozenset(n for n in numbers if len(n) >= NUMBER_NAME_MIN or models == [n])


def _names(key: str, words: frozenset[str], numbers: frozenset[str] = frozenset()) -> bool:
    """Whether `key` names a title word: a key with a letter ('f103', 'ender3'), as a word or
    inside one; a bare number only as the title's standalone model number, whole
    (`_title_numbers`: '2465' of 'Tektronix 2465'), never inside a title word ('error 2000' and
    'Series 2000X', 'pin 103' and 'STM32F103', '100 mA' and 'QSFP-100G')."""
    if not any(c.isalpha() for c in key):
        return key in numbers
    if key in words:
        return True
    return len(key) >= NAME_MIN and any(c.isdigit() for c in key) and any(key in w for w in words)


def title_terms(query_terms: Sequence[str], title: str) -> set[str]:
    """The query terms (`text.words.terms`) that name the manual titled `title`: a term that is a
    title word, a name with a digit inside one ('f103' of 'stm32f103'), or two adjacent terms
    that together are one ('ender', '3' of 'ender3'); a bare number only as the title's own
    model number ('2465' of 'Tektronix 2465 Service Manual', `_title_numbers`)."""
    words = _title_words(title)
    if not words:
        return set()
    numbers = _title_numbers(title)
    found = {t for t in query_terms if _names(compact(t), words, numbers)}
    for first, second in zip(query_terms, query_terms[1:], strict=False):
        if _names(compact(first + second), words, numbers):
            found.update((first, second))
    return found
