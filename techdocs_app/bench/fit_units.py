"""`python -m techdocs_app.bench.fit_units`: where the offline answerer ranks the evidence unit.

Two steps:

- `capture --corpus DIR --questions FILE ... --out PASSAGES.json`: the eval (`rag.evaluation`)
  over the question files, recording the passages each question's answer was given (the question
  as the answerer saw it, the standalone one, and its sources). Held-out sets
  (`evaluation.is_hidden`: validate and the fresh probes) are refused. Needs `make services`, like `eval`.
- `measure PASSAGES.json`: the answerer replayed on those passages (pure Python, a second or
  two). For each answerable question whose evidence phrase a single unit (sentence, table row,
  list item, heading) of its passages holds, where the best such unit ranks in the scorer's order
  (`selection.scored_units`): "unit top-1 / top-3". Questions whose passages hold no unit with the
  evidence are counted apart (`absent`: no passage has it, a retrieval miss; `spans`: it runs
  over two units). `evidence` is the replayed evidence_in_answer (the eval's figure for the
  answers given, without the not-found decision), `words` the answers' length (median, p90, p95,
  max and how many run over LONG_WORDS, in `rag.evaluation.answer_words`); `--long N` prints
  each replayed answer over N words.
- `words RESULTS.json`: the same length figures for the answers an eval run gave (`eval --json`:
  every answer not refused, "closest passages" included), per set; and in whitespace tokens
  (table rules and empty cells counted), as issue 9 first measured them.
- `fit PASSAGES.json`: `scoring.WEIGHTS` chosen by coordinate search over a grid (`GRID`), by
  replayed evidence_in_answer, then unit top-1; and leave-one-manual-out: the weights chosen
  without a manual's questions, scored on them (the figures a new shop would see).

Questions are grouped by manual (`doc`) for leave-one-manual-out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from techdocs_app.providers.base import AnswerStreamInfo, SourcePassage, Turn
from techdocs_app.providers.extractive.render import render
from techdocs_app.providers.extractive.scoring import FEATURES, WEIGHTS, weighted_score
from techdocs_app.providers.extractive.selection import choose_scored, scored_units
from techdocs_app.providers.extractive.units import Unit
from techdocs_app.providers.local_answer import ExtractiveAnswerer

NOT_IN_DOCS = "not_in_docs"


def fold(text: str) -> str:
    """As the eval compares evidence (`rag.evaluation._fold`)."""
    from techdocs_app.rag.evaluation import _fold

    return _fold(text)


@dataclass
class Case:
    """One answerable question and the passages its answer was given."""

    set: str
    id: str
    doc: str
    kind: str
    evidence: str
    question: str
    """The standalone question the answerer was asked."""
    sources: list[SourcePassage]


class _Recorder:
    """The offline answerer, recording the passages of each question it answers."""

    name = "extractive"
    offline = True

    def __init__(self) -> None:
        self.seen: dict[str, list[SourcePassage]] = {}
        self._answerer = ExtractiveAnswerer()

    async def stream_answer(
        self,
        *,
        question: str,
        sources: Sequence[SourcePassage],
        history: Sequence[Turn],
        info: AnswerStreamInfo | None = None,
    ) -> AsyncIterator[str]:
        self.seen[question] = list(sources)
        async for piece in self._answerer.stream_answer(
            question=question, sources=sources, history=history, info=info
        ):
            yield piece


def capture(corpus: Path, questions: list[Path], out: Path) -> int:
    from techdocs_app.rag import answer as answer_mod
    from techdocs_app.rag.evaluation import is_hidden, load_questions, run_eval

    sets = {path.stem: path for path in questions}
    hidden = sorted(name for name in sets if is_hidden(name))
    if hidden:
        print(f"error: held-out sets are not captured: {hidden}")
        return 2
    recorder = _Recorder()
    answer_mod.get_answerer = lambda: recorder  # type: ignore[assignment]
    results_path = out.with_suffix(".eval.json")
    run_eval(question_sets=sets, corpus=corpus, json_out=results_path)
    results = json.loads(results_path.read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = []
    for name, path in sets.items():
        by_id = {q.id: q for q in load_questions(path)}
        for r in results[name]["results"]:
            q = by_id[r["id"]]
            if q.kind == NOT_IN_DOCS or not q.evidence:
                continue
            sources = recorder.seen.get(r["standalone_query"])
            cases.append(
                {
                    "set": name,
                    "id": q.id,
                    "doc": q.doc or "",
                    "kind": q.kind,
                    "evidence": q.evidence,
                    "question": r["standalone_query"],
                    "evidence_found": r["evidence_found"],
                    "sources": [asdict(s) for s in sources] if sources is not None else None,
                }
            )
    out.write_text(json.dumps({"cases": cases}, indent=1), encoding="utf-8")
    given = sum(1 for c in cases if c["sources"] is not None)
    print(f"captured {given} of {len(cases)} answerable questions' passages -> {out}")
    return 0


def load_cases(path: Path) -> list[Case]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        Case(
            set=c["set"],
            id=c["id"],
            doc=c["doc"],
            kind=c["kind"],
            evidence=c["evidence"],
            question=c["question"],
            sources=[SourcePassage(**s) for s in c["sources"]],
        )
        for c in data["cases"]
        if c["sources"]
    ]


@dataclass
class Prepared:
    """A case's units, scored once; `replay` rescores them under other weights."""

    case: Case
    units: list[Unit]
    evidence: str
    holders: list[int]
    """Indexes of the units whose text holds the evidence."""
    status: str
    """'unit' (a unit holds it), 'spans' (the passages do, over units), 'absent' (they do not)."""


