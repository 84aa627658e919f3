"""The evidence decision on questions that carry a value or a yes/no object: answered when the
manual's page is retrieved, whatever value the question mentions, and refused only for a variant
the manual does not cover ('the 40 km version').

Synthetic manuals in the conventions of a Trikdis receiver's and a Creality printer's manuals,
retrieved as search would retrieve them (the page ranked first by both arms, similarity 0.6); the
eval questions are measured by `bench.fit_evidence`, not here.
"""

from __future__ import annotations

from typing import Any

import pytest

from techdocs_app.rag.attributes import DocumentProfile, assess_attributes, build_profile
from techdocs_app.rag.evidence import assess_evidence, decide
from techdocs_app.rag.retrieve import SearchHit
from tests.factories import search_hit

RT2_TITLE, RT2_FILE = "Trikdis RT2 receiver", "trikdis_rt2.pdf"
RT2 = (
    "Technical specifications\nPower supply voltage 10–30 V DC\nCurrent consumption 60-100 mA\n"
    "RS485 bus length up to 1,200 m\nOperating temperature -20 to +50 °C",
    "Wiring\nTerminal 1 +DC, terminal 2 -DC, terminal 3 GND, terminal 4 A (RS485), terminal 5 "
    "B. Output 1 relay contact rated 1 A at 30 V DC. Output 2 open collector.",
    "Installation\nMount the RT2 receiver on a DIN rail. Connect the RS485 cable to terminals 4 "
    "and 5.",
)
ENDER_TITLE, ENDER_FILE = "Creality Ender-3", "ender3_manual.pdf"
ENDER = (
    "Specifications\nLayer thickness 0.1-0.4 mm\nNozzle diameter 0.4 mm\nPrint speed up to "
    "180 mm/s\nPower 24 V, 270 W\nNozzle temperature up to 255 °C. PETG: nozzle 230-250 °C, bed "
    "70-80 °C.",
    "Troubleshooting\nZ axis makes abnormal noise: lubricate the lead screw. Extruder clicks "
    "while printing: the nozzle is clogged, clean it. Clogging: clean the nozzle with the needle. E3 error: "
    "the thermistor is faulty, replace it.",
    "Hotend\nThe 24 V fan cools the heat sink. The thermistor and heater cartridge sit in the "
    "heater block.",
)
PROFILES: dict[int, DocumentProfile] = {
    1: build_profile(1, RT2_TITLE, RT2_FILE, list(RT2)),
    2: build_profile(2, ENDER_TITLE, ENDER_FILE, list(ENDER)),
}


def _hits(document_id: int) -> list[SearchHit]:
    title, filename, sections = (
        (RT2_TITLE, RT2_FILE, RT2) if document_id == 1 else (ENDER_TITLE, ENDER_FILE, ENDER)
    )
    return [
        search_hit(
            chunk_id=10 * document_id + i,
            document_id=document_id,
            document_title=title,
            filename=filename,
            content=text,
            vector_similarity=0.6,
            vector_rank=i + 1,
            keyword_rank=i + 1,
        )
        for i, text in enumerate(sections)
    ]


def _evidence(question: str, document_id: int) -> dict[str, Any]:
    hits = _hits(document_id)
    evidence = assess_evidence(question, hits)
    evidence.update(assess_attributes(question, hits, PROFILES))
    return evidence


@pytest.mark.parametrize(
    ("question", "document_id"),
    [
        # A value inside the manual's range, or the low end of it, or written another way.
        ("Can I power the RT2 from a 24 V supply?", 1),
        ("Can I power the RT2 from a 10 V supply?", 1),
        ("What's the current consumption of the RT2 at 24 V?", 1),
        ("What nozzle temp for PETG at 0.3 mm layers on the Ender-3?", 2),
        ("Can I run 1200 m of RS485 cable to the RT2?", 1),
        ("Can I run 1,200 m of RS485 cable to the RT2?", 1),
        # 'a' is an article, not amperes.
        ("Is terminal 3 a ground on the RT2?", 1),
        ("Is terminal 5 a GND on the RT2?", 1),
        ("Is output 1 a relay on the RT2?", 1),
    ],
)
def test_a_question_with_a_value_the_manual_covers_is_answered(
    question: str, document_id: int
) -> None:
    evidence = _evidence(question, document_id)
    assert evidence["unknown_models"] == []
    assert decide(evidence) == "answer"


