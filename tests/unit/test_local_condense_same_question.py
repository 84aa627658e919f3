"""The offline condenser on follow-ups that ask the previous question again, of another thing:
'is it the same on the R11?', 'does that apply to …', 'does X do that too?', 'same question for
…', a name alone; and a variant's rating after a name ending in a number."""

from __future__ import annotations

import pytest

from techdocs_app.providers.base import Turn
from techdocs_app.providers.local_condense import condense_locally, is_followup


def _history(question: str) -> list[Turn]:
    return [Turn(question=question, answer="(answer)", standalone_query=question)]


@pytest.mark.parametrize(
    "followup",
    [
        "is it the same on the R11?",
        "Is that the same for the R11 too?",
        "does that apply to the R11 as well?",
        "And does the same go for the R11?",
        "does the R11 do that too?",
        "does the R11 have the same?",
        "is the R11 the same?",
        "same question for the R11",
        "R11?",
        "ok, the R11 too?",
    ],
)
def test_same_question_about_another_model(followup: str) -> None:
    history = _history("What supply voltage does the Trikdis RT2 accept?")
    assert is_followup(followup, history)
    assert condense_locally(followup, history) == "What supply voltage does the R11 accept?"


def test_same_question_replaces_a_name_of_another_family() -> None:
    # Not glued: 'What about the R11 of the Ender 3?' asked about neither.
    history = _history("How do I level the bed on the Ender 3?")
    for followup in ("same for the CR-10?", "is it the same on the CR-10?", "CR-10?"):
        assert condense_locally(followup, history) == "How do I level the bed on the CR-10?"


def test_same_question_with_a_condition_takes_its_slot() -> None:
    history = _history("What temperature should the solder pot be kept at for dip-tinning wire?")
    assert (
        condense_locally("does that apply to stranded wire?", history)
        == "What temperature should the solder pot be kept at for stranded wire?"
    )


def test_a_question_of_its_own_is_not_a_same_question() -> None:
    history = _history("What supply voltage does the Trikdis RT2 accept?")
    question = "What is the default IP address of the RL14?"
    assert not is_followup(question, history)
    assert condense_locally(question, history) == question


def test_rating_variant_after_a_name_ending_in_a_number() -> None:
    # The name's number is not a value to replace ('the Ender 24 V version').
    history = _history("What's the max print speed on the Ender 3?")
    assert (
        condense_locally("what about the 24 V version?", history)
        == "What's the max print speed on the 24 V Ender 3?"
    )
    history = _history("What is the insertion loss at 10 km on the TS2017?")
    assert (
        condense_locally("what about 40 km?", history)
        == "What is the insertion loss at 40 km on the TS2017?"
    )


def test_a_value_too_high_is_the_quantity_asked() -> None:
    # 'it' compared with a limit is the value the previous question asked for, not the device.
    history = _history("What supply voltage does the Trikdis RT2 accept?")
    assert condense_locally("what if it's too high?", history).startswith(
        "What if the supply voltage is too high? (Trikdis RT2"
    )
    history = _history("What temperature should the solder pot be kept at for dip-tinning wire?")
    assert (
        condense_locally("and what happens if it goes out of range?", history)
        == "What happens if the temperature goes out of range? (solder pot, dip-tinning wire)"
    )
    # 'it' that is not compared with a limit stays the subject.
    history = _history("What Rx sensitivity and overload does the TS2017-S31C-SO have?")
    assert (
        condense_locally("Where does it assert and clear LOS?", history)
        == "Where does the TS2017-S31C-SO assert and clear LOS?"
    )


def test_a_quantity_named_in_eed_is_kept_in_the_topic() -> None:
    # 'speed' is a noun, not a participle like 'wiped'.
    history = _history("What's the max print speed on the Ender 3?")
    assert condense_locally("and the torque?", history) == (
        "What about the torque of the Ender 3? (print speed)"
    )


def test_a_value_with_another_unit_takes_no_slot() -> None:
    history = _history(
        "What is the longest interval a 16-bit timer can count on the F103 at 72 MHz?"
    )
    assert "72 MHz" in condense_locally("what about the 24 V version?", history)


def test_a_name_does_not_run_into_a_parenthesis() -> None:
    history = _history("How many GPIOs does an STM32F103Rx (64-pin) device have?")
    assert condense_locally("and the max?", history).startswith(
        "What about the max of the STM32F103Rx? ("
    )


def test_a_bare_noun_phrase_takes_the_previous_frame() -> None:
    # Typed without 'and'/'what about', a noun phrase alone is elliptical all the same.
    history = _history("How accurate is the DDM temperature reading on the QSFP-100G-ER4L-A-FL?")
    assert (
        condense_locally("rx power reading?", history)
        == "How accurate is the rx power reading on the QSFP-100G-ER4L-A-FL?"
    )
    history = _history("What stepper drivers does the SKR Mini E3 V2.0 have?")
    assert condense_locally("the slide pins?", history).startswith(
        "What about the slide pins of the SKR Mini E3 V2.0?"
    )