def prepare(case: Case) -> Prepared:
    units = scored_units(case.question, case.sources)
    evidence = fold(case.evidence)
    holders = [i for i, u in enumerate(units) if evidence in fold(u.text)]
    if holders:
        status = "unit"
    elif any(evidence in fold(s.text) for s in case.sources):
        status = "spans"
    else:
        status = "absent"
    return Prepared(case, units, evidence, holders, status)


@dataclass
class Outcome:
    rank: int | None
    """1-based rank of the best unit holding the evidence (None: no unit holds it, or it scores
    0)."""
    found: bool
    """The replayed answer holds the evidence."""
    words: int
    answer: str = ""


def replay(p: Prepared, weights: Sequence[float]) -> Outcome:
    from techdocs_app.rag.evaluation import answer_words

    for unit in p.units:
        if unit.features:
            unit.score = weighted_score(unit, weights)
    rank = None
    if p.holders:
        order = sorted(
            range(len(p.units)),
            key=lambda i: (-p.units[i].score, p.units[i].source.number, p.units[i].position),
        )
        held = set(p.holders)
        at = next(k for k, i in enumerate(order) if i in held)
        rank = at + 1 if p.units[order[at]].score > 0 else None
    chosen, steps = choose_scored(p.case.question, p.case.sources, p.units)
    answer = "".join(render(chosen, p.case.question, steps=steps)) if chosen else ""
    return Outcome(rank, p.evidence in fold(answer), answer_words(answer) if answer else 0, answer)


LONG_WORDS = 120
"""An answer over this many words is long to read on a tablet (issue 9 §4): counted apart."""


@dataclass
class Lengths:
    """How long answers run, in `rag.evaluation.answer_words`."""

    median: float
    p90: float
    p95: float
    max: int
    long: int
    """Answers over LONG_WORDS words."""

    def line(self) -> str:
        return (
            f"words median={self.median:.0f} p90={self.p90:.0f} p95={self.p95:.0f} "
            f"max={self.max} over{LONG_WORDS}={self.long}"
        )


def lengths(words: Sequence[int]) -> Lengths:
    """Median, 90th and 95th percentile (linear between ranks), max and the long ones."""
    if not words:
        return Lengths(0.0, 0.0, 0.0, 0, 0)
    ordered = sorted(words)

    def at(share: float) -> float:
        k = (len(ordered) - 1) * share
        low = int(k)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (k - low)

    return Lengths(
        float(statistics.median(ordered)),
        at(0.9),
        at(0.95),
        ordered[-1],
        sum(1 for w in ordered if w > LONG_WORDS),
    )


