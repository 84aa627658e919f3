"""The extractive answer finds the row or sentence a technician's wording asks for: a code named
words away from the product, measures asked as 'how big', and shop words for the manual's own."""

from __future__ import annotations

from techdocs_app.providers.base import SourcePassage
from techdocs_app.providers.extractive.question import question_terms, subject_terms
from techdocs_app.providers.extractive.scoring import asked_cues, score_units
from techdocs_app.providers.extractive.units import split_units
from tests.factories import extractive_answer, source_passage


def _source(text: str, *, number: int = 1, title: str = "X00 2001") -> SourcePassage:
    return source_passage(text, number=number, title=title, section="Specifications", page=2)


_answer = extractive_answer


def test_a_code_words_away_from_the_model_name_is_asked_for_not_the_product() -> None:
    sources = [_source("Event codes", title="trikdis r11")]
    assert subject_terms("getting e712 from an r11, what is it", sources) == {"r11"}
    # A model-number part right next to the name still names the product.
    assert subject_terms("bed size of the ender 3?", [_source("x", title="ender3 quickstart")]) == {
        "ender",
        "3",
    }


async def test_a_fault_code_named_away_from_the_model_finds_its_row() -> None:
    source = _source(
        "R11 event codes\n"
        "Event | RAS-3D change into | ECID | Note\n"
        "Power ON | 0330199000 | R301 99 000 | do not send\n"
        "Low Battery | 0130299000 | E302 99 000 | send\n"
        "MCI Error | 0171299000 | E712 99 000 | do not send",
        title="trikdis r11",
    )
    answer = await _answer("getting e712 from an r11, what is it", [source])
    assert "MCI Error" in answer
    assert "Low Battery" not in answer


def test_time_size_and_distance_questions_ask_for_their_units() -> None:
    # The stems of 'time', 'size' and 'distance' ('tim', 'siz', 'distanc') name their cues too.
    for question, unit in (
        ("What is the wake-up time?", "10 ms"),
        ("What size is the board?", "70 mm"),
        ("What is the maximum distance?", "40 km"),
        ("How big is the board?", "70 mm"),
    ):
        cues = asked_cues(question, question_terms(question))
        assert any(cue.value and cue.stated.search(unit) for _, cue in cues), question


async def test_how_big_is_answered_by_the_line_stating_a_size() -> None:
    source = _source(
        "BTT SKR MINI E3 V2.0 is a customized motherboard for Ender3 printers.\n\n"
        "Installation size: check BTT SKR MINI E3 V2.0-SIZE.pdf for details\n\n"
        "Appearance size: 100.75 * 70.25mm\n\n"
        "Display: 2.4 inch TFT, Ender3 original LCD12864 screen, etc.",
        title="btt skr mini e3 v2 manual",
    )
    answer = await _answer("how big is the skr mini e3 v2 pcb? will it fit the case?", [source])
    # The product's name in the asked-for phrase ('… the skr mini e3 v2 pcb') is not what is
    # asked: the line stating millimetres is.
    assert answer.startswith("Appearance size: 100.75 * 70.25mm")


async def test_a_table_row_labelled_in_the_manuals_words_for_a_shop_word_is_quoted() -> None:
    title = "Arista QSFP-100G-ERL4 Datasheet"
    overview = _source(
        "The high-performance LAN WDM optic transmitters and high sensitivity APD receivers "
        "provide superior performance for 100G links up to 32 km.",
        title=title,
    )
    table = _source(
        "| Parameter | Symbol | Min | Max | Unit |\n"
        "|---|---|---|---|---|\n"
        "| Average Launch Power, each Lane | PAVG | -2.5 | 6.5 | dBm |\n"
        "| Receiver Sensitivity (OMA), each Lane | PRX | | -15 | dBm |\n"
        "| Damage Threshold, each Lane | THd | -6 | | dBm |",
        number=2,
        title=title,
    )
    answer = await _answer("er4l optic - what's the rx sens per lane?", [overview, table])
    # 'rx sens' is the row labelled 'Receiver Sensitivity' (its label scores as the asked-for
    # words): it leads, before the sentence about sensitive receivers.
    assert answer.startswith("| Parameter")
    assert "| Receiver Sensitivity (OMA), each Lane |" in answer


TROUBLESHOOTING = _source(
    "Troubleshooting\n"
    "| Symptom | Possible cause | Remedy |\n"
    "|---|---|---|\n"
    "| Nozzle does not heat | Thermistor connector unplugged | Reconnect the thermistor cable |\n"
    "|  | Heater cartridge open circuit | Replace the heater cartridge |\n"
    "|  | Hot end fuse blown | Replace fuse F2 (5 A) |\n"
    "| Bed does not heat | MOSFET failed | Replace the mainboard |\n"
    "| Display stays blank | Ribbon cable loose | Reseat the display cable |",
    title="P100 service manual",
)


