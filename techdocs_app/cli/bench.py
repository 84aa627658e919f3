"""`bench ingest|retrieval|chat|usage`: each benchmark lives in techdocs_app/bench/<name>.py.

A benchmark module exposes `add_arguments(parser)` and `run(args) -> int`; it prints its figures and,
as its last line, the exact summary line its issue defines.
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = {
    "ingest": "the whole ingestion pipeline vs the seed's, over a corpus folder",
    "retrieval": "hybrid_search at N chunks vs the seed's full-scan query",
    "chat": "concurrent conversations through the running app's websocket",
    "usage": "the usage page's data load with N query-log rows (budget 300 ms)",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks that print figures and ratios")
    bsub = p.add_subparsers(dest="benchmark", required=True)
    for name, help_text in BENCHMARKS.items():
        try:
            module = importlib.import_module(f"techdocs_app.bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and f"techdocs_app.bench.{name}".startswith(exc.name):
                continue
            raise
        bp = bsub.add_parser(name, help=help_text)
        module.add_arguments(bp)
        bp.set_defaults(func=module.run)
