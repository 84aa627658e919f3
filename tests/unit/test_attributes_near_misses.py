"""Near misses: an attribute asked without a question word, a variant pinned by a value.

A technician asks 'rx jitter tolerance spec of the TS2017?' or 'Does the F103 have parity
checking?' as often as 'What is …': the asked-for phrase is read from those too, so that a word
the manual never writes counts as a missing focus. A question that pins a variant by a value
('the 40 km version') the manual never writes, while it writes values in that unit ('20km'),
names a variant the manual does not cover, as an unlisted model does. Synthetic manual text in a
transceiver datasheet's conventions (the eval questions are measured by `bench.fit_evidence`).
"""

from __future__ import annotations

from techdocs_app.rag.attributes import (
    DocumentProfile,
    assess_attributes,
    build_profile,
    question_parts,
    values_missing,
)
from techdocs_app.rag.variant_values import read_values
from tests.factories import search_hit

OPTIC_TEXT = (
    "QX2020-L20 SFP28, 25G/10G Ethernet LR, 1310nm, SM, 20km, 13.0dB, LC\n"
    "Ordering information: QX2020-L20 SFP28 25G-LR 20KM",
    "Optical characteristics\nTypical reach 20 km\nTransmitter output power -5.0 to +2.0dBm\n"
    "Receiver sensitivity, OMA -14.0dBm\nPower consumption 1.2 W max at 3.3 V\n"
    "Electrical specifications: input tolerance 5 %",
    "Mechanical\nThe module has a bail latch and a dust cover. Operating case temperature "
    "-5 to 70 °C.",
)
NAMES = frozenset({"qx2020", "qx2020-l20", "sfp28"})


def _optic() -> DocumentProfile:
    return build_profile(5, "QX2020-L20 SFP28", "qx2020_sfp28.pdf", list(OPTIC_TEXT))


def _check(question: str) -> dict[str, object]:
    hits = [
        search_hit(
            chunk_id=50 + i,
            document_id=5,
            document_title="QX2020-L20 SFP28",
            filename="qx2020_sfp28.pdf",
            content=text,
        )
        for i, text in enumerate(OPTIC_TEXT)
    ]
    return assess_attributes(question, hits, {5: _optic()})


def _focus(question: str) -> list[str]:
    return [t for t, _ in question_parts(question, NAMES).focus]


def test_a_fragment_asks_for_the_noun_phrase_before_of() -> None:
    assert _focus("rx jitter tolerance spec of the QX2020-L20?") == [
        "rx",
        "jitter",
        "tolerance",
        "spec",
    ]
    assert _focus("B-constant of the hotend thermistor?") == ["constant"]
    # The manual's own question form is read as before.
    assert _focus("What receiver sensitivity does the QX2020 have?") == ["receiver", "sensitivity"]


def test_a_yes_no_question_asks_for_what_the_subject_would_have() -> None:
    assert _focus("Does the QX2020 have a hardware floating-point unit?") == [
        "hardware",
        "floating",
        "point",
        "unit",
    ]
    assert _focus("Does the QX2020 come with a dust cover?") == ["dust", "cover"]
    # Adverbs are no part of the thing asked for.
    assert _focus("Does the QX2020 come with firmware already on it?") == ["firmware"]


def test_sentences_symptoms_and_other_questions_have_no_unworded_focus() -> None:
    # A symptom without a question mark, a clause before the question, a question word later,
    # a procedure: none asks for a noun phrase of an attribute.
    assert _focus("round holes printing egg-shaped on my printer, walls not closing up") == []
    assert _focus("rebuilding in the field, can I reuse the old bearings with torque-set?") == []
    assert _focus("qx2020 already sitting on the client's network - how do I connect to it?") == []
    assert _focus("Decode QX2020-L20 for me.") == []


