"""The extractive scorer's weighted features and the bench that measures and fits them
(`bench.fit_units`): the evidence unit's rank, the replayed answer, the search and its files."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from techdocs_app.bench import fit_units
from techdocs_app.bench.fit_units import Case, figures, load_cases, prepare, replay, search
from techdocs_app.providers.extractive.scoring import (
    FEATURES,
    QUESTION_SHARE,
    WEIGHTS,
    weighted_score,
)
from techdocs_app.providers.extractive.selection import choose_scored, choose_units, scored_units
from tests.factories import source_passage

SPECS = source_passage(
    "4. Receiving module RT2 is mounted into receiver RD10 and is powered with its 12,6 V "
    "voltage. Permissible voltage variation is from 11 to 15 V. Current not exceeding 150 mA. "
    "5. Receiving module RT2 has four LEDs.",
    title="TRIKDIS RT2",
)
LACING = source_passage(
    "Single lace may be used for lacing branches. Double lace should be used on groups of "
    "conductors that are 1 inch or larger in total diameter. Why use double lace on thin "
    "groups?",
    title="NEETS module 4",
    section="Lacing",
    number=2,
)


def _case(question: str, evidence: str, *, doc: str = "trikdis_rt2", **fields: str) -> Case:
    return Case(
        set=fields.get("set", "tune"),
        id=fields.get("id", "v001"),
        doc=doc,
        kind="spec_lookup",
        evidence=evidence,
        question=question,
        sources=[SPECS, LACING],
    )


def test_a_units_score_is_its_weighted_features() -> None:
    units = scored_units("When should double lace be used?", [SPECS, LACING])
    featured = [u for u in units if u.features]
    assert featured and all(len(u.features) == len(FEATURES) for u in featured)
    for unit in featured:
        assert unit.score == pytest.approx(weighted_score(unit, WEIGHTS))
    asking = next(u for u in featured if u.text.endswith("groups?"))
    assert asking.share == QUESTION_SHARE
    plain = weighted_score(asking, WEIGHTS) / QUESTION_SHARE
    assert plain == pytest.approx(sum(w * f for w, f in zip(WEIGHTS, asking.features, strict=True)))


def test_choosing_scored_units_is_choosing_units() -> None:
    question = "What current does the RT2 draw?"
    chosen, steps = choose_units(question, [SPECS, LACING])
    units = scored_units(question, [SPECS, LACING])
    again, again_steps = choose_scored(question, [SPECS, LACING], units)
    assert [u.text for u in chosen] == [u.text for u in again]
    assert steps == again_steps is False
    assert any("150 mA" in u.text for u in chosen)


def test_the_evidence_unit_is_ranked_and_the_answer_replayed() -> None:
    prepared = prepare(_case("What current does the RT2 draw?", "current not exceeding 150 ma"))
    assert prepared.status == "unit"
    assert [prepared.units[i].text for i in prepared.holders] == ["Current not exceeding 150 mA."]
    outcome = replay(prepared, WEIGHTS)
    assert outcome.rank == 1
    assert outcome.found
    assert 4 <= outcome.words <= 60


def test_evidence_over_two_units_or_in_no_passage_has_no_rank() -> None:
    spans = prepare(_case("What voltage does the RT2 take?", "12,6 v voltage. permissible"))
    absent = prepare(_case("What is the RT2's weight?", "weighs 120 g"))
    assert (spans.status, absent.status) == ("spans", "absent")
    assert spans.holders == absent.holders == []
    assert replay(spans, WEIGHTS).rank is None
    assert not replay(absent, WEIGHTS).found


def test_figures_count_ranks_among_questions_a_unit_answers() -> None:
    prepared = [
        prepare(_case("What current does the RT2 draw?", "current not exceeding 150 ma")),
        prepare(_case("What is the RT2's weight?", "weighs 120 g")),
    ]
    f = figures(prepared, [replay(p, WEIGHTS) for p in prepared])
    assert (f.n, f.in_unit, f.top1, f.top3, f.found) == (2, 1, 1, 1, 1)
    assert "unit top-1=1.000" in f.line("tune")
    assert "evidence=0.500" in f.line("tune")


def test_search_keeps_the_start_when_nothing_does_better() -> None:
    prepared = [
        prepare(_case("What current does the RT2 draw?", "current not exceeding 150 ma")),
        prepare(_case("When should double lace be used?", "1 inch or larger", doc="neets")),
    ]
    table = fit_units._Table(prepared)
    assert all(o.found for o in table(tuple(WEIGHTS)))
    assert search(table, [0, 1], WEIGHTS) == tuple(WEIGHTS)
    # From other weights (no phrase, identifier or label weight, a heavy rank prior) it finds
    # weights answering at least as many questions.
    start = (1.0, 0.0, 0.0, 0.5, 0.0, 3.0)
    found = sum(o.found for o in table(search(table, [0, 1], start)))
    assert found >= sum(o.found for o in table(start))


def _write_passages(path: Path, cases: list[Case]) -> None:
    rows = [
        {**asdict(c), "sources": [asdict(s) for s in c.sources], "evidence_found": True}
        for c in cases
    ]
    rows.append({**rows[0], "id": "v999", "sources": None})  # a question refused: no passages
    path.write_text(json.dumps({"cases": rows}), encoding="utf-8")


def test_measure_and_fit_read_the_captured_passages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "passages.json"
    cases = [
        _case("What current does the RT2 draw?", "current not exceeding 150 ma"),
        _case("When should double lace be used?", "1 inch or larger", doc="neets", id="v002"),
    ]
    _write_passages(path, cases)
    assert [c.id for c in load_cases(path)] == ["v001", "v002"]
    assert fit_units.main(["measure", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tune: unit top-1=1.000 top-3=1.000 (of 2 with a unit holding the evidence)" in out
    assert fit_units.main(["fit", str(path)]) == 0
    out = capsys.readouterr().out
    assert "held out neets" in out and "held out trikdis_rt2" in out
    assert "leave-one-manual-out, fitted : unit top-1=1.000" in out


@pytest.mark.parametrize("stem", ["validate", "fresh_questions", "fresh2_followups"])
def test_capture_refuses_held_out_sets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stem: str
) -> None:
    held_out = tmp_path / f"{stem}.jsonl"
    held_out.write_text("", encoding="utf-8")
    code = fit_units.main(
        ["capture", "--corpus", str(tmp_path), "--questions", str(held_out), "--out", "x.json"]
    )
    assert code == 2
    assert "held-out sets are not captured" in capsys.readouterr().out


def test_measure_lists_the_misses_with_their_best_and_evidence_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "passages.json"
    _write_passages(path, [_case("What current does the RT2 draw?", "has four leds")])
    assert fit_units.main(["measure", "-v", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tune: unit top-1=0.000" in out
    assert "tune:v001 rank=None 'What current does the RT2 draw?'" in out
    assert "best [1] " in out and "Current not exceeding 150 mA." in out
    assert "evidence [1] 0.00 'Receiving module RT2 has four LEDs.'" in out
