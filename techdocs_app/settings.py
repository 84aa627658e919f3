"""Typed settings: environment variables and `.env`, with embedded offline defaults.

Every setting has a default that runs the product on one machine with no keys and no network.
`ENVIRONMENT=production` refuses the defaults that are unsafe there (see `check_production`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEV_SESSION_SECRET = "dev-only-session-secret-change-me"

EMBED_DIM = 384
"""Size of every embedding vector (the `chunks.embedding` column; OpenAI is asked for
`dimensions=384`). A constant, not a setting: changing it needs a migration and a re-index."""


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
    """The app's public address. Production requires https:// (Secure cookies, HSTS); CORS and
    the websocket accept only this origin."""
    session_secret: SecretStr = SecretStr(DEV_SESSION_SECRET)
    """Key of the HMAC that turns a session token into the value stored in the database."""
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
    """The one plan's Stripe price (monthly); its metadata `seats` is the plan's seat count."""
    stripe_base_url: str | None = None
    """Stripe API base URL (default https://api.stripe.com; tests point it at a local server)."""
    stripe_timeout_s: float = 10.0
    """A Stripe call taking longer fails with "Stripe could not be reached" and changes nothing."""
    billing_grace_days: float = Field(default=7, ge=0)
    """Days a past-due shop keeps asking and uploading before it turns read-only."""
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
    hnsw_ef_search: int = 400
    """HNSW candidate list of the vector arm. `bench retrieval --chunks 100000` after issue 9's
    seventh round (its chunking fix changed the bench's 1,670 source chunks and queries): 200 gave
    recall@20 0.934 (one dev question 0.00: its 20 nearest replicas found elsewhere in the graph),
    400 gives 0.978; p50 alternated on the same database, load 1-4: 200 26.0 / 32.1 ms, 400 24.0 /
    29.5 ms (no cost beyond the machine's noise). Before, 200 gave 0.960-0.970; 100 and 150 0.905 /
    0.937."""
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
    workers: int = Field(default=1, ge=1)
    """Ingestion workers `make run` keeps running (`workers.supervisor`)."""
    ingest_stuck_margin_s: int = Field(default=300, ge=0)
    """A `processing` document silent for the job timeout plus this, with no live job, is failed."""

    # Operations: logs, metrics, REST API, backups
    log_format: Literal["json", "text"] | None = None
    """One JSON object per line, or plain text; unset: json in production, text elsewhere."""
    log_level: str = "INFO"
    metrics_token: SecretStr | None = None
    """Bearer token for /metrics; unset: /metrics answers only to loopback clients."""
    api_rate_limit_per_minute: int = Field(default=120, ge=1)
    """Requests per minute per REST API key."""
    api_query_rate_limit_per_minute: int = Field(default=30, ge=1)
    """Questions (POST /api/v1/query, /query/stream) per minute per REST API key."""
    backup_dir: Path = PROJECT_ROOT / ".data" / "backups"

    # Security: rate limits kept in Redis, answered with "try again in N s" (0 turns one off).
    signin_attempts_per_address_per_minute: int = 20
    """Sign-in attempts from one client address (a shop's technicians share one address)."""
    signin_attempts_per_account_per_minute: int = 5
    """Sign-in attempts for one email from one address."""
    signin_free_failures: int = 5
    """Wrong passwords for one email from one address before each further one doubles the wait."""
    signin_account_free_failures: int = 20
    """Wrong passwords for one email from all addresses together before the back-off starts."""
    signin_backoff_base_s: float = 2.0
    signin_backoff_max_s: float = 900.0
    signin_failure_window_s: float = 3600.0
    """Failures are forgotten this long after the last one (and at a successful sign-in)."""
    signups_per_address_per_hour: int = 5
    questions_per_user_per_minute: int = 12
    questions_per_org_per_day: int = 2000
    uploads_per_org_per_hour: int = 60
    """Files uploaded per organization per hour."""
    max_concurrent_uploads_per_org: int = 2
    password_hash_workers: int = Field(default=1, ge=1)
    """Threads that run password hashing (argon2: 64 MiB and ~0.1 s each), apart from the
    threads that serve database calls."""
    password_hash_queue: int = Field(default=32, ge=1)
    """Sign-ins waiting for a hashing thread beyond this are refused with "try again"."""
    max_page_pixels: int = 8_000_000
    """A page image is rendered at most this many pixels (a huge page is drawn smaller)."""
    page_image_cache_mb: int = 64
    """Rendered page images kept in memory per web process (least recently used dropped)."""
    pdf_cache_mb: int = 1024
    """With Supabase Storage: local copies of manuals kept for page images (on disk)."""
    query_log_retention_days: int = Field(default=365, ge=0)
    """Query logs (which hold the questions asked) older than this are purged; 0 keeps them."""
    trusted_proxy_hops: int = Field(default=0, ge=0)
    """Reverse proxies in front of the app that append to X-Forwarded-For (Render: 1). 0 ignores
    the header: the client address is the connection's peer."""

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: object) -> object:
        """`KEY=` in .env means "not set": the embedded default, not an empty key."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and v.strip() == "")}
        return data

    @field_validator("data_dir", "upload_dir", "backup_dir")
    @classmethod
    def _relative_to_project(cls, value: Path) -> Path:
        return value if value.is_absolute() else (PROJECT_ROOT / value).resolve()

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.environment == "production" else "text")

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
    def app_origin(self) -> str:
        parts = urlsplit(self.app_url.strip())
        return f"{parts.scheme}://{parts.netloc}".lower()

    def allowed_origins(self) -> list[str]:
        """Origins that may call the app with credentials (CORS) and open its websocket.

        Production: exactly `APP_URL`'s. Elsewhere also the loopback addresses of the port the
        app is served on (`PORT`, Reflex's `REFLEX_FRONTEND_PORT`), so that `PORT=3203 make run`
        and the test harness work without setting APP_URL.
        """
        origins = [self.app_origin]
        if self.environment != "production":
            ports = {urlsplit(self.app_url).port or 80}
            for name in ("PORT", "REFLEX_FRONTEND_PORT", "REFLEX_BACKEND_PORT"):
                value = os.environ.get(name, "")
                if value.isdigit():
                    ports.add(int(value))
            for port in sorted(ports):
                origins += [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        return list(dict.fromkeys(origins))

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
        secret = self.session_secret.get_secret_value()
        if secret == DEV_SESSION_SECRET or len(secret) < 32:
            problems.append("SESSION_SECRET (at least 32 random characters; the default is public)")
        if not self.app_url.strip().lower().startswith("https://"):
            problems.append(
                "APP_URL (the app's public https:// address: session cookies are sent only "
                "over https, and CORS and the websocket accept only this origin)"
            )
        if self.stripe_secret_key and not self.stripe_webhook_secret:
            problems.append(
                "STRIPE_WEBHOOK_SECRET (Stripe is configured without webhook verification)"
            )
        if self.stripe_secret_key and not self.stripe_price_id:
            problems.append("STRIPE_PRICE_ID (the monthly price shops subscribe to)")
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
