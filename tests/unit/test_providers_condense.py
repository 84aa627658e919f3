"""Condensers: the offline rules on the dev set's follow-up chains, and Claude via the local fake."""

from __future__ import annotations

import json

import pytest

from techdocs_app.providers.anthropic_condense import ClaudeCondenser
from techdocs_app.providers.base import Condenser, Turn
from techdocs_app.providers.local_condense import LocalCondenser, condense_locally, is_followup
from tests.conftest import DEV_QUESTIONS
from tests.fakes.vendors import FakeVendors

DEV = DEV_QUESTIONS  # ../shared/eval/dev.jsonl, or TECHDOCS_EVAL_DIR's (a clone elsewhere)


def _turn(question: str, standalone: str = "") -> Turn:
    return Turn(question=question, answer="(answer)", standalone_query=standalone or question)


def test_standalone_questions_unchanged() -> None:
    history = [_turn("What is the factory default IP address of the RL14 receiver's network card?")]
    for question in (
        "What torque should the Ender 3 nozzle be tightened to?",
        "How do I restore the RL14's default network adapter IP addresses?",
        "Which MCU is used on the BTT SKR MINI E3 V2.0 board?",
    ):
        assert not is_followup(question, history)
        assert condense_locally(question, history) == question
    assert condense_locally("And the slide pins?", []) == "And the slide pins?"


def test_pronoun_replaced_by_previous_subject() -> None:
    history = [_turn("What Rx sensitivity and overload does the TS2017-S31C-SO have?")]
    assert (
        condense_locally("Where does it assert and clear LOS?", history)
        == "Where does the TS2017-S31C-SO assert and clear LOS?"
    )
    history = [
        _turn("The Power LED on my R11 receiver is blinking yellow. What does that indicate?")
    ]
    assert (
        condense_locally("And what supply voltage is it supposed to get?", history)
        == "What supply voltage is the R11 receiver supposed to get?"
    )
    brakes = [_turn("How do I replace the front brake pads on a 2015 Ford F-150?")]
    assert condense_locally("what about its torque specs?", brakes).startswith(
        "What about the Ford F-150's torque specs?"
    )


def test_short_followups_carry_noun_phrases() -> None:
    history = [
        _turn("Which Contact ID code does the R11 use for high RF noise, and does it send it?")
    ]
    condensed = condense_locally("And once the noise clears?", history)
    assert condensed.startswith("Once the noise clears? (")
    for phrase in ("R11", "Contact ID code", "RF noise"):
        assert phrase in condensed
    brakes = [_turn("How do I replace the front brake pads on a 2015 Ford F-150?")]
    condensed = condense_locally("and the slide pins?", brakes)
    assert condensed.startswith("What about the slide pins of the Ford F-150?")
    assert "brake pads" in condensed


def test_dev_set_followup_chains_keep_their_subject() -> None:
    """Every follow-up in dev.jsonl, asked after its chain, names what the chain was about."""
    rows = {row["id"]: row for row in map(json.loads, DEV.read_text().splitlines())}
    expected = {  # a word of the subject each follow-up leaves implicit
        "d08": "R11",
        "d11": "RL14",
        "d43": "RF noise",
        "d55": "TS2017-S31C-SO",
        "d64": "F103",
        "d65": "F103",
        "d73": "lacing tape",
        "d74": "double-lace",
    }
    standalone: dict[str, str] = {}
    checked = 0
    for rid, row in rows.items():
        if not row.get("followup_of"):
            continue
        chain, parent = [], row["followup_of"]
        while parent:
            chain.insert(0, parent)
            parent = rows[parent].get("followup_of")
        history = [_turn(rows[c]["question"], standalone.get(c, "")) for c in chain]
        assert is_followup(row["question"], history), rid
        standalone[rid] = condense_locally(row["question"], history)
        assert expected[rid] in standalone[rid], (rid, standalone[rid])
        checked += 1
    assert checked == len(expected)


HISTORY = [_turn("What Rx sensitivity and overload does the TS2017-S31C-SO have?")]


def _claude(fake: FakeVendors, timeout_s: float = 5.0) -> ClaudeCondenser:
    return ClaudeCondenser(api_key="k", base_url=fake.url, model="claude-test", timeout_s=timeout_s)


async def test_local_condenser_protocol() -> None:
    condenser = LocalCondenser()
    assert isinstance(condenser, Condenser)
    assert await condenser.condense(
        question="Where does it assert and clear LOS?", history=HISTORY
    ) == ("Where does the TS2017-S31C-SO assert and clear LOS?")


