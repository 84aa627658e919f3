"""Typed settings: environment variables and `.env`, with embedded offline defaults.

Every setting has a default that runs the product on one machine with no keys and no network.
`ENVIRONMENT=production` refuses the defaults that are unsafe there (see `check_production`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEV_SESSION_SECRET = "dev-only-session-secret-change-me"


class UnsafeProductionSettings(RuntimeError):
    """Raised when ENVIRONMENT=production still uses a development default."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    environment: Literal["development", "test", "production"] = "development"

    # Services. Empty means "the embedded one that `make services` starts".
    database_url: str = ""
    """How the app (web, workers, command line) connects: a role that does not own the tables and
    has no BYPASSRLS, so row-level security applies to every query. Migrations create it."""
    database_owner_url: str = ""
    """How migrations and cross-organization maintenance connect: the tables' owner. Empty with
    DATABASE_URL set: DATABASE_URL itself (then the app bypasses row-level security; production
    refuses that)."""
    redis_url: str = ""
    pg_port: int = 54329
    pg_user: str = "techdocs"
    """The embedded Postgres's superuser: owns the tables, runs migrations and maintenance."""
    pg_app_user: str = "techdocs_app"
    """The embedded Postgres's application role (created by the migrations, subject to RLS)."""
    pg_database: str = "techdocs"
    data_dir: Path = PROJECT_ROOT / ".data"

    # Web
    app_url: str = "http://127.0.0.1:3000"
    session_secret: SecretStr = SecretStr(DEV_SESSION_SECRET)
    session_days: int = 14
    """A session ends this many days after sign-in at the latest."""
    session_idle_days: float = 7
    """...and earlier when it has not been used for this many days (the idle timeout)."""
    invitation_days: int = 7
    smtp_url: SecretStr | None = None
    """`smtp://user:password@host:587` (STARTTLS), `smtps://...:465` (TLS) or `smtp://host:25`:
    invitations are also emailed. Empty: the Team page shows the link to copy."""
    smtp_from: str = "TechDocs AI <no-reply@techdocs.example>"

    # Providers: a key switches from the embedded default to the vendor.
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_embed_model: str = "text-embedding-3-small"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-sonnet-5-5"
    cohere_api_key: SecretStr | None = None
    cohere_base_url: str | None = None
    cohere_rerank_model: str = "rerank-v3.5"
    provider_timeout_s: float = 20.0
    embed_threads: int = 2
    """onnxruntime threads of the local embedder."""

    # Auth, billing, storage
    clerk_secret_key: SecretStr | None = None
    """With CLERK_PUBLISHABLE_KEY: people sign in through Clerk (organizations mode)."""
    clerk_publishable_key: str | None = None
    clerk_jwt_key: str | None = None
    """The instance's JWT public key (PEM): session tokens are verified with no network call."""
    clerk_webhook_secret: SecretStr | None = None
    clerk_authorized_parties: str = ""
    """Comma-separated origins allowed in a token's `azp` (e.g. https://app.yourshop.com)."""
    clerk_issuer: str | None = None
    """The Frontend API URL tokens are issued by; default: decoded from the publishable key."""
    clerk_api_url: str | None = None
    """Backend API base URL (default https://api.clerk.com/v1; tests point it at a local fake)."""
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_price_id: str | None = None
    stripe_base_url: str | None = None
    supabase_url: str | None = None
    supabase_service_key: SecretStr | None = None
    supabase_bucket: str = "manuals"
    upload_dir: Path = PROJECT_ROOT / ".data" / "uploads"

    # Plans
    trial_days: int = 14
    default_seat_limit: int = 5

    # RAG (the seed's values, tuned where the issue notes say so)
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 40
    parent_chunk_tokens: int = 800
    retrieval_top_k: int = 20
    rerank_top_n: int = 5
    semantic_weight: float = 0.7
    keyword_weight: float = 0.3
    identifier_weight: float = 1.0
    rrf_k: int = 5
    hnsw_ef_search: int = 200
    max_upload_mb: int = 50
    max_pages: int = 5000
    max_question_chars: int = 2000

    # Memory and caches
    memory_turns: int = 5
    memory_ttl_s: int = 3600
    cache_ttl_s: int = 24 * 3600
    ingest_job_timeout_s: int = 3600
    ingest_retries: int = 3
    ingest_retry_intervals_s: list[int] = [5, 30, 120]

    workers_per_ingest: int = Field(default=2, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: object) -> object:
        """`KEY=` in .env means "not set": the embedded default, not an empty key."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and v.strip() == "")}
        return data

    @field_validator("data_dir", "upload_dir")
    @classmethod
    def _relative_to_project(cls, value: Path) -> Path:
        return value if value.is_absolute() else (PROJECT_ROOT / value).resolve()

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    def embedded_database_url(self, database: str | None = None, *, owner: bool = False) -> str:
        """The embedded Postgres's URL for `database` as the app role (or the owner)."""
        user = self.pg_user if owner else self.pg_app_user
        name = database or self.pg_database
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.pg_port}/{name}"

    @property
    def effective_database_url(self) -> str:
        """The application's connection (row-level security applies)."""
        return self.database_url or self.embedded_database_url()

    @property
    def effective_owner_database_url(self) -> str:
        """The owner's connection: migrations and cross-organization maintenance only."""
        if self.database_owner_url:
            return self.database_owner_url
        return self.database_url or self.embedded_database_url(owner=True)

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or "redis://127.0.0.1:6379/0"

    def check_production(self) -> None:
        """Refuse unsafe development defaults when ENVIRONMENT=production."""
        if self.environment != "production":
            return
        problems: list[str] = []
        if not self.database_url:
            problems.append("DATABASE_URL (the embedded Postgres is for development only)")
        elif not self.database_owner_url or self.database_owner_url == self.database_url:
            problems.append(
                "DATABASE_OWNER_URL (the tables' owner, for migrations and maintenance; "
                "DATABASE_URL must be the application role, which row-level security applies to)"
            )
        if not self.redis_url:
            problems.append("REDIS_URL (the embedded Redis is for development only)")
        if self.session_secret.get_secret_value() == DEV_SESSION_SECRET:
            problems.append("SESSION_SECRET (a long random string; the default is public)")
        if self.stripe_secret_key and not self.stripe_webhook_secret:
            problems.append(
                "STRIPE_WEBHOOK_SECRET (Stripe is configured without webhook verification)"
            )
        if self.clerk_secret_key and not self.clerk_webhook_secret:
            problems.append(
                "CLERK_WEBHOOK_SECRET (Clerk is configured without webhook verification)"
            )
        if self.clerk_secret_key and not self.clerk_jwt_key:
            problems.append("CLERK_JWT_KEY (the instance's PEM public key, to verify sessions)")
        if not self.supabase_url and self.upload_dir == PROJECT_ROOT / ".data" / "uploads":
            problems.append(
                "SUPABASE_URL and SUPABASE_SERVICE_KEY, or UPLOAD_DIR on a persistent volume"
            )
        if problems:
            raise UnsafeProductionSettings(
                "ENVIRONMENT=production refuses development defaults. Set: " + "; ".join(problems)
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    settings = Settings()
    settings.check_production()
    return settings
