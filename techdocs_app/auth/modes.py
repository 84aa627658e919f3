"""Which sign-in the product uses: local accounts (default) or Clerk organizations.

One place decides; importing it does not import the Clerk SDK."""

from __future__ import annotations

from techdocs_app.settings import get_settings

CLERK_SIGN_IN_ROUTE = "/api/auth/clerk/sign-in"


def clerk_mode() -> bool:
    """Clerk organizations mode: CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY are both set."""
    settings = get_settings()
    return bool(settings.clerk_secret_key and settings.clerk_publishable_key)


def clerk_sign_in_route() -> str:
    return CLERK_SIGN_IN_ROUTE
