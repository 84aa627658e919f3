"""ASGI middleware around the whole app (wired in `techdocs_app.techdocs_app`).

- `headers.SecurityHeaders`: a Content-Security-Policy on every response (no inline or remote
  script, no remote images: the build's own inline scripts are allowed by their sha256), HSTS in
  production, `X-Content-Type-Options`, `Referrer-Policy`, `frame-ancestors`.
- `upload_guard.UploadGuard`: `POST /_upload` is refused before a byte of its body is read unless
  the session cookie belongs to an owner or admin, and is cut off past the size limit.
- `client.client_address`: the client's address, trusting `X-Forwarded-For` only for the
  configured number of reverse proxies.

CORS (and the websocket's Origin check) is Reflex's own, configured from
`Settings.allowed_origins` in `rxconfig.py`.

Nothing here imports reflex (the layering test enforces it).
"""
