"""The extractive answer finds the fact when the manual words it differently from the question:
a value in the unit of the quantity asked for, a limit or amount stated in other words, a
sentence going on with 'However', and sentence ends inside quotes."""

from __future__ import annotations

from techdocs_app.providers.base import SourcePassage
from techdocs_app.providers.extractive.question import question_terms
from techdocs_app.providers.extractive.scoring import score_units
from techdocs_app.providers.local_answer import split_units
from techdocs_app.text.condenser_context import split_context
from tests.factories import extractive_answer, source_passage


def _source(text: str, *, number: int = 1, title: str = "X00 2001") -> SourcePassage:
    return source_passage(text, number=number, title=title, section="Specifications", page=2)


_answer = extractive_answer


async def test_a_value_in_the_unit_of_the_asked_quantity_answers_a_question_not_naming_it() -> None:
    source = _source(
        "Motherboard parameters:\n\n"
        "Board layers: 4 layer board;\n\n"
        "Appearance size: 100.75 * 70.25mm\n\n"
        "Input: DC 12 / 24 V"
    )
    answer = await _answer("What are the board dimensions?", [source])
    # No word of the question is in the line, but millimetres state dimensions.
    assert "Appearance size: 100.75 * 70.25mm" in answer
    assert "24 V" not in answer


async def test_how_long_is_answered_by_the_sentence_stating_a_time() -> None:
    source = _source(
        "Connect the power supply cable to the mains socket of the receiver.\n\n"
        "The receiver keeps a log of the last 1000 events.\n\n"
        "Note: Receiver will fully shut down only 2 minutes after turning off the power supply!",
        title="trikdis rl14",
    )
    answer = await _answer("I pulled the mains on the RL14, how long before it is dead?", [source])
    assert "fully shut down only 2 minutes after" in answer


async def test_the_lowest_value_is_found_where_the_manual_says_down_to() -> None:
    source = _source(
        "Table 57. USB DC electrical characteristics\n"
        "Symbol | Parameter | Min. | Max. | Unit\n"
        "VDD | USB operating voltage | 3.0 | 3.6 | V\n"
        "tSTARTUP | USB transceiver startup time | | 1 | μs\n\n"
        "The USB functionality is ensured down to 2.7 V but not the full USB electrical "
        "characteristics which are degraded in the 2.7-to-3.0 V VDD voltage range.",
        title="stm32f103 datasheet",
    )
    answer = await _answer("What's the lowest VDD for USB?", [source])
    assert "ensured down to 2.7 V" in answer


async def test_how_much_is_found_where_the_manual_says_the_amount_of() -> None:
    source = _source(
        "Lace or tie bundles tightly enough to prevent slipping, but not so tightly that the "
        "cord or tape cuts into the insulation.\n\n"
        "To fill the shuttle for a single lace, measure the cord, cut it, and wind it on the "
        "shuttle.\n\n"
        "The amount of flat tape or cord required to single lace a group of conductors is about "
        "two and one-half times the length of the longest conductor.",
        title="neets module4",
    )
    answer = await _answer("How much lacing tape do I cut to single-lace a bundle?", [source])
    assert "two and one-half times the length of the longest conductor" in answer


async def test_a_sentence_opening_with_however_goes_on_with_the_chosen_one() -> None:
    source = _source(
        "A transformer in the soldering gun supplies approximately 1 volt at high current to a "
        "loop of copper, which acts as the soldering tip. It heats to soldering temperature in "
        "3 to 5 seconds. However, it may overheat to the point of incandescence if left on over "
        "30 seconds.\n\n"
        "Solder is an alloy of tin and lead.",
        title="neets module4",
    )
    answer = await _answer("The soldering gun loop glows when I hold the trigger, why?", [source])
    assert "It heats to soldering temperature" in answer
    assert "However, it may overheat to the point of incandescence" in answer


def test_a_sentence_ends_inside_a_closing_quote() -> None:
    source = _source(
        'In figure 3-1, note that the cable is marked "C-MB144." The letter C denotes the '
        "service. The letters MB denote the circuit."
    )
    texts = [u.text for u in split_units(source)]
    assert texts == [
        'In figure 3-1, note that the cable is marked "C-MB144."',
        "The letter C denotes the service.",
        "The letters MB denote the circuit.",
    ]


def test_a_possessive_s_is_not_a_question_word() -> None:
    # 's' would match every value in seconds.
    assert "s" not in question_terms("What's the F103's lowest VDD?")
    assert question_terms("What's the F103's lowest VDD?") == ["f103", "lowest", "vdd"]


def test_a_contraction_is_not_a_question_word() -> None:
    # "won't" and "doesn't" are not 'won', 't' and 'doesn' to look for.
    terms = question_terms("the board won't boot and the LED doesn't light, can't flash it")
    assert {"won", "t", "doesn", "can"}.isdisjoint(terms)
    assert {"board", "boot", "led", "light", "flash"} <= set(terms)


