from __future__ import annotations

from techdocs_app.text.titles import title_terms
from techdocs_app.text.words import terms


def test_a_short_or_split_model_name_names_its_manual() -> None:
    assert title_terms(terms("Max clock of the F103?"), "stm32f103 datasheet") == {"f103"}
    assert title_terms(terms("ender 3 skirt length"), "ender3 reference data") == {"ender", "3"}
    assert title_terms(terms("QSFP-100G power draw"), "Arista QSFP-100G-ERL4 Datasheet") == {
        "qsfp-100g",
        "qsfp",
        "100g",
    }
    assert title_terms(terms("skr mini e3 fan"), "btt skr mini e3 v2 manual") == {
        "skr",
        "mini",
        "e3",
    }


def test_a_word_inside_a_title_word_or_a_bare_digit_names_nothing() -> None:
    # 'ring' is inside 'bearing', '3' inside 'stm32f103', 'er4l' is not the title's 'ERL4'
    # (the title's own stemmed words, 'sett' of 'setting', the reranker reads from the title)
    assert title_terms(terms("outer ring"), "timken bearing setting") == set()
    assert title_terms(terms("pin 3 of the port"), "stm32f103 datasheet") == set()
    assert title_terms(terms("ER4L power"), "Arista QSFP-100G-ERL4 Datasheet") == set()
    assert title_terms(terms("anything"), "") == set()


def test_a_bare_number_names_no_manual() -> None:
    """A number of the question ('error 2000', 'pin 103', '100 mA') is no name, even inside a
    title word ('Series 2000X', 'STM32F103', 'QSFP-100G')."""
    assert title_terms(terms("what does error 2000 mean"), "Series 2000X manual") == set()
    assert title_terms(terms("what is on pin 103"), "STM32F103 datasheet") == set()
    assert title_terms(terms("100 mA draw"), "Arista QSFP-100G-ERL4 Datasheet") == set()
    # A name with a letter still does, and a number beside a word it completes.
    assert title_terms(terms("2000x error list"), "Series 2000X manual") == {"2000x"}
    assert title_terms(terms("ender 3 skirt length"), "ender3 reference data") == {"ender", "3"}


def test_a_number_that_is_the_titles_model_names_its_manual() -> None:
    """An instrument named by a number (Tektronix 2465, Fluke 87, HP 8920): the question's number,
    whole, is the title's standalone model number, as the question's 'F103' is a part of
    'STM32F103'."""
    question = terms("How do I calibrate the 2465 vertical amplifier?")
    assert title_terms(question, "Tektronix 2465 Service Manual") == {"2465"}
    assert title_terms(terms("Fluke 87 fuse rating"), "Fluke 87 Multimeter Manual") == {
        "fluke",
        "87",
    }
    assert title_terms(terms("87 fuse rating"), "Fluke 87 Multimeter Manual") == {"87"}
    # Only whole: no part of a title word, nor of a number in it ('100-240 V').
    assert title_terms(terms("2465 sweep"), "Tektronix 2465B Service Manual") == set()
    assert title_terms(terms("set 100 mA"), "PSU 100-240 V manual") == set()
    # A short number is the title's model only when the title has no other one.
    assert title_terms(terms("error 12 on the display"), "RT2 12 V kit manual") == set()
