"""A local server speaking Clerk's Backend API wire format, and Clerk's session tokens and Svix
webhook signatures made with test keys.

The real `clerk-backend-api` client is pointed at it (`server_url=<base>/v1`): it sends
`Authorization: Bearer <secret key>` and validates every answer against its own models, so the
fake answers with complete objects (users with `email_addresses`, organizations with
`max_allowed_memberships`, memberships with `organization` and `public_user_data`). Errors use
Clerk's `{"errors": [{"message", "long_message", "code"}]}` shape. Every request is recorded.

Tokens: RS256 JWTs signed with a test RSA key, in both session-token versions (v1 flat
`org_id`/`org_role` "org:admin"; v2 `"v": 2` with `o.id`/`o.rol`/`o.slg`). Webhooks: signed with
svix's own `Webhook.sign`, as Svix would.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from svix.webhooks import Webhook

from tests.fakes.server import serve_in_thread

FRONTEND_API = "clerk.harbor-hvac.example"
PUBLISHABLE_KEY = "pk_test_" + base64.b64encode(f"{FRONTEND_API}$".encode()).decode().rstrip("=")
ISSUER = f"https://{FRONTEND_API}"
SECRET_KEY = "sk_test_fake_secret_key_for_tests"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"clerk-webhook-test-secret-32-byte").decode()
APP_ORIGIN = "http://127.0.0.1:3000"


@dataclass
class RsaKey:
    private_pem: bytes
    public_pem: str


def new_rsa_key() -> RsaKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return RsaKey(private_pem=private, public_pem=public.decode())


def session_token(
    key: RsaKey,
    *,
    user_id: str,
    org_id: str | None = None,
    org_role: str = "org:member",
    version: int = 2,
    issuer: str = ISSUER,
    azp: str = APP_ORIGIN,
    expires_in: int = 60,
    extra: dict[str, Any] | None = None,
) -> str:
    """A Clerk session token. v1: `org_id`/`org_role`/`org_slug`; v2: `"v": 2`, `o.{id,rol,slg}`
    with the role without its `org:` prefix, as Clerk issues them."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "azp": azp,
        "exp": now + expires_in,
        "iat": now - 5,
        "nbf": now - 10,
        "iss": issuer,
        "sid": f"sess_{user_id}",
        "sub": user_id,
    }
    if org_id:
        if version == 2:
            claims["v"] = 2
            claims["o"] = {"id": org_id, "rol": org_role.removeprefix("org:"), "slg": org_id}
        else:
            claims.update({"org_id": org_id, "org_role": org_role, "org_slug": org_id})
    elif version == 2:
        claims["v"] = 2
    claims.update(extra or {})
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": "ins_test"})


