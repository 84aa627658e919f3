"""Units a shop uses: a quantity in an answer gets its common alternative beside it.

Manuals mix N·m, kgf·cm, ft·lb and in·lb; °C and °F; bar, kPa and psi; mm and in; L and qt. After
each quantity in one of those units the answer shows the other system's unit, marked as converted
with "≈" and in parentheses: "25 N·m (≈ 18 ft·lb)", "121 °C (≈ 250 °F)", "10–15 bar (≈ 145–218
psi)", "±0.05 mm (≈ ±0.002 in)". The manual's own words and numbers are never changed: the
conversion is only inserted after them. A fraction is one number ('1/8 inch' is 3.2 mm). A tolerance (±) converts as a difference, so "±5 °C" is
"±9 °F", not "±41 °F". Quantities in other units (V, A, Hz, …) are left alone.

The conversions are pint's (`pint.UnitRegistry`); no factor is written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pint

CONVERTED_MARK = "≈"


@dataclass(frozen=True)
class _Unit:
    pint_name: str
    """The unit as pint spells it."""
    shown: str
    """How the answer writes it when it is the converted unit."""
    target: str
    """The key (in _UNITS) of the common alternative."""
    delta: str = ""
    """For temperatures: pint's unit of a difference (a tolerance converts without the offset)."""


_UNITS: dict[str, _Unit] = {
    "N·m": _Unit("newton * meter", "N·m", "ft·lb"),
    "kgf·cm": _Unit("kilogram_force * centimeter", "kgf·cm", "N·m"),
    "ft·lb": _Unit("foot * force_pound", "ft·lb", "N·m"),
    "in·lb": _Unit("inch * force_pound", "in·lb", "N·m"),
    "°C": _Unit("degC", "°C", "°F", delta="delta_degC"),
    "°F": _Unit("degF", "°F", "°C", delta="delta_degF"),
    "bar": _Unit("bar", "bar", "psi"),
    "kPa": _Unit("kilopascal", "kPa", "psi"),
    "MPa": _Unit("megapascal", "MPa", "psi"),
    "psi": _Unit("psi", "psi", "kPa"),
    "mm": _Unit("millimeter", "mm", "in"),
    "cm": _Unit("centimeter", "cm", "in"),
    "in": _Unit("inch", "in", "mm"),
    "L": _Unit("liter", "L", "qt"),
    "mL": _Unit("milliliter", "mL", "fl oz"),
    "qt": _Unit("quart", "qt", "L"),
    "fl oz": _Unit("fluid_ounce", "fl oz", "mL"),
}

# How manuals write each unit (matched case-sensitively unless the spelling is unambiguous).
_SPELLINGS: list[tuple[str, str]] = [
    (r"N\s?[·.\-*]?\s?m(?![A-Za-z])", "N·m"),
    (r"(?:kgf|kg)\s?[·.\-*]\s?cm\b|kgf\s?cm\b", "kgf·cm"),
    (r"(?:ft|foot)\s?[·.\-*]?\s?(?:lbs?|lbf|pounds?)\b|lbf?\s?[·.\-*]\s?ft\b", "ft·lb"),
    (r"(?:in|inch)\s?[·.\-*]\s?(?:lbs?|lbf|pounds?)\b|lbf?\s?[·.\-*]\s?in\b", "in·lb"),
    (r"(?:°|º|˚)\s?C\b|deg(?:rees?)?\s?C\b|℃", "°C"),
    (r"(?:°|º|˚)\s?F\b|deg(?:rees?)?\s?F\b|℉", "°F"),
    (r"bar\b", "bar"),
    (r"kPa\b", "kPa"),
    (r"MPa\b", "MPa"),
    (r"(?i:psi)g?\b", "psi"),
    (r"mm\b", "mm"),
    (r"cm\b", "cm"),
    (r"(?:inch(?:es)?\b|in\.(?!\w)|in(?=\s*(?:[),;:/]|$))|″|\")", "in"),
    (r"(?:L|[Ll]it(?:er|re)s?)\b", "L"),
    (r"(?:mL|ml|[Mm]illilit(?:er|re)s?)\b", "mL"),
    (r"(?:qt|[Qq]uarts?)\b", "qt"),
    (r"fl\.?\s?oz\b", "fl oz"),
]
_UNIT_RE = "|".join(f"(?P<u{i}>{pattern})" for i, (pattern, _) in enumerate(_SPELLINGS))
_FRACTION = r"(?:\d+[ \u00a0\u2009\u202f-])?\d+/[1-9]\d*"
"""A fraction as US manuals write sizes: '1/8 in', '3/4"', '1-1/2 in', '1 1/2 inches' (a space, a
no-break or thin space, or a hyphen between the whole and the fraction; a line break or a tab
is no such join)."""
_NUMBER = rf"(?:{_FRACTION}|\d+(?:[.,]\d+)?)"
_QUANTITY = re.compile(
    rf"(?<![\w.,/])(?P<tol>±\s?)?(?P<low>-?{_NUMBER})"
    rf"(?:\s?(?P<sep>–|—|-|to|~)\s?(?P<high>-?{_NUMBER}))?"
    rf"\s?(?:{_UNIT_RE})"
)
_ALREADY = re.compile(r"^\s*[(/]\s*(?:≈|~|approx|=)?\s*[-±]?\d")
"""The manual (or Claude) already gives the other unit right after: '25 N·m (18 ft·lb)'."""
_ALTERNATIVE_BEFORE = re.compile(r"\d\s?[^\s\d()]{1,8}\s?[(/]\s?$")
"""...and this quantity is that alternative: the '36 psi' of '2.5 bar (36 psi)' or '2.5 bar/36 psi'."""


