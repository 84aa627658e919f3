"""Technicians' wording that the evidence features used to read as "the manual never says so".

Each rule is one of technical writing or of how questions are put, tried on synthetic manual text
(the eval questions are measured by `bench.fit_evidence`, not here).
"""

from __future__ import annotations

import pytest

from techdocs_app.rag.attributes import DocumentProfile, assess_attributes, build_profile
from techdocs_app.rag.evidence import assess_evidence, key_terms
from techdocs_app.rag.retrieve import SearchHit
from techdocs_app.text.words import (
    expand_contractions,
    is_function_word,
    spell_greek,
    stem,
    strip_how_measure,
    terms,
)
from tests.factories import search_hit

GATEWAY_TEXT = (
    "Power: the GW5 takes 10-30 V DC from the terminal block. Fuse F2 protects the input.",
    "Network: 10/100 Ethernet port with DHCP. The LED marked NET blinks while connecting.",
    "Caution: disconnect the power before wiring the terminal block.",
    "The integrated modem retries after 2000 ms. Recommended software: GWConfig, PuTTY.",
    "Internal pull-up resistors on the inputs, 40 kOhm.",
    "Number of calls before the line is picked up: 2 (1-8).",
)


def _gateway() -> DocumentProfile:
    return build_profile(7, "zeta_gw5_gateway", "zeta_gw5_gateway.pdf", list(GATEWAY_TEXT))


def _hits() -> list[SearchHit]:
    return [
        search_hit(
            chunk_id=70 + i,
            document_id=7,
            document_title="zeta_gw5_gateway",
            filename="zeta_gw5_gateway.pdf",
            content=text,
        )
        for i, text in enumerate(GATEWAY_TEXT)
    ]


def _check(question: str) -> dict[str, object]:
    return assess_attributes(question, _hits(), {7: _gateway()})


def test_contractions_give_no_content_words() -> None:
    assert (
        expand_contractions("it won't start and I can't tell")
        == "it will not start and I can not tell"
    )
    assert expand_contractions("the GW5’s fuse, it's blown, they're off") == (
        "the GW5 fuse, it blown, they off"
    )
    terms = key_terms("the gw5 won't boot, my numbers don't add up")
    assert not {"won", "don", "t", "s"} & set(terms)
    evidence = _check("The GW5 won't connect, doesn't the NET LED blink?")
    assert evidence["missing"] == []


def test_inflected_stop_words_are_not_asked_for() -> None:
    assert is_function_word("tells") and is_function_word("shows") and is_function_word("the")
    assert not is_function_word("fuses")
    evidence = _check("Which LED tells me the GW5 is connecting?")
    assert evidence["focus"] == ["led"] and evidence["focus_missing"] == []


def test_the_measure_of_a_how_question_is_not_an_attribute() -> None:
    assert strip_how_measure("How long does it wait, how far, how do I") == (
        "how does it wait, how, how do I"
    )
    evidence = _check("How long before the GW5 modem retries?")
    assert "long" not in evidence["attributes"] and evidence["missing"] == []
    assert "long" not in key_terms("How long before the GW5 modem retries?")


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("how calibrate the z probe", {"calibrat", "z", "probe"}),
        ("how reset alarm", {"reset", "alarm"}),
        ("how wire RT2 to panel", {"wire", "rt2", "panel"}),
        ("How resistors are colour coded", {"resistor", "colour", "code"}),
    ],
)
def test_only_a_measure_word_after_how_is_stripped(question: str, kept: set[str]) -> None:
    """A telegraphic 'how <verb>' keeps its verb; only 'how long/far/hot …' names a measure."""
    assert kept <= set(terms(strip_how_measure(question)))


def test_measure_words_after_how_are_stripped() -> None:
    for word in ("long", "far", "hot", "big", "fast", "tight", "thick", "deep", "strong"):
        assert strip_how_measure(f"How {word} is it?") == "how is it?"


def test_a_question_about_what_the_subject_does_has_no_focus() -> None:
    # The words after 'does' are the subject and its verb, not the attribute asked for.
    assert _check("How long does the GW5 modem wait before it retries?")["focus"] == []
    assert _check("What does zeta recommend for the GW5 setup?")["focus"] == []
    # A noun between the WH word and the auxiliary is the focus, as before.
    assert _check("Which fuse does the GW5 use on the input?")["focus"] == ["fuse"]