def test_a_missing_word_of_an_unworded_focus_counts_as_missing() -> None:
    jitter = _check("rx jitter tolerance spec of the QX2020-L20?")
    assert jitter["focus_missing"] == ["jitter"]
    covered = _check("rx sensitivity of the QX2020-L20?")
    assert covered["focus"] == ["rx", "sensitivity"] and covered["focus_missing"] == []


def test_values_are_read_with_their_unit_in_one_form() -> None:
    values = read_values("SM, 20km, 13.0dB, LC at 3.3 V")
    assert values.points == frozenset({("m", 20000.0), ("db", 13.0), ("v", 3.3)})
    # A count's noun, a plural part number, a fraction's inch, a temperature: no value of a unit.
    assert read_values("4 lanes of 2209s, 3/4 in of jacket at 82C").dimensions == frozenset()


def test_a_variant_pinned_by_a_value_the_manual_never_writes_is_unknown() -> None:
    profile = _optic()
    assert values_missing("What's the ordering number of the 40 km version?", [profile]) == [
        "40 km"
    ]
    assert values_missing("What's the ordering number of the 20 km version?", [profile]) == []
    # A unit the manual writes no value in says nothing about its variants ('1550 nm' would be;
    # 'kg' is not written at all).
    assert values_missing("Is there a 2 kg heavy version?", [profile]) == []
    evidence = _check("What's the ordering number of the 40 km version of the QX2020 SFP28?")
    assert evidence["unknown_models"] == ["40 km"]
    assert _check("What is the typical reach of the QX2020 SFP28 in km?")["unknown_models"] == []


def test_a_perfect_after_could_or_would_is_no_thing_the_subject_has() -> None:
    # 'could … have failed' asks whether something happened, not whether it has 'failed'.
    assert _focus("Could the thermistor have failed if the QX2020 shows E3?") == []
    assert _focus("Would the QX2020 have been damaged by 48 V?") == []
    assert _focus("Does the QX2020 have been tested?") == []
    assert _focus("Could the QX2020 have gone bad?") == []
    # 'does/did … have', and 'can/will … support', still ask for a thing.
    assert _focus("Did the QX2020 have a dust cover?") == ["dust", "cover"]
    assert _focus("Will the QX2020 support DDM?") == ["ddm"]


def test_a_symptom_has_no_unworded_focus() -> None:
    assert _focus("Does the QX2020 have a problem with clogging?") == []
    assert _focus("Does the QX2020 have a known issue with the latch?") == []
    assert _focus("grinding sound on the Z axis of the Ender-3?") == []
    assert _focus("clicking noise in the extruder of the Ender-3?") == []
    assert _focus("link not coming up on the QX2020?") == []
    assert _focus("intermittent errors on the QX2020?") == []


def test_values_are_no_words_of_the_focus() -> None:
    # The manual writes 'the 24 V fan': the glued '24V' is no missing word.
    assert _focus("Does the QX2020 have a 24V fan?") == ["fan"]
    assert _check("Does the QX2020 have a 3.3V supply?")["focus_missing"] == []
    # 'in' after a number is the inch, not a preposition.
    assert _focus("3/4 in hose fitting torque on the XR650?") == ["hose", "fitting", "torque"]


def test_an_answerable_value_question_keeps_its_focus_and_no_unknown_variant() -> None:
    # 'at 3.3 V' is a condition the manual writes, '25G' no value in a unit of a variant.
    power = _check("What's the power consumption of the QX2020 at 3.3 V?")
    assert power["focus_missing"] == [] and power["unknown_models"] == []
    assert _check("Does the QX2020 support 25G Ethernet?")["unknown_models"] == []
    assert _check("Is there a 20 km version of the QX2020?")["unknown_models"] == []


def test_the_whole_object_of_have_is_the_focus() -> None:
    # The word right after 'have' is read for a participle, and kept in the phrase.
    assert _focus("Does the QX2020's internal SRAM have parity checking?") == ["parity"]
    assert _focus("Does the QX2020 have integrated DDM?") == ["integrated", "ddm"]
