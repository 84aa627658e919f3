"""Billing: one plan sold through Stripe, or `unlimited` when no Stripe key is configured.

- `plans`: the status policy (pure): trialing, active, past_due, canceled, unlimited, and what
  each allows.
- `access`: the service-layer check that refuses asking and uploading in a read-only shop.
- `stripe_api`: the Stripe SDK client (Checkout, Customer Portal, subscriptions, prices).
- `subscriptions`: Stripe's subscription written onto the organization (newest state wins).
- `webhooks`: `POST /api/webhooks/stripe`, verified, once per event id.
- `overview`: what the Billing page and the app-wide banner show.

The Stripe SDK is imported only in this package (the layering test enforces it).
"""

from __future__ import annotations

from techdocs_app.settings import get_settings


def billing_enabled() -> bool:
    """The one switch: Stripe billing when STRIPE_SECRET_KEY is set, else `unlimited`."""
    return get_settings().stripe_secret_key is not None
