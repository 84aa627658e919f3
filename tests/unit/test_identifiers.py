from __future__ import annotations

import pytest

from techdocs_app.text.identifiers import (
    extract_identifiers,
    normalize_identifier,
    query_identifiers,
)

POSITIVE = [
    "E302",
    "STM32F103RCT6",
    "CFP2-LIC-UPG-200G",
    "PLS[2:0]",
    "4471-A23",
    "QSFP-100G-ERL4",
    "PA9",
    "USART1_TX",
    "E130",
    "AT24C32",
    "TMC2209",
    "SPROG-1",
    "LQFP64",
]
NEGATIVE = [
    "12V",
    "150mA",
    "100mm",
    "2.4GHz",
    "4.2W",
    "18Ah",
    "-14.0dBm",
    "30km",
    "2021-03-04",
    "12/05/2020",
    "1.2.3",
    "215th",
    "2000",
    "hello",
    "Receiver",
    "firmware.bin",
    "50-90",
]


@pytest.mark.parametrize("token", POSITIVE)
def test_identifiers_are_found_in_text(token: str) -> None:
    assert extract_identifiers(f"See {token}, then continue.") == [token.upper()]


@pytest.mark.parametrize("token", NEGATIVE)
def test_words_numbers_units_and_dates_are_not_identifiers(token: str) -> None:
    assert extract_identifiers(f"Value {token} here") == []


def test_order_of_appearance_and_deduplication() -> None:
    text = "Fault E302 on R11, then E130; E302 again. Pin PA9 is USART1_TX/TIM1_CH2."
    assert extract_identifiers(text) == ["E302", "R11", "E130", "PA9", "USART1_TX", "TIM1_CH2"]


def test_query_identifiers_accept_lower_case_typing() -> None:
    assert query_identifiers("what does e302 mean on the stm32f103rct6 pin pa9?") == [
        "E302",
        "STM32F103RCT6",
        "PA9",
    ]
    # Document text stays strict: lower-case words with a digit are prose there.
    assert extract_identifiers("step2done") == []


def test_normalize_identifier() -> None:
    assert normalize_identifier(" (e302). ") == "E302"
    assert normalize_identifier("qsfp-100g-erl4,") == "QSFP-100G-ERL4"


@pytest.mark.parametrize(
    ("text", "members"),
    [
        ("STM32F103xC/D/E", ["STM32F103XC", "STM32F103XD", "STM32F103XE"]),
        ("the STM32F103x8/xB parts", ["STM32F103X8", "STM32F103XB"]),
        ("ATmega328P/PB", ["ATMEGA328P", "ATMEGA328PB"]),
        ("ATmega328/P", ["ATMEGA328", "ATMEGA328P"]),
        ("ATmega48/88", ["ATMEGA48", "ATMEGA88"]),
    ],
)
def test_datasheet_family_shorthand_names_each_member(text: str, members: list[str]) -> None:
    for found in (query_identifiers(text), extract_identifiers(text.upper())):
        assert found[0] == members[0]
        assert set(members) <= set(found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Not a family: short heads, hyphenated codes, pin aliases and pin lists keep their parts.
        ("PA9/PA10", ["PA9", "PA10"]),
        ("GPIO36/A0", ["GPIO36", "A0"]),
        ("QSFP-100G-ER4L/LR4", ["QSFP-100G-ER4L", "LR4"]),
        ("USART1_TX/TIM1_CH2", ["USART1_TX", "TIM1_CH2"]),
        ("12V/24V", []),
    ],
)
def test_slash_lists_that_are_not_families_keep_their_parts(text: str, expected: list[str]) -> None:
    assert query_identifiers(text) == expected
    assert extract_identifiers(text) == expected
