"""Units a shop uses: every converted quantity shows pint's value beside the manual's own words,
marked with ≈, and the manual's text is never changed."""

from __future__ import annotations

import pytest

from techdocs_app.rag.units import (
    ConversionStream,
    annotate_conversions,
    convert,
    format_value,
    strip_conversions,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # torque, both ways and from kgf·cm / in·lb, in the spellings manuals use
        ("Tighten to 25 N·m [1].", "Tighten to 25 N·m (≈ 18 ft·lb) [1]."),
        ("Torque: 25 Nm", "Torque: 25 Nm (≈ 18 ft·lb)"),
        ("Torque 18 ft-lbs", "Torque 18 ft-lbs (≈ 24 N·m)"),
        ("Torque 100 kgf·cm", "Torque 100 kgf·cm (≈ 9.8 N·m)"),
        ("Torque 10 in·lb", "Torque 10 in·lb (≈ 1.1 N·m)"),
        # temperature: an offset, not only a scale
        ("Bed at 60°C", "Bed at 60°C (≈ 140 °F)"),
        ("Store below 32 °F", "Store below 32 °F (≈ 0 °C)"),
        ("-40 to 85 °C", "-40 to 85 °C (≈ -40 to 185 °F)"),
        # pressure
        ("Inflate to 2.5 bar.", "Inflate to 2.5 bar (≈ 36 psi)."),
        ("Relief at 350 kPa", "Relief at 350 kPa (≈ 51 psi)"),
        ("Max 35 psi", "Max 35 psi (≈ 241 kPa)"),
        # length
        ("A 1.2 mm gap", "A 1.2 mm (≈ 0.047 in) gap"),
        ("A 0.5 in. spacer", "A 0.5 in. (≈ 13 mm) spacer"),
        # volume
        ("Add 4.5 L of oil", "Add 4.5 L (≈ 4.8 qt) of oil"),
        ("Add 3 qt of oil", "Add 3 qt (≈ 2.8 L) of oil"),
        # ranges convert both ends
        ("25-30 N·m", "25-30 N·m (≈ 18–22 ft·lb)"),
        ("10 to 15 ft·lb", "10 to 15 ft·lb (≈ 14 to 20 N·m)"),
        # tolerances convert as differences (±5 °C is ±9 °F, not ±41 °F)
        ("Bore ±0.05 mm", "Bore ±0.05 mm (≈ ±0.002 in)"),
        ("Hold ±5 °C", "Hold ±5 °C (≈ ±9 °F)"),
        # ...and so does a change ("lower by", "increase"): no offset
        (
            "Lower nozzle temperature (5-10 °C).",
            "Lower nozzle temperature (5-10 °C (≈ 9–18 °F)).",
        ),
        ("Raise the bed temperature by 5 °C", "Raise the bed temperature by 5 °C (≈ 9 °F)"),
        # fractions as US manuals write sizes: the whole fraction, never its denominator alone
        # ('1/8 inch' is 3.2 mm, not the 203 mm of '8 inch')
        ("Use a 1/8 inch drill.", "Use a 1/8 inch (≈ 3.2 mm) drill."),
        ('A 3/4" pipe', 'A 3/4" (≈ 19 mm) pipe'),
        ("A 1-1/2 in. hole", "A 1-1/2 in. (≈ 38 mm) hole"),
        ("1 1/2 inches long", "1 1/2 inches (≈ 38 mm) long"),
        ("a 5/16 in. bolt at 20 ft-lb", "a 5/16 in. (≈ 7.9 mm) bolt at 20 ft-lb (≈ 27 N·m)"),
    ],
)
def test_quantities_get_the_common_alternative_beside_them(text: str, expected: str) -> None:
    annotated = annotate_conversions(text)
    assert annotated == expected
    assert strip_conversions(annotated) == text


@pytest.mark.parametrize(
    "text",
    [
        "Permissible voltage 11–15 V, current 150 mA.",  # not a shop unit: stays alone
        "Pressure 2.5 bar (36 psi)",  # the manual already gives the alternative
        "Pressure 2.5 bar/36 psi",
        "Put 5 in the tray",  # 'in' the word, not inches
        "Code E302 on page 12",
        "Ratio 1/0 in.",  # no fraction (zero denominator), and its '0 in.' follows a slash
        "",
    ],
)
def test_text_without_a_convertible_quantity_is_unchanged(text: str) -> None:
    assert annotate_conversions(text) == text


def test_conversions_come_from_pint_and_read_well() -> None:
    value, unit = convert(25, "N·m") or (0.0, "")
    assert unit == "ft·lb" and value == pytest.approx(18.439, rel=1e-3)
    assert convert(100, "°C") == (pytest.approx(212.0), "°F")
    assert convert(10, "°C", difference=True) == (pytest.approx(18.0), "°F")
    assert convert(1, "V") is None
    assert [format_value(v) for v in (249.8, 18.44, 4.2, 0.0019685, 0)] == [
        "250",
        "18",
        "4.2",
        "0.002",
        "0",
    ]


def test_a_streamed_quantity_split_over_tokens_is_converted_once_whole() -> None:
    stream = ConversionStream()
    pieces = ["Tighten the caliper bolts to 2", "5 N", "·m, then the slide pins to 3", "2 N·m."]
    out = "".join(stream.feed(p) for p in pieces) + stream.flush()
    assert out == (
        "Tighten the caliper bolts to 25 N·m (≈ 18 ft·lb), then the slide pins to 32 N·m"
        " (≈ 24 ft·lb)."
    )
    assert strip_conversions(out) == "".join(pieces)


def test_a_stream_without_quantities_is_released_as_it_comes() -> None:
    stream = ConversionStream()
    assert [stream.feed(p) for p in ("word0 ", "word1 ", "Pressure ")] == [
        "word0 ",
        "word1 ",
        "Pressure ",
    ]
    assert stream.feed("2.5 ") == ""  # a number: held until its unit (and any alternative)
    assert stream.feed("bar (36 psi) is fine ") == ""
    rest = stream.feed("and the text goes on for a while longer here ") + stream.flush()
    assert rest.startswith("2.5 bar (36 psi) is fine")  # no conversion next to the manual's own


def test_a_whole_number_and_fraction_split_by_other_whitespace_do_not_crash() -> None:
    # A line break, no-break or thin space between the whole and the fraction (an LLM's or a
    # PDF's text): the fraction alone converts, nothing raises.
    for gap in ("\n", "\u00a0", "\u202f", "\t"):
        text = f"Use a 1{gap}1/2 inch pipe."
        assert annotate_conversions(text).startswith(text[: text.index("inch")])
    assert "38 mm" in annotate_conversions("Use a 1-1/2 inch pipe.")
    assert "38 mm" in annotate_conversions("Use a 1\u00a01/2 inch pipe.")
