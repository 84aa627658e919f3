"""All tables, in one file (SQLModel). Every tenant table carries `org_id`; every query filters on it.

Indexes live next to the models so that `alembic revision --autogenerate` sees them:
HNSW (cosine) on chunk vectors, GIN on the generated tsvector, GIN trigram on identifiers, btree org_id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlmodel import Field, SQLModel

from techdocs_app.settings import EMBED_DIM

ROLES = ("owner", "admin", "member")
DOCUMENT_STATUSES = ("pending", "processing", "ready", "failed")


QUESTION_KEY_SQL = (
    "left(lower(btrim(regexp_replace(question, '[[:space:]]+', ' ', 'g'), ' ?!.,;:')), 200)"
)
"""How a question is normalised for grouping (the generated column `query_logs.question_key`)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def insert_row(session: Any, row: SQLModel) -> int:
    """INSERT one table model's values with a plain Core statement and return (and set) its id.

    For hot paths that write a row per question (messages, query logs): the ORM's unit of work
    costs more CPU than the insert itself, and these rows are never read back in the same session.
    Field defaults are the model's (applied when `row` was constructed)."""
    table = type(row).__table__  # type: ignore[attr-defined]
    values = {
        c.name: getattr(row, c.name)
        for c in table.columns
        if c.name != "id" and c.computed is None  # generated columns are the database's
    }
    new_id = int(session.connection().execute(_insert_returning_id(table), values).scalar_one())
    row.id = new_id  # type: ignore[attr-defined]
    return new_id


@cache
def _insert_returning_id(table: Any) -> Any:
    """One statement object per table, values as parameters: compiled once, then cached."""
    return table.insert().returning(table.c.id)


def _created() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column_kwargs={"server_default": func.now()},
        sa_type=DateTime(timezone=True),
        nullable=False,
    )


