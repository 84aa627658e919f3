"""What the extractive answer quotes: the asked-for values, whole steps in order, clean text."""

from __future__ import annotations

import re

from techdocs_app.providers.base import SourcePassage
from techdocs_app.providers.local_answer import ExtractiveAnswerer, select_units, split_units


def _source(number: int, text: str, *, title: str = "X00 2001", heading: str = "") -> SourcePassage:
    return SourcePassage(
        number=number,
        document_title=title,
        page_start=2,
        page_end=2,
        heading=heading or f"{title} > Specifications",
        text=text,
    )


async def _answer(question: str, sources: list[SourcePassage]) -> str:
    stream = ExtractiveAnswerer().stream_answer(question=question, sources=sources, history=[])
    return "".join([piece async for piece in stream])


SPECS = _source(
    1,
    "Specifications\n"
    "1. Receiving module RT2 provides data reception via telephonic lines. Type of telephone "
    "line is tonal or pulse.\n"
    "2. Receiving module RT2 operates with lines with operating voltage up to 65V. 3. Receiving "
    "module RT2 receives messages by using following protocols:\n"
    "Contact ID; Ademco Express 4+2; SIA Format\n"
    "4. Receiving module RT2 is mounted into receiver RD10 and is powered with its 12,6 V "
    "voltage. Permissible voltage variation is from 11 to 15 V. Current not exceeding 150 mA. "
    "5. Receiving module RT2 has four LEDs.",
)


async def test_spec_answer_keeps_the_values_of_the_same_item() -> None:
    answer = await _answer(
        "What supply voltage range and maximum current does the RT2 receiving module accept?",
        [SPECS],
    )
    assert "Permissible voltage variation is from 11 to 15 V." in answer
    assert "Current not exceeding 150 mA." in answer
    assert "four LEDs" not in answer  # names the module, says nothing that was asked
    # List numbers of the manual are not quoted as if they were the answer's.
    assert not re.search(r"(?:^|\s)\d\.\s+Receiving", answer)
    assert set(re.findall(r"\[(\d+)\]", answer)) == {"1"}


def test_inline_list_items_become_their_own_units_without_numbers() -> None:
    texts = [u.text for u in split_units(SPECS)]
    assert "Receiving module RT2 receives messages by using following protocols:" in texts
    assert not any(re.match(r"\d\.", t) for t in texts)


async def test_key_value_table_without_header_is_quoted_as_pairs() -> None:
    source = _source(
        1,
        "Configuring the receiver\n"
        "Default addresses of network adapter card:\n"
        "IP address | 192.168.100.3\n"
        "Port | 55000\n"
        "Subnet mask | 255.255.255.0\n\n"
        "Enter the default IP address of the receiver network adapter card and click OK.",
        title="trikdis rl14",
    )
    answer = await _answer(
        "What is the factory default IP address and port of the RL14 network card?", [source]
    )
    assert "IP address — 192.168.100.3" in answer
    assert "Port — 55000" in answer
    assert "[1]" in answer and "[2]" not in answer


async def test_procedure_quotes_steps_from_the_first_with_heading_and_drops_figure_labels() -> None:
    source = _source(
        1,
        "Tip: Replacing the Filament\n"
        "Preheat the nozzle then pull out the existing filament.\n"
        "4. Bed Leveling\n"
        "1. Prepare →Auto Home. Wait for the nozzle to move to the front of the platform.\n"
        "2. Prepare→Disable Steppers\n"
        "3 4\n"
        "1 2\n"
        "3. Move the nozzle to the front/left leveling screw and adjust the platform height. "
        "4. Complete the adjustment on all 4 corners.\n"
        "5. Repeat above steps 1-2 times if necessary.",
        title="ender3 quickstart",
        heading="ender3 quickstart > 4. Bed Leveling",
    )
    answer = await _answer("What is the bed leveling procedure for the Ender 3?", [source])
    lines = answer.strip().splitlines()
    assert lines[0] == "Bed Leveling:"
    assert lines[1].startswith("1. Prepare →Auto Home.")
    assert lines[2] == "2. Prepare→Disable Steppers [1]"
    order = [answer.index(s) for s in ("Auto Home", "Disable Steppers", "Move the nozzle")]
    assert order == sorted(order)
    assert "Repeat above steps" in answer
    assert "3 4" not in answer and "Preheat" not in answer


