"""Which sign-in the product uses: local accounts (default) or Clerk organizations.

One place decides; importing it does not import the Clerk SDK."""

from __future__ import annotations

import base64

from techdocs_app.settings import get_settings

CLERK_SIGN_IN_ROUTE = "/api/auth/clerk/sign-in"


def clerk_mode() -> bool:
    """Clerk organizations mode: CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY are both set."""
    settings = get_settings()
    return bool(settings.clerk_secret_key and settings.clerk_publishable_key)


def frontend_api(publishable_key: str) -> str:
    """The Frontend API host encoded in a publishable key (`pk_test_<base64("host$")>`)."""
    encoded = publishable_key.split("_", 2)[-1]
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
    return decoded.rstrip("$")


def clerk_sign_in_route() -> str:
    return CLERK_SIGN_IN_ROUTE


def clerk_csp_sources() -> dict[str, list[str]]:
    """What Clerk's sign-in page needs beyond the app's own origin (Clerk's documented CSP):
    clerk-js and its API on the instance's Frontend API, avatars, and the bot check's frame.
    Empty in local mode, so the policy stays exactly the app's."""
    if not clerk_mode():
        return {}
    fapi = f"https://{frontend_api(get_settings().clerk_publishable_key or '')}"
    turnstile = "https://challenges.cloudflare.com"
    return {
        "script-src": [fapi, turnstile],
        "connect-src": [fapi],
        "img-src": ["https://img.clerk.com"],
        "frame-src": [turnstile],
    }