def _org_fk() -> Any:
    return Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    name: str = Field(sa_type=String(200))
    plan: str = Field(default="trial", sa_type=String(20))
    seat_limit: int = Field(default=5)
    trial_ends_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    stripe_customer_id: str | None = Field(default=None, sa_type=String(255), unique=True)
    stripe_subscription_id: str | None = Field(default=None, sa_type=String(255), index=True)
    subscription_status: str | None = Field(default=None, sa_type=String(40))
    # Billing (0004_billing): the subscription as Stripe last told us (see `billing.plans`).
    stripe_price_id: str | None = Field(default=None, sa_type=String(255))
    current_period_end: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    cancel_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    """The subscription is set to end then (canceled in the Customer Portal)."""
    past_due_since: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    """When payment first became overdue: the grace period runs from here."""
    subscription_synced_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    clerk_org_id: str | None = Field(default=None, sa_type=String(255), unique=True)
    index_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Bumped by every ingest/delete: answer caches keyed on it go stale."""
    created_at: datetime = _created()


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    email: str = Field(sa_type=String(320), unique=True)
    """Stored lower-cased."""
    password_hash: str | None = Field(default=None, sa_type=String(255))
    name: str = Field(default="", sa_type=String(200))
    clerk_user_id: str | None = Field(default=None, sa_type=String(255), unique=True)
    created_at: datetime = _created()


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_memberships_org_user"),)

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = _org_fk()
    user_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    role: str = Field(default="member", sa_type=String(20))
    created_at: datetime = _created()
    last_active_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    """When this member last used the app in this organization (updated at most every few
    minutes, with the session's `last_seen_at`)."""


class Invitation(SQLModel, table=True):
    __tablename__ = "invitations"

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = _org_fk()
    email: str = Field(sa_type=String(320))
    role: str = Field(default="member", sa_type=String(20))
    token_hash: str = Field(sa_type=String(64), unique=True)
    invited_by: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    accepted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    accepted_by: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    """When the link was last emailed (None: never; SMTP not configured or sending failed)."""
    created_at: datetime = _created()


class SeatRefusal(SQLModel, table=True):
    """Someone Clerk added to an organization while every seat was taken: no seat was granted.

    Shown on the Team page until the owner grants the seat (when one is free) or dismisses it."""

    __tablename__ = "seat_refusals"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_seat_refusals_org_user"),)

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = _org_fk()
    user_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    role: str = Field(default="member", sa_type=String(20))
    created_at: datetime = _created()


class ClerkMirror(SQLModel, table=True):
    """A membership change made on our Team page that Clerk has not confirmed yet (Clerk mode).

    Written in the same transaction as the change, removed once Clerk's Backend API has applied
    it. While it stands, our side wins: Clerk's token or a webhook cannot re-add a removed member
    or restore an old role (`auth.clerk.grant_membership`). `role` None: removed. Pushed again
    with backoff by the maintenance task `push-clerk-mirrors`."""

    __tablename__ = "clerk_mirrors"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_clerk_mirrors_org_user"),)

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = _org_fk()
    user_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    role: str | None = Field(default=None, sa_type=String(20), nullable=True)
    email: str = Field(default="", sa_type=String(320))
    """The member's email when the change was made (the Team page names a removed member, whose
    user row it can no longer see)."""
    version: int = Field(default=1, sa_type=Integer)
    attempts: int = Field(default=0, sa_type=Integer)
    last_error: str | None = Field(default=None, sa_type=String(200), nullable=True)
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), index=True
    )
    created_at: datetime = _created()


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its sha256 is stored."""

    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    user_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    org_id: int = _org_fk()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    """Absolute end (SESSION_DAYS after sign-in)."""
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = _created()
    last_seen_at: datetime = _created()
    """Last use (updated at most every few minutes): idle longer than SESSION_IDLE_DAYS ends it."""


class Document(SQLModel, table=True):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("org_id", "sha256", name="uq_documents_org_sha256"),)

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = _org_fk()
    filename: str = Field(sa_type=String(500))
    title: str = Field(default="", sa_type=String(500))
    sha256: str = Field(sa_type=String(64))
    size_bytes: int = Field(sa_type=BigInteger)
    pages: int = Field(default=0)
    pages_done: int = Field(default=0)
    chunk_count: int = Field(default=0)
    ocr_pages: int = Field(default=0)
    status: str = Field(default="pending", sa_type=String(20), index=True)
    error_message: str | None = Field(default=None, sa_type=Text)
    embed_model: str | None = Field(default=None, sa_type=String(100))
    storage_key: str = Field(sa_type=String(500))
    uploaded_by: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = _created()
    updated_at: datetime = _created()
    processed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Chunk(SQLModel, table=True):
    __tablename__ = "chunks"
    __table_args__ = (
        Index(
            "ix_chunks_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 128},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        Index("ix_chunks_tsv", "tsv", postgresql_using="gin"),
        Index("ix_chunks_parent_id", "parent_id"),
        Index(
            "ix_chunks_identifiers_trgm",
            "identifiers",
            postgresql_using="gin",
            postgresql_ops={"identifiers": "gin_trgm_ops"},
        ),
        Index("ix_chunks_document_ordinal", "document_id", "ordinal"),
    )

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = _org_fk()
    document_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    )
    parent_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("chunks.id", ondelete="CASCADE"), nullable=True),
    )
    ordinal: int = Field(sa_type=Integer)
    kind: str = Field(default="text", sa_type=String(10))
    """text | table (searched) or section (parent context, not embedded)."""
    page_start: int
    page_end: int
    section_path: list[str] = Field(default_factory=list, sa_type=JSONB)
    heading: str = Field(default="", sa_type=Text)
    """Document title and heading path: weighted above the body in full text."""
    content: str = Field(sa_type=Text)
    identifiers: str = Field(default="", sa_type=Text)
    """Extracted part numbers/codes, normalised, space separated (trigram-indexed)."""
    positions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB)
    token_count: int = Field(default=0)
    embed_model: str | None = Field(default=None, sa_type=String(100))
    embedding: list[float] | None = Field(default=None, sa_type=Vector(EMBED_DIM))
    tsv: str | None = Field(
        default=None,
        sa_column=Column(
            TSVECTOR,
            Computed(
                "setweight(to_tsvector('english'::regconfig, coalesce(heading, '')), 'A') || "
                "setweight(to_tsvector('english'::regconfig, coalesce(identifiers, '')), 'A') || "
                "setweight(to_tsvector('english'::regconfig, content), 'B')",
                persisted=True,
            ),
        ),
    )


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = _org_fk()
    user_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    title: str = Field(default="", sa_type=String(300))
    document_ids: list[int] = Field(default_factory=list, sa_type=JSONB)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        # The usage page's answers marked 👎 (newest first), without reading every message.
        Index("ix_messages_org_thumbs_down", "org_id", "id", postgresql_where=text("feedback < 0")),
    )

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = _org_fk()
    conversation_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    role: str = Field(sa_type=String(20))
    content: str = Field(sa_type=Text)
    standalone_query: str | None = Field(default=None, sa_type=Text)
    sources: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB)
    not_found: bool = False
    offline_answer: bool = False
    latency_ms: int | None = None
    feedback: int = Field(default=0)
    """-1 thumbs down, 0 none, 1 thumbs up."""
    created_at: datetime = _created()


class QueryLog(SQLModel, table=True):
    __tablename__ = "query_logs"
    __table_args__ = (
        # The usage page's aggregates read one organization's rows of a date range; the included
        # columns let them run on the index alone (index-only scans).
        Index(
            "ix_query_logs_org_created",
            "org_id",
            "created_at",
            postgresql_include=["user_id", "outcome", "first_token_ms", "total_ms"],
        ),
        # Top unanswered questions: the not-found rows of the range, grouped by `question_key`.
        Index(
            "ix_query_logs_org_not_found",
            "org_id",
            "created_at",
            postgresql_include=["question_key"],
            postgresql_where=text("outcome = 'not_found'"),
        ),
    )

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
        )
    )
    """No index of its own: `ix_query_logs_org_created` leads with it (a lone org_id index
    lured the planner into reading the table where the covering index answers alone)."""
    user_id: int | None = Field(default=None, sa_type=BigInteger)
    conversation_id: int | None = Field(default=None, sa_type=BigInteger)
    question: str = Field(sa_type=Text)
    standalone_query: str = Field(default="", sa_type=Text)
    cache_hit: bool = False
    n_sources: int = 0
    not_found: bool = False
    error: str | None = Field(default=None, sa_type=Text)
    timings: dict[str, float] = Field(default_factory=dict, sa_type=JSONB)
    outcome: str | None = Field(default=None, sa_type=String(20))
    """answer | closest | not_found | failed (None only for rows logged before 0005_usage)."""
    first_token_ms: float | None = Field(default=None, sa_type=Float)
    """Time to the first streamed token (also in `timings`; a column so percentiles are cheap)."""
    total_ms: float | None = Field(default=None, sa_type=Float)
    """Time to the whole answer."""
    question_key: str | None = Field(
        default=None,
        sa_column=Column(Text, Computed(QUESTION_KEY_SQL, persisted=True)),
    )
    """The question normalised for grouping (case, runs of spaces and trailing punctuation do
    not count), its first 200 characters: the usage page's top unanswered questions."""
    created_at: datetime = _created()


class WebhookEvent(SQLModel, table=True):
    """Idempotency for vendor webhooks: (provider, event_id) is processed once."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event"),
    )

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    provider: str = Field(sa_type=String(20))
    event_id: str = Field(sa_type=String(255))
    event_type: str = Field(default="", sa_type=String(100))
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    received_at: datetime = _created()
    processed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ApiKey(SQLModel, table=True):
    """A REST API key of an organization. Only the sha256 of the secret is stored; `prefix` (the
    secret's first characters) lets people recognise a key in the list. The key acts with `role`,
    never above its creator's current role (see `techdocs_app.api_keys`)."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, sa_type=BigInteger, primary_key=True)
    org_id: int = _org_fk()
    name: str = Field(sa_type=String(100))
    prefix: str = Field(sa_type=String(20))
    key_hash: str = Field(sa_type=String(64), unique=True)
    role: str = Field(default="member", sa_type=String(20))
    created_by: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = _created()
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