async def test_claude_condenser_returns_rewrite(fake: FakeVendors) -> None:
    fake.state.message_text = '"Where does the TS2017-S31C-SO assert and clear LOS?"\n'
    condenser = _claude(fake)
    assert isinstance(condenser, Condenser)
    result = await condenser.condense(
        question="Where does it assert and clear LOS?", history=HISTORY
    )
    assert result == "Where does the TS2017-S31C-SO assert and clear LOS?"
    (call,) = fake.state.requests_to("messages")
    assert not call.body.get("stream")
    assert call.body["model"] == "claude-test"
    assert "standalone" in call.body["system"]
    content = call.body["messages"][0]["content"]
    assert "TS2017-S31C-SO" in content and "Follow-up question: Where does it" in content


async def test_claude_condenser_skips_call_without_history(fake: FakeVendors) -> None:
    assert await _claude(fake).condense(question="  What is LOS? ", history=[]) == "What is LOS?"
    assert fake.state.requests_to("messages") == []


@pytest.mark.parametrize("status", [500, 529])
async def test_claude_condenser_falls_back_on_error(fake: FakeVendors, status: int) -> None:
    fake.state.fail_next("messages", status)
    result = await _claude(fake).condense(
        question="Where does it assert and clear LOS?", history=HISTORY
    )
    assert result == "Where does the TS2017-S31C-SO assert and clear LOS?"


async def test_claude_condenser_falls_back_on_timeout_and_empty(fake: FakeVendors) -> None:
    fake.state.delay_s["messages"] = 2.0
    result = await _claude(fake, timeout_s=0.2).condense(
        question="Where does it assert and clear LOS?", history=HISTORY
    )
    assert result == "Where does the TS2017-S31C-SO assert and clear LOS?"
    fake.reset()
    fake.state.message_text = "   "
    result = await _claude(fake).condense(
        question="Where does it assert and clear LOS?", history=HISTORY
    )
    assert result == "Where does the TS2017-S31C-SO assert and clear LOS?"


def test_a_code_of_the_same_kind_replaces_the_old_one() -> None:
    history = [_turn("What does error E04 mean on the RL14?")]
    assert condense_locally("And E05?", history) == "What does error E05 mean on the RL14?"
    assert condense_locally("what about E12 then?", history) == (
        "What does error E12 mean on the RL14?"
    )
    usart = [_turn("What are the pins of USART1 on the STM32F103?")]
    assert condense_locally("and USART2?", usart) == "What are the pins of USART2 on the STM32F103?"


def test_a_prepositional_followup_narrows_the_previous_question() -> None:
    history = [_turn("What are the pins of USART1 on the STM32F103?")]
    assert condense_locally("what about on the 48-pin package?", history) == (
        "What are the pins of USART1 on the STM32F103 on the 48-pin package?"
    )


def test_a_new_value_in_the_same_slot_replaces_the_old_one() -> None:
    sensitivity = [_turn("What is the receiver sensitivity of the TS2017-S31C-SO at 25GE?")]
    assert condense_locally("and at 10GE?", sensitivity) == (
        "What is the receiver sensitivity of the TS2017-S31C-SO at 10GE?"
    )
    method = [_turn("How do I set the bearing end play with Set-Right?")]
    assert condense_locally("and with Acro-Set?", method) == (
        "How do I set the bearing end play with Acro-Set?"
    )


def test_a_new_model_after_a_preposition_replaces_the_subject() -> None:
    history = [_turn("What is the supply voltage of the Trikdis RT2?")]
    assert (
        condense_locally("and for the RL14?", history) == "What is the supply voltage of the RL14?"
    )
    assert condense_locally("What about for the R11?", history) == (
        "What is the supply voltage of the R11?"
    )
    # A thing that carries a code is not a model: it narrows the question.
    usart = [_turn("What are the pins of USART1 on the STM32F103?")]
    assert condense_locally("and in the LQFP64 package?", usart) == (
        "What are the pins of USART1 on the STM32F103 in the LQFP64 package?"
    )


def test_an_adjective_is_not_a_variant_and_a_noun_phrase_stays_a_question() -> None:
    led = [_turn("What does the green D8 LED on the SKR MINI E3 V2.0 mean?")]
    assert "green red" not in condense_locally("what about the red one?", led)
    supply = [_turn("What is the supply voltage of the Trikdis RT2?")]
    assert condense_locally("and its current draw?", supply).startswith(
        "What about the Trikdis RT2's current draw?"
    )
    brakes = [_turn("How do I replace the brake pads on the front caliper?")]
    assert condense_locally("and the slide pins?", brakes).startswith("What about the slide pins?")


def test_a_value_with_its_unit_names_no_product() -> None:
    history = [_turn("What's the max clock of the STM32F103?")]
    assert condense_locally("does it have 5V-tolerant pins?", history).startswith(
        "Does the STM32F103 have 5V-tolerant pins?"
    )
    assert "STM32F103" in condense_locally("is there a 5V-tolerant pin?", history)


