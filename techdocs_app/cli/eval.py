"""`eval --corpus DIR [--questions FILE ...] [--json OUT]`: retrieval and answer quality.

Without `--questions`, three sets are scored: dev (`../shared/eval/dev.jsonl`), tune and validate
(`tests/eval/`), printed side by side with the tune - validate gap; one line per set:
`eval: set=NAME recall@5=… mrr@10=… not_found_acc=… false_refusal=… evidence_in_answer=… closest=…
followup_mrr=… median_words=… n=…`. With one `--questions FILE` the last line is
`eval: recall@5=… … n=…`. Validate's questions are never printed one by one (aggregates only).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from techdocs_app.settings import PROJECT_ROOT

DEFAULT_SETS = {
    "dev": PROJECT_ROOT.parent / "shared" / "eval" / "dev.jsonl",
    "tune": PROJECT_ROOT / "tests" / "eval" / "tune.jsonl",
    "validate": PROJECT_ROOT / "tests" / "eval" / "validate.jsonl",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="ingest a corpus and score answers to question files")
    p.add_argument(
        "--questions",
        type=Path,
        action="append",
        default=None,
        help="JSONL questions (repeatable; default: dev, tune and validate)",
    )
    p.add_argument("--corpus", type=Path, required=True, help="folder of PDFs")
    p.add_argument("--json", type=Path, default=None, help="write per-question results here")
    p.set_defaults(func=run)


def question_sets(paths: list[Path] | None) -> dict[str, Path]:
    """Set name -> file: the defaults, or each given file named after its stem."""
    if not paths:
        return dict(DEFAULT_SETS)
    return {path.stem: path for path in paths}


def run(args: argparse.Namespace) -> int:
    from techdocs_app.rag.evaluation import run_eval

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sets = question_sets(args.questions)
    for path in sets.values():
        if not path.is_file():
            print(f"error: {path} is not a file", file=sys.stderr)
            return 2
    if not args.corpus.is_dir():
        print(f"error: {args.corpus} is not a folder", file=sys.stderr)
        return 2
    run_eval(question_sets=sets, corpus=args.corpus, json_out=args.json)
    return 0
