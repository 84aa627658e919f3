"""The small stemmer of text.words: a word's forms meet, and never meet another word."""

from __future__ import annotations

import pytest

from techdocs_app.text.words import is_function_word, stem, terms


def test_lanes_are_not_the_lan() -> None:
    """'lanes' (optical lanes) and 'LAN' (the network) were both 'lan'."""
    assert stem("lanes") == stem("lane") == "lane"
    assert stem("lan") == "lan"
    assert "lan" not in terms("The CFP2 module carries four optical lanes, one per lane")
    assert "lan" in terms("Connect the LAN port")
    assert set(terms("optical lanes")).isdisjoint(terms("LAN cable"))


@pytest.mark.parametrize(
    ("forms", "other"),
    [
        (("lane", "lanes", "laned"), "lan"),
        (("time", "times", "timed", "timing"), "tim"),
        (("code", "codes", "coded", "coding"), "cod"),
        (("mode", "modes"), "mod"),
        (("note", "notes", "noted"), "not"),
        (("plane", "planes"), "plan"),
        (("pine", "pines"), "pin"),
        (("type", "types", "typed"), "typ"),
        (("tape", "tapes", "taped"), "tap"),
    ],
)
def test_silent_e_words_meet_their_forms_not_the_shorter_word(
    forms: tuple[str, ...], other: str
) -> None:
    stems = {stem(f) for f in forms}
    assert len(stems) == 1
    assert stems != {stem(other)}


@pytest.mark.parametrize(
    "forms",
    [
        ("pin", "pins"),
        ("plan", "plans"),
        ("box", "boxes"),
        ("fix", "fixes", "fixed"),
        ("bus", "buses"),
        ("fuse", "fuses", "fused"),
        ("open", "opened", "opens"),
        ("enter", "entered"),
        ("rotate", "rotated", "rotating"),
        ("key", "keyed"),
        ("clear", "clears", "cleared"),
        ("quick", "quickly"),
        ("lace", "lacing"),
    ],
)
def test_forms_still_meet(forms: tuple[str, ...]) -> None:
    assert len({stem(f) for f in forms}) == 1


def test_notes_is_no_function_word() -> None:
    """'notes' stemmed to the stop word 'not' and was dropped as question filler."""
    assert not is_function_word("notes")
    assert is_function_word("tells")


@pytest.mark.parametrize(
    "forms",
    [
        # '-ings' gives a short stem its silent 'e' back, as '-ing' does.
        ("rate", "rates", "rating", "ratings", "rated"),
        ("time", "timing", "timings"),
        ("line", "lining", "linings"),
        ("wire", "wiring", "wirings"),
        # '-ings' words whose stem keeps no 'e'.
        ("setting", "settings"),
        ("bearing", "bearings"),
        ("fitting", "fittings"),
        ("reading", "readings"),
        ("winding", "windings"),
        ("housing", "housings"),
        ("spring", "springs"),
        # A word ending in '-eed' is no '-ed' form of a shorter one ('spe-ed').
        ("speed", "speeds"),
        ("exceed", "exceeds", "exceeded", "exceeding"),
        ("bleed", "bleeds", "bleeding"),
        ("proceed", "proceeds"),
        ("speed", "speeds", "speeding"),
        ("exceed", "exceeded", "exceeding"),
        ("succeed", "succeeds", "succeeded"),
        ("need", "needed"),
        ("feed", "feeds", "feeding"),
        ("seed", "seeds"),
        ("airspeed", "airspeeds"),
        # An '-ee' word's '-ed' form is that word's ('agreed' is 'agree' + 'd', not 'agre-ed').
        ("agree", "agreed", "agrees", "agreeing"),
        ("guarantee", "guaranteed", "guarantees", "guaranteeing"),
        ("free", "freed", "frees", "freeing"),
        ("referee", "refereed", "referees"),
        ("decree", "decreed"),
        ("degree", "degrees"),
    ],
)
def test_word_families_meet(forms: tuple[str, ...]) -> None:
    assert len({stem(f) for f in forms}) == 1, {f: stem(f) for f in forms}


def test_timings_is_not_the_rat() -> None:
    """'ratings' stemmed to 'rat' while 'rating' was 'rate'; 'speed' to 'spe', 'speeds' 'speed'."""
    assert stem("ratings") == "rate" and stem("rat") == "rat"
    assert "tim" not in terms("SIA timings: see table")
    assert set(terms("SIA timing of the RT2")) & set(terms("SIA timings: see table")) >= {"time"}
    assert stem("speed") == stem("speeds") == "speed"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("speed", "spee"),
        ("bleed", "blee"),
        ("seed", "see"),
        ("feed", "fee"),
        ("exceed", "excee"),
        ("need", "nee"),
        ("agreed", "greed"),
        ("freed", "feed"),
        ("speed", "agree"),
    ],
)
def test_eed_words_and_ee_words_stay_apart(first: str, second: str) -> None:
    """An '-eed' word that is no '-ed' form ('speed', 'seed', 'exceed') is not stemmed as one:
    'seed' is not 'see', 'feed' not 'fee'; nor is 'agreed' the 'greed' it ends in."""
    assert stem(first) != stem(second)