def test_a_value_shaped_like_the_old_one_replaces_it() -> None:
    osnr = [_turn("What OSNR does the Cisco CFP2-DCO need at 100G QPSK?")]
    assert condense_locally("what about 200G 8QAM?", osnr) == (
        "What OSNR does the Cisco CFP2-DCO need at 200G 8QAM?"
    )


def test_a_prepositional_phrase_alone_narrows_the_previous_question() -> None:
    baud = [_turn("What baud rate does the SKR MINI E3 V2.0 use over USB?")]
    assert condense_locally("in Marlin?", baud) == (
        "What baud rate does the SKR MINI E3 V2.0 use over USB in Marlin?"
    )
    # A question that starts with a preposition but has its own verb is not a fragment.
    assert is_followup("In which mode does the RL14 send SMS?", baud) is False


def test_plural_pronoun_takes_the_plural_noun_phrase_not_the_model() -> None:
    """'they'/'them'/'their' agree in number: the bolts, not the caliper; the model moves to the
    context. Without a plural noun phrase the subject still stands in."""
    history = [_turn("What torque do the caliper bolts on the Brembo M4 take?")]
    assert condense_locally("How often should I check them?", history) == (
        "How often should I check the caliper bolts? (Brembo M4, torque)"
    )
    assert condense_locally("what is their thread size?", history) == (
        "What is the caliper bolts' thread size? (Brembo M4, torque)"
    )
    history = [_turn("What input voltage range does the PX-220 controller accept?")]
    assert condense_locally("How warm do they run?", history).startswith(
        "How warm do the PX-220 controller run?"
    )


def test_a_negated_verb_ends_the_topic_phrase() -> None:
    """'bed won't heat': 'won't heat' is the complaint, not part of a noun phrase."""
    history = [_turn("ender 3 bed won't heat, what should I check?")]
    rewritten = condense_locally("where's the thermistor plug?", history)
    assert rewritten.startswith("Where's the thermistor plug? (")
    assert "ender 3" in rewritten and "bed" in rewritten
    assert "won't" not in rewritten and "heat" not in rewritten


def test_a_name_with_another_number_replaces_the_old_one_whatever_its_case() -> None:
    """'what about the ender 5?' after '… on the ender 3?': a sibling in the same family, written
    in a technician's lower case, replaces the old name instead of being appended to it."""
    history = [_turn("What's the max print speed on the ender 3?")]
    assert condense_locally("what about the ender 5?", history) == (
        "What's the max print speed on the ender 5?"
    )
    history = [_turn("What voltage is on pin 1 of the SWD header?")]
    assert condense_locally("and pin 3?", history) == "What voltage is on pin 3 of the SWD header?"


def test_it_after_a_yes_no_question_is_the_object_it_introduced() -> None:
    """'Does it come with a SIM card?' introduces the card: 'Where does it go?' asks about the card,
    on the conversation's subject. A wh-question introduces nothing: 'it' stays the subject."""
    history = [
        _turn(
            "Does it come with a SIM card?",
            "Does the RL14's built-in SMS modem come with a SIM card?",
        )
    ]
    assert condense_locally("Where does it go?", history) == "Where does the SIM card go? (RL14)"
    fan = [_turn("Does the PX-220 controller have a cooling fan?")]
    assert condense_locally("How loud is it?", fan) == "How loud is the cooling fan? (PX-220)"
    assert condense_locally("Is it possible to add one?", fan) == (
        "Is it possible to add one? (PX-220 controller, cooling fan)"
    )
    wh = [_turn("What Rx sensitivity and overload does the TS2017-S31C-SO have?")]
    assert condense_locally("Where does it assert and clear LOS?", wh) == (
        "Where does the TS2017-S31C-SO assert and clear LOS?"
    )


def test_that_head_word_takes_the_phrase_with_the_same_head() -> None:
    """'that formula' is the previous question's formula; else the one named mode the previous
    answer mentions. An answer naming several modes does not say which: nothing is guessed."""
    formula = [_turn("How do I use the Projecta-Set setting formula on a pinion shaft?")]
    assert condense_locally("What's K in that formula?", formula).startswith(
        "What's K in the Projecta-Set setting formula?"
    )

    def after(answer: str) -> str:
        turn = Turn(
            question="f103 comes back from low power with all my RAM variables wiped, why?",
            answer=answer,
        )
        return condense_locally("What can wake it from that mode?", [turn])

    assert after("In Standby mode the SRAM contents are lost [1].").startswith(
        "What can wake the f103 from the Standby mode?"
    )
    assert after("Sleep mode keeps SRAM; in Standby mode it is lost [1].").startswith(
        "What can wake the f103 from that mode?"
    )
    # 'that one' is a pro-form, not a head word.
    lace = [_turn("When do I have to double-lace instead?")]
    assert condense_locally("How do I start that one?", lace).startswith("How do I start that one?")


