"""Clerk mode: the periodic reconciliation of memberships with Clerk's Backend API.

Webhooks keep memberships in step (`auth.clerk_webhooks`), but a delivery can be lost for good:
Svix gives up after days of failures and disables the endpoint. Then a member removed in Clerk's
dashboard would keep their seat and their open sessions here, and one added or re-roled there
would never appear. The maintenance task `reconcile-clerk-memberships` lists each Clerk
organization's memberships and makes ours agree, with the same rules as the webhooks:

- a member Clerk no longer lists loses the seat and their sessions at once (`remove_membership`);
- a member Clerk lists and we lack gets a seat if one is free (else the refusal the Team page
  shows), and a role Clerk changed follows (Clerk's roles never demote an owner);
- a member with a Team-page change Clerk has not applied yet (`db.clerk_mirrors`) is left alone:
  ours wins until `push-clerk-mirrors` has told Clerk;
- an organization Clerk says no longer exists (Clerk's own "not found", not any 404) is closed as
  its `organization.deleted` webhook would have: every member signed out and removed, the data
  kept until the owner's export or deletion;
- a member who joined after the listing started is left alone (a webhook may have added them
  while the listing was on its way), and so is a member without a Clerk account (made in local
  mode, before Clerk).

Each organization is reconciled under its row lock, the lock every Team-page change takes. A
failing Backend API call skips that organization until the next period.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlmodel import col, select

from techdocs_app.auth import clerk
from techdocs_app.auth.clerk_webhooks import close_organization, remove_membership
from techdocs_app.db import accounts, clerk_mirrors
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Membership, Organization, User, utcnow
from techdocs_app.errors import AuthError, NotFound, ProviderError

log = logging.getLogger(__name__)


@dataclass
class Reconciled:
    removed: int = 0
    added: int = 0
    roles: int = 0
    closed: int = 0
    failed: int = 0

    @property
    def changed(self) -> int:
        return self.removed + self.added + self.roles + self.closed


def reconcile_memberships() -> dict[str, int]:
    """Maintenance: every Clerk organization's memberships made to agree with Clerk."""
    total = Reconciled()
    if not clerk.clerk_enabled():
        return {}
    with system_session_scope() as session:
        orgs = [
            (int(o.id), str(o.clerk_org_id))
            for o in session.exec(
                select(Organization)
                .where(col(Organization.clerk_org_id).is_not(None))
                .order_by(col(Organization.id))
            )
            if o.id is not None
        ]
    for org_id, clerk_org_id in orgs:
        try:
            done = reconcile_organization(org_id, clerk_org_id)
        except ProviderError:
            total.failed += 1
            continue
        total.removed += done.removed
        total.added += done.added
        total.roles += done.roles
        total.closed += done.closed
    if total.changed or total.failed:
        log.info("clerk reconciliation: %s", total)
    return asdict(total)


def reconcile_organization(org_id: int, clerk_org_id: str) -> Reconciled:
    """Make one organization's memberships agree with Clerk's list (see the module)."""
    listed_at = utcnow()
    done = Reconciled()
    try:
        theirs = clerk.fetch_memberships(clerk_org_id)
    except NotFound:
        theirs = None
    with system_session_scope() as session:
        org = accounts.lock_org(session, org_id=org_id)
        if org is None or org.clerk_org_id != clerk_org_id:
            return done
        if theirs is None:
            close_organization(session, org)
            log.info("clerk reconciliation: org %s no longer exists in Clerk", org_id)
            done.closed = 1
            return done
        waiting = {w.user_id for w in clerk_mirrors.pending_for_org(session, org_id=org_id)}
        ours = {
            user.clerk_user_id: (membership, user)
            for membership, user in session.exec(
                select(Membership, User)
                .join(User, col(User.id) == col(Membership.user_id))
                .where(Membership.org_id == org_id)
            )
            if user.clerk_user_id  # made in local mode: not Clerk's to judge
        }
        for clerk_user_id, (membership, user) in ours.items():
            if user.id in waiting or membership.created_at >= listed_at:
                continue
            member = theirs.get(clerk_user_id)
            assert user.id is not None
            if member is None:
                if remove_membership(session, org_id=org_id, user_id=user.id):
                    done.removed += 1
                    log.info("clerk reconciliation: user %s left org %s", user.id, org_id)
            elif membership.role != "owner" and membership.role != member.role:
                membership.role = member.role
                session.add(membership)
                done.roles += 1
        for clerk_user_id, member in theirs.items():
            if clerk_user_id in ours:
                continue
            try:
                user = clerk.upsert_user(
                    session, clerk_user_id=clerk_user_id, email=member.email, name=member.name
                )
            except AuthError:
                log.warning(
                    "clerk reconciliation: user %s of org %s not linked", clerk_user_id, org_id
                )
                continue
            if user.id in waiting:
                continue
            if clerk.grant_membership(session, org=org, user=user, role=member.role).membership:
                done.added += 1
    return done
