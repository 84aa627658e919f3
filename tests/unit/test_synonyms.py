"""The one synonym table (`text.synonyms`) that the attribute check and the extractive answerer
read."""

from __future__ import annotations

from techdocs_app.providers.extractive.scoring import _expansions
from techdocs_app.rag.attributes import Lexicon, _present, _vocabulary
from techdocs_app.text.synonyms import synonyms
from techdocs_app.text.words import stem


def test_a_group_goes_both_ways_and_a_one_way_line_one_way() -> None:
    assert {"power", stem("supply")} <= synonyms("psu") and "psu" not in synonyms("power")
    # One way: a question's 'power' is no manual's 'supply' ('how much power does it use?').
    assert stem("supply") not in synonyms("power") and "display" not in synonyms("monitor")
    assert "power" in synonyms(stem("supply"))
    assert {"w", "mw", "power"} <= synonyms(stem("watts"))
    assert stem("watts") not in synonyms("w") and synonyms("w") == frozenset()
    temperature = stem("temperature")
    assert temperature in synonyms("hot") and "hot" not in synonyms(temperature)
    assert temperature not in synonyms(stem("heated"))
    assert "power" not in synonyms("draw")


def test_both_readers_read_the_same_table() -> None:
    lexicon = Lexicon(_vocabulary("Power: 12 V DC, 3.5 W. Caution: unplug before wiring."))
    assert _present("psu", "psu", lexicon) and _present("watts", stem("watts"), lexicon)
    assert _present("precautions", stem("precautions"), lexicon)
    assert not _present("heated", stem("heated"), Lexicon(_vocabulary("Temperature: 60 C.")))
    found = _expansions(["psu", stem("watts")], {"power", "w", "caution"})
    assert found["psu"] == {"psu", "power"} and found[stem("watts")] == {
        stem("watts"),
        "w",
        "power",
    }


def test_shop_abbreviations_are_read_as_the_manuals_words_one_way() -> None:
    assert stem("frequency") in synonyms("freq") and "freq" not in synonyms(stem("frequency"))
    assert stem("firmware") in synonyms("fw") and stem("ground") in synonyms("gnd")
    assert stem("password") in synonyms(stem("credentials"))
    assert "baud" in synonyms(stem("bitrate"))
    assert stem("bitrate") in synonyms("baud")  # a group: either name of the serial rate
    # 'max' is left alone: manuals write it too, and it is no abbreviation of one other word.
    assert synonyms("max") == frozenset()


def test_shop_words_for_parts_faults_and_actions_are_read_one_way() -> None:
    # A technician's chip, RAM, I/O lines, thermistor and limit switch are the datasheet's MCU,
    # SRAM, GPIOs, temperature sensor and endstop; not the other way round.
    assert "mcu" in synonyms("chip") and "chip" not in synonyms("mcu")
    assert "sram" in synonyms("ram") and "gpio" in synonyms("io")
    assert {stem("temperature"), stem("sensor"), "ntc"} <= synonyms("thermistor")
    assert "endstop" in synonyms("limit") and "limit" not in synonyms("endstop")
    # Faults, fixes and actions in shop words.
    assert stem("noise") in synonyms(stem("interference"))
    assert "solution" in synonyms("fix") and "strip" in synonyms("skin")
    assert "exit" in synonyms(stem("wake")) and "clean" in synonyms(stem("wipe"))
    assert "lost" in synonyms(stem("forgets"))
    # Abbreviations.
    assert "sensitivity" in synonyms(stem("sens")) and "diameter" in synonyms("dia")
    assert "wavelength" in synonyms(stem("lambdas")) and stem("torque") in synonyms("drag")


def test_a_line_that_is_back_is_restored() -> None:
    assert stem("restore") in synonyms("back") and "back" not in synonyms(stem("restore"))


def test_british_and_american_spellings_are_one_word() -> None:
    assert stem("aluminum") in synonyms(stem("aluminium"))
    assert stem("aluminium") in synonyms(stem("aluminum"))
    assert stem("fiber") in synonyms(stem("fibre")) and stem("meter") in synonyms(stem("metre"))
    # An electrician's 'earth' is the manual's ground; a manual's ground is no 'earth'.
    assert "gnd" in synonyms(stem("earth")) and stem("earth") not in synonyms(stem("ground"))


def test_a_word_the_manual_abbreviates_is_read_one_way() -> None:
    # An event table's 'Cfg. Change' and 'Batt. low' are a question's configuration and battery.
    assert "cfg" in synonyms(stem("configuration")) and "batt" in synonyms(stem("battery"))
    assert stem("configuration") not in synonyms("cfg")