async def test_an_action_word_alone_does_not_ask_for_steps() -> None:
    source = _source(
        1,
        "Updating the firmware\n"
        "1. Copy firmware.bin to the SD card root.\n"
        "2. Insert the card and power the board.\n"
        "3. Wait 10 s; the status LED flickers while the board updates.\n"
        "4. Check that the file was renamed to FIRMWARE.CUR.",
        title="zorbo5 manual",
    )
    # 'update' names an action; the question asks what the LED does, not how to update.
    answer = await _answer("What does the status LED do during a firmware update?", [source])
    assert "the status LED flickers while the board updates" in answer
    assert "Copy firmware.bin" not in answer


async def test_a_short_section_heading_anchors_the_steps_it_names() -> None:
    leveling = _source(
        1,
        "4. Bed Leveling\n1. Prepare → Auto Home.\n2. Prepare → Disable Steppers.\n"
        "3. Adjust the four corner knobs with a sheet of paper.",
        title="zorbo5 quickstart",
    )
    notes = _source(
        2,
        "Notes\n1. Keep the printer away from heat sources.\n"
        "2. Do not touch the nozzle or hot bed during printing.\n"
        "3. Unplug the printer before servicing.",
        title="zorbo5 quickstart",
    )
    # A two-word heading is not a worse match for being short.
    answer = await _answer("how do I tram the bed on my zorbo 5?", [leveling, notes])
    lines = answer.strip().splitlines()
    assert lines[0] == "Bed Leveling:"
    assert lines[2] == "2. Prepare → Disable Steppers. [1]"
    assert "Keep the printer away" not in answer
    # Another passage's list item after the steps is a paragraph, not step 4 of this list.
    assert lines[-1] == "Do not touch the nozzle or hot bed during printing. [2]"
    assert not re.search(r"^\d+\. Do not touch", answer, re.M)


async def test_troubleshooting_answer_keeps_the_case_heading() -> None:
    source = _source(
        1,
        "Circles not round,Lines not touching?\n"
        "If X/Y belt is loose,you can find circles are not round.Tighten all belts.\n"
        "Stringing or oozing\n"
        "1.In the software,you can add retraction\n"
        "speed and distance to avoid this\n"
        "phenomenon.\n"
        "2.Lower nozzle temperature (5-10 °C).\n"
        "3.Change other material may improve .",
        title="ender3 troubleshooting",
    )
    answer = await _answer("How do I reduce stringing/oozing on the Ender 3?", [source])
    assert answer.startswith("Stringing or oozing:")
    # PDF line wraps are rejoined into one step.
    assert "1. In the software,you can add retraction speed and distance to avoid this" in answer
    assert "2. Lower nozzle temperature (5-10 °C). [1]" in answer
    assert "belts" not in answer


async def test_table_keeps_caption_and_merges_a_two_line_header() -> None:
    source = SourcePassage(
        number=2,
        document_title="timken bearing setting",
        page_start=5,
        page_end=5,
        heading="timken bearing setting > Setting methods",
        kind="table",
        text=(
            "TABLE 1 - COMPARISON OF SETTING METHODS\n"
            "Requirements | SETTING METHOD |  | \n"
            "Requirements | Manual | Acro-Set | Torque-Set\n"
            "Mounted bearing setting range, in. | 0.004 - 0.010 | 0.004 - 0.006 | 0.005 - 0.007\n"
            "Apply set-up load? | Yes | Yes (constant) | Yes\n"
            "Shim gap measurement? | Yes | Yes | No"
        ),
    )
    answer = await _answer(
        "What mounted bearing setting range does the Acro-Set method achieve?", [source]
    )
    assert answer.startswith("TABLE 1 - COMPARISON OF SETTING METHODS\n\n")
    assert "| Requirements | SETTING METHOD Manual | Acro-Set | Torque-Set |" in answer
    assert "| Mounted bearing setting range, in. | 0.004 - 0.010 | 0.004 - 0.006 |" in answer
    assert "Shim gap" not in answer
    assert answer.rstrip().endswith("[2]")


def test_units_naming_only_the_product_are_not_selected() -> None:
    source = _source(
        1,
        "BTT SKR MINI E3 V2.0 is a customized motherboard for Ender3 printers.\n"
        "MCU: ARM Cortex-M3 STM32F103RCT6\n"
        "Layer: 4 layers",
        title="btt skr mini e3 v2 manual",
        heading="btt skr mini e3 v2 manual > SKR MINI E3 V2.0 > Motherboard parameters",
    )
    chosen = select_units("Which MCU is used on the BTT SKR MINI E3 V2.0 board?", [source])
    assert [u.text for u in chosen] == ["MCU: ARM Cortex-M3 STM32F103RCT6"]


