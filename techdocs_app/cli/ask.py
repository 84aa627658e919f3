"""`ask "QUESTION" --org ORG [--conversation ID] [--document ID ...]`: stream an answer to the terminal.

ORG is an organization id or its exact name; the question is asked as the organization's owner.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from techdocs_app.auth import Principal


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="ask a question of an organization's manuals")
    p.add_argument("question")
    p.add_argument("--org", required=True, help="organization id or exact name")
    p.add_argument("--conversation", type=int, default=None, help="continue this conversation")
    p.add_argument(
        "--document", type=int, action="append", default=None, help="only this document id"
    )
    p.set_defaults(func=run)


def owner_principal(org: str) -> Principal:
    """The owner of the organization with this id or exact name (LookupError when none)."""
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.owners import find_owner

    with system_session_scope() as session:
        return Principal(**find_owner(session, org=org)._asdict())


async def _stream(args: argparse.Namespace, principal: Principal) -> int:
    from techdocs_app.rag import answer as answer_mod

    code = 0
    sources: list[answer_mod.SourceView] = []
    async for event in answer_mod.ask(
        principal,
        question=args.question,
        conversation_id=args.conversation,
        document_ids=args.document,
    ):
        if isinstance(event, answer_mod.Started):
            print(
                f"[conversation {event.conversation_id}] {event.standalone_query}",
                file=sys.stderr,
            )
        elif isinstance(event, answer_mod.Token):
            print(event.text, end="", flush=True)
        elif isinstance(event, answer_mod.Sources):
            sources = event.sources
        elif isinstance(event, answer_mod.Done):
            print()
            if not event.not_found:
                for s in sources:
                    pages = (
                        f"p. {s.page_start}"
                        if s.page_start == s.page_end
                        else f"pp. {s.page_start}-{s.page_end}"
                    )
                    mark = "*" if s.number in event.citations else " "
                    print(f"{mark}[{s.number}] {s.document_title}, {pages} — {s.heading}")
            label = " (offline extractive answer)" if event.offline else ""
            timing = " ".join(f"{k}={v:.0f}ms" for k, v in event.timings.items())
            print(f"-- {'cache hit, ' if event.cache_hit else ''}{timing}{label}", file=sys.stderr)
        elif isinstance(event, answer_mod.Failed):
            print(f"Failed: {event.user_message}", file=sys.stderr)
            code = 1
    return code


def run(args: argparse.Namespace) -> int:
    try:
        principal = owner_principal(args.org)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_stream(args, principal))
