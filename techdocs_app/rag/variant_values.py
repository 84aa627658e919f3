"""Values that pin a product variant ('the 40 km version'), and the values and ranges a manual
writes, for the attribute check (`rag.attributes.values_missing`).

A value in a question is a condition far more often than a variant: 'Can I power the RT2 from a
24 V supply?' asks about a value inside the manual's '10–30 V DC', 'Can I run 1200 m of cable?'
about one under its 'up to 1,200 m', 'Is terminal 3 a ground?' holds no value at all (the article
'a' is no ampere). So only a value tied to a variant word ('the 40 km version', 'a 12 V model')
or glued to a model code ('SFP28-40km') pins a variant, and the manual covers it when it writes
that value (in any prefix of the unit: 20 km is 20000 m) or a range or limit holding it ('10–30
V', '60 to 100 mA', 'up to 1,200 m', '≤ 30 V', 'max 30 V', '1.2 W max').

Measured (eval, the five tuning sets): the first reading (any value the manual does not write
verbatim) caught one tuning question, v327 ('the 40 km version of the Smartoptics TS2017'), and
refused answerable questions a technician asks every day ('from a 24 V supply' against '10–30 V
DC'); this reading still catches v327 and changes no outcome of the five sets. The review that
followed (volts as 'VDC', 'Vac', 'V DC'; lists '12/24 V', '12 or 24 V'; Greek mu; a value whose
number the manual writes at all is no unknown variant) also changes no outcome and still
catches v327 (unknown_models of every tuning question unchanged). The next review: 'a number
written at all' let a page, a figure or a temperature ('See page 40', 'Figure 40', '-5 to 40
°C') clear 'the 40 km version'; a bare number now counts only where its unit is implied: a
label or column header naming it ('Supply voltage (V) 12 24', 'Reach (km)'), a row's unit cell
('Reach | 20 | 40 | km') or a spelled unit ('24 Volts', '40 kilometres'); a reference ('page
40', 'Fig. 40', 'Table 12') and a number carrying another unit ('40 °C', '40 %') never.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from techdocs_app.rag.units import registry
from techdocs_app.text.identifiers import query_identifiers

_PINT_NAMES: dict[str, str] = {
    "nm": "nm",
    "um": "µm",
    "µm": "µm",
    "mm": "mm",
    "cm": "cm",
    "m": "m",
    "km": "km",
    "ft": "ft",
    "mi": "mi",
    "mv": "mV",
    "v": "V",
    "kv": "kV",
    "ua": "µA",
    "µa": "µA",
    "ma": "mA",
    "a": "A",
    "mw": "mW",
    "w": "W",
    "kw": "kW",
    "hz": "Hz",
    "khz": "kHz",
    "mhz": "MHz",
    "ghz": "GHz",
    "ns": "ns",
    "us": "µs",
    "µs": "µs",
    "ms": "ms",
    "min": "min",
    "kb": "kB",
    "mb": "MB",
    "gb": "GB",
    "kg": "kg",
    "lb": "lb",
    "lbs": "lb",
    "oz": "oz",
}
"""How pint spells a unit a manual or a question writes in any case (no factor is written here:
the dimensions and factors are pint's, `_dimension`). A volt written 'VDC', 'VAC' or 'Vrms'
is a volt (`_VOLT_SUFFIX_RE`)."""
_OWN_DIMENSION = frozenset({"db", "dbm", "ft", "mi", "lb", "oz"})
"""Units compared only with themselves: decibels are logarithmic (no factor), and an imperial
length or mass converted to metric is a rounded number ('65 ft' of '20 m'), no other variant."""
_VOLT_SUFFIX_RE = re.compile(r"^([mk]?v)(?:dc|ac|rms)$")


@functools.cache
def _dimension(spelling: str) -> tuple[str, float] | None:
    """The dimension (`_REFERENCES`) and the factor to its reference unit of a unit spelled as
    `_PINT_NAMES` or `_SPELLED_UNITS` write it (lower case), by pint; None for no unit it
    knows."""
    volt = _VOLT_SUFFIX_RE.match(spelling)
    if volt:
        spelling = volt.group(1)
    if spelling in _OWN_DIMENSION:
        return spelling, 1.0
    name = _PINT_NAMES.get(spelling) or _SPELLED_UNITS.get(spelling)
    if name is None:
        return None
    if name in _OWN_DIMENSION:
        return name, 1.0
    quantity = registry().Quantity(1, name)
    key = _reference_keys().get(str(quantity.dimensionality))
    if key is None:
        return None
    return key, float(quantity.to(_REFERENCES[key]).magnitude)


_REFERENCES = {
    "m": "m",
    "v": "V",
    "a": "A",
    "w": "W",
    "hz": "Hz",
    "s": "s",
    "byte": "B",
    "kg": "kg",
}
"""The dimensions values are compared in, each named by its reference unit: a value is stored as
pint's conversion to it ('20 km' is ('m', 20000.0))."""


@functools.cache
def _reference_keys() -> dict[str, str]:
    return {
        str(registry().Quantity(1, unit).dimensionality): key for key, unit in _REFERENCES.items()
    }


"""Units a variant can be pinned in -> (dimension, factor to the dimension's base unit), the
micro sign (U+00B5) standing for Greek mu (U+03BC) too (`_unit`); volts also as data sheets
write them ('VDC', 'Vac', 'Vrms'; '24 V DC' is read by `_CURRENT`). Not 's' ('2209s' is a
plural), 'in' ('pin 4 in the connector'), 'g' ('25G' is a rate, '4G' a network), 'k' (kilo of
what?) nor temperatures (a technician's '82C ambient' is a condition)."""

_NUMBER = r"[-+−]?(?:[1-9]\d{0,2}(?:,\d{3})+(?![\d,])|\d+(?:[.,]\d+)?)"
"""A number as written: thousands separated by commas ('1,200'), a decimal point or comma."""
_CURRENT = r"(?:\s?(?i:[AD]C))?"
"""' DC'/' AC' after a unit ('10–30 V DC'), so that a range or limit reads on past it."""
_UNIT = rf"([A-Za-zµμ]{{1,4}}){_CURRENT}"
_VALUE_RE = re.compile(rf"(?<![\w.,])({_NUMBER})(?:\s?{_UNIT}\b)?")
"""A number, with its unit when one follows: a list ('12/24 V', '12 or 24 V') gives the unit of
its last number to the bare ones before it (`_LIST_GAP_RE`)."""
_LIST_GAP_RE = re.compile(r"\s*(?:/|,\s|\bor\b|\band\b|,\s*or\b)\s*")
"""What separates the numbers of a list: '12/24 V', '12V/24V', '12 or 24 V', '12, 24 or 48 V'."""
_RANGE_RE = re.compile(
    rf"(?<![\w.,/])({_NUMBER})(?:\s?{_UNIT})?\s*(?:–|—|-|~|\.\.\.?|…|\bto\b)\s*({_NUMBER})\s?"
    rf"{_UNIT}\b"
)
"""'10–30 V', '60-100 mA', '-5.0 to +2.0dBm', '5 V to 24 V': both ends, the low end in the high
end's unit when it has none of its own."""
_UPPER_RE = re.compile(
    rf"(?:\bup\s+to|\bmax(?:imum)?\b\.?|≤|<=|<|\bat\s+most)\s*(?::\s*)?({_NUMBER})\s?{_UNIT}\b"
    rf"|(?<![\w.,/])({_NUMBER})\s?{_UNIT}\s+max(?:imum)?\b",
    re.IGNORECASE,
)
"""A limit: 'up to 1,200 m', 'max. 30 V', '≤ 30 V', '1.2 W max'. The blanks around a colon are
read one way only (`\\s*(?::\\s*)?`; `\\s*:?\\s*` tried every split of a blank run: 21 s on
'max' and 20,000 blanks)."""
_LOWER_RE = re.compile(
    rf"(?:\bmin(?:imum)?\b\.?|≥|>=|>|\bat\s+least)\s*(?::\s*)?({_NUMBER})\s?{_UNIT}\b",
    re.IGNORECASE,
)
"""A floor: 'min. 10 V', '≥ 10 V', 'at least 10 V'."""
_VARIANT_WORDS = r"(?i:versions?|variants?|models?|editions?|skus?)"
_VARIANT_RE = re.compile(
    rf"(?<![\w.,/])({_NUMBER})\s?{_UNIT}(?:\s+[A-Za-z]+(?:-[A-Za-z]+)*)?[\s-]+"
    rf"{_VARIANT_WORDS}\b(?!\s+(?i:numbers?|names?|no\b|codes?))"
)
"""'the 40 km version', 'a 12 V model', 'the 10 km long-reach variant': a value then a word for
a variant (one word between at most; not a 'model number', which names no variant)."""
_IN_CODE_RE = re.compile(rf"\b([A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*)-({_NUMBER}){_UNIT}\b")
"""'SFP28-40km': a value glued to a model code."""


_QUANTITY_TOKEN_RE = re.compile(
    r"[-+]?\d+(?:[.,/]\d+)*(?:[-–]\d+(?:[.,]\d+)*)?([a-zµμ]{1,4})?", re.IGNORECASE
)


def is_quantity(token: str) -> bool:
    """A number, a value with its unit glued on ('3/4', '24v', '3.3V', '20km', '12vdc') or a
    range so typed ('4-20ma', '12-24vdc'): a manual writes it its own way ('24 V', '3/4 in.',
    '4–20 mA'), so it is no word a manual must write."""
    match = _QUANTITY_TOKEN_RE.fullmatch(token)
    if match is None:
        return False
    unit = (match.group(1) or "").lower().replace("μ", "µ")
    return not unit or _dimension(unit) is not None


def _unit(written: str) -> tuple[str, float] | None:
    """The dimension and factor of a unit as written, Greek mu as the micro sign; 'A'
    (amperes) only in capitals, since 'a' after a number is an article ('Is terminal 3 a
    ground?')."""
    if written == "a":
        return None
    return _dimension(written.lower().replace("μ", "µ"))


def written_number(text_: str) -> str:
    """A number in one form: no thousands separator ('1,200' -> '1200'), a decimal comma read
    as a point ('0,5' -> '0.5'), no trailing zeros ('0.50' -> '0.5', '13.0' -> '13')."""
    text_ = text_.replace("−", "-")
    if re.fullmatch(r"[-+]?[1-9]\d{0,2}(?:,\d{3})+", text_):
        text_ = text_.replace(",", "")
    text_ = text_.replace(",", ".")
    try:
        number = Decimal(text_).normalize()
    except InvalidOperation:
        return text_
    return format(number, "f")


def _same(a: float, b: float) -> bool:
    """Equal but for the rounding of a unit's factor (0.06 A = 60 mA)."""
    return math.isclose(a, b, rel_tol=1e-9)


def _base(number: str, unit: str) -> tuple[str, float] | None:
    found = _unit(unit)
    if found is None:
        return None
    dimension, factor = found
    return dimension, float(written_number(number)) * factor


@dataclass(frozen=True)
class WrittenValues:
    """The values and ranges a text writes, in the base unit of each dimension."""

    points: frozenset[tuple[str, float]] = frozenset()
    ranges: frozenset[tuple[str, float, float]] = frozenset()

    @property
    def dimensions(self) -> frozenset[str]:
        return frozenset({d for d, _ in self.points} | {d for d, _, _ in self.ranges})

    def covers(self, dimension: str, value: float) -> bool:
        """Whether the text writes this value or a range or limit holding it."""
        if any(d == dimension and _same(v, value) for d, v in self.points):
            return True
        return any(
            d == dimension and (lo <= value <= hi or _same(value, lo) or _same(value, hi))
            for d, lo, hi in self.ranges
        )

    def __or__(self, other: WrittenValues) -> WrittenValues:
        return WrittenValues(self.points | other.points, self.ranges | other.ranges)


EMPTY = WrittenValues()


def read_values(text_: str) -> WrittenValues:
    """The values `text_` writes ('20km', '3.3 V') and its ranges and limits, both ends read."""
    points: set[tuple[str, float]] = set(_points(text_))
    ranges: set[tuple[str, float, float]] = set()
    for low, low_unit, high, high_unit in _RANGE_RE.findall(text_):
        top = _base(high, high_unit)
        bottom = _base(low, low_unit or high_unit)
        if top and bottom and top[0] == bottom[0]:
            lo, hi = sorted((bottom[1], top[1]))
            ranges.add((top[0], lo, hi))
            points.update({bottom, top})
    for match in _UPPER_RE.finditer(text_):
        number, unit = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
        if limit := _base(number, unit):
            ranges.add((limit[0], -math.inf, limit[1]))
    for number, unit in _LOWER_RE.findall(text_):
        if limit := _base(number, unit):
            ranges.add((limit[0], limit[1], math.inf))
    points.update(_spelled_points(text_))
    points.update(_implied_points(text_))
    return WrittenValues(frozenset(points), frozenset(ranges))


_SPELLED_UNITS: dict[str, str] = {
    "volt": "volt",
    "millivolt": "millivolt",
    "kilovolt": "kilovolt",
    "amp": "ampere",
    "ampere": "ampere",
    "milliamp": "milliampere",
    "milliampere": "milliampere",
    "microamp": "microampere",
    "microampere": "microampere",
    "watt": "watt",
    "milliwatt": "milliwatt",
    "kilowatt": "kilowatt",
    "metre": "metre",
    "meter": "meter",
    "kilometre": "kilometre",
    "kilometer": "kilometer",
    "centimetre": "centimetre",
    "centimeter": "centimeter",
    "millimetre": "millimetre",
    "millimeter": "millimeter",
    "hertz": "hertz",
    "kilohertz": "kilohertz",
    "megahertz": "megahertz",
    "gigahertz": "gigahertz",
    "second": "second",
    "millisecond": "millisecond",
    "microsecond": "microsecond",
    "nanosecond": "nanosecond",
    "minute": "minute",
    "foot": "ft",
    "feet": "ft",
    "mile": "mi",
    "kilogram": "kilogram",
    "pound": "lb",
    "ounce": "oz",
    "decibel": "db",
}
"""Units spelled out ('24 Volts', '40 kilometres') and how pint (or `_OWN_DIMENSION`) names them."""
_SPELLED_RE = re.compile(
    rf"(?<![\w.,])({_NUMBER})[\s-]?({'|'.join(sorted(_SPELLED_UNITS, key=len, reverse=True))})"
    r"(?:e?s)?\b",
    re.IGNORECASE,
)


def _spelled_points(text_: str) -> list[tuple[str, float]]:
    """The values written with their unit spelled out: '24 Volts', '40 kilometres'."""
    out: list[tuple[str, float]] = []
    for number, unit in _SPELLED_RE.findall(text_):
        known = _dimension(unit.lower())
        if known is not None:
            dimension, factor = known
            out.append((dimension, float(written_number(number)) * factor))
    return out


_LABEL_RE = re.compile(r"[(\[] ?([A-Za-zµμ]{1,5})(?: ?[@,/][^)\]\n]{0,40})? ?[)\]]")
"""A unit named as a label or a column header: 'Supply voltage (V)', 'Reach [km]', 'OSNR (dB
@0.1nm)'. Bounded (one blank, 40 characters of a note) so that a hostile text costs linear
time."""
_REFERENCE_RE = re.compile(
    r"(?:\b(?:pages?|pp?|fig(?:ure)?s?|tables?|tab|sections?|sec|chapters?|ch|steps?|items?"
    r"|pins?|terminals?|no|rev|notes?)\.?|#|§)\s*$",
    re.IGNORECASE,
)
"""What makes the number after it a reference, not a value: 'page 40', 'Fig. 40', 'Table 12',
'Section 100', 'Chapter 4', 'pin 3', 'No. 2'."""


_SYMBOLS = frozenset("°º℃%‰'\"″′")
"""Signs after a number that make it a value of another kind: '40 °C', '40 %', '40″'."""


_REFERENCE_REACH = 16
"""Characters before a number searched for a reference word ('Chapter ', 'Figs. '): a window,
so that a line of many numbers costs linear time."""


def _bare_numbers(segment: str) -> list[tuple[int, str]]:
    """The numbers of `segment` that carry no unit of their own and are no reference: not '40
    °C', '40 %', '40mm', '40 mA' (a unit, a symbol or a glued letter follows; a word such as
    'and' after a blank does not count) nor 'page 40' (`_REFERENCE_RE`); with where each
    starts."""
    out: list[tuple[int, str]] = []
    for match in _VALUE_RE.finditer(segment):
        glued = segment[match.end(1) : match.end(1) + 1]
        after = segment[match.end(1) :].lstrip()[:1]
        if glued.isalpha() or after in _SYMBOLS or (match.group(2) and _unit(match.group(2))):
            continue  # '40mm', '25G', '40 °C', '40 %', '40 mA' (read as a value already)
        if _REFERENCE_RE.search(segment, max(0, match.start() - _REFERENCE_REACH), match.start()):
            continue
        out.append((match.start(), match.group(1)))
    return out


def _row_unit(cells: list[str]) -> tuple[str, float] | None:
    """The unit of a table row: written in a cell of its own (a data sheet's 'Unit' column) or
    in its first cell's label ('Supply voltage (V) | 12 | 24')."""
    for cell in cells[1:]:
        if cell.strip().isalpha() and (found := _unit(cell.strip())) is not None:
            return found
    labels = _labels(cells[0])
    return labels[-1][1] if labels else None


def _labels(cell: str) -> list[tuple[int, tuple[str, float]]]:
    """The units `cell` names as labels ('(V)', '[km]'), with where each label ends."""
    out: list[tuple[int, tuple[str, float]]] = []
    for match in _LABEL_RE.finditer(cell):
        if (unit := _unit(match.group(1))) is not None:
            out.append((match.end(), unit))
    return out


def _implied_points(text_: str) -> list[tuple[str, float]]:
    """The bare numbers whose unit the text implies: a line after its label ('Supply voltage (V)
    12 24'), a table cell under a column header naming one ('Reach (km)'), a row with its unit in
    a cell of its own ('Reach | 20 | 40 | km'). Tables are the lines with '|' between cells, as
    ingestion writes them; a header's units hold for the rows under it until the table ends."""
    out: list[tuple[str, float]] = []
    columns: dict[int, tuple[str, float]] = {}
    for line in text_.splitlines():
        cells = line.split("|") if "|" in line else [line]
        if len(cells) == 1:
            columns = {}
        row_unit = _row_unit(cells) if len(cells) > 1 else None
        for index, cell in enumerate(cells):
            labels = _labels(cell)
            if labels and index > 0:
                columns[index] = labels[-1][1]
            for start, number in _bare_numbers(cell):
                before = [unit for end, unit in labels if end <= start]
                unit = before[-1] if before else columns.get(index) or row_unit
                if unit is not None:
                    dimension, factor = unit
                    out.append((dimension, float(written_number(number)) * factor))
    return out


def _points(text_: str) -> list[tuple[str, float]]:
    """The values `text_` writes, a list's bare numbers in the unit of its last ('12/24 V',
    '12 or 24 V', '12V/24V'). One pass over the numbers: each gap between two is matched once."""
    out: list[tuple[str, float]] = []
    bare: list[str] = []  # the list's numbers so far without a unit of their own
    end = -1
    for match in _VALUE_RE.finditer(text_):
        number, unit = match.group(1), match.group(2)
        if end < 0 or not _LIST_GAP_RE.fullmatch(text_, end, match.start()):
            bare = []
        if not unit or _unit(unit) is None:  # bare, or a word after it ('12 or 24 V')
            bare.append(number)
            end = match.end(1)
            continue
        end = match.end()
        out.extend(value for n in (*bare, number) if (value := _base(n, unit)))
        bare = []
    return out


def variant_values(question: str) -> list[tuple[str, str, float]]:
    """The values `question` pins a variant with: ('40 km', 'm', 40000.0) for 'the 40 km
    version' or 'SFP28-40km' (the label's number in `written_number`'s form); none for a value
    that is a condition ('from a 24 V supply', 'at 0.3 mm layers', '1200 m of cable')."""
    found: list[tuple[str, str]] = list(_VARIANT_RE.findall(question))
    codes = {c.lower() for c in query_identifiers(question)}
    for match in _IN_CODE_RE.finditer(question):
        code = match.group(1)
        if (
            any(ch.isdigit() for ch in code)
            and len(code) >= 3
            and (code.lower() in codes or any(c.startswith(code.lower()) for c in codes))
        ):
            found.append((match.group(2), match.group(3)))
    out: list[tuple[str, str, float]] = []
    for number, unit in found:
        value = _base(number, unit)
        label = f"{written_number(number)} {unit}"
        if value and (label, *value) not in out:
            out.append((label, *value))
    return out
