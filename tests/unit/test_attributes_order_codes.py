"""Part numbers a manual defines through its ordering scheme, pieces of a code, a document's edition.

A full order code the manual explains without listing ('stm32f103rdt6 - how much flash is that?'
for a datasheet whose key gives pin count, Flash size, package and temperature range) is not an
unknown model; a code whose parts the key does not list stays one. Synthetic manual text, the
technical-writing conventions only (the eval questions are measured by `bench.fit_evidence`).
"""

from __future__ import annotations

from techdocs_app.rag.attributes import (
    DocumentProfile,
    asks_to_decode,
    assess_attributes,
    build_profile,
    question_parts,
    unlisted_keys,
)
from techdocs_app.rag.evidence import assess_evidence
from techdocs_app.text.identifiers import ordering_scheme, scheme_decodes
from tests.factories import search_hit

ORDERING_SECTION = (
    "8 Ordering information\n"
    "Table 12. Ordering information scheme\n"
    "Example: ZX 40 K B Q 3 TR\n"
    "Device family ZX = 16-bit motor controller\n"
    "Line 40 = industrial line\n"
    "Pin count K = 32 pins M = 48 pins\n"
    "Memory size A = 64 Kbytes B = 128 Kbytes\n"
    "Package Q = QFN P = LQFP\n"
    "Temperature range 3 = -40 to 85 °C 4 = -40 to 125 °C\n"
    "Options TR = tape and reel"
)
DRIVER_TEXT = (
    ORDERING_SECTION,
    "The ZX40KA and ZX40MB devices drive three-phase motors from 6 to 40 V.",
    "Electrical characteristics: VDD = 3.3 V, TA = 25 °C, IDD = 12 mA unless noted.",
)


def _driver() -> DocumentProfile:
    return build_profile(3, "zx40 datasheet", "zx40_datasheet.pdf", list(DRIVER_TEXT))


def _no_a() -> DocumentProfile:
    """The driver's key without an entry 'A'."""
    text = ORDERING_SECTION.replace("A = 64 Kbytes ", "")
    return build_profile(3, "zx40 datasheet", "zx40_datasheet.pdf", [text])


def _check(question: str) -> dict[str, object]:
    hits = [
        search_hit(
            chunk_id=30 + i,
            document_id=3,
            document_title="zx40 datasheet",
            filename="zx40_datasheet.pdf",
            content=text,
        )
        for i, text in enumerate(DRIVER_TEXT)
    ]
    return assess_attributes(question, hits, {3: _driver()})


def test_a_section_of_key_entries_under_an_ordering_heading_is_a_scheme() -> None:
    assert ordering_scheme(ORDERING_SECTION)[:5] == ("zx", "40", "k", "m", "a")
    # Test conditions are not a scheme; nor is a key without an ordering heading.
    assert ordering_scheme(DRIVER_TEXT[2]) == ()
    assert ordering_scheme(ORDERING_SECTION.replace("Ordering information", "Features")) == ()
    # A section whose sentences refer to the key, next to formulas of its own, is none.
    reference = (
        "When ordering, the temperature range is given by the ordering information scheme.\n"
        "PD = 175 + 272 mW, TJ = 82 + 20 °C, VDD = 3.5 V, IOL = 8 mA, VOL = 0.4 V\n"
        "Parts must be ordered with suffix 3 (see Table 12: Ordering information scheme)."
    )
    assert ordering_scheme(reference) == ()


def test_a_code_spelled_by_the_schemes_entries_in_order_is_decoded() -> None:
    scheme = ordering_scheme(ORDERING_SECTION)
    words = frozenset({"zx40ka", "zx40mb", "zx"})
    assert scheme_decodes("ZX40KBQ3", scheme, words)
    assert scheme_decodes("zx40mbp4tr", scheme, words)
    # A part the key does not list ('8'), or the entries out of their order, is not decoded.
    assert not scheme_decodes("ZX40K8Q3", scheme, words)
    assert not scheme_decodes("ZX40QKB3", scheme, words)
    # One entry after a family name the manual writes is no order code (the scheme's own
    # family, line and pin count are).
    assert not scheme_decodes("QX40M", scheme, frozenset({"qx40"}))
    assert scheme_decodes("ZX40M", scheme, frozenset())


def test_an_order_code_the_scheme_decodes_is_no_unknown_model() -> None:
    evidence = _check("zx40kbq3 - how much memory is that?")
    assert evidence["unknown_models"] == [] and evidence["named_missing"] == []
    compared = _check("zx40kaq3 vs zx40mbq3, what's the difference?")
    assert compared["unknown_models"] == []
    # A variant the key cannot produce stays unknown.
    assert _check("How much memory does the ZX40K8Q3 have?")["unknown_models"] == ["ZX40K8Q3"]
    assert _check("What is the pinout of the ZX50KB?")["unknown_models"] == ["ZX50KB"]


