"""Questions the extractive answer used to quote nothing for although the manual holds the
answer: a comparison of two part numbers (the ordering key defines the letters they differ in),
a question about the manual's own version (printed as a label and a number), and a heading
quoted alone."""

from __future__ import annotations

from techdocs_app.providers.base import SourcePassage
from techdocs_app.providers.extractive.render import render
from techdocs_app.providers.extractive.scoring import code_characters, code_differences
from techdocs_app.providers.local_answer import split_units
from tests.factories import extractive_answer, source_passage


def _source(text: str, *, number: int = 1, title: str = "ab12 datasheet") -> SourcePassage:
    return source_passage(text, number=number, title=title, section="Ordering information", page=2)


_answer = extractive_answer


def test_codes_of_one_family_differ_in_their_letters() -> None:
    assert code_differences("ab12cdr6 vs ab12cdv6, what's the difference?") == {"R", "V"}
    # Two products, not two variants of one ordering key.
    assert code_differences("ab12cdr6 or xy99kkq2?") == set()
    assert code_differences("what is the ab12cdr6?") == set()


async def test_two_part_numbers_compared_quote_the_key_of_the_letters_they_differ_in() -> None:
    source = _source(
        "AB12 part numbering\n\n"
        "Example: AB12 C D R 6\n\n"
        "Device family AB12 = general-purpose microcontroller\n\n"
        "Pin count R = 64 pins V = 100 pins Z = 144 pins\n\n"
        "Temperature range 6 = Industrial, -40 to 85 °C"
    )
    answer = await _answer("ab12cdr6 vs ab12cdv6, what's the difference?", [source])
    assert "R = 64 pins V = 100 pins" in answer


async def test_the_manuals_version_is_its_label_and_number() -> None:
    source = _source(
        "DATASHEET 6.0\n\n"
        "SFP28 25G-ELR 20KM\n\n"
        "The module supports data rates from 10 to 25 Gbps over single-mode fibre.",
        title="acme ab12 sfp28",
    )
    answer = await _answer("What version is the Acme AB12 datasheet?", [source])
    assert answer.startswith("DATASHEET 6.0 [1]")


def test_a_heading_quoted_alone_is_cited_without_a_colon() -> None:
    first = split_units(_source("Maximum current\n\nCurrent not exceeding 150 mA."))
    other = split_units(_source("Supply 12 V.", number=2))
    pieces = render([first[0], other[0]], "current")
    assert pieces[0] == "Maximum current [1]"
    # A heading followed by its own text still introduces it.
    assert render(first, "current")[0] == "Maximum current:"


async def test_a_character_named_as_a_digit_or_suffix_is_looked_up_in_the_ordering_key() -> None:
    source = _source(
        "Ordering information scheme\n\n"
        "Each order code ends in the digit of its temperature range, as the example shows.\n\n"
        "Example: AB12 C D R 6\n\n"
        "Temperature range\n\n"
        "6 = Industrial temperature range, -40 to 85 °C.\n\n"
        "7 = Industrial temperature range, -40 to 105 °C."
    )
    answer = await _answer("What does the digit 7 at the end of an AB12 order code mean?", [source])
    assert answer.startswith("7 = Industrial temperature range, -40 to 105 °C.")


def test_a_part_number_to_decode_is_read_past_its_family() -> None:
    titles = ["ab12f3 datasheet"]
    assert code_characters("Decode AB12F3ZEH6 for me.", titles) == {"Z", "E", "H", "6"}
    # No manual names its family: nothing to read it by.
    assert code_characters("Decode XY99ZEH6 for me.", titles) == set()


async def test_every_character_of_a_decoded_part_number_is_answered() -> None:
    source = _source(
        "Ordering information scheme\n\n"
        "Example: AB12F3 R C T 6\n\n"
        "Pin count R = 64 pins V = 100 pins Z = 144 pins\n\n"
        "Flash memory size C = 256 Kbytes D = 384 Kbytes E = 512 Kbytes\n\n"
        "Package H = BGA T = LQFP\n\n"
        "Temperature range 6 = Industrial temperature range, -40 to 85 °C.",
        title="ab12f3 datasheet",
    )
    answer = await _answer("what does the part number AB12F3ZEH6 break down to?", [source])
    for line in ("Z = 144 pins", "E = 512 Kbytes", "H = BGA", "6 = Industrial"):
        assert line in answer