async def test_prose_procedure_goes_on_with_the_next_instructions() -> None:
    tape = _source(
        1,
        "Rubber Tape\n"
        "Latex (rubber) tape is a splicing compound. It is used where the original insulation "
        "was rubber.\n"
        "In roll form, there is a layer of paper between each layer of rubber tape.\n"
        "The rubber splicing tape should be applied smoothly and under tension so no air space "
        "exists between the layers. Start the first layer near the middle of the joint instead "
        "of the end. The diameter of the completed joint should be somewhat greater than the "
        "original wire.",
        title="Wiring Techniques",
    )
    answer = await _answer("How should latex rubber splicing tape be applied?", [tape])
    assert "applied smoothly and under tension" in answer
    assert "Start the first layer near the middle of the joint" in answer
    # A spec question on the same paragraph is not padded with what follows.
    spec = await _answer("What is latex rubber tape used for?", [tape])
    assert "middle of the joint" not in spec


def test_a_numbered_instance_names_its_kind() -> None:
    sources = [
        _source(
            1,
            "3 × 12-bit, 1 μs A/D converters (up to 21 channels), conversion range 0 to 3.6 V, "
            "temperature sensor.\n"
            "The temperature sensor is internally connected to the ADC1_IN16 input channel which "
            "is used to convert the sensor output voltage into a digital value.",
            title="STM32F103xC datasheet",
        )
    ]
    chosen = select_units("Which ADC channel is the internal temperature sensor wired to?", sources)
    assert "ADC1_IN16" in max(chosen, key=lambda u: u.score).text


async def test_the_next_of_a_series_opened_the_same_way_stays_with_it() -> None:
    cfp2 = _source(
        1,
        "Cisco already offers a range of analog CFP2 transceivers. With the analog version, the "
        "DSP chip resided on the line card, while the pluggable module only had transceiver "
        "capabilities. With the digital version of the same, both the DSP and the transceiver "
        "module reside in the pluggable itself. Cisco sells the modules worldwide.",
        title="Cisco CFP2-DCO",
    )
    answer = await _answer("How does the analog CFP2 version differ from the digital one?", [cfp2])
    assert "reside in the pluggable itself" in answer
    assert "worldwide" not in answer


def test_series_openings_match_singular_and_plural() -> None:
    from techdocs_app.providers.extractive.selection import _series_opening

    assert _series_opening("The letters MB denote the circuit.") == _series_opening(
        "The letter C denotes the service."
    )
    assert _series_opening("With the digital version, …") == _series_opening(
        "With the analog version, …"
    )
    assert _series_opening("The tag is metal.") != _series_opening("Tags are placed close.")
    assert _series_opening("3 4") is None


async def test_a_symbol_question_quotes_its_definition() -> None:
    formula = _source(
        1,
        "4. The spacer size is determined by the gauge based on the formula: S = Z - A + K\n"
        "Where\n"
        "S = Spacer size required.\n"
        "Z = Sleeve length (fixed).\n"
        "K = Constant to compensate for system deflection due to gauge spring load.\n",
        title="Bearing setting",
    )
    answer = await _answer("What's K in that formula? (spacer size)", [formula])
    assert "K = Constant to compensate" in answer
    assert "Sleeve length" not in answer


async def test_a_sentence_referring_back_answers_for_its_antecedent() -> None:
    flux = _source(
        1,
        "Flux pastes differ by alloy. The melting point of type 50/50 paste is 190 °C, which suits "
        "thin leads. Type 70/30 paste is used on brass fittings. It has a melting point of "
        "230 °C.",
        title="Joining handbook",
    )
    answer = await _answer("What is the melting point of 70/30 paste?", [flux])
    # 'It' is the 70/30 paste: that sentence states the asked value, not the 50/50 one.
    assert answer.startswith("Type 70/30 paste is used on brass fittings. It has a melting point")
    assert "190 °C" not in answer


