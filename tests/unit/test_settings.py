"""Settings: embedded defaults with nothing set; production refuses unsafe defaults."""

from __future__ import annotations

import pytest

from techdocs_app.settings import Settings, UnsafeProductionSettings


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test harness points DATABASE_URL etc. at the test services: judge defaults without them."""
    for key in (
        "DATABASE_URL",
        "DATABASE_OWNER_URL",
        "REDIS_URL",
        "UPLOAD_DIR",
        "ENVIRONMENT",
        "SESSION_SECRET",
    ):
        monkeypatch.delenv(key, raising=False)


def test_defaults_need_no_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DATABASE_URL", "REDIS_URL", "ENVIRONMENT"):
        monkeypatch.delenv(key, raising=False)
    s = Settings(_env_file=None)
    # The app connects as the application role; migrations and maintenance as the owner.
    assert s.effective_database_url.startswith("postgresql+psycopg://techdocs_app@127.0.0.1:")
    assert s.effective_owner_database_url.startswith("postgresql+psycopg://techdocs@127.0.0.1:")
    assert s.effective_redis_url == "redis://127.0.0.1:6379/0"
    assert (s.retrieval_top_k, s.rerank_top_n, s.max_upload_mb) == (20, 5, 50)
    assert (s.memory_turns, s.memory_ttl_s, s.cache_ttl_s) == (5, 3600, 86400)
    assert (s.semantic_weight, s.keyword_weight) == (0.7, 0.3)
    s.check_production()  # development: nothing refused


def test_production_refuses_defaults_and_names_variables() -> None:
    s = Settings(_env_file=None, environment="production")
    with pytest.raises(UnsafeProductionSettings) as err:
        s.check_production()
    msg = str(err.value)
    for name in ("DATABASE_URL", "REDIS_URL", "SESSION_SECRET", "SUPABASE_URL"):
        assert name in msg


def test_production_with_everything_set_starts() -> None:
    s = Settings(
        _env_file=None,
        environment="production",
        database_url="postgresql://techdocs_app:p@db.example/techdocs",
        database_owner_url="postgresql://owner:q@db.example/techdocs",
        redis_url="redis://cache.example:6379/0",
        session_secret="a-long-random-secret-for-production-use",
        upload_dir="/srv/uploads",
        app_url="https://techdocs.example",
    )
    s.check_production()


def test_production_refuses_the_app_connecting_as_the_owner() -> None:
    """One URL for both means the app connects as the tables' owner: row-level security would
    not protect anything, so production names DATABASE_OWNER_URL."""
    s = Settings(
        _env_file=None,
        environment="production",
        database_url="postgresql://owner:q@db.example/techdocs",
        redis_url="redis://cache.example:6379/0",
        session_secret="a-long-random-secret-for-production-use",
        upload_dir="/srv/uploads",
    )
    with pytest.raises(UnsafeProductionSettings, match="DATABASE_OWNER_URL"):
        s.check_production()


def test_production_requires_webhook_secrets_for_configured_vendors() -> None:
    s = Settings(
        _env_file=None,
        environment="production",
        database_url="postgresql://techdocs_app:p@db.example/techdocs",
        database_owner_url="postgresql://owner:q@db.example/techdocs",
        redis_url="redis://cache.example:6379/0",
        session_secret="a-long-random-secret-for-production-use",
        upload_dir="/srv/uploads",
        app_url="https://techdocs.example",
        stripe_secret_key="sk_live_x",
    )
    with pytest.raises(UnsafeProductionSettings, match="STRIPE_WEBHOOK_SECRET"):
        s.check_production()


def test_empty_values_in_env_file_mean_unset(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=\nDATABASE_URL=\nUPLOAD_DIR=.data/uploads\nRERANK_TOP_N=4\n")
    for key in ("OPENAI_API_KEY", "DATABASE_URL", "UPLOAD_DIR", "RERANK_TOP_N"):
        monkeypatch.delenv(key, raising=False)
    s = Settings(_env_file=env)
    assert s.openai_api_key is None
    assert s.database_url == ""
    assert s.upload_dir.is_absolute() and s.upload_dir.name == "uploads"
    assert s.rerank_top_n == 4
