"""The values a manual writes and the variant a question pins by a value ('the 40 km version').

A question's value is a condition far more often than a variant: 'Can I power the RT2 from a 24 V
supply?' asks about a value inside the manual's '10–30 V DC', 'Is terminal 3 a ground?' has no
value at all. Only a value tied to a variant word ('the 40 km version') or glued to a model code
('SFP28-40km') pins a variant, and only when no value or range the manual writes in that dimension
covers it. Synthetic manual text in the conventions of a receiver's and a printer's data sheets.
"""

from __future__ import annotations

import re
import time

import pytest

from techdocs_app.rag import variant_values as variant_values_module
from techdocs_app.rag.variant_values import (
    EMPTY,
    is_quantity,
    read_values,
    variant_values,
    written_number,
)

RECEIVER = (
    "Power supply voltage 10–30 V DC. Current consumption 60-100 mA. RS485 bus length up to "
    "1,200 m. Output 1: relay, 1 A at 30 V DC. Standby 0.50 W max. Operating temperature -20 to "
    "+50 °C. Typical reach 20 km."
)


def test_numbers_are_read_in_one_form() -> None:
    assert written_number("1,200") == "1200"
    assert written_number("0.50") == "0.5"
    assert written_number("13.0") == "13"
    assert written_number("0,5") == "0.5"  # a decimal comma
    assert written_number("20") == "20"


def test_a_manual_writes_points_and_ranges_with_both_ends() -> None:
    values = read_values(RECEIVER)
    # Both ends of '10–30 V DC', '60-100 mA' and '-5 to +2 dBm' are read, not only the last.
    assert values.covers("v", 10.0) and values.covers("v", 30.0) and values.covers("v", 24.0)
    assert values.covers("a", 0.06) and values.covers("a", 0.08)
    assert not values.covers("v", 48.0)
    # 'up to 1,200 m': any length to 1200 m, in any prefix of the unit.
    assert values.covers("m", 1200.0) and values.covers("m", 300.0)
    assert not values.covers("m", 1500.0)
    # A value read as written ('0.50 W max' is 0.5 W) and in another prefix (20 km = 20000 m).
    assert values.covers("w", 0.5) and values.covers("m", 20000.0)
    assert values.dimensions >= {"v", "a", "m", "w"}
    assert EMPTY.dimensions == frozenset() and not EMPTY.covers("v", 24.0)


def test_limits_in_their_usual_forms() -> None:
    for text in ("max 30 V", "max. 30 V", "maximum 30 V", "≤ 30 V", "<= 30 V", "30 V max"):
        values = read_values(f"Supply: {text}.")
        assert values.covers("v", 12.0) and values.covers("v", 30.0), text
        assert not values.covers("v", 36.0), text
    assert read_values("Inputs from 5 to 24 V.").covers("v", 12.0)


def test_the_article_a_is_no_ampere() -> None:
    assert read_values("Is terminal 3 a ground? Is pin 5 a GND?").dimensions == frozenset()
    assert read_values("rated 1 A, fuse 2A").covers("a", 2.0)


def test_only_a_value_tied_to_a_variant_word_or_a_model_code_pins_a_variant() -> None:
    assert variant_values("What's the ordering number of the 40 km version?") == [
        ("40 km", "m", 40000.0)
    ]
    assert variant_values("Is there a 12 V model of the fan?") == [("12 V", "v", 12.0)]
    assert variant_values("p/n of the SFP28-40km?") == [("40 km", "m", 40000.0)]
    # Conditions, not variants: a supply, a layer height, a cable run, a terminal number.
    for question in (
        "Can I power the RT2 from a 24 V supply?",
        "What's the current consumption of the RT2 at 24 V?",
        "What nozzle temp for PETG at 0.3 mm layers on the Ender-3?",
        "layer height for a 0.6 mm nozzle on the Ender-3?",
        "Can I run 1200 m of RS485 cable to the RT2?",
        "Is terminal 3 a ground on the RT2?",
        "Does the SFP support 40 km reach?",
    ):
        assert variant_values(question) == [], question


@pytest.mark.parametrize(
    "text",
    [
        "Supply 10–30 VDC",
        "Supply 10-30 Vdc",
        "Supply 10 to 30 V DC",
        "Supply 10 V DC to 30 V DC",
        "Supply 10–30 V AC",
        "Supply 10-30VAC",
        "Supply 10–30 Vrms",
    ],
)
def test_dc_ac_and_rms_volts_are_volts(text: str) -> None:
    values = read_values(text)
    assert values.covers("v", 24.0) and values.covers("v", 10.0) and values.covers("v", 30.0)
    assert not values.covers("v", 48.0)


def test_glued_and_mains_spellings() -> None:
    assert read_values("Relay 12VDC coil").covers("v", 12.0)
    mains = read_values("Input 100–240 VAC, 50/60 Hz")
    assert mains.covers("v", 120.0) and mains.covers("v", 230.0) and not mains.covers("v", 400.0)


