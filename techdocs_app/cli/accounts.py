"""`accounts create-org` / `accounts list`: organizations and owners from the terminal."""

from __future__ import annotations

import argparse
import getpass
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("accounts", help="create an organization with its owner, list organizations")
    asub = p.add_subparsers(dest="accounts_action", required=True)
    c = asub.add_parser("create-org", help="create an organization and its owner account")
    c.add_argument("--name", required=True, help="organization (shop) name")
    c.add_argument("--email", required=True, help="owner's email")
    c.add_argument("--password", help="owner's password (asked for when omitted)")
    c.set_defaults(func=create_org)
    ls = asub.add_parser("list", help="list organizations")
    ls.set_defaults(func=list_orgs)


def create_org(args: argparse.Namespace) -> int:
    from techdocs_app.auth import local
    from techdocs_app.errors import TechDocsError

    password = args.password or getpass.getpass("Owner password: ")
    try:
        principal = local.sign_up(org_name=args.name, email=args.email, password=password)
    except TechDocsError as exc:
        print(f"error: {exc.user_message}", file=sys.stderr)
        return 2
    print(f"organization {principal.org_id} '{principal.org_name}', owner {principal.email}")
    return 0


def list_orgs(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Organization

    with system_session_scope() as session:
        for org in session.exec(select(Organization).order_by(Organization.id)):
            print(f"{org.id}\t{org.name}\tplan={org.plan}\tindex_version={org.index_version}")
    return 0
