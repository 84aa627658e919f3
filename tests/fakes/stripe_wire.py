"""A local server speaking Stripe's wire format for what localstripe lacks: Checkout Sessions and
the Customer Portal (plus customers, prices and subscriptions, so the browser test can run the
whole subscribe → webhook → cancel story against it).

The real `stripe` SDK is pointed at it with STRIPE_BASE_URL (`StripeClient(base_addresses=...)`):
requests are form-encoded with bracket keys (`line_items[0][price]`), answers are JSON objects with
their `"object"`, errors `{"error": {"type", "message"}}`. `Idempotency-Key` is honoured: the same key
answers the same object. Tests steer it through `FakeStripeState` (queued HTTP failures, delays to
provoke the SDK's timeout) and drive the customer's side with `complete_checkout` / `cancel`, which
send Stripe-signed webhooks (`Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")`) to the app.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import EndpointSteering, serve_in_thread

PRICE_ID = "price_techdocs_monthly"


@dataclass
class Recorded:
    endpoint: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeStripeState(EndpointSteering):
    """Endpoints are named after the SDK's calls: "customers", "prices.retrieve", …"""

    base_url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def requests_to(self, endpoint: str) -> list[Recorded]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def new_id(self, prefix: str) -> str:
        """Unique across runs too (the browser tests' database outlives one fake)."""
        return f"{prefix}_fake{next(self.counter):04d}{uuid.uuid4().hex[:10]}"


def default_price(price_id: str = PRICE_ID, seats: str = "5") -> dict[str, Any]:
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "currency": "usd",
        "unit_amount": 2000,
        "nickname": "TechDocs AI Shop",
        "recurring": {"interval": "month", "interval_count": 1},
        "metadata": {"seats": seats},
        "product": "prod_fake",
        "type": "recurring",
    }


