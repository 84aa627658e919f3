"""`org export` / `org delete`: an organization's data, for its owner, from the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("org", help="export or delete an organization's data")
    osub = p.add_subparsers(dest="org_action", required=True)
    e = osub.add_parser("export", help="a zip with the manuals, conversations and a README")
    e.add_argument("--org", required=True, help="organization id or exact name")
    e.add_argument("--out", type=Path, default=None, help="zip file (default: ./<name>.zip)")
    e.set_defaults(func=run_export)
    d = osub.add_parser("delete", help="delete the organization and everything in it")
    d.add_argument("--org", required=True, help="organization id or exact name")
    d.add_argument(
        "--confirm",
        default=None,
        metavar="NAME",
        help="the organization's name, typed out (asked for when omitted)",
    )
    d.set_defaults(func=run_delete)


def run_export(args: argparse.Namespace) -> int:
    from techdocs_app.cli.ask import owner_principal
    from techdocs_app.errors import TechDocsError
    from techdocs_app.organization_export import export_filename, export_to_path

    try:
        principal = owner_principal(args.org)
        out = args.out or Path(export_filename(principal))
        counts = export_to_path(principal, out)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TechDocsError as exc:
        print(f"error: {exc.user_message}", file=sys.stderr)
        return 2
    print(
        f"export: {out} ({counts['documents']} manuals, {counts['conversations']} "
        f"conversations, {counts['messages']} messages, {counts['members']} members)"
    )
    return 0


def run_delete(args: argparse.Namespace) -> int:
    from techdocs_app.cli.ask import owner_principal
    from techdocs_app.errors import TechDocsError
    from techdocs_app.organization_deletion import delete_organization

    try:
        principal = owner_principal(args.org)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    typed = args.confirm
    if typed is None:
        print(
            f"This deletes the organization '{principal.org_name}' (id {principal.org_id}): its "
            "manuals, conversations, members' accounts that belong to no other organization, "
            "stored files and cached data. It cannot be undone."
        )
        typed = input("Type the organization's name to confirm: ")
    try:
        report = delete_organization(principal, confirmation=typed)
    except TechDocsError as exc:
        print(f"error: {exc.user_message}", file=sys.stderr)
        return 2
    print(
        f"deleted organization {report.org_id}: {report.documents} manuals, "
        f"{report.users_deleted} accounts, {report.files_deleted} files, "
        f"{report.redis_keys_deleted} cached keys"
    )
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0