def test_plurals_the_stemmer_leaves_are_found() -> None:
    evidence = _check("How strong are the GW5 internal pull-ups?")
    assert evidence["missing"] == []
    hits = [search_hit(content="Internal pull-up resistors on the inputs, 40 kOhm.")]
    assert assess_evidence("internal pull-ups", hits)["coverage"] == 1.0


def test_a_code_fragment_matches_the_longer_code_of_the_passage() -> None:
    hits = [search_hit(content="The STM32F103 USART1 runs at up to 4.5 Mbit/s.")]
    assert assess_evidence("usart1 runs on the f103", hits)["coverage"] == 1.0
    # Fragments shorter than four characters or without letters and digits stay exact.
    assert assess_evidence("usart1 of the f10", hits)["coverage"] == 0.5
    assert assess_evidence("usart1 model 103", hits)["coverage"] < 1.0


def test_words_for_the_manual_itself_and_number_are_not_asked_for() -> None:
    evidence = _check("What is the document number of the GW5 datasheet?")
    assert evidence["focus"] == [] and evidence["missing"] == []
    # Another attribute in the phrase is still asked for.
    assert _check("What is the serial number of the GW5?")["focus_missing"] == ["serial"]


def test_signal_words_and_built_in_have_the_manuals_spelling() -> None:
    precautions = _check("What precautions does zeta give for wiring the GW5?")
    assert precautions["focus"] == ["precautions"] and precautions["focus_missing"] == []
    builtin = _check("Does the GW5 built-in modem retry?")
    assert builtin["missing"] == []
    programs = _check("Which programs does zeta recommend for the GW5?")
    assert programs["focus_missing"] == []


def test_a_technicians_rings_are_the_manuals_calls() -> None:
    evidence = _check("How many rings before the GW5 picks up the line?")
    assert evidence["focus"] == ["rings"] and evidence["focus_missing"] == []


def test_a_unit_written_as_a_word_is_the_manuals_symbol() -> None:
    # The manual writes 'V' and 'kOhm'; the technician asks for volts and ohms.
    volts = _check("How many volts does the GW5 take?")
    assert volts["focus_missing"] == [] and volts["missing"] == []
    assert _check("How many ohms are the GW5 pull-ups?")["missing"] == []
    # A word the manual does not write is still missing.
    assert _check("How many amps does the GW5 draw?")["focus_missing"] == ["amps"]


def test_a_measure_adjective_is_the_manuals_measure() -> None:
    profile = build_profile(8, "zeta_gw9", "zeta_gw9.pdf", ["Weight: 120 g. Size: 80 x 40 mm."])
    hits = [search_hit(document_id=8, filename="zeta_gw9.pdf", content="Weight: 120 g.")]
    evidence = assess_attributes("How big and heavy is the GW9?", hits, {8: profile})
    assert evidence["missing"] == []


def test_till_a_letter_of_an_abbreviation_and_the_flowchart_are_not_asked_for() -> None:
    assert is_function_word("till") and "till" not in key_terms("how long till it retries")
    evidence = _check("Which p/n does the GW5 flowchart give for the fuse?")
    assert "p" not in evidence["attributes"] and "flowchart" not in evidence["attributes"]
    assert _check("Which doc shows the GW5 LED?")["focus"] == ["led"]


def test_greek_letters_read_as_their_names() -> None:
    assert spell_greek("ΘJA of 10 kΩ, ΔV") == "thetaJA of 10 kohm, deltaV"
    assert spell_greek("plain ascii") == "plain ascii"
    profile = build_profile(9, "mcu", "mcu.pdf", ["Thermal resistance ΘJA: 45 °C/W"])
    hits = [search_hit(document_id=9, filename="mcu.pdf", content="ΘJA: 45 °C/W")]
    evidence = assess_attributes("theta-JA of the mcu?", hits, {9: profile})
    assert evidence["named_missing"] == []
    # The question read as the manual is: the manual's own symbol is not missing.
    same = assess_attributes("What is the ΘJA of the mcu?", hits, {9: profile})
    assert same["named_missing"] == [] and same["focus_missing"] == []
    # Micro, as the Greek mu or the micro sign, is the 'u' a keyboard has.
    assert spell_greek("10 μs, 5 µA") == "10 us, 5 uA"
    tiny = build_profile(9, "mcu", "mcu.pdf", ["Standby supply current 5 µA"])
    asked = assess_attributes("standby current in uA of the mcu?", hits, {9: tiny})
    assert asked["missing"] == [] and asked["named_missing"] == []


