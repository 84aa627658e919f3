"""`eval --questions FILE --corpus DIR [--json OUT]`: retrieval and answer quality on a corpus.

The last line printed is exactly:
`eval: recall@5=… mrr@10=… not_found_acc=… false_refusal=… evidence_in_answer=… n=…`
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="ingest a corpus and score answers to a question file")
    p.add_argument("--questions", type=Path, required=True, help="JSONL questions (dev.jsonl)")
    p.add_argument("--corpus", type=Path, required=True, help="folder of PDFs")
    p.add_argument("--json", type=Path, default=None, help="write per-question results here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from techdocs_app.rag.evaluation import run_eval

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.questions.is_file():
        print(f"error: {args.questions} is not a file", file=sys.stderr)
        return 2
    if not args.corpus.is_dir():
        print(f"error: {args.corpus} is not a folder", file=sys.stderr)
        return 2
    run_eval(questions_path=args.questions, corpus=args.corpus, json_out=args.json)
    return 0
