"""`python -m techdocs_app.bench.fit_evidence RESULTS.json`: fit the evidence decision.

RESULTS.json is what `eval --json` writes. Only its dev and tune sets are read (validate's
per-question results are never written, and never used here). For every question the features the
pipeline computed (`rag.evidence.evidence_features` of the trace's evidence) and whether the
manuals answer it (kind != not_in_docs) form one example. The script fits an L2-regularised
logistic regression (Newton's method, standardised features, classes weighted equally), turns it
back into weights on the raw features, picks the two thresholds and prints the constants to paste
into `rag/evidence.py`, with the rates they give on the fitted sets and in 5-fold
cross-validation (a first estimate of how far they will move on questions nobody fitted on).

Thresholds: CLOSEST_THRESHOLD is the highest that keeps false refusals (answerable questions below
it) at or under --max-false-refusal; ANSWER_THRESHOLD the highest at or above it that keeps the
"closest" outcome on answerable questions at or under --max-closest.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

import numpy as np

from techdocs_app.rag.evidence import FEATURES, evidence_features

FIT_SETS = ("dev", "tune")
L2 = 1.0


def load_examples(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    rows: list[tuple[float, ...]] = []
    labels: list[float] = []
    ids: list[str] = []
    for name in FIT_SETS:
        for result in data.get(name, {}).get("results", []):
            if result.get("failed"):
                continue
            rows.append(evidence_features(result.get("evidence_features") or {}))
            labels.append(0.0 if result["kind"] == "not_in_docs" else 1.0)
            ids.append(result["id"])
    return np.array(rows, dtype=float), np.array(labels, dtype=float), ids


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Weights and bias on the raw features (fitted on standardised ones)."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    z = (x - mean) / std
    design = np.hstack([z, np.ones((len(z), 1))])
    # Balanced classes: each class weighs half of the fit.
    sample = np.where(y > 0.5, 0.5 / max(1, y.sum()), 0.5 / max(1, (1 - y).sum())) * len(y)
    beta = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * l2
    penalty[-1, -1] = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (sample * (p - y)) + penalty @ beta
        hessian = design.T @ (design * (sample * p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    weights = beta[:-1] / std
    bias = float(beta[-1] - (beta[:-1] * mean / std).sum())
    return weights, bias


def probabilities(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ weights + bias)))


def choose_thresholds(
    p: np.ndarray, y: np.ndarray, max_false_refusal: float, max_closest: float
) -> tuple[float, float]:
    answerable = np.sort(p[y > 0.5])
    n = len(answerable)
    # Not found below t: at most floor(max_false_refusal * n) answerable questions under it.
    allowed = int(math.floor(max_false_refusal * n))
    closest = float(answerable[allowed]) if allowed < n else 1.0
    closest = math.floor(closest * 1000) / 1000
    # Closest in [closest, t): at most floor(max_closest * n) answerable questions in between.
    allowed_closest = int(math.floor(max_closest * n))
    above = answerable[answerable >= closest]
    answer = float(above[allowed_closest]) if allowed_closest < len(above) else 1.0
    answer = max(closest, math.floor(answer * 1000) / 1000)
    return answer, closest


def rates(p: np.ndarray, y: np.ndarray, answer: float, closest: float) -> dict[str, float]:
    answerable = p[y > 0.5]
    missing = p[y < 0.5]
    return {
        "false_refusal": float((answerable < closest).mean()) if len(answerable) else 0.0,
        "closest": float(((answerable >= closest) & (answerable < answer)).mean())
        if len(answerable)
        else 0.0,
        "not_found_acc": float((missing < closest).mean()) if len(missing) else 0.0,
        "not_answered_nid": float((missing < answer).mean()) if len(missing) else 0.0,
    }


def cross_validate(
    x: np.ndarray, y: np.ndarray, folds: int, max_fr: float, max_closest: float, seed: int
) -> dict[str, float]:
    order = list(range(len(y)))
    random.Random(seed).shuffle(order)
    p_out = np.zeros(len(y))
    thresholds: list[tuple[float, float]] = []
    for k in range(folds):
        test = [i for j, i in enumerate(order) if j % folds == k]
        train = [i for j, i in enumerate(order) if j % folds != k]
        weights, bias = fit_logistic(x[train], y[train])
        answer, closest = choose_thresholds(
            probabilities(x[train], weights, bias), y[train], max_fr, max_closest
        )
        thresholds.append((answer, closest))
        # Each held-out example is judged against its own fold's thresholds: map its
        # probability relative to them onto the full-data scale by storing the decision.
        p = probabilities(x[test], weights, bias)
        for i, value in zip(test, p, strict=True):
            p_out[i] = 2.0 if value >= answer else (1.0 if value >= closest else 0.0)
    answerable = p_out[y > 0.5]
    missing = p_out[y < 0.5]
    return {
        "false_refusal": float((answerable == 0).mean()),
        "closest": float((answerable == 1).mean()),
        "not_found_acc": float((missing == 0).mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="eval --json output (dev and tune sets)")
    parser.add_argument("--max-false-refusal", type=float, default=0.025)
    parser.add_argument("--max-closest", type=float, default=0.10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    x, y, _ = load_examples(args.results)
    if len(y) == 0 or y.min() == y.max():
        print("need answerable and not_in_docs questions from the dev and tune sets")
        return 2
    weights, bias = fit_logistic(x, y)
    p = probabilities(x, weights, bias)
    answer, closest = choose_thresholds(p, y, args.max_false_refusal, args.max_closest)
    fitted = rates(p, y, answer, closest)
    cv = cross_validate(x, y, args.folds, args.max_false_refusal, args.max_closest, args.seed)
    print(f"examples: {len(y)} ({int(y.sum())} answerable, {int((1 - y).sum())} not in docs)")
    for name, w in zip(FEATURES, weights, strict=True):
        print(f"  {name:<14} {w:+.3f}")
    print(f"fitted sets:  {json.dumps({k: round(v, 3) for k, v in fitted.items()})}")
    print(f"{args.folds}-fold CV:    {json.dumps({k: round(v, 3) for k, v in cv.items()})}")
    print("# rag/evidence.py")
    print(f"WEIGHTS = ({', '.join(f'{w:.3f}' for w in weights)})")
    print(f"BIAS = {bias:.3f}")
    print(f"ANSWER_THRESHOLD = {answer:.3f}")
    print(f"CLOSEST_THRESHOLD = {closest:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