@dataclass
class Figures:
    n: int
    in_unit: int
    top1: int
    top3: int
    found: int
    median_words: float
    words: Lengths

    def line(self, label: str) -> str:
        share = max(1, self.in_unit)
        return (
            f"{label}: unit top-1={self.top1 / share:.3f} top-3={self.top3 / share:.3f} "
            f"(of {self.in_unit} with a unit holding the evidence) "
            f"evidence={self.found / max(1, self.n):.3f} {self.words.line()} n={self.n}"
        )


def figures(prepared: Sequence[Prepared], outcomes: Sequence[Outcome]) -> Figures:
    in_unit = [o for p, o in zip(prepared, outcomes, strict=True) if p.status == "unit"]
    words = [o.words for o in outcomes if o.words]
    return Figures(
        n=len(outcomes),
        in_unit=len(in_unit),
        top1=sum(1 for o in in_unit if o.rank == 1),
        top3=sum(1 for o in in_unit if o.rank is not None and o.rank <= 3),
        found=sum(1 for o in outcomes if o.found),
        median_words=float(statistics.median(words)) if words else 0.0,
        words=lengths(words),
    )


def measure(
    path: Path,
    weights: Sequence[float] = WEIGHTS,
    *,
    verbose: bool = False,
    long: int | None = None,
) -> int:
    prepared = [prepare(c) for c in load_cases(path)]
    outcomes = [replay(p, weights) for p in prepared]
    by_set: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(prepared):
        by_set[p.case.set].append(i)
    for name, idx in by_set.items():
        f = figures([prepared[i] for i in idx], [outcomes[i] for i in idx])
        print(f.line(name))
    print(figures(prepared, outcomes).line("all"))
    status: dict[str, int] = defaultdict(int)
    for p, o in zip(prepared, outcomes, strict=True):
        status[f"{p.status}/{'found' if o.found else 'missed'}"] += 1
    print("evidence:", dict(sorted(status.items())))
    if verbose:
        for p, o in zip(prepared, outcomes, strict=True):
            if p.status == "unit" and not o.found:
                replay(p, weights)
                best = max(p.units, key=lambda u: (u.score, -u.source.number, -u.position))
                held = max((p.units[i] for i in p.holders), key=lambda u: u.score)
                print(f"  {p.case.set}:{p.case.id} rank={o.rank} {p.case.question[:70]!r}")
                print(f"    best [{best.source.number}] {best.score:.2f} {best.text[:90]!r}")
                print(f"    evidence [{held.source.number}] {held.score:.2f} {held.text[:90]!r}")
    if long is not None:
        for p, o in zip(prepared, outcomes, strict=True):
            if o.words > long:
                found = "found" if o.found else "missed"
                print(f"\n=== {p.case.set}:{p.case.id} words={o.words} evidence {found}")
                print(f"Q: {p.case.question}")
                print(o.answer)
    return 0


def words(path: Path) -> int:
    """Per set of an eval run's results, how long its given answers run."""
    from techdocs_app.rag.evaluation import answer_words

    results = json.loads(path.read_text(encoding="utf-8"))
    for name, data in results.items():
        given = [
            r["answer"]
            for r in data["results"]
            if r["answer"] and r["outcome"] in ("answer", "closest")
        ]
        counted = lengths([answer_words(a) for a in given]).line()
        # Whitespace tokens, table rules and empty cells included: what the issue first counted.
        tokens = lengths([len(a.split()) for a in given]).line().replace("words", "tokens")
        print(f"{name}: {counted} | {tokens} given={len(given)}")
    return 0


GRID: dict[str, Sequence[float]] = {
    "coverage": (1.0,),
    "phrase": (0.0, 0.15, 0.3, 0.5, 0.8),
    "ident": (0.0, 0.2, 0.4),
    "value": (0.5, 0.75, 1.0, 1.5),
    "label": (0.0, 0.5, 1.0, 1.5),
    "rank_prior": (0.0, 1.0, 2.0, 3.0),
}
"""The weights tried for each of FEATURES (coverage fixes the scale)."""