def _error(status: int, message: str) -> JSONResponse:
    kind = "api_error" if status >= 500 else "invalid_request_error"
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def build_app(state: FakeStripeState) -> Starlette:
    async def prologue(endpoint: str, request: Request) -> tuple[dict[str, str], Response | None]:
        raw = (await request.body()).decode()
        form = dict(parse_qsl(raw, keep_blank_values=True)) if raw else {}
        form.update(dict(request.query_params))
        headers = {k.lower(): v for k, v in request.headers.items()}
        state.requests.append(Recorded(endpoint, headers, form))
        if not headers.get("authorization", "").startswith("Bearer sk_"):
            return form, _error(401, "Invalid API Key provided.")
        status = await state.delay_then_failure(endpoint)
        if status is not None:
            return form, _error(status, "fake failure")
        return form, None

    def idempotent(request: Request, make: Any) -> dict[str, Any]:
        key = request.headers.get("idempotency-key")
        if key and key in state.idempotent:
            return state.idempotent[key]
        obj: dict[str, Any] = make()
        if key:
            state.idempotent[key] = obj
        return obj

    async def customers(request: Request) -> Response:
        form, failure = await prologue("customers", request)
        if failure is not None:
            return failure

        def make() -> dict[str, Any]:
            obj = {
                "id": state.new_id("cus"),
                "object": "customer",
                "name": form.get("name"),
                "email": form.get("email"),
                "metadata": {"org_id": form.get("metadata[org_id]")},
                "created": int(time.time()),
            }
            state.customers[obj["id"]] = obj
            return obj

        return JSONResponse(idempotent(request, make))

    async def checkout_sessions(request: Request) -> Response:
        form, failure = await prologue("checkout.sessions", request)
        if failure is not None:
            return failure
        if form.get("mode") != "subscription" or not form.get("line_items[0][price]"):
            return _error(400, "mode=subscription and line_items[0][price] are required.")
        if form.get("customer") not in state.customers:
            return _error(400, f"No such customer: '{form.get('customer')}'")

        def make() -> dict[str, Any]:
            sid = state.new_id("cs_test")
            obj = {
                "id": sid,
                "object": "checkout.session",
                "mode": "subscription",
                "status": "open",
                "customer": form["customer"],
                "client_reference_id": form.get("client_reference_id"),
                "success_url": form.get("success_url"),
                "cancel_url": form.get("cancel_url"),
                "metadata": {"org_id": form.get("metadata[org_id]")},
                "price": form["line_items[0][price]"],
                "subscription": None,
                "url": f"{state.base_url}/pay/{sid}",
            }
            state.sessions[sid] = obj
            return obj

        return JSONResponse(idempotent(request, make))

    async def portal_sessions(request: Request) -> Response:
        form, failure = await prologue("billing_portal.sessions", request)
        if failure is not None:
            return failure
        if form.get("customer") not in state.customers:
            return _error(400, f"No such customer: '{form.get('customer')}'")
        pid = state.new_id("bps")
        return JSONResponse(
            {
                "id": pid,
                "object": "billing_portal.session",
                "customer": form["customer"],
                "return_url": form.get("return_url"),
                "url": f"{state.base_url}/portal/{pid}",
            }
        )

    async def price(request: Request) -> Response:
        _, failure = await prologue("prices.retrieve", request)
        if failure is not None:
            return failure
        found = state.prices.get(request.path_params["id"])
        if found is None:
            return _error(404, "No such price.")
        return JSONResponse(found)

    async def subscription(request: Request) -> Response:
        _, failure = await prologue("subscriptions.retrieve", request)
        if failure is not None:
            return failure
        found = state.subscriptions.get(request.path_params["id"])
        if found is None:
            return _error(404, "No such subscription.")
        return JSONResponse(found)

    async def subscriptions(request: Request) -> Response:
        form, failure = await prologue("subscriptions.list", request)
        if failure is not None:
            return failure
        data = [s for s in state.subscriptions.values() if s["customer"] == form.get("customer")]
        return JSONResponse(
            {"object": "list", "data": data, "has_more": False, "url": "/v1/subscriptions"}
        )

    async def pay_page(request: Request) -> Response:
        return Response("<html><body><h1>Fake Stripe Checkout</h1></body></html>", 200)

    return Starlette(
        routes=[
            Route("/v1/customers", customers, methods=["POST"]),
            Route("/v1/checkout/sessions", checkout_sessions, methods=["POST"]),
            Route("/v1/billing_portal/sessions", portal_sessions, methods=["POST"]),
            Route("/v1/prices/{id}", price, methods=["GET"]),
            Route("/v1/subscriptions/{id}", subscription, methods=["GET"]),
            Route("/v1/subscriptions", subscriptions, methods=["GET"]),
            Route("/pay/{id}", pay_page, methods=["GET"]),
            Route("/portal/{id}", pay_page, methods=["GET"]),
        ]
    )


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends for `payload`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_body(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_fake{time.time_ns()}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "api_version": "2025-01-27.acacia",
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()


@dataclass
class FakeStripe:
    state: FakeStripeState
    url: str

    def add_price(self, price_id: str = PRICE_ID, seats: str = "5") -> None:
        self.state.prices[price_id] = default_price(price_id, seats)

    def subscription_for(self, customer: str, price_id: str, status: str = "active") -> str:
        sid = self.state.new_id("sub")
        now = int(time.time())
        self.state.subscriptions[sid] = {
            "id": sid,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "created": now,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self.state.new_id("si"),
                        "object": "subscription_item",
                        "current_period_start": now,
                        "current_period_end": now + 30 * 86400,
                        "price": self.state.prices.get(price_id) or default_price(price_id),
                    }
                ],
            },
        }
        return sid

    def complete_checkout(self, session_id: str) -> dict[str, Any]:
        """The customer paid on Checkout: the session completes with a new active subscription."""
        session = self.state.sessions[session_id]
        session["subscription"] = self.subscription_for(session["customer"], session["price"])
        session["status"] = "complete"
        return session

    def send(
        self,
        webhook_url: str,
        secret: str,
        event_type: str,
        obj: dict[str, Any],
        *,
        event_id: str | None = None,
    ) -> httpx.Response:
        body = event_body(event_type, obj, event_id)
        return httpx.post(
            webhook_url,
            content=body,
            headers={"Stripe-Signature": sign(body, secret), "Content-Type": "application/json"},
            timeout=30,
        )


@contextmanager
def running_fake_stripe() -> Iterator[FakeStripe]:
    state = FakeStripeState()
    with serve_in_thread(build_app(state), name="fake-stripe") as url:
        state.base_url = url
        yield FakeStripe(state=state, url=url)
