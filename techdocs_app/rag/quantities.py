"""Which kind of quantity a question asks for, and which kinds a passage states (for the evidence
decision).

"What torque …", "How much does it weigh?", "How many hours …" ask for a quantity of one physical
dimension (torque, mass, time). When none of the passages retrieved for the question states a
number in a unit of that dimension, the manuals likely do not give the value, however close the
passages are in topic: a near miss. Dimensions are pint's (`dimensionality` of the unit), so
"ft·lb", "N·m" and "kgf·cm" agree on torque without a table of our own; only the spellings a manual
uses for a unit are listed here.
"""

from __future__ import annotations

import re
from functools import lru_cache

from techdocs_app.rag.units import registry

# How manuals write units -> pint's name for the unit (case-sensitive where case matters).
_UNIT_SPELLINGS: tuple[tuple[str, str], ...] = (
    (r"N\s?[·.\-*]?\s?m(?![A-Za-z])", "newton * meter"),
    (r"(?:kgf|kg)\s?[·.\-*]\s?cm\b|kgf\s?cm\b", "kilogram_force * centimeter"),
    (
        r"(?:ft|foot)\.?\s?[·.\-*]?\s?(?:lbs?|lbf|pounds?)\b|lbf?\.?\s?[·.\-*]\s?ft\b",
        "foot * force_pound",
    ),
    (r"(?:in|inch)\s?[·.\-*]\s?(?:lbs?|lbf|pounds?)\b|lbf?\s?[·.\-*]\s?in\b", "inch * force_pound"),
    (r"(?:°|º|˚|o)\s?[CF]\b|deg(?:rees?)?\s?(?:[CF]\b|Celsius|Fahrenheit)|℃|℉", "kelvin"),
    (r"(?:bar|[kM]Pa|psig?|PSI)\b", "bar"),
    (r"(?:[mkµu]?V|volts?|Vdc|VDC|Vac|VAC)\b", "volt"),
    (r"(?:[mµun]?A|amps?|amperes?)\b", "ampere"),
    (r"(?:[kM]?Ω|[kM]?ohms?|[kM]?Ohms?|[kKM](?![\w.]))", "ohm"),
    (r"(?:[kMG]?Hz)\b", "hertz"),
    (r"(?:[mkµu]?W|watts?)\b", "watt"),
    (r"(?:kg|g|mg|lbs?|oz|grams?|kilograms?|pounds?)\b", "gram"),
    (r"(?:[mnµu]?s|sec|seconds?|min|minutes?|h|hrs?|hours?|days?)\b", "second"),
    (r"(?:[mcnµk]?m|inch(?:es)?|in\.|ft|feet|mils?)\b", "meter"),
    (r"(?:mL|ml|L|lit(?:er|re)s?|qt|quarts?|gal|gallons?)\b", "liter"),
)
_NUMBER = r"(?<![\w.])\d+(?:[.,]\d+)?(?:\s?(?:–|-|to|~)\s?\d+(?:[.,]\d+)?)?"
_VALUE_RE = re.compile(
    # A number and its unit, side by side or in a table's next cell ('| 1.27 | A |').
    rf"{_NUMBER}\s*(?:\|\s*){{0,2}}(?:"
    + "|".join(f"(?P<u{i}>{pattern})" for i, (pattern, _) in enumerate(_UNIT_SPELLINGS))
    + ")"
)

_ASKS = r"\b(?:what|which)(?:['’]?s)?\b(?:\s+\S+){0,4}?\s+"
"""A what/which question whose asked-for noun phrase (at most five words on) names the quantity:
'What is the maximum heated-bed temperature' (or "what's"), not 'What are the steps of the
Torque-Set …'."""
# The question's frames that ask for a quantity of one kind -> a unit of that kind (pint name).
_ASKED: tuple[tuple[re.Pattern[str], str], ...] = (
    # Not 'how tight': 'how tight is the spread …' asks for a tolerance.
    (re.compile(_ASKS + r"torques?\b(?!-)", re.I), "newton * meter"),
    (
        re.compile(_ASKS + r"(?:temperatures?|temps?)\b(?!-)|\bhow\s+(?:hot|cold|warm)\b", re.I),
        "kelvin",
    ),
    (re.compile(_ASKS + r"pressures?\b(?!-)", re.I), "bar"),
    (re.compile(_ASKS + r"voltages?\b(?!-)|\bhow\s+many\s+volts\b", re.I), "volt"),
    (re.compile(_ASKS + r"(?:currents?|amperage)\b(?!-)|\bhow\s+many\s+amps\b", re.I), "ampere"),
    (re.compile(_ASKS + r"(?<!thermal\s)resistance\b(?!-)|\bhow\s+many\s+ohms\b", re.I), "ohm"),
    (re.compile(_ASKS + r"(?:weight|mass)\b(?!-)|\bweighs?\b|\bhow\s+heavy\b", re.I), "gram"),
    (re.compile(r"\bhow\s+many\s+(?:hours|minutes|seconds|days)\b", re.I), "second"),
    (
        re.compile(
            _ASKS + r"(?:reach|distance|diameter|thickness|width|height|depth)\b(?!-)"
            r"|\bhow\s+(?:far|deep|wide|thick|tall)\b",
            re.I,
        ),
        "meter",
    ),
)


