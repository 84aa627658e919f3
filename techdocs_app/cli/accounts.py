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
    purge = asub.add_parser(
        "purge-sessions", help="delete expired, idle and revoked sign-in sessions"
    )
    purge.set_defaults(func=purge_sessions)
    members = asub.add_parser("members", help="list an organization's members and invitations")
    members.add_argument("--org", required=True, help="organization id or exact name")
    members.set_defaults(func=list_members)
    seats = asub.add_parser(
        "seats", help="set an organization's seat limit (and Clerk's, in Clerk mode)"
    )
    seats.add_argument("--org", required=True, help="organization id or exact name")
    seats.add_argument("--limit", required=True, type=int, help="number of seats")
    seats.set_defaults(func=set_seats)


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


def purge_sessions(args: argparse.Namespace) -> int:
    from techdocs_app.auth.sessions import purge_expired_sessions

    print(f"sessions: {purge_expired_sessions()} purged")
    return 0


def list_members(args: argparse.Namespace) -> int:
    """Members and pending invitations of one organization, as its owner sees them."""
    from techdocs_app.auth import team
    from techdocs_app.cli.ask import owner_principal

    try:
        owner = owner_principal(args.org)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    view = team.team_overview(owner)
    print(f"{view.org_name}: seats {view.seats_used} of {view.seat_limit} used")
    for m in view.members:
        print(f"member\t{m.email}\t{m.role}\t{m.name}")
    for i in view.invitations:
        print(f"invited\t{i.email}\t{i.role}\texpires {i.expires_at:%Y-%m-%d}")
    return 0


def set_seats(args: argparse.Namespace) -> int:
    """Change the seat limit through `team.set_seat_limit` (Clerk follows in Clerk mode)."""
    from techdocs_app.auth import team
    from techdocs_app.cli.ask import owner_principal
    from techdocs_app.errors import ProviderError, TechDocsError

    try:
        owner = owner_principal(args.org)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        told_clerk = team.set_seat_limit(owner.org_id, args.limit)
    except ProviderError as exc:
        print(
            f"{owner.org_name}: seat limit {args.limit}, but Clerk was not updated "
            f"({exc.user_message}) Run this again to retry.",
            file=sys.stderr,
        )
        return 1
    except TechDocsError as exc:
        print(f"error: {exc.user_message}", file=sys.stderr)
        return 2
    clerk_note = " (Clerk's max_allowed_memberships too)" if told_clerk else ""
    print(f"{owner.org_name}: seat limit {args.limit}{clerk_note}")
    return 0