_CHANGE_BEFORE = re.compile(
    r"\b(?:lower|raise|increase|decrease|reduce|drop|rise|adjust|change)\w*\b[^.;:!?]*$|\bby\s*$",
    re.IGNORECASE,
)
"""A quantity after 'lower … by', 'increase …' is an amount of change: a temperature difference
converts without the offset ('lower the nozzle temperature (5-10 °C)' is 9–18 °F)."""


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The one pint registry of the app (built on first use: about a second)."""
    return pint.UnitRegistry()


def _number(text: str) -> float:
    """'2,5' -> 2.5; a fraction '1/8' -> 0.125, '1-1/2' or '1 1/2' -> 1.5."""
    if "/" not in text:
        return float(text.replace(",", "."))
    match = re.fullmatch(r"(-?)(?:(\d+)[^\d/])?(\d+)/(\d+)", text)
    if match is None:
        raise ValueError(f"not a number: {text!r}")
    sign, whole, numerator, denominator = match.groups()
    total = int(whole or 0) + int(numerator) / int(denominator)
    return -total if sign else total


def format_value(value: float) -> str:
    """Readable precision: whole numbers from 10 up, one decimal from 1, two significant digits
    below (0.0019685 -> 0.002)."""
    magnitude = abs(value)
    if magnitude < 1e-9:
        return "0"
    if magnitude >= 10:
        return f"{round(value):d}"
    if magnitude >= 1:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{float(f'{value:.2g}'):g}"


def convert(value: float, unit: str, *, difference: bool = False) -> tuple[float, str] | None:
    """`value` in `unit` (a key of the table) converted to its common alternative: (value, unit
    as shown). `difference` converts a temperature difference (no offset)."""
    spec = _UNITS.get(unit)
    if spec is None:
        return None
    target = _UNITS[spec.target]
    ureg = registry()
    source_name = spec.delta if difference and spec.delta else spec.pint_name
    target_name = target.delta if difference and target.delta else target.pint_name
    converted = ureg.Quantity(value, source_name).to(target_name).magnitude
    return float(converted), target.shown


def _unit_key(match: re.Match[str]) -> str | None:
    for i, (_, key) in enumerate(_SPELLINGS):
        if match.group(f"u{i}") is not None:
            return key
    return None


def _conversion(match: re.Match[str]) -> str | None:
    unit = _unit_key(match)
    if unit is None:
        return None
    tolerance = bool(match.group("tol"))
    before = match.string[max(0, match.start() - 40) : match.start()]
    difference = tolerance or _CHANGE_BEFORE.search(before) is not None
    low = _number(match.group("low"))
    high_text = match.group("high")
    sep = match.group("sep")
    if high_text is not None and sep == "-" and not match.group("low").startswith("-"):
        sep = "–"
    first = convert(low, unit, difference=difference)
    if first is None:
        return None
    value, shown = first
    text = f"±{format_value(value)}" if tolerance else format_value(value)
    if high_text is not None:
        second = convert(_number(high_text), unit, difference=difference)
        if second is None:
            return None
        joiner = " to " if sep == "to" else "–"
        text += f"{joiner}{format_value(second[0])}"
    return f" ({CONVERTED_MARK} {text} {shown})"


def annotate_conversions(text: str) -> str:
    """`text` with the converted value inserted after each quantity in a shop unit. The original
    characters are all kept, in order; only "(≈ …)" groups are added."""
    out: list[str] = []
    last = 0
    for match in _QUANTITY.finditer(text):
        if _ALREADY.match(text[match.end() :]) or _ALTERNATIVE_BEFORE.search(text[: match.start()]):
            continue
        if match.group("high") is None and match.group("sep"):
            continue
        addition = _conversion(match)
        if addition is None:
            continue
        out.append(text[last : match.end()])
        out.append(addition)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


_CONVERSION_RE = re.compile(rf"\s\({CONVERTED_MARK} [^()]*\)")


def strip_conversions(text: str) -> str:
    """The text without the inserted conversions (what the manual said)."""
    return _CONVERSION_RE.sub("", text)


_NUMBER_START = re.compile(r"(?<![\w.,])[±+\-–]?\d")


class ConversionStream:
    """Conversions for text that arrives in pieces (a vendor's token stream). Text is released at
    once up to the last space, except a trailing stretch that holds a digit: a quantity split over
    two tokens ("25 N", "·m") is converted once it is whole, and "2.5 bar (36 psi)" is seen whole
    so that no conversion is added next to an alternative the text already gives."""

    HOLD_CHARS = 40
    """A digit this close to the end holds back the text from that number on."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        cut = text.rfind(" ") + 1
        window_start = max(0, len(text) - self.HOLD_CHARS)
        digit = _NUMBER_START.search(text, window_start)
        if digit is not None:
            start = digit.start()
            # Back to the start of that word (and of its number run: '±0.05', '10 to 15').
            cut = min(cut, text.rfind(" ", 0, start) + 1)
        self._pending = text[cut:]
        return annotate_conversions(text[:cut]) if cut else ""

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return annotate_conversions(text)