_HEADER_UNIT = re.compile(
    r"(?<!\w)[(\[]\s*(?:"
    + "|".join(f"(?P<u{i}>{pattern})" for i, (pattern, _) in enumerate(_UNIT_SPELLINGS))
    + r")\s*[)\]]"
)
"""A unit in brackets, as a table's header declares it for its column: 'Voltage (V)', '[ms]'."""
_UNIT_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:pounds?|grams?|kilograms?|ounces?)\b", re.I), "gram"),
    (re.compile(r"\b(?:ohms?|kilohms?|megohms?)\b|Ω", re.I), "ohm"),
    (re.compile(r"\b(?:volts?|millivolts?)\b", re.I), "volt"),
    (re.compile(r"\b(?:amperes?|amps?|milliamps?)\b", re.I), "ampere"),
    (re.compile(r"\bdegrees?\s+(?:Celsius|Fahrenheit|centigrade)\b|℃|℉", re.I), "kelvin"),
    (re.compile(r"\b(?:hours?|minutes?|seconds?)\b", re.I), "second"),
)
"""Units spelled out in full, anywhere in a passage (a table's header: 'Weight, pounds per 1,000
feet'): the passage states quantities of that kind."""


@lru_cache(maxsize=32)
def _dimension(unit: str) -> str:
    """pint's dimensionality of `unit` in a canonical spelling ('[length]1 [mass]1 [time]-2')."""
    dimensionality = registry().Unit(unit).dimensionality
    return " ".join(f"{name}{power:g}" for name, power in sorted(dimensionality.items()))


_UNIT_ASKED = re.compile(
    r"\bhow\s+many\s+(?:"
    + "|".join(f"(?P<m{i}>{pattern})" for i, (pattern, _) in enumerate(_UNIT_SPELLINGS))
    + r")|\bin\s+(?:"
    + "|".join(f"(?P<e{i}>{pattern})" for i, (pattern, _) in enumerate(_UNIT_SPELLINGS))
    + r")\s*[?.!]*\s*$"
)
"""The unit the answer is wanted in: 'how many ft-lb …', '… how tight, in Nm?' (a manual's
spelling of the unit, right after 'how many' or ending the question after 'in')."""


def asked_dimension(question: str) -> str | None:
    """The dimension of the quantity a question asks for (None: it asks for none we know)."""
    for pattern, unit in _ASKED:
        if pattern.search(question):
            return _dimension(unit)
    if match := _UNIT_ASKED.search(question):
        for i, (_, unit) in enumerate(_UNIT_SPELLINGS):
            if match.group(f"m{i}") is not None or match.group(f"e{i}") is not None:
                return _dimension(unit)
    return None


@lru_cache(maxsize=8192)
def stated_dimensions(text: str) -> frozenset[str]:
    """The dimensions of the quantities a passage states ('25 N·m', '3.3 V', '40 km')."""
    out: set[str] = set()
    for match in _VALUE_RE.finditer(text):
        for i, (_, unit) in enumerate(_UNIT_SPELLINGS):
            if match.group(f"u{i}") is not None:
                out.add(_dimension(unit))
                break
    for match in _HEADER_UNIT.finditer(text):
        for i, (_, unit) in enumerate(_UNIT_SPELLINGS):
            if match.group(f"u{i}") is not None:
                out.add(_dimension(unit))
                break
    for pattern, unit in _UNIT_WORDS:
        if pattern.search(text):
            out.add(_dimension(unit))
    return frozenset(out)