def test_a_variant_the_manual_does_not_cover_is_still_unknown() -> None:
    evidence = _evidence("What's the ordering number of the 48 V version of the RT2?", 1)
    assert evidence["unknown_models"] == ["48 V"]
    assert decide(evidence) == "not_found"
    # A variant whose value the manual's range covers is the manual's product.
    assert _evidence("Is there a 24 V version of the RT2?", 1)["unknown_models"] == []


@pytest.mark.parametrize(
    ("question", "document_id"),
    [
        # 'could … have failed' is a perfect, not 'does it have a failed'.
        ("Could the thermistor have failed if the Ender-3 shows E3?", 2),
        # A symptom asks what is wrong; its words are the technician's.
        ("Does the Ender-3 have a problem with clogging?", 2),
        ("grinding sound on the Z axis of the Ender-3?", 2),
        ("clicking noise in the extruder of the Ender-3?", 2),
        # The manual's '24 V fan', typed with the unit glued on.
        ("Does the Ender-3 have a 24V fan?", 2),
    ],
)
def test_yes_no_questions_about_a_symptom_a_participle_or_a_value_are_answered(
    question: str, document_id: int
) -> None:
    evidence = _evidence(question, document_id)
    assert evidence["focus_missing"] == []
    assert decide(evidence) == "answer"


def _manual_evidence(sections: tuple[str, ...], question: str) -> dict[str, Any]:
    """The evidence for `question` against a one-manual RT2 variant written `sections`."""
    profiles = {1: build_profile(1, RT2_TITLE, RT2_FILE, list(sections))}
    hits = [
        search_hit(
            chunk_id=100 + i,
            document_id=1,
            document_title=RT2_TITLE,
            filename=RT2_FILE,
            content=text,
            vector_similarity=0.6,
            vector_rank=i + 1,
            keyword_rank=i + 1,
        )
        for i, text in enumerate(sections)
    ]
    evidence = assess_evidence(question, hits)
    evidence.update(assess_attributes(question, hits, profiles))
    return evidence


@pytest.mark.parametrize(
    ("sections", "question"),
    [
        # The reviewer's manual: 'VDC' is volts, so '10–30 VDC' covers 24 V.
        (
            (
                "Technical specifications\nPower supply voltage 10–30 VDC\nCurrent draw 60-100 "
                "mA\nBackup battery 12 V",
            ),
            "Is there a 24 V version of the RT2?",
        ),
        (
            (
                "Technical specifications\nPower supply voltage 10–30 VDC\nCurrent draw 60-100 "
                "mA\nBackup battery 12 V",
            ),
            "What's the current draw of the 24 V model of the RT2?",
        ),
        # A list gives its unit to every number.
        (
            ("Technical specifications\nAvailable in 12 or 24 V versions. Fuse 2 A.",),
            "What's the fuse of the 12 V version of the RT2?",
        ),
        (
            ("Technical specifications\nPower supply 12V/24V. Fuse 2 A.",),
            "What's the fuse of the 24 V version of the RT2?",
        ),
        (
            ("Technical specifications\nPower supply 12/24 VDC. Fuse 2 A.",),
            "What's the fuse of the 24 V version of the RT2?",
        ),
        # 'VAC' is volts too.
        (
            ("Technical specifications\nMains input 100–240 VAC, 50/60 Hz. Fuse 2 A.",),
            "What's the fuse of the 120 V model of the RT2?",
        ),
    ],
)
def test_a_variant_the_manual_writes_in_its_own_spelling_is_answered(
    sections: tuple[str, ...], question: str
) -> None:
    evidence = _manual_evidence(sections, question)
    assert evidence["unknown_models"] == []
    # Never 'not in your manuals'; '12V/24V' and '100–240 VAC' do not write the question's
    # '24'/'120' as words, so the lexical features may leave it the closest passage.
    assert decide(evidence) != "not_found"
    if "VDC" in sections[0] and "12 V" in sections[0]:
        assert decide(evidence) == "answer"  # the reviewer's manual


@pytest.mark.parametrize(
    "question", ["What's the 4-20mA input of the RT2?", "Does the RT2 support a 4-20mA sensor?"]
)
def test_a_typed_range_is_a_value_not_a_word_the_manual_must_write(question: str) -> None:
    evidence = _manual_evidence(
        ("Technical specifications\nAnalog input 4–20 mA, sensor supply 24 V DC.",), question
    )
    # The typed range is no focus word the manual must write ('4–20 mA' is written its way).
    assert "4-20ma" not in evidence["focus"]
    assert evidence["focus_missing"] == []
    # Nor a name it must write: both of its numbers are the manual's.
    assert evidence["named_missing"] == []
    assert decide(evidence) != "not_found"