ROUNDS = 3
"""Rounds of coordinate search: each feature's weight in turn set to its best value in GRID with
the others held."""


class _Table:
    """Replay outcomes per weights, computed once for every question."""

    def __init__(self, prepared: Sequence[Prepared]) -> None:
        self.prepared = prepared
        self.memo: dict[tuple[float, ...], list[Outcome]] = {}

    def __call__(self, weights: tuple[float, ...]) -> list[Outcome]:
        if weights not in self.memo:
            self.memo[weights] = [replay(p, weights) for p in self.prepared]
        return self.memo[weights]


def search(table: _Table, idx: Sequence[int], start: Sequence[float]) -> tuple[float, ...]:
    """Coordinate search from `start` for the weights with the most answers holding the evidence
    on questions `idx`, then the most evidence units ranked first; ties keep the earlier value
    (the start's first)."""

    def key(weights: tuple[float, ...]) -> tuple[int, int]:
        outcomes = table(weights)
        return (
            sum(outcomes[i].found for i in idx),
            sum(outcomes[i].rank == 1 for i in idx),
        )

    current = tuple(start)
    for _ in range(ROUNDS):
        moved = False
        for k, name in enumerate(FEATURES):
            best, best_key = current, key(current)
            for value in GRID[name]:
                trial = (*current[:k], value, *current[k + 1 :])
                if key(trial) > best_key:
                    best, best_key = trial, key(trial)
            moved |= best != current
            current = best
        if not moved:
            break
    return current


def fit(path: Path) -> int:
    prepared = [prepare(c) for c in load_cases(path)]
    table = _Table(prepared)
    everyone = list(range(len(prepared)))
    start = tuple(WEIGHTS)
    fitted = search(table, everyone, start)
    for label, weights in (("current", start), ("fitted", fitted)):
        print(figures(prepared, table(weights)).line(f"{label} {weights}"))
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(prepared):
        by_doc[p.case.doc].append(i)
    held: list[Outcome | None] = [None] * len(prepared)
    for doc, idx in sorted(by_doc.items()):
        rest = [i for i in everyone if prepared[i].case.doc != doc]
        weights = search(table, rest, start)
        outcomes = table(weights)
        base = table(start)
        for i in idx:
            held[i] = outcomes[i]
        print(
            f"  held out {doc:<28} n={len(idx):>3} "
            f"evidence {sum(base[i].found for i in idx)}->{sum(outcomes[i].found for i in idx)} "
            f"top-1 {sum(base[i].rank == 1 for i in idx)}->"
            f"{sum(outcomes[i].rank == 1 for i in idx)} weights {weights}"
        )
    out = [o for o in held if o is not None]
    print(figures(prepared, table(start)).line("leave-one-manual-out, current"))
    print(figures(prepared, out).line("leave-one-manual-out, fitted "))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m techdocs_app.bench.fit_units")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("capture", help="run the eval, recording each answer's passages")
    c.add_argument("--corpus", type=Path, required=True)
    c.add_argument("--questions", type=Path, nargs="+", required=True)
    c.add_argument("--out", type=Path, required=True)
    m = sub.add_parser("measure", help="unit top-1 / top-3 and replayed evidence")
    m.add_argument("passages", type=Path)
    m.add_argument("-v", "--verbose", action="store_true", help="list the unit misses")
    m.add_argument("--long", type=int, help="print the replayed answers over this many words")
    w = sub.add_parser("words", help="answer lengths of an eval run (eval --json)")
    w.add_argument("results", type=Path)
    f = sub.add_parser("fit", help="choose scoring.WEIGHTS, with leave-one-manual-out")
    f.add_argument("passages", type=Path)
    args = parser.parse_args(argv)
    if args.command == "capture":
        return capture(args.corpus, args.questions, args.out)
    if args.command == "measure":
        return measure(args.passages, verbose=args.verbose, long=args.long)
    if args.command == "words":
        return words(args.results)
    return fit(args.passages)


if __name__ == "__main__":
    sys.exit(main())