def test_a_question_pointing_at_a_piece_of_its_code_asks_to_decode_it() -> None:
    assert asks_to_decode("wire tag K310B6N - is the 6 an awg size?")
    assert asks_to_decode("what's the Q in ZX40KBQ3 for?")
    assert asks_to_decode("ZX40KBQ3, letter B?")
    # A count with its noun is no piece ('the 48 pin'); no code, no piece.
    assert not asks_to_decode("order code letter for the 48 pin zx40, qfn48?")
    assert not asks_to_decode("is the 6 the default?")
    # A decimal value is no piece ('the 3.3 V rail'), so a near-miss code stays unknown.
    assert not asks_to_decode("What's the supply current of the ZX43KB at the 3.3 V rail?")
    assert _check("What's the supply current of the ZX43KB at the 3.3 V rail?")[
        "unknown_models"
    ] == ["ZX43KB"]


def test_a_documents_edition_is_not_asked_for_when_the_document_is_named() -> None:
    names = frozenset({"zx40"})
    parts = question_parts("what rev is the zx40 datasheet?", names)
    assert parts.attributes == [] and parts.focus == []
    assert question_parts("What version is the ZX40 quick start guide?", names).focus == []
    # A product's version is asked for.
    assert ("firmware", "firmwar") in question_parts(
        "What firmware version does the zx40 run?", names
    ).attributes
    assert "version" in [
        t for t, _ in question_parts("What firmware version does the zx40 run?", names).focus
    ]


def test_a_full_order_code_is_found_in_a_passage_writing_its_model() -> None:
    hits = [search_hit(content="The ZX40KA and ZX40MB devices drive three-phase motors.")]
    assert assess_evidence("zx40kaq3 motors", hits)["coverage"] == 1.0
    assert assess_evidence("zx40kaq3tr motors", hits)["coverage"] == 1.0
    # More than a package and options added, or a different model, is not that model.
    assert assess_evidence("zx40kaq3trxyz motors", hits)["coverage"] == 0.5
    assert assess_evidence("zx40kcq3 motors", hits)["coverage"] == 0.5


def test_an_order_code_entry_the_key_does_not_list_is_unknown() -> None:
    assert _check("What package does the letter U denote in a ZX40 order code?")[
        "unknown_models"
    ] == ["U"]
    assert _check("What does a TR suffix on a ZX40 order code mean?")["unknown_models"] == []
    assert (
        _check("What does the digit 4 at the end of a ZX40 order code mean?")["unknown_models"]
        == []
    )
    # A small word after 'letter' is no entry; a manual without an ordering key decides nothing.
    assert _check("order code letter for the 48 pin zx40?")["unknown_models"] == []
    assert unlisted_keys("What does the letter U denote?", [_driver()]) == ["U"]
    # An article or a pronoun next to 'suffix' is no entry of the key.
    for question in (
        "Is there a suffix for tape and reel on the ZX40?",
        "Which suffix I need for tape and reel on a ZX40?",
    ):
        assert unlisted_keys(question, [_no_a()]) == [], question
    assert unlisted_keys("What does an X suffix mean?", [_no_a()]) == ["X"]
    # Positions in the code are no entries: 'digits 5 and 6' of it, unlike 'the digit 9'.
    assert unlisted_keys("What do digits 5 and 6 of a ZX40 order code mean?", [_driver()]) == []
    assert unlisted_keys("What does the digit 9 mean?", [_driver()]) == ["9"]
    plain = build_profile(4, "gw5", "gw5.pdf", ["The GW5 takes 10-30 V."])
    assert unlisted_keys("What does the letter U denote?", [plain]) == []


def test_a_letter_standing_in_two_fields_of_the_key_decodes_in_either() -> None:
    # 'T' is a pin count and a package: ZX40R8T6 is 64 pins, 64 Kbytes, LQFP, -40 to 85 °C.
    section = (
        "Ordering information scheme\nExample: ZX 40 T C 8 T 6\nDevice family ZX = controller\n"
        "Line 40 = industrial\nPin count T = 36 pins C = 48 pins R = 64 pins\n"
        "Flash size 8 = 64 Kbytes B = 128 Kbytes\nPackage T = LQFP H = BGA\n"
        "Temperature range 6 = -40 to 85 °C 7 = -40 to 105 °C"
    )
    scheme = ordering_scheme(section)
    assert scheme_decodes("ZX40R8T6", scheme, frozenset())
    assert scheme_decodes("ZX40T8T6", scheme, frozenset())
    assert not scheme_decodes("ZX40R8Q6", scheme, frozenset())


def test_a_section_of_a_thousand_entries_neither_recurses_nor_reads_them_all() -> None:
    section = "Ordering information\n" + "\n".join(f"V{i} = {i} V" for i in range(1100))
    scheme = ordering_scheme(section)
    assert 0 < len(scheme) <= 100
    code = "-".join(f"v{i}" for i in range(1050))
    assert not scheme_decodes(code, scheme, frozenset())  # no RecursionError


def test_the_decode_check_looks_a_bounded_distance_for_its_verb() -> None:
    # 'what does <code> mean' with a code and a few words between; a verb 20,000 characters on
    # is another sentence, and the bound keeps a long question's check linear, not quadratic.
    assert asks_to_decode("What does the TR at the end of a ZX40 order code really mean?")
    assert not asks_to_decode("what does " + "x " * 10_000 + "mean")
