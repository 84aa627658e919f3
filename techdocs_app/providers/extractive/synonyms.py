"""Shop words and the words manuals use for the same thing: a technician asks about the 'psu',
a 'dead' board or a 'wiped' RAM, the manual writes 'power supply', 'failure', 'lost'.

General equivalences of technical writing, not of one manual; both directions where both are
asked. Matched on stems (`text.words.stem`), so 'lights'/'lighting' are 'light'.
"""

from __future__ import annotations

from functools import lru_cache

from techdocs_app.text.words import stem

_GROUPS = (
    # indicators and displays
    "led indicator light lamp",
    "screen display lcd monitor",
    # power
    "psu power supply",
    # faults and their causes
    "broken fault failure faulty defective damaged",
    "dead fault failure",
    "error fault failure trouble",
    "wiped erased lost cleared",
    # actions
    "pick choose select",
    "plug connect insert",
    "hook connect",
    "fix repair remedy",
    "reboot restart reset",
    # things
    "temp temperature",
    "hot heat temperature",
    "wire conductor cable",
    "rx receiver",
    "tx transmitter",
    "mcu microcontroller",
)


@lru_cache(maxsize=1)
def _table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for group in _GROUPS:
        stems = {stem(w) for w in group.split()}
        for s in stems:
            table.setdefault(s, set()).update(stems - {s})
    return {k: frozenset(v) for k, v in table.items()}


def synonyms(term: str) -> frozenset[str]:
    """The stems a manual may write for a question's (stemmed) term; empty when none."""
    return _table().get(term, frozenset())
