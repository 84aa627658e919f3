"""How-to questions come back as the steps of the list that does what was asked: the manual's
one-word form of a phrasal verb ('shut … down' / 'shutdown'), the list of a lead-in matching the
asked action over a higher-scoring line that only names the model, and a list a section's heading
introduces after a paragraph explaining the method."""

from __future__ import annotations

from techdocs_app.providers.base import SourcePassage
from techdocs_app.providers.extractive.scoring import phrasal_compounds
from tests.factories import extractive_answer, source_passage


def _source(text: str, *, number: int = 1, title: str = "shop module 4") -> SourcePassage:
    return source_passage(text, number=number, title=title, section="Heating tool", page=5)


_answer = extractive_answer


def test_a_phrasal_verb_matches_the_manuals_one_word_form() -> None:
    vocabulary = {"shutdown", "start-up", "setup", "procedur"}
    assert phrasal_compounds("How do I shut the HT-920B's gun down when I'm done?", vocabulary) == [
        "shutdown"
    ]
    assert phrasal_compounds("how do I start it up?", vocabulary) == ["start-up"]
    assert phrasal_compounds("set up the printer", vocabulary) == ["setup"]
    # A form no passage writes is no word to look for; a particle far from the verb joins nothing.
    assert phrasal_compounds("how do I back it up?", vocabulary) == []
    assert phrasal_compounds("shut the valve on the left side of the tool down", vocabulary) == []


async def test_the_shutdown_list_answers_how_to_shut_it_down() -> None:
    specs = _source(
        "Table 2-1. Power requirements\n"
        "Electrical Power, HT-900B 115 VAC, 50-400 Hz, single-phase, 7 Amps\n"
        "Electrical Power, HT-920B 220 VAC, 50-400 Hz, single-phase, 3.5 Amps\n"
        "Heat gun output temperature 550-920°F\n"
        "A brief summary of the start procedures follows:\n"
        "1. Turn the air regulator knob counterclockwise.\n"
        "2. Remove the dust cap from the air inlet nipple.\n"
        "3. Attach the hose to the inlet nipple.",
        number=1,
    )
    shutdown = _source(
        "You can turn the air pressure off and on without powering down the module.\n"
        "After you complete your task with the heating tool, use the following shutdown "
        "procedures:\n"
        "1. Turn the air regulator knob counterclockwise.\n"
        "2. Position the switch on the heating gun toward the rear of the handle.\n"
        "3. Place the power switch to the OFF position.\n"
        "4. Allow the air to flow for a minimum of 1 minute to cool the heating gun.\n"
        "5. Disconnect the power connector from the power source.",
        number=2,
    )
    answer = await _answer("How do I shut the HT-920B's gun down when I'm done?", [specs, shutdown])
    assert "flow for a minimum of 1 minute" in answer
    assert "Remove the dust cap" not in answer


async def test_a_section_heading_introduces_steps_after_a_paragraph() -> None:
    source = _source(
        "SPIN-RIGHT VARIATION OF THE SET-RIGHT TECHNIQUE\n"
        "In some cases the probable setting range can be too large for the application. "
        "To reduce this range a technique called SPIN-RIGHT is used. "
        "It suits housings that could also take a shim pack. "
        "The existing probable range is divided by a factor of two or three. "
        "For example, assume the probable range is 0.018 in. "
        "The current range must be divided by a factor of two. "
        "The desired shim increment would then be 0.009 in. "
        "Shims are supplied in packs of ten. "
        "Each pack is labelled with its thickness.\n"
        "1. Assemble the gearbox without a shim and spin check it, without the seal in place.\n"
        "2. If the shaft spins freely, end play is present.\n"
        "3. Add one shim increment and check again.",
        title="bearing setting",
    )
    answer = await _answer("spin-right check on a gear case - how do I do it?", [source])
    assert "without the seal in place" in answer


async def test_a_how_to_takes_the_list_of_a_close_lead_in_over_a_line_that_opens_none() -> None:
    reference = _source(
        "Printer reference data\n"
        "Select profile file to load and enter the reference data.\n"
        "Each profile holds the layer height.\n"
        "Nozzle diameter 0.4 mm.",
        number=1,
        title="ender3 reference data",
    )
    quickstart = _source(
        "Software Installation\n"
        "1. Double click the Cura icon to install the Cura Slicing Software.\n"
        "2. Start Cura from the Start Menu.\n"
        "3. Select Other → Creality CR-10 → Printer Name: Ender 3 → Add Printer.\n"
        "4. Change the printer settings to 220 x 220 x 250.",
        number=2,
        title="ender3 quickstart",
    )
    answer = await _answer("how do I set up an ender 3 profile in cura?", [reference, quickstart])
    assert "Add Printer" in answer
    # The steps lead; a line of the other passage scoring close follows them.
    assert answer.startswith("Software Installation:\n1. Double click")