def test_this_one_is_not_put_in_the_previous_frame() -> None:
    history = _history("What Flash endurance and data retention does the STM32F103 guarantee?")
    assert "the this one" not in condense_locally("what about this one?", history)


def test_a_phrase_is_not_glued_to_a_question_of_several_clauses() -> None:
    history = _history(
        "new ender 3 out of the box - anything to set on the PSU before I plug it in?"
    )
    rewritten = condense_locally("and in Marlin?", history)
    assert rewritten.startswith("What about in Marlin? (ender 3")
    history = _history("need to get into an rl14 that's already on the customer's lan, how?")
    assert "customer's lan, how" not in condense_locally("how about on the rear?", history)
    # One question of one clause is still narrowed in place.
    history = _history("Which MCU is used on the BTT SKR MINI E3 V2.0 board?")
    assert (
        condense_locally("and in Marlin?", history)
        == "Which MCU is used on the BTT SKR MINI E3 V2.0 board in Marlin?"
    )


@pytest.mark.parametrize(
    ("followup", "expected"),
    [
        ("how do I check it?", "How do I check the torque? (M4, caliper bolts)"),
        ("and can I adjust that?", "Can I adjust the torque? (M4, caliper bolts)"),
        ("what if it's too low?", "What if the torque is too low? (M4, caliper bolts)"),
    ],
)
def test_a_value_checked_or_adjusted_is_the_quantity_asked(followup: str, expected: str) -> None:
    history = _history("What torque do the caliper bolts on the M4 take?")
    assert condense_locally(followup, history) == expected


def test_a_device_verb_keeps_the_subject() -> None:
    # One resets, replaces or sets up a device, not a value.
    history = _history("What torque do the caliper bolts on the M4 take?")
    assert condense_locally("how do I reset it?", history).startswith("How do I reset the M4?")


def test_after_a_question_about_the_answer_the_topic_before_it_carries_on() -> None:
    # 'why?' names nothing: the third turn is still about the supply voltage.
    first = "What supply voltage does the Trikdis RT2 accept?"
    history = _history(first)
    why = condense_locally("why?", history)
    history.append(Turn(question="why?", answer="(answer)", standalone_query=why))
    assert condense_locally("how do I check it?", history).startswith(
        "How do I check the supply voltage? (Trikdis RT2"
    )
    assert "supply voltage" in condense_locally("where is that?", history)


@pytest.mark.parametrize(
    ("followup", "expected"),
    [
        ("and the slide pins?", "What torque do the slide pins on the M4 take?"),
        ("what about the rear ones?", "What torque do the rear caliper bolts on the M4 take?"),
    ],
)
def test_other_things_keep_the_quantity_asked(followup: str, expected: str) -> None:
    history = _history("What torque do the caliper bolts on the M4 take?")
    assert condense_locally(followup, history) == expected


def test_things_that_are_the_quantity_are_not_swapped() -> None:
    # The wavelengths are what was asked: 'the slide pins' are another topic of the module.
    history = _history("What are the four LAN WDM transmit wavelengths of the QSFP-100G-ER4L-A-FL?")
    assert condense_locally("and the slide pins?", history).startswith(
        "What about the slide pins of the QSFP-100G-ER4L-A-FL?"
    )


def test_a_question_joined_by_and_what_is_of_several_clauses() -> None:
    history = _history(
        "How many RS232 ports does the RL14 receiver have, and what connector do they use?"
    )
    assert "use on the rear" not in condense_locally("how about on the rear?", history)


def test_another_model_does_not_inherit_the_old_models_kind() -> None:
    history = _history(
        "What supply voltage range and maximum current does the Trikdis RT2 telephone receiving "
        "module accept?"
    )
    assert (
        condense_locally("is it the same on the R11?", history)
        == "What supply voltage range and maximum current does the R11 accept?"
    )
    # A part of the model stays: it is the other model's part that is asked about.
    history = _history("Which ADC channel is the STM32F103's internal temperature sensor wired to?")
    assert (
        condense_locally("and for the STM32F107?", history)
        == "Which ADC channel is the STM32F107's internal temperature sensor wired to?"
    )


def test_a_variant_after_a_preposition_is_a_variant() -> None:
    history = _history("What supply voltage does the Trikdis RT2 accept?")
    assert (
        condense_locally("and on the 24 V one?", history)
        == "What supply voltage does the 24 V Trikdis RT2 accept?"
    )


@pytest.mark.parametrize("remark", ["thanks!", "never mind", "still not working", "not helpful?"])
def test_a_remark_is_not_a_bare_noun_phrase(remark: str) -> None:
    history = _history("What supply voltage does the Trikdis RT2 accept?")
    assert "What about" not in condense_locally(remark, history)


def test_a_word_of_the_subjects_name_is_no_code_to_replace() -> None:
    # The 'E3' of the 'SKR MINI E3 V2.0' is its name: 'and E05?' does not make an 'SKR MINI E05'.
    history = _history("What baud rate does the SKR MINI E3 V2.0 use?")
    assert "SKR MINI E05" not in condense_locally("and E05?", history)
    history = _history("What does error E04 mean on the RL14?")
    assert condense_locally("And E05?", history) == "What does error E05 mean on the RL14?"


