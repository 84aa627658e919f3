"""Command line: `python -m techdocs_app COMMAND ...`.

Each command lives in its own module under `techdocs_app/cli/` exposing `register(subparsers)`, which
adds a sub-parser whose `func(args) -> int` runs it. Commands import their services lazily so that
`--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "services",
    "accounts",
    "ingest",
    "ask",
    "eval",
    "bench",
    "check",
    "retention",
    "backup",
    "org",
)


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
    from techdocs_app.errors import TechDocsError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TechDocsError as exc:
        # A refusal the command can explain (bad input, a missing service): its message, no
        # traceback.
        print(f"error: {exc.user_message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