def test_a_typed_range_the_manual_does_not_write_is_still_named_missing() -> None:
    evidence = _manual_evidence(
        ("Technical specifications\nAnalog input 0–10 V, sensor supply 24 V DC.",),
        "What's the 4-20mA input of the RT2?",
    )
    assert evidence["named_missing"] == ["4-20mA"]


def test_a_variant_outside_the_manuals_spelled_values_is_still_unknown() -> None:
    evidence = _manual_evidence(
        ("Technical specifications\nPower supply voltage 10–30 VDC\nBackup battery 12 V",),
        "What's the ordering number of the 48 V version of the RT2?",
    )
    assert evidence["unknown_models"] == ["48 V"]
    assert decide(evidence) == "not_found"


@pytest.mark.parametrize(
    ("sections", "question"),
    [
        # A table with the unit in its header: the manual writes 24, not '24 V'.
        (
            ("Technical specifications\nSupply voltage (V) 12 24\nBackup battery 12 V",),
            "Is there a 24 V version of the RT2?",
        ),
        # Volts spelled out.
        (
            ("Technical specifications\nSupply 24 Volts, current draw 80 mA. Relay 1 A at 30 V.",),
            "What's the current draw of the 24 V model of the RT2?",
        ),
        # No value in that dimension at all: the manual may simply not state it.
        (
            ("Technical specifications\nFuse 2 A. Relay output rated 1 A.",),
            "Is there a 24 V version of the RT2?",
        ),
    ],
)
def test_a_variant_value_the_manual_writes_as_a_number_is_no_unknown_variant(
    sections: tuple[str, ...], question: str
) -> None:
    """A value counts as an unknown variant only when the manual writes values in its dimension,
    none of them covers it and the number itself is nowhere in the manual."""
    evidence = _manual_evidence(sections, question)
    assert evidence["unknown_models"] == []
    assert decide(evidence) != "not_found"


def test_a_plural_in_the_manual_meets_the_questions_singular() -> None:
    """'SIA timings: see table' answers 'the SIA timing' ('timings' was stemmed 'tim')."""
    evidence = _manual_evidence(
        ("Technical specifications\nSIA timings: see table. Power supply 10–30 V DC.",),
        "What's the SIA timing of the RT2?",
    )
    assert evidence["focus_missing"] == []
    assert decide(evidence) == "answer"


@pytest.mark.parametrize(
    "elsewhere",
    [
        "For the wiring see page 40.",
        "Figure 40 shows the label. Table 12 lists the pins; Section 100 the alarms.",
        "Operating temperature -5 to 40 °C, humidity 40 %, bracket 40 mm.",
        "Chapter 40: maintenance. See p. 40 and Fig. 40.",
    ],
)
def test_a_bare_number_elsewhere_in_the_manual_covers_no_variant(elsewhere: str) -> None:
    """The review: 'the 40 km version' against a manual writing 'Reach 20km' and a page, a
    figure or a temperature 40 was no unknown variant, since the number 40 was written at all."""
    evidence = _manual_evidence(
        (f"Technical specifications\nReach 20km, 1310 nm. OTN supported. {elsewhere}",),
        "Does the 40 km version of the RT2 support OTN?",
    )
    assert evidence["unknown_models"] == ["40 km"]
    assert decide(evidence) == "not_found"


@pytest.mark.parametrize(
    "sections",
    [
        # The unit in a table's column header ('|' between cells, as ingestion writes tables).
        (
            "Technical specifications\nModel | Reach (km) | Power (W)\nRT2-S | 20 | 1.5\nRT2-L | 40 | 2",
        ),
        # The unit in a cell of its own on the row (a data sheet's 'Unit' column).
        ("Technical specifications\nParameter | Min | Max | Unit\nReach | 20 | 40 | km",),
        # Spelled out.
        ("Technical specifications\nReach 20km; a long-reach RT2 spans 40 kilometres.",),
        ("Technical specifications\nReach (km) 20 40",),
        # The unit in the row's label.
        ("Technical specifications\nReach (km) | 20 | 40\nPower (W) | 1.5 | 2",),
    ],
)
def test_a_variant_written_with_its_unit_implied_is_no_unknown_variant(
    sections: tuple[str, ...],
) -> None:
    evidence = _manual_evidence(sections, "Does the 40 km version of the RT2 support OTN?")
    assert evidence["unknown_models"] == []
