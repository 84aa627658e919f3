"""Reflex configuration.

Production serves page, websocket, uploads and the API routes on ONE port
(`reflex run --env prod`, see scripts/run_app.sh). Values here can be overridden by
`REFLEX_*` environment variables; `REFLEX_REDIS_URL` moves Reflex state from disk to Redis
(and lets Reflex run several backend workers).

CORS, the websocket's Origin check and the client address follow the settings
(`APP_URL`, `TRUSTED_PROXY_HOPS`); the other security headers are ASGI middleware
(`techdocs_app.web`, wired in `techdocs_app/techdocs_app.py`).

`state_auto_setters` is not set: False is the default in Reflex 0.10 and setting it explicitly
only prints a deprecation warning. States define explicit event handlers.
"""

from __future__ import annotations

import reflex as rx

from techdocs_app.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="techdocs_app",
    telemetry_enabled=False,
    backend_host="127.0.0.1",
    frontend_port=3000,
    backend_port=3000,
    show_built_with_reflex=False,
    default_color_mode="light",
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(
                appearance="light",
                accent_color="indigo",
                gray_color="slate",
                radius="medium",
                scaling="100%",
                has_background=True,
            )
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Only the app's own origin may call it with cookies or open its websocket (Reflex's
    # default is "*"; see Settings.allowed_origins).
    cors_allowed_origins=_settings.allowed_origins(),
    # Behind a reverse proxy, the client address comes from X-Forwarded-For (rate limits).
    trusted_proxy_hops=_settings.trusted_proxy_hops,
)
