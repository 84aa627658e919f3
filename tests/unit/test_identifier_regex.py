"""The identifier arm's pattern: whole tokens, with long codes also finding their variants."""

from __future__ import annotations

import re

from techdocs_app.rag.retrieve import identifier_regex


def _matches(pattern: str, identifiers: str) -> bool:
    return re.search(pattern, identifiers, flags=re.IGNORECASE) is not None


def test_long_codes_find_their_variants_short_codes_stay_exact() -> None:
    pattern = identifier_regex(["STM32F103", "E1"])
    assert pattern is not None
    assert _matches(pattern, "STM32F103RCT6 PA9")
    assert _matches(pattern, "E1 E130")
    assert not _matches(pattern, "E130 E100")
    assert not _matches(pattern, "XSTM32F103")


def test_punctuation_is_escaped_and_empty_means_none() -> None:
    pattern = identifier_regex(["PLS[2:0]", "CFP2-LIC-UPG-200G"])
    assert pattern is not None
    assert _matches(pattern, "PLS[2:0] PA9")
    assert _matches(pattern, "CFP2-LIC-UPG-200G")
    assert identifier_regex(["", "  "]) is None
