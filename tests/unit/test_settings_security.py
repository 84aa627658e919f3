"""Production settings that protect users (issue 10 §6): https APP_URL, a real SESSION_SECRET,
CORS and the websocket limited to the app's origin, the session cookie Secure and SameSite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from techdocs_app.settings import Settings, UnsafeProductionSettings

REPO = Path(__file__).resolve().parents[2]
SAFE = {
    "environment": "production",
    "database_url": "postgresql://u:p@db.example/techdocs",
    "database_owner_url": "postgresql://owner:q@db.example/techdocs",
    "redis_url": "redis://cache.example:6379/0",
    "session_secret": "x" * 40,
    "upload_dir": "/srv/uploads",
    "app_url": "https://techdocs.example",
}


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "DATABASE_URL",
        "DATABASE_OWNER_URL",
        "REDIS_URL",
        "UPLOAD_DIR",
        "ENVIRONMENT",
        "SESSION_SECRET",
    ):
        monkeypatch.delenv(key, raising=False)
    for key in ("PORT", "REFLEX_FRONTEND_PORT", "REFLEX_BACKEND_PORT", "APP_URL"):
        monkeypatch.delenv(key, raising=False)


def test_production_refuses_a_plain_http_app_url() -> None:
    Settings(_env_file=None, **SAFE).check_production()
    for url in ("http://techdocs.example", "techdocs.example", ""):
        with pytest.raises(UnsafeProductionSettings, match="APP_URL"):
            Settings(_env_file=None, **{**SAFE, "app_url": url}).check_production()


def test_production_refuses_a_short_session_secret() -> None:
    with pytest.raises(UnsafeProductionSettings, match="SESSION_SECRET"):
        Settings(_env_file=None, **{**SAFE, "session_secret": "short-secret"}).check_production()


def test_allowed_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None, **SAFE).allowed_origins() == ["https://techdocs.example"]
    monkeypatch.setenv("PORT", "3203")
    dev = Settings(_env_file=None, app_url="http://127.0.0.1:3000/")
    assert dev.allowed_origins() == [
        "http://127.0.0.1:3000",
        "http://localhost:3000",
        "http://127.0.0.1:3203",
        "http://localhost:3203",
    ]
    assert "*" not in dev.allowed_origins()


def _in_fresh_process(code: str, **env: str) -> str:
    import os

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_reflex_config_limits_cors_and_the_websocket_to_the_app_origin() -> None:
    out = _in_fresh_process(
        "import rxconfig; c = rxconfig.config; print(list(c.cors_allowed_origins), "
        "c.trusted_proxy_hops)",
        **{k.upper(): v for k, v in SAFE.items()},
        TRUSTED_PROXY_HOPS="1",
    )
    assert out == "['https://techdocs.example'] 1"


def test_the_session_cookie_is_secure_and_same_site_lax_in_production() -> None:
    out = _in_fresh_process(
        "from techdocs_app.state.base import SessionState;"
        "c = SessionState.get_fields()['session_token'].default;"
        "print(c.secure, c.same_site, c.path)",
        **{k.upper(): v for k, v in SAFE.items()},
    )
    assert out == "True lax /"