def test_a_variant_named_in_full_keeps_the_brand_and_kind() -> None:
    history = _history("What VHF frequency range does the Trikdis R11 radio receiver cover?")
    assert (
        condense_locally("is it the same on the R11U?", history)
        == "What VHF frequency range does the Trikdis R11U radio receiver cover?"
    )
    assert (
        condense_locally("and for the RL14?", history)
        == "What VHF frequency range does the RL14 cover?"
    )


def test_a_name_typed_in_lower_case_is_the_subject() -> None:
    history = _history("whats the max print speed on the ender 3?")
    assert condense_locally("does it have a bed probe?", history).startswith(
        "Does the ender 3 have a bed probe?"
    )
    # A count or a measure is no name.
    history = _history("the solder pot lasts 10 minutes, then what?")
    assert condense_locally("how do I reset it?", history).startswith("How do I reset it?")


def test_how_much_and_how_many_ask_a_quantity_too() -> None:
    history = _history("How many rings does the RT2 wait before answering?")
    assert condense_locally("how do I change it?", history).startswith(
        "How do I change the number of rings? (RT2"
    )
    assert condense_locally("what if it's too high?", history).startswith(
        "What if the number of rings is too high? (RT2"
    )
    history = _history("How much current does the RT2 draw?")
    assert condense_locally("how do I check that?", history).startswith(
        "How do I check the current? (RT2"
    )


@pytest.mark.parametrize(
    ("previous", "followup", "kept"),
    [
        ("Where is the fuse on the Trikdis RT2?", "is it on the left side?", "left side"),
        ("What supply voltage does the Trikdis RT2 accept?", "is that in volts?", "volts"),
        ("How do I level the bed on the Ender 3?", "does it work with the BLTouch?", "BLTouch"),
        ("Where is the fuse on the Trikdis RT2?", "does it go on the left side?", "left side"),
    ],
)
def test_a_yes_no_question_with_a_preposition_asks_its_own_question(
    previous: str, followup: str, kept: str
) -> None:
    # Without 'the same', 'different' or 'apply', it is not the previous question again.
    rewritten = condense_locally(followup, [Turn(question=previous, answer="…")])
    assert kept in rewritten and not rewritten.startswith(previous.rstrip("?"))


def test_a_turn_about_another_model_ends_the_search_for_the_previous_topic() -> None:
    history = [
        Turn(question="What torque do the caliper bolts on the M4 take?", answer="25 N·m [1]"),
        Turn(question="Tell me about the Trikdis R11", answer="The R11 is a receiver [1]"),
    ]
    checked = condense_locally("how do I check it?", history)
    assert "torque" not in checked and "caliper" not in checked and "R11" in checked
    assert "M4" not in condense_locally("and the slide pins?", history)


@pytest.mark.parametrize(
    ("followup", "model"),
    [
        ("is it the same on the ender 5?", "ender 5"),
        ("does that apply to the Ender 3 Pro?", "Ender 3 Pro"),
        ("is it the same for the Prusa 3?", "Prusa 3"),
    ],
)
def test_the_same_question_of_a_named_model_after_a_preposition_replaces_the_subject(
    followup: str, model: str
) -> None:
    history = [Turn(question="What's the max print speed on the Ender 3?", answer="…")]
    rewritten = condense_locally(followup, history)
    assert model in rewritten and "Ender 3 " not in rewritten.replace(model, "")
    assert "print speed" in rewritten


@pytest.mark.parametrize(
    ("previous", "followup", "expected"),
    [
        # a numbered part of the product is no product the follow-up continues with
        (
            "What is the wire size for zone 2 on the alarm panel?",
            "what about the siren?",
            "What about the siren? (wire size, zone 2)",
        ),
        (
            "What does error code 5 mean on the dryer?",
            "how do I clear it?",
            "How do I clear it? (error code 5, dryer)",
        ),
        # ...while a product typed lower case with its number still is
        (
            "What is the max print speed on the ender 3?",
            "what about the ender 5?",
            "What is the max print speed on the ender 5?",
        ),
    ],
)
def test_a_numbered_part_is_not_the_subject(previous: str, followup: str, expected: str) -> None:
    assert condense_locally(followup, _history(previous)) == expected


def test_a_device_that_is_off_is_not_a_value_off_its_limit() -> None:
    history = _history("What is the default IP address of the Trikdis RT2?")
    assert condense_locally("what if it's off?", history) == (
        "What if the Trikdis RT2 is off? (IP address)"
    )
    supply = _history("What supply voltage does the Trikdis RT2 accept?")
    assert condense_locally("what if it's off by 2 V?", supply).startswith(
        "What if the supply voltage is off by 2 V?"
    )


@pytest.mark.parametrize("followup", ["OK?", "and?", "ok, and?"])
def test_a_follow_up_asking_nothing_of_its_own_is_the_previous_question(followup: str) -> None:
    # Not '? (Ender 3, bed)' nor 'What about ? (Ender 3, bed)'.
    history = _history("How do I level the bed on the Ender 3?")
    assert condense_locally(followup, history) == "How do I level the bed on the Ender 3?"