async def test_every_cause_of_a_symptom_in_a_merged_cell_is_quoted() -> None:
    answer = await _answer(
        "hot end won't warm up on the P100, nozzle does not heat, why?", [TROUBLESHOOTING]
    )
    # The rows under the merged 'Nozzle does not heat' cell are its other causes and remedies.
    assert "Reconnect the thermistor cable" in answer
    assert "Replace the heater cartridge" in answer
    assert "Replace fuse F2" in answer
    assert "Ribbon cable loose" not in answer


def test_a_cause_under_a_merged_symptom_cell_matches_that_symptom() -> None:
    units = split_units(TROUBLESHOOTING)
    score_units("P100 nozzle does not heat, why?", units, 1)
    cartridge = next(u for u in units if "Heater cartridge" in u.text)
    # The row names no symptom in its own cells; the merged cell above it does.
    assert {"nozzl", "heat"} <= cartridge.matched and cartridge.score > 0


async def test_a_checklist_introduced_by_a_colon_is_quoted_whole() -> None:
    source = _source(
        "Printer does not start\n\n"
        "If the printer does not start, check the following:\n"
        "• The mains switch on the rear panel is off.\n"
        "• Fuse F1 on the power board is blown (replace with 5 A slow-blow).\n"
        "• The voltage selector on the PSU is set to 115 V on a 230 V supply.\n\n"
        "Display is blank\n\n"
        "If the display stays blank, reseat the ribbon cable at both ends.",
        title="P100 service manual",
    )
    answer = await _answer("P100 does not start, what should I check?", [source])
    # Every item of the checklist is a cause to check, the last one too.
    assert "The mains switch on the rear panel is off." in answer
    assert "The voltage selector on the PSU is set to 115 V" in answer
    assert "ribbon cable" not in answer


async def test_a_why_question_is_answered_by_the_sentence_stating_a_cause() -> None:
    source = _source(
        "Soldering gun\n\n"
        "A transformer in the soldering gun supplies about 1 volt at high current to the tip. "
        "The gun heats the tip to soldering temperature in 3 to 5 seconds.\n\n"
        "Heating and cooling cycles loosen the nuts that hold the tips. When the nut on a gun "
        "becomes loose, the resistance of the tip connection increases.",
        title="soldering handbook",
    )
    answer = await _answer("gun tip gets less and less hot as the week goes on, why?", [source])
    # The condition that causes it ('When …') is the answer, not how fast the gun heats: its
    # paragraph opens the answer.
    assert answer.startswith(
        "Heating and cooling cycles loosen the nuts that hold the tips. When the nut on a gun "
        "becomes loose"
    )


async def test_a_short_answer_takes_the_runner_up() -> None:
    source = _source(
        "| Parameter | Description |\n"
        "|---|---|\n"
        "| Weight | 2.1 kg |\n"
        "| Dimensions | 19 inch 1U (450 x 50 x 320 mm) |\n"
        "| Housing | Steel, black |",
        title="trikdis rl14",
    )
    answer = await _answer("how big and heavy is the rl14?", [source])
    # 'Weight 2.1 kg' alone is four words: the close runner-up (the size) comes along.
    assert "2.1 kg" in answer and "450 x 50 x 320 mm" in answer
    assert "Steel" not in answer


async def test_a_review_question_in_the_manual_is_not_an_answer() -> None:
    source = _source(
        "Q3. What stripping tool would NOT be used to strip glass braid insulation?\n"
        "Q4. What tool should be used to strip aluminum wire?\n\n"
        "Take extreme care when stripping aluminum wire. A knife is the required tool to strip "
        "aluminum wire.",
        title="neets module4",
    )
    answer = await _answer("best tool to strip aluminium wire?", [source])
    assert "A knife is the required tool" in answer
    assert "Q4." not in answer


async def test_a_word_with_a_doubled_consonant_matches_its_root() -> None:
    source = _source(
        "Grasp the wire firmly and dip it into the flux to a depth of about 1/8 inch.\n\n"
        "Dip only half of the stripped conductor length into the solder.",
        title="neets module4",
    )
    # The previous turn's words (in parentheses) name the subject; 'dipping' is what is asked.
    answer = await _answer("What about dipping it in the pot? (solder pot, tinning wire)", [source])
    assert "Dip only half of the stripped conductor length" in answer


async def test_a_question_for_rates_takes_the_sentence_stating_them() -> None:
    source = _source(
        "The line rate and modulation scheme associated with the same are both software "
        "settable on the pluggable. One could choose between 100G QPSK, 200G 8-QAM, 200G 16-QAM "
        "on the same pluggable module by software actuation.\n\n"
        "The module is hot-pluggable.",
        title="Cisco CFP2-DCO data sheet",
    )
    answer = await _answer("What line rates does the CFP2 support?", [source])
    assert "100G QPSK, 200G 8-QAM, 200G 16-QAM" in answer


