"""Command line: `python -m techdocs_app COMMAND ...`.

Each command lives in its own module under `techdocs_app/cli/` exposing `register(subparsers)`, which
adds a sub-parser whose `func(args) -> int` runs it. Commands import their services lazily so that
`--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("services", "accounts", "ingest", "ask", "eval", "bench", "check", "retention")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m techdocs_app", description="TechDocs AI")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"techdocs_app.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and f"techdocs_app.cli.{name}".startswith(exc.name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