def sign_webhook(
    payload: dict[str, Any],
    *,
    msg_id: str,
    secret: str = WEBHOOK_SECRET,
    at: datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and Svix headers Clerk would send."""
    body = json.dumps(payload)
    when = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, when, body)
    headers = {
        "svix-id": msg_id,
        "svix-timestamp": str(int(when.timestamp())),
        "svix-signature": signature,
        "content-type": "application/json",
    }
    return body.encode(), headers


# ---- Backend API objects ------------------------------------------------------------------------


def user_object(user_id: str, email: str, first: str = "", last: str = "") -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "id": user_id,
        "object": "user",
        "external_id": None,
        "primary_email_address_id": f"idn_{user_id}",
        "primary_phone_number_id": None,
        "primary_web3_wallet_id": None,
        "username": None,
        "first_name": first or None,
        "last_name": last or None,
        "has_image": False,
        "image_url": "",
        "public_metadata": {},
        "private_metadata": {},
        "unsafe_metadata": {},
        "email_addresses": [
            {
                "id": f"idn_{user_id}",
                "object": "email_address",
                "email_address": email,
                "reserved": False,
                "verification": None,
                "linked_to": [],
                "created_at": now,
                "updated_at": now,
            }
        ],
        "phone_numbers": [],
        "web3_wallets": [],
        "passkeys": [],
        "password_enabled": True,
        "two_factor_enabled": False,
        "totp_enabled": False,
        "backup_code_enabled": False,
        "mfa_enabled_at": None,
        "mfa_disabled_at": None,
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "last_sign_in_at": None,
        "banned": False,
        "locked": False,
        "lockout_expires_in_seconds": None,
        "verification_attempts_remaining": None,
        "updated_at": now,
        "created_at": now,
        "delete_self_enabled": True,
        "create_organization_enabled": True,
        "last_active_at": None,
        "legal_accepted_at": None,
    }


def organization_object(
    org_id: str, name: str, *, max_allowed: int = 0, created_by: str | None = None
) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "object": "organization",
        "id": org_id,
        "name": name,
        "slug": org_id,
        "has_image": False,
        "max_allowed_memberships": max_allowed,
        "admin_delete_enabled": True,
        "public_metadata": {},
        "private_metadata": {},
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
    }


def membership_object(org: dict[str, Any], user: dict[str, Any], role: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    email = user["email_addresses"][0]["email_address"]
    return {
        "id": f"orgmem_{org['id']}_{user['id']}",
        "object": "organization_membership",
        "role": role,
        "role_name": role.removeprefix("org:").title(),
        "permissions": [],
        "public_metadata": {},
        "organization": org,
        "public_user_data": {
            "user_id": user["id"],
            "first_name": user["first_name"],
            "last_name": user["last_name"],
            "profile_image_url": "",
            "image_url": "",
            "has_image": False,
            "identifier": email,
        },
        "created_at": now,
        "updated_at": now,
    }


def event(kind: str, data: dict[str, Any], *, timestamp: int) -> dict[str, Any]:
    """A Clerk webhook event (`timestamp` in ms orders events about one object)."""
    return {
        "data": data,
        "object": "event",
        "type": kind,
        "timestamp": timestamp,
        "instance_id": "ins_test",
    }


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str
    body: dict[str, Any]


@dataclass
class FakeClerkState:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    memberships: dict[tuple[str, str], str] = field(default_factory=dict)
    """(org id, user id) -> role"""
    requests: list[Recorded] = field(default_factory=list)
    fail_with: int | None = None

    def reset(self) -> None:
        self.users.clear()
        self.organizations.clear()
        self.memberships.clear()
        self.requests.clear()
        self.fail_with = None

    def add_user(self, user_id: str, email: str, first: str = "", last: str = "") -> dict[str, Any]:
        self.users[user_id] = user_object(user_id, email, first, last)
        return self.users[user_id]

    def add_organization(
        self, org_id: str, name: str, created_by: str | None = None
    ) -> dict[str, Any]:
        self.organizations[org_id] = organization_object(org_id, name, created_by=created_by)
        return self.organizations[org_id]


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "long_message": message, "code": code}]},
        status_code=status,
    )


def build_app(state: FakeClerkState) -> Starlette:
    async def record(request: Request) -> JSONResponse | None:
        body: dict[str, Any] = {}
        if request.method in ("POST", "PATCH"):
            raw = await request.body()
            body = json.loads(raw) if raw else {}
        state.requests.append(
            Recorded(
                request.method,
                request.url.path,
                request.headers.get("authorization", ""),
                body,
            )
        )
        if request.headers.get("authorization") != f"Bearer {SECRET_KEY}":
            return _error(401, "Invalid authentication", "authentication_invalid")
        if state.fail_with:
            return _error(state.fail_with, "Something went wrong", "internal_clerk_error")
        return None

    async def get_user(request: Request) -> JSONResponse:
        if (refused := await record(request)) is not None:
            return refused
        user = state.users.get(request.path_params["user_id"])
        return JSONResponse(user) if user else _error(404, "not found", "resource_not_found")

    async def organization(request: Request) -> JSONResponse:
        if (refused := await record(request)) is not None:
            return refused
        org = state.organizations.get(request.path_params["org_id"])
        if org is None:
            return _error(404, "not found", "resource_not_found")
        if request.method == "PATCH":
            body = state.requests[-1].body
            for key in ("name", "max_allowed_memberships"):
                if key in body:
                    org[key] = body[key]
        return JSONResponse(org)

    async def membership(request: Request) -> JSONResponse:
        if (refused := await record(request)) is not None:
            return refused
        org = state.organizations.get(request.path_params["org_id"])
        body = state.requests[-1].body
        user_id = request.path_params.get("user_id") or body.get("user_id", "")
        user = state.users.get(user_id)
        if org is None or user is None:
            return _error(404, "not found", "resource_not_found")
        key = (org["id"], user_id)
        if request.method == "DELETE":
            role = state.memberships.pop(key, None)
            if role is None:
                return _error(404, "not found", "resource_not_found")
        else:
            role = str(body.get("role", "org:member"))
            state.memberships[key] = role
        return JSONResponse(membership_object(org, user, role))

    async def list_memberships(request: Request) -> JSONResponse:
        """GET /organizations/{id}/memberships: in the order added, `limit`/`offset` pages."""
        if (refused := await record(request)) is not None:
            return refused
        org = state.organizations.get(request.path_params["org_id"])
        if org is None:
            return _error(404, "not found", "resource_not_found")
        limit = int(request.query_params.get("limit", "10"))
        offset = int(request.query_params.get("offset", "0"))
        rows = [
            membership_object(org, state.users[user_id], role)
            for (org_id, user_id), role in state.memberships.items()
            if org_id == org["id"] and user_id in state.users
        ]
        return JSONResponse({"data": rows[offset : offset + limit], "total_count": len(rows)})

    async def memberships(request: Request) -> JSONResponse:
        if request.method == "GET":
            return await list_memberships(request)
        return await membership(request)

    return Starlette(
        routes=[
            Route("/v1/users/{user_id}", get_user, methods=["GET"]),
            Route("/v1/organizations/{org_id}", organization, methods=["GET", "PATCH"]),
            Route("/v1/organizations/{org_id}/memberships", memberships, methods=["GET", "POST"]),
            Route(
                "/v1/organizations/{org_id}/memberships/{user_id}",
                membership,
                methods=["PATCH", "DELETE"],
            ),
        ]
    )


@dataclass
class FakeClerk:
    state: FakeClerkState
    base_url: str

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"


@contextmanager
def running_fake_clerk() -> Iterator[FakeClerk]:
    state = FakeClerkState()
    with serve_in_thread(build_app(state), name="fake-clerk") as base_url:
        yield FakeClerk(state=state, base_url=base_url)
