"""The identifier arm's pattern: whole tokens, with long codes also finding their variants."""

from __future__ import annotations

import re

from techdocs_app.rag.retrieve import identifier_regex, search_params
from techdocs_app.text.identifiers import family_prefixes


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


def test_family_prefixes_match_as_written_only() -> None:
    pattern = identifier_regex(["ZXM40KBQ3"], ["ZXM40KBQ", "ZXM40"])
    assert pattern is not None
    # The ordering scheme writes the family alone ('Example: ZXM40 K B Q 3'): a token.
    assert _matches(pattern, "ZXM40 QFN48")
    assert _matches(pattern, "ZXM40KBQ ZXM40MA")
    # A prefix finds no variants of its own (every 'ZXM40…' of the manual would fill the pool).
    assert not _matches(pattern, "ZXM40MA ZXM40KA")
    assert _matches(pattern, "ZXM40KBQ3TR")


def test_family_prefixes_end_where_a_field_ends() -> None:
    assert family_prefixes("ZXM40KBQ3") == ["ZXM40KBQ", "ZXM40"]
    assert family_prefixes("QSFP-40G-LR4-B") == ["QSFP-40G-LR4", "QSFP-40G"]
    # Short codes are no order codes of fields.
    assert family_prefixes("E302") == [] and family_prefixes("ZX40K") == []


def test_search_params_add_the_family_prefixes_of_a_long_code() -> None:
    params = search_params(
        org_id=1,
        query="zxm40kbq3 pinout?",
        query_vector=[0.0],
        embed_model="m",
        document_ids=None,
        k=5,
    )
    assert params["identifiers"] == ["ZXM40KBQ3", "ZXM40KBQ", "ZXM40"]
    assert _matches(params["identifier_regex"], "ZXM40")
