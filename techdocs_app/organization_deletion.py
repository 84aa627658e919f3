"""Organization deletion: everything a shop stored, after its owner types the shop's name.

What goes, in this order:
1. the database: the organization row, which cascades to every tenant table (documents, chunks,
   conversations, messages, query logs, memberships, invitations, sessions, API keys, usage …),
   and the accounts of people who belonged to no other organization, in one transaction;
2. the ingestion jobs still waiting for its documents;
3. the stored files (every document's key, and for the local store its whole `orgs/<id>/` folder);
4. its Redis keys: memory, caches, rate limits. Every organization-scoped key follows the
   convention `td:<kind>:<org_id>:…` (see `org_redis_keys`).
Other organizations are untouched (tests check every table, file and key).

An organization with a live Stripe subscription must cancel it first (Billing page): deleting
would otherwise leave the card charged for a shop that no longer exists.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from typing import cast

from redis.exceptions import RedisError

from techdocs_app import jobs
from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import Action, require
from techdocs_app.db import organizations as org_db
from techdocs_app.db.engine import session_scope, system_session_scope
from techdocs_app.db.models import Document
from techdocs_app.errors import NotFound, TechDocsError, ValidationFailed
from techdocs_app.storage import LocalFileStore, get_file_store

log = logging.getLogger(__name__)

LIVE_SUBSCRIPTION = ("active", "trialing", "past_due", "unpaid")
REDIS_PREFIX = "td"


@dataclass
class DeletionReport:
    org_id: int
    documents: int = 0
    users_deleted: int = 0
    files_deleted: int = 0
    redis_keys_deleted: int = 0
    problems: list[str] = field(default_factory=list)


def confirmation_matches(typed: str, org_name: str) -> bool:
    return " ".join((typed or "").split()) == " ".join(org_name.split())


def org_redis_keys(client, org_id: int) -> list[bytes]:  # noqa: ANN001 - redis.Redis
    """Every key of the form `td:<kind>:<org_id>:…` (SCAN, never KEYS)."""
    wanted = str(int(org_id))
    found = []
    for key in client.scan_iter(match=f"{REDIS_PREFIX}:*:{wanted}:*", count=1000):
        parts = key.split(b":")
        if len(parts) >= 3 and parts[2] == wanted.encode():
            found.append(key)
    return found


def delete_organization(principal: Principal, *, confirmation: str) -> DeletionReport:
    """Delete the principal's organization and everything in it (owners only).

    `confirmation` must be the organization's name, typed out; anything else deletes nothing."""
    require(principal, Action.DELETE_ORGANIZATION)
    org_id = principal.org_id
    with session_scope(org_id=org_id) as session:
        org = org_db.get_organization(session, org_id=org_id)
        if org is None:
            raise NotFound("Your organization was not found.")
        if not confirmation_matches(confirmation, org.name):
            raise ValidationFailed(
                f'To delete the organization, type its name exactly: "{org.name}". '
                "Nothing was deleted."
            )
        if org.stripe_subscription_id and org.subscription_status in LIVE_SUBSCRIPTION:
            raise ValidationFailed(
                "This organization has a live subscription. Cancel it on the Billing page "
                "first, then delete the organization. Nothing was deleted."
            )
        documents: list[Document] = org_db.documents(session, org_id=org_id)
    report = DeletionReport(org_id=org_id, documents=len(documents))

    # Cross-organization by nature: which accounts belong to no other shop.
    with system_session_scope() as session:
        users = org_db.sole_member_user_ids(session, org_id=org_id)
        if not org_db.delete_organization(session, org_id=org_id):
            raise NotFound("Your organization was not found.")
        report.users_deleted = org_db.delete_users(session, user_ids=users)

    for document in documents:
        if document.id is None:
            continue
        try:
            jobs.cancel_ingest(document.id)
        except RedisError as exc:
            report.problems.append(f"job of document {document.id}: {type(exc).__name__}")

    store = get_file_store()
    for document in documents:
        try:
            store.delete(document.storage_key)
            report.files_deleted += 1
        except TechDocsError as exc:
            report.problems.append(f"file {document.storage_key}: {exc.detail or exc}")
    if isinstance(store, LocalFileStore):
        shutil.rmtree(store.root / "orgs" / str(int(org_id)), ignore_errors=True)

    try:
        client = jobs.get_redis()
        keys = org_redis_keys(client, org_id)
        for start in range(0, len(keys), 500):
            report.redis_keys_deleted += cast(int, client.delete(*keys[start : start + 500]))
    except RedisError as exc:
        report.problems.append(f"redis: {type(exc).__name__}")

    level = logging.WARNING if report.problems else logging.INFO
    log.log(
        level,
        "organization deleted org_id=%s by user_id=%s documents=%d users=%d files=%d "
        "redis_keys=%d problems=%d",
        org_id,
        principal.user_id,
        report.documents,
        report.users_deleted,
        report.files_deleted,
        report.redis_keys_deleted,
        len(report.problems),
    )
    return report