async def test_a_shop_word_matches_the_word_the_manual_uses() -> None:
    source = _source(
        "The RAM is 64 KB.\n\n"
        "Standby mode is the lowest power mode.\n\n"
        "After standby the SRAM contents are lost."
    )
    # 'wiped' is how a technician says it; the manual says 'lost'.
    answer = await _answer("RAM wiped after standby, why?", [source])
    assert "After standby the SRAM contents are lost." in answer
    assert "lowest power mode" not in answer


def test_a_value_in_the_asked_unit_weighs_as_any_stated_value() -> None:
    # Both lines name the asked-for words and state a value; the unit of the value ('V' for a
    # voltage) does not make one a better answer than the other.
    units = split_units(
        _source("Supply voltage at start-up: 12 V.\n\nSupply voltage check: every 10 min.")
    )
    score_units("What is the supply voltage?", units, 1)
    assert units[0].score == units[1].score


def test_only_a_trailing_parenthesis_is_the_condensers_context() -> None:
    assert split_context("And the kissoff duration? (RT2 receiving module)") == (
        "And the kissoff duration?",
        "RT2 receiving module",
    )
    question = "how big a diff signal (mVpp) can I drive into the input?"
    assert split_context(question) == (question, "")


async def test_words_after_a_parenthesis_of_the_technician_are_asked_for() -> None:
    source = _source(
        "Electrical Characteristics\n"
        "| Parameter | Symbol | Min | Max | Unit |\n"
        "|---|---|---|---|---|\n"
        "| Supply voltage | Vcc | 3.1 | 3.5 | V |\n"
        "| Differential input voltage swing | Vin,pp | 180 | 900 | mVpp |\n"
        "| Single-ended output voltage | | -0.3 | 4.0 | V |\n"
    )
    answer = await _answer("how big a diff signal (mVpp) can I drive into the input?", [source])
    assert "| Differential input voltage swing | Vin,pp | 180 | 900 | mVpp |" in answer
    assert "Single-ended output voltage" not in answer


def test_a_value_typed_with_its_unit_is_also_its_number() -> None:
    terms = question_terms("how far off 3.3v can the rail be? and the 5v pins, 12mm screws?")
    assert {"3.3v", "3.3", "5v", "5", "12mm", "12"} <= set(terms)
    # Part and model names are not values: 'f103', 'e3' and '100g' stay whole.
    assert {"f103", "e3", "100g"} <= set(question_terms("f103 on the e3 board, 100g optic"))
    assert not {"103", "3", "100"} & set(question_terms("f103 on the e3 board, 100g optic"))


async def test_a_unit_the_question_names_asks_for_its_quantity() -> None:
    source = _source(
        "Each of the GPIO pins can be configured as input with or without pull-up or "
        "pull-down.\n\n"
        "Table 35. I/O static characteristics\n\n"
        "| Symbol | Parameter | Conditions | Min | Typ | Max | Unit |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        "| RPU | Weak pull-up equivalent resistor | VIN = VSS | 30 | 40 | 50 | kΩ |\n"
        "| VIL | Input low level voltage | | -0.5 | | 0.8 | V |"
    )
    answer = await _answer("internal pullup value in kohms?", [source])
    # 'kohms' asks for a resistance: the row stating one in kΩ answers.
    assert answer.index("30 | 40 | 50") < answer.find("GPIO pins") or "GPIO pins" not in answer


async def test_an_amount_written_in_words_is_a_value() -> None:
    source = _source(
        "Lace or tie bundles tightly enough to prevent slipping, but not so tightly that the "
        "tape cuts into the insulation.\n\n"
        "The amount of flat tape required to lace a group of conductors is about two and "
        "one-half times the length of the longest conductor."
    )
    answer = await _answer("How much lacing tape do I cut to single-lace a bundle?", [source])
    assert answer.startswith("The amount of flat tape")


async def test_an_accuracy_is_stated_as_an_error_or_tolerance() -> None:
    source = _source(
        "The module reports its temperature reading over the two-wire interface.\n\n"
        "| Parameter | Symbol | Min | Max | Unit |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| Temperature monitor absolute error | DMI_Temp | -3 | 3 | degC |\n"
        "| Supply voltage monitor absolute error | DMI_VCC | -0.1 | 0.1 | V |"
    )
    question = "How accurate is the temperature reading?"
    answer = await _answer(question, [source])
    assert "Temperature monitor absolute error" in answer
    # 'accurate' is no word of the row: its 'absolute error' states the accuracy.
    units = split_units(source)
    score_units(question, units, 1)
    row = next(u for u in units if "Temperature monitor" in u.text)
    assert "accurat" in row.matched


async def test_a_why_question_naming_a_power_asks_for_no_value() -> None:
    source = _source(
        "| Symbol | Parameter | Conditions | Max | Unit |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| tERASE | RAM page erase time | TA = 25 °C | 40 | ms |\n\n"
        "After entering Standby mode, RAM contents are lost when the regulator is off."
    )
    answer = await _answer("it comes back from low power with RAM wiped, why?", [source])
    assert answer.startswith("After entering Standby mode")