async def test_a_sentence_ending_in_a_colon_keeps_what_it_introduces() -> None:
    source = _source(
        1,
        "The controller talks to a PC over its USB port.\n"
        "The Windows driver of the controller is obtained from the vendor as follows:\n"
        "Open the vendor site and download the package named QuxDrv, then run it.\n\n"
        "The board has four copper layers.",
        title="Qux board manual",
    )
    answer = await _answer("Where do I get the Windows driver for the Qux controller?", [source])
    assert "is obtained from the vendor as follows:" in answer
    assert "download the package named QuxDrv" in answer
    assert "copper layers" not in answer


async def test_a_value_question_takes_the_numbers_after_a_sentence_without_them() -> None:
    source = _source(
        1,
        "The line rate of the module is selectable in software. Operators pick 100G QPSK or "
        "200G 16-QAM without changing hardware. The housing is aluminium.",
        title="Pluggable optics guide",
    )
    answer = await _answer("Which line rates can the module be set to?", [source])
    assert "The line rate of the module is selectable in software." in answer
    assert "100G QPSK or 200G 16-QAM" in answer
    assert "aluminium" not in answer


def _passage(number: int, text: str) -> SourcePassage:
    return _source(number, text, title="Heater service guide")


def test_a_close_unit_of_another_passage_is_quoted_too() -> None:
    overview = _passage(
        1,
        "The heater element is rated for continuous duty. Element resistance is checked cold "
        "with an ohmmeter. Replace the element when its resistance is out of range.",
    )
    specs = _passage(2, "Heater element resistance, cold: 14 to 16 ohms.\nHousing: cast iron.")
    far = _passage(3, "Always disconnect the heater from the mains before service.")
    chosen = select_units(
        "What should the heater element resistance read cold?", [overview, specs, far]
    )
    sources = {u.source.number for u in chosen}
    # The spec line of the second passage scores close to the first passage's sentence.
    assert any("14 to 16 ohms" in u.text for u in chosen)
    assert 1 in sources and 3 not in sources


async def test_steps_printed_out_of_order_are_gathered_in_number_order() -> None:
    # A two-column page: the extractor reads steps 2-3 before step 1.
    source = _source(
        1,
        "SHIM-GAP METHOD\n"
        "The method gauges the deflection of the housing under a known load.\n"
        "Figure 4. Gearbox housing\n"
        "2. Turn the shaft while the load is applied and measure the gap at two points.\n"
        "The constant is then added to the measured gap.\n"
        "3. Fit the shim pack and tighten the cover bolts to their final torque.\n"
        "The gearbox housing (Figure 4) illustrates the shim-gap method.\n"
        "1. Apply the set-up load with two bolts placed opposite each other.\n"
        "LOAD N\n",
        title="Gear setting guide",
    )
    answer = await _answer("Walk me through the shim-gap method on a gearbox housing.", [source])
    first, second, third = (
        answer.index("Apply the set-up load"),
        answer.index("Turn the shaft"),
        answer.index("Fit the shim pack"),
    )
    assert first < second < third
    assert "1. Apply" in answer and "2. Turn" in answer and "3. Fit" in answer


async def test_a_table_row_keeps_the_row_continuing_its_entry() -> None:
    source = SourcePassage(
        number=1,
        document_title="Regulator datasheet",
        page_start=40,
        page_end=40,
        heading="Regulator datasheet > Supervisor characteristics",
        kind="table",
        text=(
            "Table 9. Supervisor characteristics\n"
            "Symbol | Parameter | Conditions | Min | Typ | Max | Unit\n"
            "VBOR | Brown-out reset threshold | Falling supply | 2.1 | 2.2 | 2.3 | V\n"
            "VBOR |  | Rising supply | 2.2 | 2.3 | 2.4 | V\n"
            "tRST | Reset pulse width |  | 1 | 2 | 5 | ms"
        ),
    )
    answer = await _answer("What is the brown-out reset threshold of the regulator?", [source])
    # The merged 'Parameter' cell split over two rows: both edges belong to the entry.
    assert "| VBOR | Brown-out reset threshold | Falling supply |" in answer
    assert "| VBOR |  | Rising supply | 2.2 | 2.3 | 2.4 | V |" in answer
    assert "Reset pulse width" not in answer


