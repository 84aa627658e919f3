"""The context the condenser appends to a standalone question, in parentheses at its very end:
"Once the noise clears? (R11, Contact ID code, RF noise)".

A parenthesis inside the question ('what diff signal (mVpp) can I drive into the input?', 'the
STM32F103Rx (64-pin) device', 'at what voltage does it trip (typ)?') is the technician's own words:
it is asked for like the rest of the question.
"""

from __future__ import annotations

import re

_CONTEXT = re.compile(r"\s*\(([^()]*)\)\s*$")


def split_context(question: str) -> tuple[str, str]:
    """The question as asked and the context the condenser appended in parentheses at its end
    ('And the kissoff duration? (RT2 receiving module)' -> 'And the kissoff duration?', 'RT2
    receiving module'); without one, the whole question and ''."""
    match = _CONTEXT.search(question)
    if match is None:
        return question, ""
    return question[: match.start()], match.group(1)
