"""A digit-dense list (a fuse table, error codes, torque values, a pinout, a memory map) that
holds the code the question asks about is quoted as the short window around that code, not
refused as a figure's text layer; one matching only scattered words is still not quoted (review
of the figure rule: each case below was refused or lost before)."""

from __future__ import annotations

import re

from techdocs_app.providers.extractive.units import figure_text, split_units
from tests.factories import extractive_answer, source_passage
from tests.unit.test_extractive_lengths import MEMORY_MAP, SRAM, TITLE

FUSES = source_passage(
    "Fuses: F1 5 A, F2 10 A, F3 15 A, F4 7.5 A, F5 20 A, F6 10 A, F7 5 A, F8 3 A, F9 15 A, "
    "F10 10 A, F11 2 A, F12 5 A, F13 1 A.",
    title="PSU-2400 service manual",
    section="Electrical system",
)

ERROR_CODES = source_passage(
    "Error codes: E01 24 V missing E02 M1 overcurrent E03 M2 overcurrent E04 ENC1 fault E05 "
    "ENC2 fault E06 fan 1 stalled E07 fan 2 stalled E08 EEPROM 1 error E09 door 1 open E10 "
    "door 2 open E11 brake 1 fault",
    title="Conveyor drive CD-40 manual",
    section="Troubleshooting",
)

TORQUES = (
    "Torque values: M6 10 N·m (7 ft·lb), M8 25 N·m (18 ft·lb), M10 49 N·m (36 ft·lb), M12 "
    "85 N·m (63 ft·lb), M14 135 N·m (100 ft·lb), M16 210 N·m (155 ft·lb) at 20 °C, 3 turns."
)

PINOUT = source_passage(
    "Connector X1 is the 13-pin fieldbus connector on the top of the drive.\n"
    "1 +24V 2 0V 3 TXD 4 RXD 5 CAN-H 6 CAN-L 7 GND 8 SHIELD 9 RS485-A 10 RS485-B 11 +5V "
    "12 DI1 13 DO1",
    title="Servo drive SD-7 manual",
    section="Connections",
)


def words(answer: str) -> int:
    return len(re.sub(r"\[\d+\]", "", answer).split())


def test_each_list_is_a_figures_text_by_its_numbers() -> None:
    # The cases below are the rule's: each list is one unit the figure rule flags.
    for source in (FUSES, ERROR_CODES, source_passage(TORQUES)):
        assert [figure_text(u) for u in split_units(source)] == [True]
    assert [figure_text(u) for u in split_units(PINOUT)] == [False, True]


async def test_a_fuse_is_looked_up_in_the_fuse_list() -> None:
    answer = await extractive_answer("What fuse is F3?", [FUSES])
    assert "F3 15 A" in answer
    assert "F13 1 A" not in answer and words(answer) <= 20


async def test_an_error_code_is_looked_up_in_the_code_list() -> None:
    answer = await extractive_answer("What does E07 mean?", [ERROR_CODES])
    assert "E07 fan 2 stalled" in answer
    assert "E01 24 V missing" not in answer and words(answer) <= 20


async def test_a_bolts_torque_is_looked_up_in_the_torque_list() -> None:
    question = "tightening torque for M10 bolts?"
    answer = await extractive_answer(question, [source_passage(TORQUES)])
    assert "M10 49 N·m (36 ft·lb)" in answer
    assert "M16 210 N·m" not in answer and words(answer) <= 20
    # Under a heading the list is quoted the same way, not whole.
    headed = source_passage(f"Tightening torques\n{TORQUES}")
    answer = await extractive_answer(question, [headed])
    assert "M10 49 N·m (36 ft·lb)" in answer
    assert "M16 210 N·m" not in answer and words(answer) <= 22


async def test_a_pin_is_looked_up_in_the_pinout_after_its_lead_in() -> None:
    answer = await extractive_answer("Which pin of connector X1 is CAN-H?", [PINOUT])
    assert "5 CAN-H" in answer
    assert "13 DO1" not in answer and words(answer) <= 40


async def test_an_address_range_is_looked_up_in_the_memory_map() -> None:
    dump = source_passage(MEMORY_MAP, title=TITLE, section="Memory mapping")
    answer = await extractive_answer("What is the address range of the RTC?", [dump])
    assert "RTC 0x4000 2800 - 0x4000 2BFF" in answer
    assert "512-Mbyte block" not in answer and words(answer) <= 20


async def test_a_map_matching_scattered_words_is_not_quoted_under_a_heading_either() -> None:
    # The map holds 'internal' and 'SRAM' words apart, not parity checking: no entry answers; a
    # heading matching the question ('Memory mapping') does not bring the map along.
    dump = source_passage(f"Memory mapping\n{MEMORY_MAP}", title=TITLE, number=2)
    for question in (
        "Does the STM32F103's internal SRAM have parity checking?",
        "How is the STM32F103's memory mapped?",
    ):
        answer = await extractive_answer(question, [SRAM, dump])
        assert "0x4000" not in answer and "512-Mbyte block" not in answer
