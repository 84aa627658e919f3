"""The rewording stress of the evidence fit: a question's features with one asked-for word
replaced by a word no manual writes, predicted from what the pipeline recorded for the question,
and the augmented fit that keeps such questions answered."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from techdocs_app.bench import fit_evidence
from techdocs_app.rag.attributes import assess_attributes, build_profile
from techdocs_app.rag.evidence import FEATURES, assess_evidence, evidence_features
from tests.factories import search_hit

SECTIONS = (
    "Input voltage: the GW5 takes 10-30 V DC on the terminal block. Fuse F2 protects the input.",
    "Network: 10/100 Ethernet port with DHCP. The LED marked NET blinks while connecting.",
    "Mounting: DIN rail, 35 mm. Keep 20 mm free above the vents.",
)
PROFILES = {7: build_profile(7, "zeta gw5 gateway", "zeta_gw5_gateway.pdf", list(SECTIONS))}
HITS = [
    search_hit(
        chunk_id=70 + i,
        document_id=7,
        document_title="zeta gw5 gateway",
        filename="zeta_gw5_gateway.pdf",
        content=text,
    )
    for i, text in enumerate(SECTIONS)
]


def _features(question: str) -> tuple[dict[str, object], dict[str, float]]:
    evidence = assess_evidence(question, HITS)
    evidence.update(assess_attributes(question, HITS, PROFILES))
    return evidence, dict(zip(FEATURES, evidence_features(evidence), strict=True))


def _write_fit_inputs(
    tmp_path: Path,
    results: Sequence[Any],
    probes: dict[str, Sequence[Any]],
    lines: Sequence[Any],
) -> tuple[Path, Path]:
    """An `eval --json` file (the first 12 results as dev, the rest as tune, plus `probes`' sets)
    and the question file giving their manuals."""
    path = tmp_path / "eval.json"
    sets = {"dev": list(results[:12]), "tune": list(results[12:]), **probes}
    path.write_text(json.dumps({name: {"results": rows} for name, rows in sets.items()}))
    files = tmp_path / "questions.jsonl"
    files.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path, files


def test_the_prediction_matches_the_features_of_the_reworded_question() -> None:
    evidence, _ = _features("What input voltage does the zeta GW5 take?")
    assert evidence["focus"] == ["input", "voltage"] and evidence["focus_missing"] == []
    rows = fit_evidence.reworded(evidence)
    assert len(rows) == 2  # one per asked-for word the manual writes
    # The technician's own word for 'voltage': one the manual never writes.
    reworded, actual = _features("What input juice does the zeta GW5 take?")
    assert reworded["focus_missing"] == ["juice"]
    predicted = dict(zip(FEATURES, rows[1], strict=True))
    for name in FEATURES:
        assert predicted[name] == pytest.approx(actual[name], abs=2e-4), name
    assert predicted["focus_missing"] == 0.5 and predicted["coverage"] < evidence["coverage"]


def test_a_question_without_a_written_focus_word_has_no_reworded_row() -> None:
    evidence, _ = _features("What MTBF does the zeta GW5 have?")
    assert evidence["focus_missing"] == ["mtbf"]
    assert fit_evidence.reworded(evidence) == []
    assert fit_evidence.reworded({"coverage": 0.5}) == []  # no attribute check: no focus


def test_without_the_recorded_terms_coverage_drops_by_one_term() -> None:
    evidence, _ = _features("What input voltage does the zeta GW5 take?")
    older = {k: v for k, v in evidence.items() if k not in ("hit_terms", "term_weights")}
    row = dict(zip(FEATURES, fit_evidence.reworded(older)[0], strict=True))
    assert row["coverage"] == pytest.approx(float(evidence["coverage"]) - 1 / evidence["terms"])


def _toy(n: int = 160, seed: int = 7) -> tuple[np.ndarray, np.ndarray, fit_evidence.Reworded]:
    """Answerable questions whose focus words the manuals write, near misses whose focus they do
    not: the fit learns focus_missing, and the reworded rows are answerable ones with it."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.8).astype(float)
    x = np.zeros((n, len(FEATURES)))
    x[:, FEATURES.index("coverage")] = 0.5 + 0.3 * rng.random(n)
    # Near misses: the manual's best section holds less of the question too.
    x[:, FEATURES.index("section_coverage")] = np.where(y > 0.5, 0.6, 0.2) + 0.4 * rng.random(n)
    x[:, FEATURES.index("focus_missing")] = np.where(y > 0.5, 0.0, 0.5 + 0.5 * rng.random(n))
    owners = np.flatnonzero(y > 0.5)
    rows = x[owners].copy()
    rows[:, FEATURES.index("focus_missing")] = 0.5
    rows[:, FEATURES.index("coverage")] -= 0.1
    rows[:, FEATURES.index("section_coverage")] -= 0.1
    return x, y, (rows, owners)


def test_the_augmented_fit_refuses_fewer_reworded_questions() -> None:
    x, y, rewording = _toy()
    groups = [str(i % 8) for i in range(len(y))]
    plain = fit_evidence.cross_validate(x, y, groups, 0.02, 0.05, rewording, 0.0)
    augmented = fit_evidence.cross_validate(x, y, groups, 0.02, 0.05, rewording, 2.0)
    assert plain["stress"] > 0.5  # every near miss looks like a reworded question
    assert augmented["stress"] < plain["stress"]
    # Without rows the stress is 0 and the rest is the plain cross-validation.
    assert fit_evidence.cross_validate(x, y, groups, 0.02, 0.05)["stress"] == 0.0
    # Weights count within a class (each class weighs half of the fit): scaling a class's
    # weights changes nothing, moving weight between its examples does.
    w0, b0 = fit_evidence.fit_logistic(x, y)
    w1, b1 = fit_evidence.fit_logistic(x, y, weight=np.where(y > 0.5, 3.0, 0.5))
    assert w1 == pytest.approx(w0) and b1 == pytest.approx(b0)


def test_budgets_keep_the_stress_within_its_target() -> None:
    x, y, rewording = _toy()
    groups = [str(i % 8) for i in range(len(y))]
    loose, _ = fit_evidence.choose_budgets(x, y, groups, 0.05, 0.05, rewording, 0.0, 1.0)
    strict, _ = fit_evidence.choose_budgets(x, y, groups, 0.05, 0.05, rewording, 0.0, 0.0)
    assert strict <= loose and strict == 0.0


def test_the_fitting_script_prints_the_stress_of_every_fit(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    results = []
    for i, question in enumerate(
        ["What input voltage does the zeta GW5 take?", "What MTBF does the zeta GW5 have?"] * 12
    ):
        evidence, _ = _features(question)
        kind = "not_in_docs" if "MTBF" in question else "spec_lookup"
        results.append(
            {
                "id": f"q{i}",
                "kind": kind,
                "failed": None,
                "evidence_features": evidence,
                "top": [f"vendor{i % 4}_manual{i % 4}:1"],
            }
        )
    path = tmp_path / "eval.json"
    path.write_text(
        json.dumps({"dev": {"results": results[:12]}, "tune": {"results": results[12:]}})
    )
    x, y, ids = fit_evidence.load_examples(path)
    rows, owners = fit_evidence.load_reworded(path, ids)
    assert len(rows) == 2 * 12 and set(y[owners]) == {1.0}
    assert fit_evidence.main([str(path), "--augment-weight", "1", "--sweep"]) == 0
    out = capsys.readouterr().out
    assert "reworded rows: 24 of 12" in out and "augment  probe  budget" in out
    assert out.count('"stress": ') == 4  # in-sample, k-fold, by manual, by vendor
    assert "not_found_acc / stress: in-sample" in out


def _probe(x: np.ndarray, y: np.ndarray, seed: int = 3) -> fit_evidence.Probe:
    """Real rewordings of every question: the answerable ones lose an asked-for word (the
    technician's own), the near misses keep theirs missing."""
    rng = np.random.default_rng(seed)
    rows = x.copy()
    answerable = y > 0.5
    rows[answerable, FEATURES.index("focus_missing")] = 0.5 + 0.5 * rng.random(
        int(answerable.sum())
    )
    rows[:, FEATURES.index("coverage")] -= 0.1
    return fit_evidence.Probe(rows, y.copy(), np.arange(len(y)))


def test_real_rewordings_are_measured_out_of_manual_and_can_teach_the_fit() -> None:
    x, y, rewording = _toy()
    groups = [str(i % 8) for i in range(len(y))]
    probe = _probe(x, y)
    measured = fit_evidence.cross_validate(x, y, groups, 0.02, 0.05, rewording, 0.0, probe, 0.0)
    taught = fit_evidence.cross_validate(x, y, groups, 0.02, 0.05, rewording, 0.0, probe, 1.0)
    # Measured only, the fit reads a missing asked-for word as a near miss: most are refused.
    assert measured["probe_false_refusal"] > 0.5
    assert taught["probe_false_refusal"] < measured["probe_false_refusal"]
    # The questions' own rates are those of the plain cross-validation when the probe only
    # watches.
    plain = fit_evidence.cross_validate(x, y, groups, 0.02, 0.05, rewording, 0.0)
    assert {k: measured[k] for k in plain} == plain and "probe_false_refusal" not in plain
    # A budget whose rewordings' false refusals exceed the target is not chosen.
    loose, _ = fit_evidence.choose_budgets(x, y, groups, 0.05, 0.05, probe=probe)
    strict, _ = fit_evidence.choose_budgets(
        x, y, groups, 0.05, 0.05, probe=probe, target_probe_false_refusal=0.0
    )
    assert strict <= loose and strict == 0.0


def test_a_rewording_counts_under_its_originals_manual() -> None:
    x, y, _ = _toy(24)
    groups = [f"manual{i % 3}" for i in range(len(y))]
    probe = fit_evidence.Probe(x[:2], y[:2], np.array([0, 1]))
    decision, probe_decision, _ = fit_evidence.held_out_decisions(
        x, y, groups, 0.02, 0.05, probe=probe, probe_weight=1.0
    )
    table = fit_evidence.per_manual(decision, y, groups, probe_decision, probe)
    assert sum(c["probe_answerable"] + c["probe_near"] for c in table.values()) == 2
    assert table["manual0"]["probe_answerable"] + table["manual0"]["probe_near"] == 1
    assert table["manual2"]["probe_answerable"] + table["manual2"]["probe_near"] == 0
    assert sum(c["answerable"] + c["near"] for c in table.values()) == len(y)


def test_the_fitting_script_reads_the_rewordings_and_groups_near_misses_by_closest_doc(
    tmp_path: Path,
    capsys,  # noqa: ANN001
) -> None:
    questions = ["What input voltage does the zeta GW5 take?", "What MTBF does the zeta GW5 have?"]
    results, rewordings, lines = [], [], []
    for i, question in enumerate(questions * 12):
        evidence, _ = _features(question)
        near = "MTBF" in question
        kind = "not_in_docs" if near else "spec_lookup"
        manual = f"vendor{i % 4}_manual{i % 4}"
        results.append(
            {"id": f"q{i}", "kind": kind, "failed": None, "evidence_features": evidence}
            | {"top": ["vendor9_other:1"]}
        )
        lines.append(
            {"id": f"q{i}", "doc": None if near else manual}
            | ({"closest_doc": manual} if near else {})
        )
        reworded, _ = _features(question.replace("voltage", "juice"))
        rewordings.append(
            {"id": f"r{i}", "kind": kind, "failed": None, "evidence_features": reworded}
        )
        lines.append({"id": f"r{i}", "reworded_from": f"q{i}", "doc": None})
    path, files = _write_fit_inputs(tmp_path, results, {fit_evidence.PROBE_SET: rewordings}, lines)
    x, y, ids = fit_evidence.load_examples(path)
    assert len(ids) == 24  # the rewordings are not questions of the fit's own sets
    manuals = fit_evidence.load_manuals(path, ids, [files])
    assert manuals[1] == "vendor1_manual1"  # a near miss: its closest_doc, not its best passage
    probe = fit_evidence.load_probe(path, ids, [files])
    assert len(probe.y) == 24 and list(probe.originals[:3]) == [0, 1, 2]
    assert list(probe.y) == list(y)
    assert fit_evidence.main([str(path), "--questions", str(files), "--probe-weight", "1"]) == 0
    out = capsys.readouterr().out
    assert f"{fit_evidence.PROBE_SET}: 24 (12 answerable), each weighing 1.0" in out
    assert "per manual, leave-one-manual-out" in out and "vendor3_manual3" in out
    comment = " ".join(line.removeprefix("# ") for line in out.splitlines())
    assert "The rewordings' false_refusal / closest / not_found_acc" in comment


def test_part_number_questions_join_the_probe_held_out_with_their_own_manual(
    tmp_path: Path,
    capsys,  # noqa: ANN001
) -> None:
    questions = ["What input voltage does the zeta GW5 take?", "What MTBF does the zeta GW5 have?"]
    results, parts, lines = [], [], []
    for i, question in enumerate(questions * 12):
        evidence, _ = _features(question)
        near = "MTBF" in question
        kind = "not_in_docs" if near else "spec_lookup"
        manual = f"vendor{i % 4}_manual{i % 4}"
        results.append({"id": f"q{i}", "kind": kind, "failed": None, "evidence_features": evidence})
        lines.append(
            {"id": f"q{i}", "doc": None if near else manual}
            | ({"closest_doc": manual} if near else {})
        )
    for j in range(6):
        near = j % 2 == 1
        evidence, _ = _features(questions[j % 2])
        kind = "not_in_docs" if near else "part_number"
        parts.append({"id": f"p{j}", "kind": kind, "failed": None, "evidence_features": evidence})
        # One question of a manual no fitted question is about: nowhere to hold it out.
        manual = "vendor7_manual7" if j == 5 else f"vendor{j % 4}_manual{j % 4}"
        lines.append({"id": f"p{j}"} | ({"closest_doc": manual} if near else {"doc": manual}))
    path, files = _write_fit_inputs(tmp_path, results, {fit_evidence.PARTS_SET: parts}, lines)
    x, y, ids = fit_evidence.load_examples(path)
    manuals = fit_evidence.load_manuals(path, ids, [files])
    probe = fit_evidence.add_parts(fit_evidence.no_probe(), path, manuals, [files])
    assert len(probe.y) == 5 and probe.is_part().all()
    # Each is held out with a fitted question of its own manual.
    assert [manuals[int(o)] for o in probe.originals] == [
        f"vendor{j % 4}_manual{j % 4}" for j in range(5)
    ]
    cv = fit_evidence.cross_validate(x, y, manuals, 0.02, 0.05, probe=probe, probe_weight=0.25)
    assert "parts_false_refusal" in cv and "probe_false_refusal" not in cv
    assert fit_evidence.main([str(path), "--questions", str(files)]) == 0
    out = capsys.readouterr().out
    assert f"{fit_evidence.PARTS_SET}: 5 (3 answerable), each weighing 0.25" in out
    comment = " ".join(line.removeprefix("# ") for line in out.splitlines())
    assert "The part numbers' false_refusal / closest / not_found_acc" in comment