async def test_which_one_cannot_is_answered_by_the_exception() -> None:
    usarts = _source(
        "The device has up to five USARTs, all running at up to 4.5 Mbit/s.\n\n"
        "USART1, USART2 and USART3 can use DMA requests to transmit and receive, and USART4 can "
        "use the DMA too.",
        title="stm32f103 datasheet",
    )
    dma = _source(
        "Serial interfaces: all interfaces can be served by the DMA controller except for UART5.",
        number=2,
        title="stm32f103 datasheet",
    )
    answer = await _answer("Which USART can't use DMA?", [usarts, dma])
    # The exception answers 'which one can't': it leads.
    assert answer.startswith("Serial interfaces: all interfaces can be served by the DMA")


async def test_a_code_to_decode_is_explained_part_by_part() -> None:
    source = _source(
        "Aircraft Wire-Marking Systems\n\n"
        "All aircraft wiring is identified on wiring diagrams exactly as the wire is marked in "
        "the aircraft. Each wire is coded by a combination of letters and numbers imprinted on "
        "the wire at prescribed intervals along the wire run.\n\n"
        "The first letter of the code is the circuit function letter. The wire number, 215, "
        "indicates that it is the 215th wire in the dc distribution system.",
        title="neets module4",
    )
    answer = await _answer("Decode the aircraft wire marking P215A4N.", [source])
    # The manual never writes the whole code: it explains its parts ('215').
    assert "The wire number, 215, indicates" in answer


LABELLED = _source(
    "8. Troubleshooting\n\n"
    "Problem: Paper jams at the fuser exit.\n"
    "Cause: The fuser exit rollers are worn.\n"
    "Solution: Replace the fuser unit (see 5.3).\n\n"
    "Problem: Prints are faint.\n"
    "Cause: Toner is low.\n"
    "Solution: Replace the toner cartridge.\n\n"
    "Problem: Printer shows error E05.\n"
    "Cause: Fuser thermistor open.\n"
    "Solution: Check the thermistor connector CN12.",
    title="LX500 service manual",
)


async def test_a_labelled_troubleshooting_entry_is_quoted_with_its_cause_and_remedy() -> None:
    answer = await _answer("paper keeps jamming at the fuser on the lx500, why?", [LABELLED])
    assert answer.startswith(
        "Problem: Paper jams at the fuser exit. Cause: The fuser exit rollers are worn. "
        "Solution: Replace the fuser unit (see 5.3)."
    )
    assert "Toner is low" not in answer


async def test_a_fault_code_brings_its_cause_and_remedy_lines() -> None:
    answer = await _answer("lx500 throwing E05", [LABELLED])
    assert "Cause: Fuser thermistor open. Solution: Check the thermistor connector CN12." in answer


def test_a_shop_word_names_the_cue_of_the_manuals_word() -> None:
    for question, stated in (("trikdis r11 vhf rx - what freqs can it tune?", "146 to 174 MHz"),):
        cues = asked_cues(question, question_terms(question))
        assert any(cue.value and cue.stated.search(stated) for _, cue in cues), question


def test_a_short_heading_ending_in_a_small_word_is_not_run_into_the_next_sentence() -> None:
    units = split_units(
        _source(
            "Printer does not power on\n"
            "If the printer does not power on, check the following:\n\n"
            "Connect the cable to the\n"
            "RT2 module and tighten the screws."
        )
    )
    texts = [u.text for u in units]
    assert texts[0] == "Printer does not power on" and units[0].heading
    assert texts[1].startswith("If the printer does not power on")
    # A sentence wrapped before a name stays one sentence.
    assert "Connect the cable to the RT2 module and tighten the screws." in texts


async def test_a_symptom_heading_keeps_its_whole_list_of_causes() -> None:
    source = _source(
        "Troubleshooting\n\n"
        "Layer shifting\n"
        "1. The X or Y belt is loose.\n"
        "2. Stepper driver current is too low.\n"
        "3. Print speed is too high.\n\n"
        "Warping\n"
        "1. Bed temperature too low.\n"
        "2. First layer not adhering.",
        title="LX500 service manual",
    )
    answer = await _answer("LX500 prints warping off the bed", [source])
    assert "Bed temperature too low." in answer
    assert "First layer not adhering." in answer


def test_the_article_of_a_suffix_is_no_code_character() -> None:
    # 'a suffix' asks whether there is one: the FAQ's 'A:' line defines nothing asked for.
    units = split_units(
        _source(
            "Q: Does the X00 ship on tape and reel?\nA: Contact your distributor.\n\n"
            "Tape and reel packing is available: order the TR suffix. Trays are standard."
        )
    )
    score_units("Is there a suffix for tape and reel on the X00?", units, 1)
    assert not any(u.defines for u in units)
    units = split_units(_source("Temperature range\n7 = Industrial temperature range"))
    score_units("What does the 7 digit at the end mean?", units, 1)
    assert any(u.defines for u in units)


def test_a_products_version_named_with_the_manual_is_no_document_version() -> None:
    wants = [
        ("document version" in named)
        for named, _ in asked_cues("What firmware version does the manual recommend?", [])
    ]
    assert not any(wants)
    assert any(
        "document version" in named
        for named, _ in asked_cues("What version is the X00 manual?", [])
    )
