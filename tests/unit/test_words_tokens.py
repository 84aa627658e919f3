"""Tokens of text.words beyond ASCII: a unit's micro sign and omega stay with their unit, letters
of other alphabets stay letters, and ASCII text splits exactly as before."""

from __future__ import annotations

import re

import pytest

from techdocs_app.text.words import glued_unit, raw_tokens, terms

MICRO_SIGN = "\u00b5"
GREEK_MU = "\u03bc"
OHM_SIGN = "\u2126"
GREEK_OMEGA = "\u03a9"


@pytest.mark.parametrize("micro", [MICRO_SIGN, GREEK_MU])
@pytest.mark.parametrize(("unit", "typed"), [("s", "us"), ("A", "ua"), ("F", "uf"), ("m", "um")])
def test_a_micro_unit_is_one_term_as_typed_on_a_keyboard(micro: str, unit: str, typed: str) -> None:
    """'5 µs' was the terms '5', 's': the micro sign fell out and the unit's letter was left alone
    (a question's possessive "'s" then matched a table's 'µs'). Both the micro sign and the
    Greek mu give the unit as a technician types it without them: 'us', 'ua', 'uf'."""
    text = f"Wake-up time: 5 {micro}{unit}, glued 10{micro}{unit}"
    assert terms(f"5 {micro}{unit}") == ["5", typed]
    assert typed in terms(text)
    assert unit.lower() not in terms(text)
    assert terms(f"5 {micro}{unit}") == terms(f"5 {typed}")


def test_a_possessive_s_no_longer_meets_a_microsecond() -> None:
    question = set(terms("What is the F103's wake-up time from Stop mode?"))
    table = set(terms(f"Wakeup from Stop mode | 5.4 {MICRO_SIGN}s"))
    assert "s" not in table
    assert question & table == {"stop", "mode"}


@pytest.mark.parametrize("omega", [OHM_SIGN, GREEK_OMEGA, GREEK_OMEGA.lower()])
def test_omega_is_ohm(omega: str) -> None:
    assert terms(f"Pull-up: 10 k{omega}") == terms("Pull-up: 10 kohm")
    assert terms(f"R = 4.7 {omega}")[-1] == "ohm"


def test_greek_symbols_are_spelled_with_their_letters() -> None:
    """As `spell_greek` spells them for the attribute check: 'ΔV' -> 'deltav', 'θJA' ->
    'thetaja'."""
    assert raw_tokens("ΔV = 0.2 V, θJA 45 °C/W") == ["deltav", "0.2", "v", "thetaja", "45", "c/w"]


def test_letters_of_other_alphabets_stay_words() -> None:
    """An accented word, a Greek or Cyrillic word is one token of its own letters, not dropped
    or cut at each non-ASCII letter ('Résistance' was 'r', 'sistance')."""
    assert raw_tokens("Résistance de tirage") == ["résistance", "de", "tirage"]
    assert raw_tokens("Αντίσταση έλξης") == ["αντίσταση", "έλξης"]
    assert raw_tokens("Сопротивление 10 кОм") == ["сопротивление", "10", "ком"]
    assert terms("Résistances") == terms("résistance")


def test_compatibility_forms_are_what_people_type() -> None:
    """NFKC, as ingestion stores text (`rag.pdf.lines`): a ligature is its letters, 'mm²' is
    'mm2'; a question typed with them meets the stored text."""
    assert raw_tokens("\ufb01lter area 2.5 mm\u00b2") == ["filter", "area", "2.5", "mm2"]


_OLD_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:[.,:/+\-][A-Za-z0-9]+)*[+\-]?")


@pytest.mark.parametrize(
    "text",
    [
        "QSFP-100G-ER4L-A-FL: 4x25G lanes, 12,6 W; I2C/SMBus at 0x50.",
        "USART1_TX on PA9 (AF7); don't exceed 3.6 V! See 4.2 - 'Reset' & \"Boot\" [PLS[2:0]].",
        "Torque: 25 N.m +/- 10%; C++ A+ B- x_y__z 1.2.3- -4 ..5 a//b 12:30 +5V -12V",
    ],
)
def test_ascii_text_splits_as_before(text: str) -> None:
    assert text.isascii()
    assert raw_tokens(text) == [t.lower() for t in _OLD_TOKEN_RE.findall(text)]


@pytest.mark.parametrize("micro", [MICRO_SIGN, GREEK_MU])
def test_a_glued_micro_unit_is_the_term_of_its_unit(micro: str) -> None:
    """`glued_unit` gives the unit in the form `terms` gives it ('100µF' -> 'uf')."""
    assert glued_unit(f"100{micro}f") == "uf" == terms(f"100 {micro}F")[-1]
    assert glued_unit("13.0db") == "db"
    assert glued_unit("10kohm") == "kohm"
    assert glued_unit("f103") is None


@pytest.mark.parametrize("sign", ["\u00d8", "\u00f8", "\u2300", "\u03a6", "\u03c6", "\u03d5"])
def test_a_diameter_sign_is_no_letter_of_the_number_it_marks(sign: str) -> None:
    """'Ø10' on a drawing is the 10 of a question's '10 mm shaft' (it was the term 'ø10'); Ø and
    ø are letters, and a Chinese drawing's Φ a Greek one ('phi10'), so they were glued to it."""
    assert raw_tokens(f"Shaft {sign}10 mm, bore {sign}3.5") == ["shaft", "10", "mm", "bore", "3.5"]
    assert "10" in set(terms(f"{sign}10 h7 shaft")) & set(terms("10 mm shaft"))
    assert raw_tokens(f"{sign}10-{sign}12") == ["10-12"]
    assert raw_tokens(f"2x{sign}10") == ["2x", "10"]


def test_a_word_with_a_diameter_sign_letter_stays_a_word() -> None:
    """Ø and Φ are letters of words too: before a letter they are no diameter sign."""
    assert raw_tokens("Ørsted Øresund Φάση 3Φ") == ["ørsted", "øresund", "φάση", "3phi"]