def test_an_elliptical_followup_carries_the_previous_topic_like_any_followup() -> None:
    """'What about the X of the <subject>?' keeps the previous question's topic, a one-word name
    included ('Cura'), as the other rewrites do: 'build volume' alone is in every printer page."""
    history = [_turn("How do I add the PX-220 printer in Cura?")]
    condensed = condense_locally("and the build volume?", history)
    assert condensed.startswith("What about the build volume of the PX-220 printer? (")
    assert "Cura" in condensed


def test_a_new_model_of_the_same_family_replaces_the_subject() -> None:
    supply = [_turn("What is the supply voltage of the Trikdis RT2?")]
    assert condense_locally("what about the R11?", supply) == (
        "What is the supply voltage of the R11?"
    )
    nozzle = [_turn("What's the max nozzle temperature on the Ender 3?")]
    assert condense_locally("what about the Ender 3 Pro?", nozzle) == (
        "What's the max nozzle temperature on the Ender 3 Pro?"
    )
    drivers = [_turn("What stepper drivers does the SKR MINI E3 V2.0 use?")]
    assert condense_locally("and the SKR MINI E3 V3.0?", drivers) == (
        "What stepper drivers does the SKR MINI E3 V3.0 use?"
    )
    optic = [_turn("What is the output power of the QSFP-100G-ER4L-A-FL?")]
    assert condense_locally("same for the QSFP-100G-LR4?", optic) == (
        "What is the output power of the QSFP-100G-LR4?"
    )
    # The family word alone names no model: the subject's model number is not dropped.
    speed = [_turn("What is the max print speed on the Ender 3?")]
    assert "Ender 3" in condense_locally("what about the Ender?", speed)
    springs = [_turn("How much torque should I use on the Ender 3 bed springs?")]
    assert condense_locally("same for the Ender 5?", springs) == (
        "How much torque should I use on the Ender 5 bed springs?"
    )
    # A code after a name that ends in a number is its version, not another model; a part of
    # the subject is not another model either.
    assert "Ender 3" in condense_locally("what about the V2?", springs)
    assert "Ender 3" in condense_locally("and the Ender 3 bed?", nozzle)


def test_a_version_is_named_not_glued_to_the_subject() -> None:
    sensitivity = [_turn("What is the receiver sensitivity of the TS2017-S31C-SO?")]
    assert condense_locally("what about the LR version?", sensitivity) == (
        "What is the receiver sensitivity of the LR version of the TS2017-S31C-SO?"
    )
    flash = [_turn("What is the flash size of the STM32F103C8?")]
    assert condense_locally("what about the RB variant?", flash) == (
        "What is the flash size of the RB variant of the STM32F103C8?"
    )
    band = [_turn("What VHF frequency range does the Trikdis R11 cover?")]
    assert condense_locally("And the U version?", band) == (
        "What VHF frequency range does the Trikdis R11U cover?"
    )


def test_a_value_after_a_preposition_is_a_condition_not_a_model() -> None:
    history = [_turn("What is the receiver sensitivity of the TS2017-S31C-SO?")]
    assert condense_locally("and at 10GE?", history) == (
        "What is the receiver sensitivity of the TS2017-S31C-SO at 10GE?"
    )


def test_a_verb_after_a_personal_pronoun_or_an_adjective_after_how_is_not_a_topic() -> None:
    """'do I cut', 'how do I measure', 'how accurate': the verb or adjective names nothing a
    passage is about; the nouns do."""
    tape = [_turn("How much lacing cord do I cut for a PX-220 harness?")]
    condensed = condense_locally("how tight should it be?", tape)
    assert "lacing cord" in condensed and "cut" not in condensed
    bearing = [_turn("How do I measure end play on a tapered roller bearing?")]
    condensed = condense_locally("what tool do I need?", bearing)
    assert condensed == "What tool do I need? (tapered roller bearing, end play)"
    reading = [_turn("How accurate is the DDM temperature reading on the PX-220?")]
    assert condense_locally("what's the range?", reading) == (
        "What's the range? (PX-220, DDM temperature reading)"
    )


def test_a_noun_ending_in_ly_is_a_noun() -> None:
    """'-ly' words are adverbs ('typically'), but 'supply' and 'assembly' name things."""
    heater = [_turn("What electrical supply does the PX-220 heating tool need?")]
    assert condense_locally("how long does it take?", heater).endswith("(electrical supply)")
    hotend = [_turn("How do I remove the hotend assembly of the PX-220?")]
    assert condense_locally("what torque?", hotend) == "What torque? (PX-220, hotend assembly)"
    # 'apply' is a verb, not a noun like 'supply' (the ending 'pply' made it one).
    from techdocs_app.providers.local_condense import _is_noun_like

    assert [_is_noun_like(w) for w in ("supply", "subassembly", "apply", "typically")] == [
        True,
        True,
        False,
        False,
    ]
