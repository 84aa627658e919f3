"""Vendor webhook deliveries (`webhook_events`): each event is applied once (keyword-only).

Stripe's handler (`billing.webhooks`) and Clerk's (`auth.clerk_webhooks`) work the same way, here:
in the transaction that applies an event, `record_event` first writes its (provider, event id);
a replay, or a delivery racing an earlier one, finds the id taken and changes nothing. Once the
event is applied (or deliberately skipped), `mark_processed` stamps the row in that same
transaction. Both answer the vendor with a `WebhookOutcome`; a delivery they refuse (bad
signature, malformed body) raises `errors.WebhookRejected` and writes nothing.

These run in `system_session_scope()`: a webhook carries no signed-in principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col

from techdocs_app.db.models import WebhookEvent, utcnow


@dataclass(frozen=True)
class WebhookOutcome:
    """What became of one delivery, answered to the vendor with HTTP 200."""

    status: str
    """`duplicate` (a replay: nothing done) or `ignored` (not for us) for both vendors; Stripe
    `applied`, Clerk `processed` or `stale` (a later event about the same object was applied)."""
    reason: str = ""
    org_id: int | None = None


def record_event(
    session: Session, *, provider: str, event_id: str, event_type: str, payload: dict[str, Any]
) -> int | None:
    """Record one event (id and type cut to their columns); its row id, or None when the event
    was recorded before (a replay: the caller changes nothing)."""
    row = session.execute(
        insert(WebhookEvent)
        .values(
            provider=provider,
            event_id=event_id[:255],
            event_type=event_type[:100],
            payload=payload,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(constraint="uq_webhook_events_provider_event")
        .returning(col(WebhookEvent.id))
    ).first()
    return None if row is None else int(row[0])


def mark_processed(session: Session, *, event_row_id: int) -> None:
    session.execute(
        update(WebhookEvent)
        .where(col(WebhookEvent.id) == event_row_id)
        .values(processed_at=utcnow())
    )