@pytest.mark.parametrize(
    "text", ["12/24 V", "12/24 VDC", "12V/24V", "12 or 24 V", "12 V or 24 V", "12, 24 or 48 V"]
)
def test_a_list_gives_its_unit_to_every_number(text: str) -> None:
    values = read_values(f"Available in {text} versions.")
    assert values.covers("v", 12.0) and values.covers("v", 24.0), text
    assert not values.covers("v", 36.0), text


def test_a_list_without_a_unit_adds_no_value() -> None:
    assert read_values("Terminals 1, 2 or 3; revision 12/24.").dimensions == frozenset()


@pytest.mark.parametrize("micro", ["µ", "μ"])  # the micro sign U+00B5 and Greek mu U+03BC
def test_micro_in_both_spellings(micro: str) -> None:
    values = read_values(f"Leakage 50 {micro}A, filter 10 {micro}m, rise time 2 {micro}s")
    assert values.covers("a", 50e-6) and values.covers("m", 10e-6) and values.covers("s", 2e-6)


@pytest.mark.parametrize("token", ["4-20ma", "12-24vdc", "0-10v", "24v", "3/4", "12vac", "5μa"])
def test_typed_values_and_ranges_are_quantities(token: str) -> None:
    assert is_quantity(token)


@pytest.mark.parametrize("token", ["rs485", "e3", "ender-3", "sfp28-40km", "4-20x", "12-24vdcx"])
def test_names_are_no_quantities(token: str) -> None:
    assert not is_quantity(token)


@pytest.mark.parametrize("opener", ["max", "maximum", "min", "≤", "≥", "up to", "at least"])
def test_a_limit_word_before_a_long_blank_run_is_read_in_linear_time(opener: str) -> None:
    """`read_values` runs on every section of every manual: a limit word followed by a long run
    of blanks (a table's padding) and no value must not backtrack over every split of the run
    (`\\s*:?\\s*` did: 21 s for 20,000 blanks). Each blank run is matched one way only, so
    this completes at once."""
    text = opener + " " * 20_000 + "x"
    assert read_values(text) == EMPTY
    assert read_values(opener + " " * 20_000 + ": 30 V").covers("v", 30.0)


def test_no_limit_pattern_has_two_blank_runs_around_an_optional_colon() -> None:
    """The quadratic form, `\\s*:?\\s*`: two blank runs meeting when the colon is absent."""
    for name in ("_UPPER_RE", "_LOWER_RE"):
        pattern = getattr(variant_values_module, name).pattern
        assert not re.search(r"\\s\*:\?\\s\*", pattern), name


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Supply voltage (V) 12 24", ("v", 24.0)),
        ("Supply voltage (V) 12 or 24", ("v", 24.0)),
        ("Supply 24 Volts", ("v", 24.0)),
        ("spans 40 kilometres", ("m", 40000.0)),
        ("Model | Reach (km) | Power (W)\nRT2-L | 40 | 2", ("m", 40000.0)),
        ("Model | Reach (km) | Power (W)\nRT2-L | 40 | 2", ("w", 2.0)),
        ("Parameter | Min | Max | Unit\nSupply | 10 | 24 | V", ("v", 24.0)),
        ("Reach (km) | 20 | 40", ("m", 40000.0)),
    ],
)
def test_a_bare_number_whose_unit_is_implied_is_a_value(
    text: str, value: tuple[str, float]
) -> None:
    """A label, a column header, a 'Unit' cell or a spelled unit gives a bare number its unit."""
    assert read_values(text).covers(*value)


@pytest.mark.parametrize(
    "text",
    [
        "Reach 20km. See page 40, Figure 40, Fig. 40, p. 40, Table 40, Section 40, Chapter 40.",
        "Operating temperature -5 to 40 °C, humidity 40 %.",
        "Reach (km) 20; see page 40.",
        "Model | Reach (km)\nRT2 | 20\nAlarms\nFault code | 40",
    ],
)
def test_a_bare_number_without_an_implied_unit_is_no_value(text: str) -> None:
    """A reference ('page 40'), a value of another unit ('40 °C') or a number after the table
    whose header named the unit is no 40 km."""
    assert not read_values(text).covers("m", 40000.0)


@pytest.mark.parametrize(
    "text",
    ["(V) " + "12 " * 30_000, "(V@ " * 30_000, "page " * 30_000 + "(V) 1", "1 | (km) | " * 20_000],
)
def test_implied_units_are_read_in_linear_time(text: str) -> None:
    """A hostile line of many numbers, unclosed labels or references: each number looks back a
    bounded window for a reference word, each label reads a bounded note (a search of the whole
    prefix per number would be quadratic)."""
    started = time.monotonic()
    read_values(text)
    assert time.monotonic() - started < 2.0
