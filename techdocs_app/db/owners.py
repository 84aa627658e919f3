"""The command line's organization lookup: an organization's owner by organization id or exact
name (cross-organization by nature, so it runs in `system_session_scope`)."""

from __future__ import annotations

from typing import NamedTuple

from sqlmodel import Session, col, select

from techdocs_app.db.models import Membership, Organization, User


class OwnerRow(NamedTuple):
    """The fields of a `Principal` for the organization's first owner."""

    user_id: int
    org_id: int
    role: str
    email: str
    org_name: str


def find_owner(session: Session, *, org: str) -> OwnerRow:
    """The owner of the organization with this id or exact name (LookupError when none)."""
    found: Organization | None = None
    if org.isdigit():
        found = session.get(Organization, int(org))
    if found is None:
        found = session.exec(
            select(Organization).where(Organization.name == org).order_by(col(Organization.id))
        ).first()
    if found is None or found.id is None:
        raise LookupError(f"no organization with id or name {org!r}")
    row = session.exec(
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(Membership.org_id == found.id, Membership.role == "owner")
        .order_by(col(Membership.id))
    ).first()
    if row is None:
        raise LookupError(f"organization {found.name!r} has no owner")
    membership, user = row
    assert user.id is not None
    return OwnerRow(user.id, found.id, membership.role, user.email, found.name)
