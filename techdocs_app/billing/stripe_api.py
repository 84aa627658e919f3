"""Every Stripe call of the product, through the real `stripe` SDK (`StripeClient`).

STRIPE_BASE_URL points the SDK at another server (localstripe or the test suite's wire fake).
Stripe's errors are translated here: an outage or timeout raises `StripeUnavailable` (a
`ProviderError` whose message says nothing was changed); the caller changes nothing either.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import stripe

from techdocs_app.errors import ProviderError, ValidationFailed
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

UNAVAILABLE = (
    "Stripe could not be reached, so nothing was changed. Please try again in a few minutes."
)
PRICE_TTL_S = 600.0


class StripeUnavailable(ProviderError):
    user_message = UNAVAILABLE


@lru_cache(maxsize=1)
def _client_for(key: str, base_url: str | None, timeout_s: float) -> stripe.StripeClient:
    base: Any = {"api": base_url.rstrip("/")} if base_url else None
    return stripe.StripeClient(
        key,
        base_addresses=base,
        max_network_retries=0,
        http_client=stripe.new_default_http_client(timeout=timeout_s),
    )


def client() -> stripe.StripeClient:
    settings = get_settings()
    if settings.stripe_secret_key is None:
        raise ValidationFailed("Billing is not set up on this server.")
    return _client_for(
        settings.stripe_secret_key.get_secret_value(),
        settings.stripe_base_url,
        settings.stripe_timeout_s,
    )


def as_dict(obj: Any) -> dict[str, Any]:
    """A Stripe object as plain nested dicts (what we store and reason about)."""
    if isinstance(obj, dict):
        return obj
    result: dict[str, Any] = obj.to_dict()
    return result


def call(what: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one SDK call; Stripe's failures become `StripeUnavailable` (never shown as text)."""
    try:
        return as_dict(fn(*args, **kwargs))
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        log.warning("stripe %s failed: %s", what, type(exc).__name__)
        raise StripeUnavailable(detail=f"stripe {what}: {type(exc).__name__}") from exc
    except stripe.StripeError as exc:
        status = getattr(exc, "http_status", None)
        log.error("stripe %s refused (%s): %s", what, status, type(exc).__name__)
        if status is not None and status >= 500:
            raise StripeUnavailable(detail=f"stripe {what}: {status}") from exc
        raise ProviderError(
            "Stripe refused the request. Please contact support if it happens again.",
            detail=f"stripe {what}: {type(exc).__name__} {status}",
        ) from exc


# --- the calls ------------------------------------------------------------------------------


def create_customer(*, org_id: int, name: str, email: str) -> str:
    customer = call(
        "customers.create",
        client().v1.customers.create,
        params={"name": name, "email": email, "metadata": {"org_id": str(org_id)}},
        options={"idempotency_key": f"techdocs-customer-org-{org_id}"},
    )
    return str(customer["id"])


def create_checkout_session(
    *, org_id: int, customer_id: str, price_id: str, app_url: str, idempotency_key: str
) -> str:
    """A Checkout Session (subscription mode) for the price; returns its URL."""
    base = app_url.rstrip("/")
    session = call(
        "checkout.sessions.create",
        client().v1.checkout.sessions.create,
        params={
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(org_id),
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": f"{base}/billing?checkout=success",
            "cancel_url": f"{base}/billing?checkout=cancel",
            "metadata": {"org_id": str(org_id)},
            "subscription_data": {"metadata": {"org_id": str(org_id)}},
        },
        options={"idempotency_key": idempotency_key},
    )
    return str(session["url"])


def create_portal_session(*, customer_id: str, app_url: str) -> str:
    session = call(
        "billing_portal.sessions.create",
        client().v1.billing_portal.sessions.create,
        params={"customer": customer_id, "return_url": f"{app_url.rstrip('/')}/billing"},
    )
    return str(session["url"])


def retrieve_subscription(subscription_id: str) -> dict[str, Any]:
    return call("subscriptions.retrieve", client().v1.subscriptions.retrieve, subscription_id)


def latest_subscription_of(customer_id: str) -> dict[str, Any] | None:
    """The customer's newest subscription, any status (None: never subscribed)."""
    found = call(
        "subscriptions.list",
        client().v1.subscriptions.list,
        params={"customer": customer_id, "status": "all", "limit": 10},
    )
    subs = [s for s in found.get("data") or [] if isinstance(s, dict)]
    return max(subs, key=lambda s: int(s.get("created") or 0)) if subs else None


@dataclass(frozen=True)
class PriceInfo:
    amount_label: str
    """"$20.00 / month"."""
    name: str
    seats: int | None


_price_cache: dict[str, tuple[float, PriceInfo]] = {}
_price_lock = threading.Lock()


def price_label(amount: int | None, currency: str | None, interval: str | None) -> str:
    if amount is None:
        return ""
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get((currency or "").lower(), "")
    value = f"{amount / 100:,.2f}"
    money = f"{symbol}{value}" if symbol else f"{value} {(currency or '').upper()}".strip()
    return f"{money} / {interval}" if interval else money


def price_info(price_id: str) -> PriceInfo:
    """The plan's price for the Billing page (cached for a few minutes per process)."""
    from techdocs_app.billing.plans import seats_from_metadata

    now = time.monotonic()
    with _price_lock:
        cached = _price_cache.get(price_id)
        if cached and now - cached[0] < PRICE_TTL_S:
            return cached[1]
    price = call("prices.retrieve", client().v1.prices.retrieve, price_id)
    recurring = price.get("recurring") or {}
    product = price.get("product")
    name = (product.get("name") if isinstance(product, dict) else None) or price.get("nickname")
    info = PriceInfo(
        amount_label=price_label(
            price.get("unit_amount"), price.get("currency"), recurring.get("interval")
        ),
        name=str(name or "TechDocs AI"),
        seats=seats_from_metadata(price.get("metadata"), 0) or None,
    )
    with _price_lock:
        _price_cache[price_id] = (now, info)
    return info


def forget_cached_prices() -> None:
    with _price_lock:
        _price_cache.clear()


def verify_event(payload: bytes, signature: str | None, secret: str) -> None:
    """Raise `stripe.SignatureVerificationError` / `ValueError` unless Stripe signed `payload`
    within the last 5 minutes."""
    stripe.Webhook.construct_event(payload, signature, secret)


SignatureError = stripe.SignatureVerificationError