async def test_a_procedure_answer_ends_with_a_close_sentence_of_another_passage() -> None:
    steps = _passage(
        1,
        "Measuring the element resistance\n"
        "1. Disconnect the heater element from the mains.\n"
        "2. Measure the element resistance with an ohmmeter across both terminals.\n"
        "3. Compare the reading with the rating plate.",
    )
    note = _passage(
        2,
        "If no ohmmeter is at hand, measure the element resistance with a multimeter set to ohms.\n"
        "The housing is cast iron.",
    )
    answer = await _answer(
        "How do I measure the element resistance without an ohmmeter?", [steps, note]
    )
    assert "1. Disconnect the heater element" in answer
    assert "3. Compare the reading with the rating plate. [1]" in answer
    # Another passage's close sentence comes after the steps, as its own cited paragraph.
    assert answer.rstrip().endswith(
        "\n\nIf no ohmmeter is at hand, measure the element resistance with a multimeter set to "
        "ohms. [2]"
    )
    assert "cast iron" not in answer


def test_only_the_manual_the_question_names_is_quoted() -> None:
    printer = _source(
        1,
        "The Zorbo 5 shows a low temp warning when the hot end start time exceeds 30 s.",
        title="Zorbo 5 troubleshooting",
    )
    datasheet = _source(
        2,
        "Symbol | Parameter | Conditions | Min | Typ | Max | Unit\n"
        "tLOW (5) | Low temp start time | TA = -20 °C | 1 | 2 | 4 | ms",
        title="QX900 datasheet",
    )
    question = "What is the low temp start time of the Zorbo 5?"
    named = select_units(question, [printer, datasheet])
    assert [u.source.number for u in named] == [1]
    # Without the name, the datasheet's row (it matches more words) is quoted.
    unnamed = select_units("What is the low temp start time?", [printer, datasheet])
    assert 2 in {u.source.number for u in unnamed}


def test_a_model_name_typed_in_lower_case_and_spaced_names_its_manual() -> None:
    printer = _source(
        1,
        "The Zorbo 5 shows a low temp warning when the hot end start time exceeds 30 s.",
        title="Zorbo5 troubleshooting",
    )
    datasheet = _source(
        2,
        "Symbol | Parameter | Conditions | Min | Typ | Max | Unit\n"
        "tLOW (5) | Low temp start time | TA = -20 °C | 1 | 2 | 4 | ms",
        title="QX900 datasheet",
    )
    named = select_units("low temp start time on my zorbo 5?", [printer, datasheet])
    assert [u.source.number for u in named] == [1]


async def test_a_row_naming_only_the_product_is_not_quoted_next_to_the_best_row() -> None:
    source = SourcePassage(
        number=1,
        document_title="Vexa K7 receiver",
        page_start=6,
        page_end=6,
        heading="Vexa K7 receiver > Service messages",
        kind="table",
        text=(
            "Service messages of the K7 module\n"
            "Message | Code | Description\n"
            "LINE FAULT | 20 | Service line failure or disconnection\n"
            "VEXA RESTART | D0 | Restart button of the Vexa pressed"
        ),
    )
    answer = await _answer("The Vexa reports service code 20. What does it mean?", [source])
    assert "| LINE FAULT | 20 | Service line failure or disconnection |" in answer
    assert "Restart button" not in answer


ORDERING = _source(
    1,
    "Ordering information scheme\n"
    "Example: ZX 40 Q T 7 xxx\n"
    "Memory size Q = 64 Kbytes of memory R = 128 Kbytes of memory\n"
    "Package T = TSSOP W = WLCSP20\n"
    "Temperature range 7 = –40 to 105 °C\n"
    "The device runs from a single 3.3 V supply at 85 °C.\n"
    "Test load C = 30 pF on every output.",
    title="ZX40 datasheet",
)


async def test_a_letter_of_a_part_number_is_answered_by_the_key_defining_it() -> None:
    answer = await _answer("In the part number ZX40QT7, what does the letter T denote?", [ORDERING])
    assert "Package T = TSSOP W = WLCSP20" in answer


def test_the_c_of_degrees_celsius_is_not_a_symbol_asked_about() -> None:
    chosen = select_units("What supply does the ZX40 run from at 85 °C?", [ORDERING])
    assert "single 3.3 V supply" in max(chosen, key=lambda u: u.score).text


def test_a_part_number_names_its_family_manual() -> None:
    from techdocs_app.providers.extractive.selection import _named_sources

    other = _source(2, "Cable tags: T = tag colour, Q = quantity.", title="Cable guide")
    assert _named_sources("Decode ZX40QT7: what is the T?", [ORDERING, other]) == {1}
    assert _named_sources("What does the T on a tag mean?", [ORDERING, other]) == {1, 2}