def test_a_plural_of_a_code_is_its_singular() -> None:
    hits = [search_hit(document_id=9, filename="board.pdf", content="TMC2209 drivers.")]
    profile = build_profile(9, "board", "board.pdf", ["Four TMC2209 drivers, 2 A each."])
    assert assess_attributes("max amps of the 2209s?", hits, {9: profile})["named_missing"] == []
    other = assess_attributes("max amps of the 2208s?", hits, {9: profile})
    assert other["named_missing"] == ["2208s"]
    # A capital S is no plural: it ends a variant's code ('2209S' is not the 2209).
    variant = assess_attributes("max amps of the 2209S?", hits, {9: profile})
    assert variant["named_missing"] == ["2209S"]


def test_only_a_trailing_parenthesis_is_the_condensers_context() -> None:
    # The technician's own parenthesis: 'RMS' and the words after it are asked for.
    inside = _check("What ripple (RMS) can the GW5 terminal block take?")
    assert "terminal" in inside["attributes"] and inside["named_missing"] == ["RMS"]
    # The condenser's context at the end names the subject but is not asked for.
    context = _check("And the fuse? (GW5 gateway, RMS)")
    assert context["named_missing"] == [] and "fuse" in context["attributes"]
    hits = [search_hit(content="Tighten the GW5 terminal screws firmly.")]
    assert assess_evidence("What (peak) voltage do the GW5 terminals take?", hits)["quantity_asked"]
    assert not assess_evidence("And the screws? (what voltage)", hits)["quantity_asked"]


def test_a_word_ending_in_ly_is_stemmed_only_when_an_adverb() -> None:
    assert stem("supply") == stem("supplies") == stem("supplied") == "supply"
    assert stem("supply") != stem("supposed")
    for word in ("apply", "reply", "assembly", "only", "family", "daily", "early", "anomaly"):
        assert stem(word) == word
    assert stem("quickly") == "quick" and stem("properly") == "proper"
    assert stem("normally") == "normal" and stem("slowly") == "slow"
    assert stem("monthly") == "month"
    # A manual that writes 'supply' does not mention suppression.
    profile = build_profile(8, "zeta_gw9", "zeta_gw9.pdf", ["Supply: 12 V DC, 0.5 A."])
    hits = [search_hit(document_id=8, filename="zeta_gw9.pdf", content="Supply: 12 V DC.")]
    evidence = assess_attributes("Which surge suppression does the GW9 have?", hits, {8: profile})
    assert evidence["focus_missing"] == ["surge", "suppression"]


def test_a_count_compound_and_family_suffixes_are_the_datasheets_words() -> None:
    text = "STM32F103xC, STM32F103xD and STM32F103xE: 64 pins, 51 I/Os."
    profile = build_profile(9, "stm32f103", "stm32f103.pdf", [text])
    hits = [search_hit(document_id=9, filename="stm32f103.pdf", content=text)]
    evidence = assess_attributes("How many I/Os on the 64-pin (xC/xD/xE) f103?", hits, {9: profile})
    assert evidence["missing"] == [] and evidence["named_missing"] == []
    other = assess_attributes("How many I/Os on the 48-pin (xF/xG) f103?", hits, {9: profile})
    assert other["missing"] == ["48-pin", "xf", "xg"] and other["named_missing"] == [
        "48-pin",
        "xF/xG",
    ]


def test_a_unit_glued_to_its_value_and_a_two_word_term_typed_as_one_are_the_manuals() -> None:
    # A data sheet glues units to values ('13.0dB', '20km'); a technician types the manual's
    # two-word term as one ('hotend', 'MINTEMP').
    text = "Power budget 13.0dB, reach 20km. The hot end shows Min temp when the sensor is open."
    profile = build_profile(10, "zeta_sfp", "zeta_sfp.pdf", [text])
    hits = [search_hit(document_id=10, filename="zeta_sfp.pdf", content=text)]
    evidence = assess_attributes("How many dB can the zeta take, in km?", hits, {10: profile})
    assert evidence["missing"] == []
    evidence = assess_attributes("zeta hotend shows MINTEMP, why?", hits, {10: profile})
    assert evidence["missing"] == [] and evidence["named_missing"] == []
    # Short pieces do not join ('in to' is no 'into'), a word the manual lacks stays missing.
    evidence = assess_attributes("What jitter does the zeta hotend take?", hits, {10: profile})
    assert evidence["missing"] == ["jitter"]
