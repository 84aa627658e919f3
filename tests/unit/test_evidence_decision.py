"""The evidence decision: features, the fitted logistic model, three outcomes, and the fitting
script (on a small synthetic eval file; the real fit reads eval --json on tune + dev)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from techdocs_app.bench import fit_evidence
from techdocs_app.rag import evidence
from techdocs_app.rag.attributes import Lexicon, _vocabulary, unknown_models
from techdocs_app.rag.evidence import (
    ANSWER_THRESHOLD,
    CLOSEST_THRESHOLD,
    FEATURES,
    answerable_probability,
    decide,
    evidence_features,
)
from techdocs_app.rag.quantities import asked_dimension, stated_dimensions

STRONG = {
    "similarity": 0.72,
    "coverage": 0.9,
    "weighted": 0.85,
    "arms": 1.0,
    "terms": 6,
    "candidates": 5,
    "attr_coverage": 1.0,
    "section_coverage": 1.0,
    "focus": ["torque"],
    "focus_missing": [],
    "together": True,
    "unknown_models": [],
}
NOTHING = {
    "similarity": 0.18,
    "coverage": 0.1,
    "weighted": 0.05,
    "arms": 0.0,
    "terms": 6,
    "candidates": 5,
    "attr_coverage": 0.2,
    "section_coverage": 0.2,
    "focus": ["mtbf"],
    "focus_missing": ["mtbf"],
    "together": True,
    "unknown_models": ["STM32F107"],
}


def test_features_are_in_order_and_default_to_no_objection() -> None:
    assert len(evidence_features(STRONG)) == len(FEATURES) == len(evidence.WEIGHTS)
    defaults = dict(
        zip(FEATURES, evidence_features({"similarity": 0.5, "coverage": 0.4}), strict=True)
    )
    assert defaults["attr_coverage"] == 0.4 and defaults["section_coverage"] == 0.4
    assert defaults["focus_missing"] == 0.0 and defaults["unknown_model"] == 0.0
    assert defaults["named_missing"] == 0.0
    missing = dict(zip(FEATURES, evidence_features(NOTHING), strict=True))
    assert missing["focus_missing"] == 1.0 and missing["unknown_model"] == 1.0
    assert set(evidence.DIRECTIONS) == set(FEATURES)


def test_three_outcomes() -> None:
    assert 0 < CLOSEST_THRESHOLD <= ANSWER_THRESHOLD < 1
    assert decide(STRONG) == "answer"
    assert decide(NOTHING) == "not_found"
    assert decide({}) == "not_found"  # no candidates at all
    # Between the two thresholds: the closest passages.
    low, high = NOTHING, STRONG
    for step in range(1, 50):
        mix = {
            k: (low[k] + (high[k] - low[k]) * step / 50)
            if isinstance(low[k], float)
            else (high[k] if step > 25 else low[k])
            for k in low
        }
        p = answerable_probability(mix)
        expected = (
            "answer"
            if p >= ANSWER_THRESHOLD
            else "closest"
            if p >= CLOSEST_THRESHOLD
            else "not_found"
        )
        assert decide(mix) == expected


def test_a_question_sharing_no_word_with_any_passage_is_refused_whatever_the_model_says() -> None:
    off_topic = {
        "similarity": 0.21,
        "coverage": 0.0,
        "weighted": 0.0,
        "arms": 0.33,
        "terms": 5,
        "candidates": 5,
        "focus": [],
        "focus_missing": [],
        # The subject's manual holds the question's words somewhere retrieval did not look.
        "attr_coverage": 1.0,
        "section_coverage": 1.0,
    }
    # The fitted model alone would not refuse it (no near miss in its sets is this far off)...
    assert answerable_probability(off_topic) >= CLOSEST_THRESHOLD
    # ...but nothing relevant was found, so it is "not in your manuals".
    assert decide(off_topic) == "not_found"


def test_a_model_no_manual_mentions_lowers_the_probability() -> None:
    known = dict(STRONG)
    unknown = dict(STRONG, unknown_models=["QSFP-100G-LR4-A-FL"])
    assert answerable_probability(unknown) < answerable_probability(known)
    focus_gone = dict(STRONG, focus_missing=["torque"])
    assert answerable_probability(focus_gone) < answerable_probability(known)


def _synthetic_results(n: int = 80) -> list[dict[str, object]]:
    """Answerable questions and near misses about four manuals, with overlapping features."""
    results = []
    for i in range(n):
        good = i % 4 != 0
        features = dict(STRONG if good else NOTHING)
        features["similarity"] = (0.55 if good else 0.3) + (i % 7) * 0.02
        features["section_coverage"] = (0.6 if good else 0.3) + (i % 5) * 0.1
        manual = f"vendor{i % 2}_manual{i % 4 // 2 + (i // 40) * 2}"
        results.append(
            {
                "id": f"q{i}",
                "kind": "spec_lookup" if good else "not_in_docs",
                "evidence_features": features,
                "failed": None,
                "top": [f"{manual}:1-1"],
            }
        )
    return results


def test_fitting_script_prints_constants_from_dev_and_tune_only(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    results = _synthetic_results()
    data = {
        "dev": {"results": results[:40]},
        "tune": {"results": results[40:]},
        # A validate set is never read: if it were, these contradicting labels would show.
        "validate": {
            "results": [
                {"id": "x", "kind": "not_in_docs", "evidence_features": STRONG, "failed": None}
            ]
        },
    }
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(data))
    x, y, ids = fit_evidence.load_examples(path)
    assert len(ids) == 80 and "x" not in ids
    weights, bias = fit_evidence.fit_logistic(x, y)
    p = fit_evidence.probabilities(x, weights, bias)
    assert p[y > 0.5].min() > p[y < 0.5].max()  # separable toy data
    answer, closest = fit_evidence.choose_thresholds(p, y, 0.0, 0.0)
    rates = fit_evidence.rates(p, y, answer, closest)
    assert rates["false_refusal"] == 0.0 and rates["not_found_acc"] == 1.0
    # A question file names a question's manual; the rest count under their best passage's.
    questions = tmp_path / "dev.jsonl"
    questions.write_text(json.dumps({"id": "q1", "doc": "other_manual"}) + "\n")
    manuals = fit_evidence.load_manuals(path, ids, [questions])
    assert manuals[1] == "other_manual" and manuals[0] == "vendor0_manual0"
    assert fit_evidence.vendor("trikdis_rt2") == "trikdis"
    assert fit_evidence.main([str(path), "--questions", str(questions)]) == 0
    out = capsys.readouterr().out
    assert "WEIGHTS = (" in out and "ANSWER_THRESHOLD = " in out
    assert "5-fold CV" in out and "leave-one-manual" in out and "leave-one-vendor" in out


def test_the_fit_keeps_each_weight_on_its_allowed_side() -> None:
    rng = np.random.default_rng(3)
    n = 200
    y = (rng.random(n) < 0.8).astype(float)
    x = rng.random((n, len(FEATURES))) * 0.2
    similarity = FEATURES.index("similarity")
    coverage = FEATURES.index("coverage")
    x[:, coverage] += y * 0.6
    # On these questions similarity happens to be lower for the answerable ones.
    x[:, similarity] = 0.5 - 0.2 * y + rng.random(n) * 0.2
    free, _ = fit_evidence.fit_logistic(x, y)
    assert free[similarity] < 0  # the unconstrained fit trades weights of opposite signs
    directed, _ = fit_evidence.fit_directed(x, y)
    signs = np.array([evidence.DIRECTIONS[name] for name in FEATURES])
    assert (directed * signs >= 0).all() and directed[similarity] == 0.0
    assert directed[coverage] > 0


def test_budgets_are_the_largest_that_hold_out_of_manual() -> None:
    results = _synthetic_results(120)
    rows = [evidence_features(r["evidence_features"]) for r in results]  # type: ignore[arg-type]
    x = np.array(rows, dtype=float)
    y = np.array([0.0 if r["kind"] == "not_in_docs" else 1.0 for r in results])
    x[:, FEATURES.index("coverage")] += np.random.default_rng(5).random(len(y)) * 0.5
    groups = [str(r["top"][0]).partition(":")[0] for r in results]  # type: ignore[index]
    fr_budget, closest_budget = fit_evidence.choose_budgets(x, y, groups, 0.05, 0.10)
    assert 0.0 <= fr_budget <= 0.05 and 0.0 <= closest_budget <= 0.10
    held_out = fit_evidence.cross_validate(x, y, groups, fr_budget, closest_budget)
    assert held_out["false_refusal"] <= 0.05 and held_out["closest"] <= 0.10


def test_a_quantity_no_passage_states_lowers_the_probability() -> None:
    stated = dict(STRONG, quantity_asked=True, quantity_missing=False)
    unstated = dict(STRONG, quantity_asked=True, quantity_missing=True)
    assert answerable_probability(unstated) < answerable_probability(stated)
    assert dict(zip(FEATURES, evidence_features(unstated), strict=True))["quantity_missing"] == 1.0


def test_asked_dimension_reads_the_asked_for_phrase_only() -> None:
    torque = asked_dimension("What torque should the Ender 3 nozzle be tightened to?")
    assert torque is not None and torque == asked_dimension("What is the tightening torque?")
    assert asked_dimension("How much does the QSFP-100G-ER4L-A-FL module weigh?") == (
        asked_dimension("What weight is it?")
    )
    assert asked_dimension("What is the maximum heated-bed temperature of the Ender 3?")
    assert asked_dimension("How many hours will it run on the battery?")
    # A name or a procedure that holds the word is not a question for a quantity.
    assert asked_dimension("What are the steps of the Torque-Set technique?") is None
    assert asked_dimension("How can I measure rolling torque without a torque wrench?") is None
    assert asked_dimension("What is the junction-to-ambient thermal resistance?") is None
    assert asked_dimension("What Wi-Fi bands does the RL14 support?") is None


def test_stated_dimensions_agree_across_unit_systems() -> None:
    torque = asked_dimension("What torque do I use?")
    assert torque in stated_dimensions("Tighten to 25 N·m.")
    assert torque in stated_dimensions("Tighten to 18 ft-lbs.")
    assert torque in stated_dimensions("Tighten to 250 kgf·cm.")
    temperature = asked_dimension("What temperature?")
    assert temperature in stated_dimensions("Keep the pot between 450 and 500º F.")
    assert temperature in stated_dimensions("| Hot end | 200 | °C |")  # a table's unit cell
    current = asked_dimension("What supply current does it draw?")
    assert current in stated_dimensions("| Supply Current | Icc | | 1.27 | A |")
    mass = asked_dimension("How much does it weigh?")
    assert mass in stated_dimensions("Weight, pounds per 1,000 feet")  # a header's unit
    assert mass not in stated_dimensions("The module draws 3.5 W at 3.3 V over 40 km.")
    assert torque in stated_dimensions("Tighten the nut to 35 ft.-lbs.")
    assert asked_dimension("What resistance?") in stated_dimensions("an NTC 100K thermistor")
    assert asked_dimension("What voltage?") in stated_dimensions("| Parameter | Max (V) |")
    assert asked_dimension("What voltage?") not in stated_dimensions("the channel(s) in use")


def test_unknown_models_reads_family_shorthand_and_plurals() -> None:
    lexicon = Lexicon(_vocabulary("STM32F103xC STM32F103xD STM32F103xE digital CFP2 modules"))
    assert unknown_models("What supply range does the STM32F103xC/D/E take?", [lexicon]) == []
    assert unknown_models("How do these digital CFP2s differ?", [lexicon]) == []
    assert unknown_models("How much Flash does the STM32F103C8T6 have?", [lexicon]) == [
        "STM32F103C8T6"
    ]


def test_the_fitted_constants_are_written_over_the_old_block(tmp_path: Path) -> None:
    module = tmp_path / "evidence.py"
    module.write_text(
        '"""Doc."""\n\n'
        f"{fit_evidence.BLOCK_START}` long ago.\n"
        "WEIGHTS = (1.0, 2.0)\nBIAS = 0.5\nANSWER_THRESHOLD = 0.9\nCLOSEST_THRESHOLD = 0.1\n"
        "\n\ndef after() -> int:\n    return 1\n"
    )
    block = fit_evidence.constants_block(
        weights=np.array([0.0, -1.25, 2.5]),
        bias=-0.75,
        answer=0.6,
        closest=0.3,
        notes=["Fitted on a few questions."],
    )
    fit_evidence.write_constants(module, block)
    namespace: dict[str, object] = {}
    exec(module.read_text(), namespace)  # noqa: S102 - the file written just above
    assert namespace["WEIGHTS"] == (0.0, -1.25, 2.5) and namespace["BIAS"] == -0.75
    assert namespace["ANSWER_THRESHOLD"] == 0.6 and namespace["CLOSEST_THRESHOLD"] == 0.3
    assert "long ago" not in module.read_text() and "a few questions" in module.read_text()
    assert module.read_text().count(fit_evidence.BLOCK_START) == 1
    assert all(len(line) <= 100 for line in block.splitlines())
