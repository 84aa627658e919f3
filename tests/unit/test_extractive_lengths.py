"""Offline answers stay short and on point (issue 9 §4): a figure's text layer is not quoted, a
long table cell is cut to the words the question asks about, another passage's long row is not
appended, a table's empty columns are not shown, and the bench reports how long answers run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from techdocs_app.bench import fit_units
from techdocs_app.bench.fit_units import lengths
from techdocs_app.providers.extractive.render import MAX_UNIT_WORDS, render
from techdocs_app.providers.extractive.selection import (
    OTHER_PASSAGE_SHARE,
    choose_units,
    scored_units,
)
from techdocs_app.providers.extractive.units import figure_text, split_units
from tests.factories import extractive_answer, source_passage

TITLE = "stm32f103 datasheet"

MEMORY_MAP = (
    "512-Mbyte block 7 Cortex-M3's internal peripherals 512-Mbyte block 6 Not used 512-Mbyte "
    "block 5 FSMC register 512-Mbyte block 1 SRAM 0x0000 0000 0x1FFF FFFF 0x2000 0000 0x3FFF "
    "FFFF 0x4000 0000 0x5FFF FFFF 512-Mbyte block 0 Code SRAM (64 KB aliased by bit-banding) "
    "Reserved 0x2000 0000 0x2000 FFFF 0x2001 0000 0x3FFF FFFF TIM2 TIM3 0x4000 0000 - 0x4000 "
    "03FF TIM4 TIM5 TIM6 TIM7 Reserved 0x4000 0400 - 0x4000 07FF 0x4000 0800 - 0x4000 0BFF RTC "
    "0x4000 2800 - 0x4000 2BFF WWDG 0x4000 2C00 - 0x4000 2FFF IWDG 0x4000 3000 - 0x4000 33FF"
)

SRAM = source_passage(
    "2.3.4 Embedded SRAM\n"
    "Up to 64 Kbytes of embedded SRAM accessed (read/write) at CPU clock speed with 0 wait "
    "states.",
    title=TITLE,
    section="2.3.4 Embedded SRAM",
)

FLASH_TABLE = source_passage(
    "5.3.9 Memory characteristics\n"
    "Table 29. Flash memory characteristics\n"
    "Symbol | Parameter | Conditions | Min | Typ | Max(1) | Unit\n"
    "tprog | 16-bit programming time | TA = –40 to +105 °C | 40 | 52.5 | 70 | μs\n"
    "tERASE | Page (2 KB) erase time | TA = –40 to +105 °C | 20 |  | 40 | ms\n"
    "tME | Mass erase time | TA = –40 to +105 °C | 20 |  | 40 | ms\n"
    "Vprog | Programming voltage |  | 2 |  | 3.6 | V",
    title=TITLE,
    section="5.3.9 Memory characteristics",
)

CHANGES = (
    "Updated package choice for 103Rx in Table 2 Updated footnotes below Table 7: Voltage "
    "characteristics on page 41 and Table 8: Current characteristics on page 41 Updated tw min "
    "in Table 21: High-speed external user clock characteristics on page 55 Updated startup "
    "time in Table 24: LSE oscillator characteristics (fLSE = 32.768 kHz) on page 59 Updated "
    "note 2 in Table 51: I2C characteristics on page 93 Updated Figure 48: I2C bus AC "
    "waveforms and measurement circuit Updated Section 5.3.14: I/O port characteristics "
    "Updated Table 31: Asynchronous non-multiplexed SRAM/PSRAM/NOR read timings on page 64 "
    "Updated Figure 41: NAND controller waveforms for common memory write access and Table "
    "40: Switching characteristics for NAND Flash read and write cycles on page 82 Added "
    "Section 5.3.13: I/O current injection "
    "characteristics on page 85 Updated Figure 66 and added Table 69: Recommended PCB design "
    "rules (0.5mm pitch BGA) on page 116 LQFP64 package mechanical data updated."
)

REVISIONS = source_passage(
    f"Table 75. Document revision history\nDate | Revision | Changes\n19-Apr-2011 | 8 | {CHANGES}",
    title=TITLE,
    section="8 Revision history",
    number=2,
)


def test_a_memory_maps_text_layer_is_a_figure_not_prose() -> None:
    dump = source_passage(MEMORY_MAP, title=TITLE, section="Memory mapping", number=2)
    as_rows = source_passage(f"{MEMORY_MAP.replace(' TIM2', ' | TIM2', 1)}", title=TITLE, number=3)
    (prose,) = split_units(dump)
    assert figure_text(prose)
    assert all(figure_text(u) for u in split_units(as_rows))  # a table without header too
    # A sentence stating values, and a headed table row of numbers, are quotable.
    assert not any(figure_text(u) for u in split_units(SRAM))
    assert not any(figure_text(u) for u in split_units(FLASH_TABLE))


async def test_an_answer_never_quotes_a_figures_addresses() -> None:
    dump = source_passage(MEMORY_MAP, title=TITLE, section="Memory mapping", number=2)
    answer = await extractive_answer(
        "Does the STM32F103's internal SRAM have parity checking?", [SRAM, dump]
    )
    assert "Up to 64 Kbytes of embedded SRAM" in answer
    assert "0x4000" not in answer and "512-Mbyte block" not in answer


async def test_another_passages_long_row_is_not_appended_to_the_table_that_answers() -> None:
    question = "How long does erasing one Flash page take on the F103, and how big is a page?"
    answer = await extractive_answer(question, [FLASH_TABLE, REVISIONS])
    assert "| tERASE | Page (2 KB) erase time | TA = –40 to +105 °C | 20 |  | 40 | ms |" in answer
    assert "revision history" not in answer.lower()
    assert "Updated" not in answer


def test_a_long_table_cell_is_cut_to_the_window_holding_the_asked_words() -> None:
    changes = CHANGES.replace("on page 82", "on page 82, erase time of one Flash page on page 66")
    revisions = source_passage(
        f"Table 75. Document revision history\nDate | Revision | Changes\n19-Apr-2011 | 8 | {changes}",
        title=TITLE,
    )
    question = "Which revision changed the erase time of one Flash page?"
    units, _ = choose_units(question, [revisions])
    (row,) = [u for u in units if u.table is not None]
    assert len(row.table[1][2].split()) > MAX_UNIT_WORDS  # type: ignore[index]
    text = "".join(render(units, question))
    changes = next(line for line in text.splitlines() if line.startswith("| 19-Apr-2011"))
    cell = changes.split(" | ")[2].removesuffix(" |")
    assert cell.startswith("… ") and len(cell.split()) <= MAX_UNIT_WORDS + 2
    assert "erase time of one Flash page on page 66" in cell  # the window with the asked words
    assert "| 19-Apr-2011 | 8 |" in changes  # the short cells stay whole


def test_a_tables_empty_columns_are_not_shown() -> None:
    optics = source_passage(
        "Optical Characteristics\n"
        "Parameter |  | Symbol |  | Min |  | Typical |  | Max |  | Unit |  | Notes\n"
        "LOS Assert |  | LOSA |  |  |  | -26 |  |  |  | dBm |  | \n"
        "LOS Deassert |  | LOSD |  |  |  | -24 |  |  |  | dBm |  | ",
        title="QSFP-100G-ER4L-A-FL",
    )
    question = "At what receive power does the ER4L assert and deassert LOS?"
    answer = "".join(render(choose_units(question, [optics])[0], question))
    assert "| Parameter | Symbol | Min | Typical | Max | Unit | Notes |" in answer
    assert "| LOS Assert | LOSA |  | -26 |  | dBm |  |" in answer
    assert "|  |  |" not in answer.split("\n")[2]  # the header rule row aside, no gap columns


def test_lengths_are_the_median_percentiles_max_and_long_ones() -> None:
    figures = lengths([10, 20, 30, 40, 50, 60, 70, 80, 90, 130])
    assert figures.median == 55
    assert figures.p90 == pytest.approx(94.0)  # between the 9th (90) and 10th (130) answers
    assert figures.p95 == pytest.approx(112.0)
    assert (figures.max, figures.long) == (130, 1)
    assert lengths([]).max == 0


def test_words_reads_an_eval_runs_answers_refusals_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = "| Symbol | Min |\n|---|---|\n| tERASE | 20 |\n\n[1]"
    results = {
        "tune": {
            "metrics": {},
            "results": [
                {"answer": "Current not exceeding 150 mA. [1]", "outcome": "answer"},
                {"answer": table, "outcome": "closest"},
                {"answer": "I couldn't find this in your manuals.", "outcome": "not_found"},
            ],
        }
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    assert fit_units.main(["words", str(path)]) == 0
    out = capsys.readouterr().out
    # 'Current not exceeding 150 mA.' is 5 words, the table 4 (rules, bars, citation aside).
    assert "tune: words median=4 p90=5 p95=5 max=5 over120=0" in out
    assert "tokens median=" in out and "given=2" in out


async def test_another_passages_row_matching_through_its_header_is_not_appended() -> None:
    title = "Cisco Digital CFP2-DCO Coherent Optical Module Data Sheet"
    transmitter = source_passage(
        "Table 3. Transmitter specifications\n"
        "Product ID | Transmit Power | Output out-of-band | Output in-band | Optical output return\n"
        "Product ID | Range (dBm) | OSNR (dB @0.1nm) | OSNR (dB @0.1nm) | loss (dB)\n"
        "CFP2-WDM-DETS-1HL= | -10 to +1 | 45 | 100G QPSK: 37 | 27\n"
        " |  |  | 200G 16QAM: 34.3 | \n"
        "CFP2-WDM-DS-1HL= | -5 to +1 | 25 | 100G QPSK: 37 | 27\n"
        "The transmitter has a cold restart timing specification of 50-90 seconds. Cold restart "
        "means that the DCO is in a Low_Power mode. The maximum Tx turn-up time is counted from "
        "de-assert of the Low_power pin and Tx_disable pin to full Tx turn-up.",
        title=title,
        section="Specifications",
    )
    receiver = source_passage(
        "Product ID | Receiver Power Range | Maximum | Back to back OSNR (dB | Chromatic\n"
        "CFP2-WDM-DETS-1HL= CFP2-WDM-DS-1HL= | 200G 16QAM Without OSNR penalty: - 13 to 0 With "
        "SD-FEC: -22 to 0 | 13 | 200G 16QAM SD-FEC Non-Diff: 21.5 | 200G 16QAM: 0.5",
        title=title,
        section="Specifications",
        number=2,
    )
    sources = [transmitter, receiver]
    question = "Transmit power range of the CFP2-WDM-DETS-1HL=?"
    units = scored_units(question, sources)
    row = next(u for u in units if u.source is receiver and u.table is not None)
    best = max(units, key=lambda u: u.score)
    # Close to the best, but its own cells name only the product: power and range are the
    # header's words ('Receiver Power Range').
    assert row.score >= best.score * OTHER_PASSAGE_SHARE
    assert 2 * len(row.own & row.asked) < len(row.asked)
    answer = await extractive_answer(question, sources)
    assert "| CFP2-WDM-DETS-1HL= | -10 to +1 | 45 | 100G QPSK: 37 | 27 |" in answer
    assert "Receiver Power Range" not in answer and "SD-FEC" not in answer


HEAT_GUN = source_passage(
    "As noted in table 2-1, the compressed air/nitrogen source CANNOT be greater than 200 psig.\n"
    "6. Set the power switch to the ON position. The power lamp and heated-air-on lamp will both "
    "illuminate.\n"
    "7. There is a 1-minute warm-up time. During this warm-up period, ensure that the indicated "
    "air pressure increases to 10 to 15 psig on the air-pressure gauge.\n"
    "8. You can now adjust the temperature control knob to the desired temperature setting.\n"
    "9. You can turn the air/nitrogen pressure off and on to the gun without powering down the "
    "module by using the switch mounted on the gun handle.\n"
    "After you complete your task with the compressed air/nitrogen heating tool, use the "
    "following shutdown procedures:\n"
    "1. Push down and fully turn the air regulator knob counterclockwise. Observe that the air "
    "pressure gauge indication drops to 0 psig and the heated air lamp goes out.\n"
    "2. Position the switch on the heating gun toward the rear of the handle.\n"
    "3. Place the power switch to the OFF position and observe that the power lamp goes out.\n"
    "4. Allow the air/nitrogen to flow for a minimum of 1 minute to cool the heating gun.\n"
    "5. Disconnect the power connecter from the power source.\n"
    "6. Turn off air/nitrogen source at place of origin and disconnect.\n"
    "7. Disconnect the compressed air/nitrogen hose from the air inlet nipple and install the "
    "dust cap on the air inlet nipple.",
    title="neets module4",
    section="CHAPTER 2",
)


async def test_a_procedure_keeps_its_own_steps_not_the_end_of_the_list_before_it() -> None:
    answer = await extractive_answer(
        "How do I shut the HT-920B's gun down when I'm done?", [HEAT_GUN]
    )
    steps = [line for line in answer.splitlines() if line[:2] in {f"{n}." for n in range(1, 10)}]
    # All seven shutdown steps, in order: none cut.
    assert len(steps) == 7
    assert steps[0].startswith("1. Push down and fully turn the air regulator knob")
    assert steps[6].startswith("7. Disconnect the compressed air/nitrogen hose")
    # Steps 8 and 9 of the start-up list printed before it are not the shutdown's.
    assert "temperature control knob" not in answer
    assert "without powering down the module" not in answer
