"""Clerk organizations mode: session tokens, first-sight mapping, and the Backend API.

On when CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY are set (`clerk_enabled`); local accounts
otherwise. The browser signs in with Clerk (which sets its `__session` cookie); the app exchanges
that token once for one of its own server-side sessions (`auth.sessions`), so everything after
sign-in — roles re-read on every request, removal taking effect at once, sign out everywhere,
row-level security — is the same code in both modes.

- Tokens are verified with `clerk-backend-api` and no network call (CLERK_JWT_KEY, the
  instance's PEM key), in both claim versions: v1 `org_id`/`org_role` ("org:admin"), v2
  `"v": 2` with `o.id`/`o.rol` ("admin", which the SDK flattens into `org_id`/`org_role`). The
  SDK does not check the issuer: we do (CLERK_ISSUER, default decoded from the publishable key).
- A token maps to our user, organization and membership, created on first sight, with the seat
  limit checked (a refused seat is recorded and shown on the Team page). Clerk's `org:admin`
  becomes admin, `org:member` (and any custom role) member; the organization's creator is its
  owner. Without an active organization the sign-in page asks to pick or create one.
- Changes made in our Team page are mirrored to Clerk through the Backend API (membership role
  and removal, `max_allowed_memberships` kept equal to the seat limit); changes made in Clerk
  arrive by webhook (`auth.clerk_webhooks`).

Identity work here happens before an organization is known: it runs on the owner connection
(`system_session_scope`), in the named functions of this module only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from clerk_backend_api import Clerk
from clerk_backend_api.security import authenticate_request
from clerk_backend_api.security.types import AuthenticateRequestOptions, AuthStatus
from clerk_backend_api.utils import BackoffStrategy, RetryConfig
from sqlmodel import Session, select

from techdocs_app.auth import Principal
from techdocs_app.auth.modes import CLERK_SIGN_IN_ROUTE, clerk_mode, frontend_api
from techdocs_app.db import accounts, clerk_mirrors
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Membership, Organization, SeatRefusal, User, utcnow
from techdocs_app.errors import AuthError, LimitReached, NotFound, ProviderError
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

SIGN_IN_ROUTE = CLERK_SIGN_IN_ROUTE
EXCHANGE_ROUTE = "/api/auth/clerk/session"

SIGNED_OUT = "Your Clerk session has ended or is not valid. Sign in again."


def clerk_enabled() -> bool:
    return clerk_mode()


def issuer() -> str:
    settings = get_settings()
    if settings.clerk_issuer:
        return settings.clerk_issuer.rstrip("/")
    return "https://" + frontend_api(settings.clerk_publishable_key or "")


def normalize_role(clerk_role: str | None) -> str:
    """Clerk's role key (v1 "org:admin", v2 "admin") as ours; custom roles are members."""
    role = (clerk_role or "").removeprefix("org:")
    return "admin" if role == "admin" else "member"


@dataclass(frozen=True)
class ClerkClaims:
    user_id: str
    session_id: str
    org_id: str | None
    org_role: str | None
    """Ours: admin or member (None without an active organization)."""
    email: str | None
    """Only when the instance's session token is customised to carry it."""


class _Headers:
    """What `authenticate_request` reads from a request: `.headers.get(name)`."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = {**headers}
        lower = {k.lower(): v for k, v in headers.items()}
        # The SDK looks up 'Authorization' and 'cookie' with exact capitalisation.
        if "authorization" in lower:
            self.headers["Authorization"] = lower["authorization"]
        if "cookie" in lower:
            self.headers["cookie"] = lower["cookie"]


def verify_session_token(headers: Mapping[str, str]) -> ClerkClaims:
    """The claims of the request's Clerk session token (`__session` cookie or Bearer header),
    verified with the instance's key and no network call. `AuthError` when missing, expired,
    signed by another key, issued by another instance, or for another origin."""
    settings = get_settings()
    if not settings.clerk_jwt_key:
        raise AuthError(SIGNED_OUT, detail="CLERK_JWT_KEY is not set")
    parties = [p.strip() for p in settings.clerk_authorized_parties.split(",") if p.strip()]
    state = authenticate_request(
        _Headers(headers),
        AuthenticateRequestOptions(
            jwt_key=settings.clerk_jwt_key,
            authorized_parties=parties or None,
            accepts_token=["session_token"],
        ),
    )
    if state.status != AuthStatus.SIGNED_IN or not state.payload:
        reason = getattr(state.reason, "value", state.reason)
        raise AuthError(SIGNED_OUT, detail=f"clerk token refused: {reason}")
    payload: dict[str, Any] = state.payload
    if payload.get("iss") != issuer():
        raise AuthError(SIGNED_OUT, detail="clerk token from another issuer")
    if not payload.get("sub") or not payload.get("sid"):
        raise AuthError(SIGNED_OUT, detail="clerk token without a user or session")
    org_id = payload.get("org_id") or None
    return ClerkClaims(
        user_id=str(payload["sub"]),
        session_id=str(payload["sid"]),
        org_id=str(org_id) if org_id else None,
        org_role=normalize_role(payload.get("org_role")) if org_id else None,
        email=(str(payload["email"]).strip().lower() if payload.get("email") else None),
    )


# ---- the Backend API ------------------------------------------------------------------------


BACKEND_RETRIES = RetryConfig(
    "backoff",
    BackoffStrategy(initial_interval=250, max_interval=1000, exponent=2.0, max_elapsed_time=2500),
    True,
)
"""A few quick retries of a 5xx or a dropped connection, then `ProviderError`. The SDK's own
default retries for up to an hour, which would hold a Team-page click, a sign-in or a webhook
that long while Clerk is down; the callers' own retries (Svix's, the owner's next click, the
next sign-in) take over instead."""


def backend() -> Clerk:
    settings = get_settings()
    if settings.clerk_secret_key is None:
        raise ProviderError(detail="CLERK_SECRET_KEY is not set")
    return Clerk(
        bearer_auth=settings.clerk_secret_key.get_secret_value(),
        server_url=settings.clerk_api_url or None,
        timeout_ms=int(settings.provider_timeout_s * 1000),
        retry_config=BACKEND_RETRIES,
    )


def _call(what: str, fn: Any, **kwargs: Any) -> Any:
    """One Backend API call; any failure becomes a `ProviderError` (logged without secrets)."""
    try:
        return fn(**kwargs)
    except Exception as exc:  # noqa: BLE001 - SDK, HTTP and validation errors alike
        log.warning("clerk %s failed: %s", what, type(exc).__name__)
        raise ProviderError(
            "Clerk did not answer. Please try again in a moment.", detail=f"clerk {what}"
        ) from exc


@dataclass(frozen=True)
class ClerkUser:
    id: str
    email: str
    name: str


def fetch_user(clerk_user_id: str) -> ClerkUser:
    user = _call("users.get", backend().users.get, user_id=clerk_user_id)
    return ClerkUser(id=user.id, email=primary_email(_dump(user)), name=_full_name(_dump(user)))


def fetch_organization_name(clerk_org_id: str) -> str:
    org = _call("organizations.get", backend().organizations.get, organization_id=clerk_org_id)
    return str(org.name)


MEMBERSHIPS_PAGE = 100
"""Memberships per Backend API page (Clerk allows up to 500; a shop has a handful)."""


@dataclass(frozen=True)
class ClerkMember:
    """One membership as Clerk lists it."""

    clerk_user_id: str
    role: str
    """Ours: admin or member (`normalize_role`)."""
    email: str
    name: str


def _clerk_says_not_found(exc: ProviderError) -> bool:
    """Clerk's own "no such resource" answer: a 404 whose body carries Clerk's error code, not
    any 404 (a wrong API URL or a proxy in the way answers 404 too, and must not read as every
    organization deleted)."""
    cause = exc.__cause__
    if getattr(cause, "status_code", None) != 404:
        return False
    try:  # the SDK's error (typed or its fallback) keeps the raw body
        errors = json.loads(str(getattr(cause, "body", "") or "")).get("errors")
    except (ValueError, AttributeError):
        return False
    return isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("code") == "resource_not_found" for e in errors
    )


def fetch_memberships(clerk_org_id: str) -> dict[str, ClerkMember]:
    """Every membership Clerk lists for the organization, by Clerk user id (all pages).
    `NotFound` when Clerk says the organization itself no longer exists."""
    memberships = backend().organization_memberships
    out: dict[str, ClerkMember] = {}
    offset = 0
    while True:
        try:
            page = _call(
                "organization_memberships.list",
                memberships.list,
                organization_id=clerk_org_id,
                limit=MEMBERSHIPS_PAGE,
                offset=offset,
                order_by="created_at",
            )
        except ProviderError as exc:
            if _clerk_says_not_found(exc):
                raise NotFound("That organization no longer exists in Clerk.") from exc
            raise
        for item in page.data:
            data = _dump(item)
            user = data.get("public_user_data") or {}
            if user.get("user_id"):
                out[str(user["user_id"])] = ClerkMember(
                    clerk_user_id=str(user["user_id"]),
                    role=normalize_role(data.get("role")),
                    email=str(user.get("identifier") or "").strip().lower(),
                    name=" ".join(
                        str(user.get(k) or "") for k in ("first_name", "last_name")
                    ).strip()[:200],
                )
        offset += len(page.data)
        if not page.data or offset >= int(page.total_count):
            return out


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json") if hasattr(model, "model_dump") else dict(model)


def primary_email(user: Mapping[str, Any]) -> str:
    """The primary email of a Clerk user object (webhook or Backend API shape)."""
    addresses = user.get("email_addresses") or []
    primary = user.get("primary_email_address_id")
    chosen = next((a for a in addresses if a.get("id") == primary), None) or (
        addresses[0] if addresses else None
    )
    return str((chosen or {}).get("email_address", "")).strip().lower()


def _full_name(user: Mapping[str, Any]) -> str:
    return " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()[:200]


def push_seat_limit(org: Organization) -> bool:
    """Keep Clerk's `max_allowed_memberships` equal to our seat limit. False when Clerk mode is
    off or the organization is not a Clerk one; raises `ProviderError` when Clerk fails."""
    if not clerk_enabled() or not org.clerk_org_id:
        return False
    _call(
        "organizations.update",
        backend().organizations.update,
        organization_id=org.clerk_org_id,
        max_allowed_memberships=int(org.seat_limit),
    )
    return True


def sync_seat_limit(org_id: int) -> bool:
    """After our seat limit changes (the billing plan): tell Clerk. Maintenance, by org id."""
    with system_session_scope() as session:
        org = session.get(Organization, org_id)
    return push_seat_limit(org) if org is not None else False


MIRROR_BACKOFF_S = (30, 120, 600, 1800, 3600)
"""Waits before pushing a wish Clerk did not apply again, by attempts so far (the last repeats:
a wish is never given up, because while it stands it is what keeps a removed member out)."""
MIRROR_BATCH = 50
"""Wishes one maintenance run pushes (each is a Backend API call of at most a few seconds)."""


def mirror_membership(org_id: int, user_id: int) -> bool:
    """Push the Team page's pending wish for this member (`db.clerk_mirrors`) to Clerk, so the
    next session token and webhook agree with it. True when nothing is left pending; False when
    Clerk did not apply it (it is tried again later, and until then our side wins)."""
    with system_session_scope() as session:
        wish = clerk_mirrors.get(session, org_id=org_id, user_id=user_id)
        org = session.get(Organization, org_id)
        user = session.get(User, user_id)
        if wish is None:
            return True
        assert wish.id is not None
        wish_id, version, role = wish.id, wish.version, wish.role
        attempts = wish.attempts
        clerk_org_id = org.clerk_org_id if org is not None else None
        clerk_user_id = user.clerk_user_id if user is not None else None
    try:
        if clerk_enabled() and clerk_org_id and clerk_user_id:
            _apply_in_clerk(clerk_org_id, clerk_user_id, role)
    except ProviderError as exc:
        wait = MIRROR_BACKOFF_S[min(attempts, len(MIRROR_BACKOFF_S) - 1)]
        with system_session_scope() as session:
            clerk_mirrors.failed(
                session,
                mirror_id=wish_id,
                version=version,
                error=exc.detail or str(exc),
                retry_in=timedelta(seconds=wait),
            )
        log.warning(
            "membership of user %s in org %s not mirrored to Clerk yet; again in %s s",
            user_id,
            org_id,
            wait,
        )
        return False
    # Not a Clerk organization or user (made before Clerk mode): nothing to tell Clerk.
    with system_session_scope() as session:
        clerk_mirrors.done(session, mirror_id=wish_id, version=version)
    return True


def _apply_in_clerk(clerk_org_id: str, clerk_user_id: str, role: str | None) -> None:
    """One wish through the Backend API. A membership Clerk no longer has is not an error: a
    removal is then done, and a role change is moot (Clerk's deletion webhook removes ours)."""
    memberships = backend().organization_memberships
    try:
        if role is None:
            _call(
                "organization_memberships.delete",
                memberships.delete,
                organization_id=clerk_org_id,
                user_id=clerk_user_id,
            )
        else:
            _call(
                "organization_memberships.update",
                memberships.update,
                organization_id=clerk_org_id,
                user_id=clerk_user_id,
                role="org:admin" if role in ("owner", "admin") else "org:member",
            )
    except ProviderError as exc:
        if getattr(exc.__cause__, "status_code", None) != 404:
            raise


def push_due_mirrors() -> int:
    """Maintenance (`push-clerk-mirrors`): push the wishes that are due. How many were applied."""
    if not clerk_enabled():
        return 0
    with system_session_scope() as session:
        wishes = [
            (w.org_id, w.user_id)
            for w in clerk_mirrors.due(session, now=utcnow(), limit=MIRROR_BATCH)
        ]
    return sum(1 for org_id, user_id in wishes if mirror_membership(org_id, user_id))


def add_membership_in_clerk(org_id: int, user_id: int, role: str) -> None:
    """An invitation accepted in our app: the member joins the Clerk organization too."""
    if not clerk_enabled():
        return
    with system_session_scope() as session:
        org = session.get(Organization, org_id)
        user = session.get(User, user_id)
    if org is None or user is None or not org.clerk_org_id or not user.clerk_user_id:
        return
    _call(
        "organization_memberships.create",
        backend().organization_memberships.create,
        organization_id=org.clerk_org_id,
        user_id=user.clerk_user_id,
        role="org:admin" if role in ("owner", "admin") else "org:member",
    )


# ---- first sight: our rows for Clerk's ids (owner connection) ---------------------------------


def upsert_user(session: Session, *, clerk_user_id: str, email: str, name: str = "") -> User:
    """Our user for a Clerk user: found by Clerk id, else linked by email (an account that
    existed before Clerk), else created (without a password: Clerk holds it)."""
    user = session.exec(select(User).where(User.clerk_user_id == clerk_user_id)).first()
    if user is None and email:
        user = accounts.get_user_by_email(session, email=email)
        if user is not None and user.clerk_user_id not in (None, clerk_user_id):
            raise AuthError(
                "This email belongs to another account. Ask your shop's owner for help.",
                detail="email linked to another clerk user",
            )
    if user is None:
        if not email:
            raise AuthError(SIGNED_OUT, detail="clerk user without an email")
        user = User(email=email, name=name, clerk_user_id=clerk_user_id)
    else:
        user.clerk_user_id = clerk_user_id
        if (
            email
            and user.email != email
            and accounts.get_user_by_email(session, email=email) is None
        ):
            user.email = email
        if name:
            user.name = name
    session.add(user)
    session.flush()
    return user


def upsert_organization(
    session: Session, *, clerk_org_id: str, name: str
) -> tuple[Organization, bool]:
    """Our organization for a Clerk organization (created with the default plan on first
    sight). Returns it and whether it was created."""
    org = session.exec(
        select(Organization).where(Organization.clerk_org_id == clerk_org_id).with_for_update()
    ).first()
    if org is not None:
        if name and org.name != name:
            org.name = name[:200]
            session.add(org)
        return org, False
    settings = get_settings()
    org = Organization(
        name=(name or "Your shop")[:200],
        clerk_org_id=clerk_org_id,
        seat_limit=settings.default_seat_limit,
        trial_ends_at=utcnow() + timedelta(days=settings.trial_days),
    )
    session.add(org)
    session.flush()
    return org, True


@dataclass(frozen=True)
class Granted:
    membership: Membership | None
    refused: bool
    removed: bool = False
    """Removed on our Team page, and Clerk has not applied the removal yet."""


def grant_membership(
    session: Session, *, org: Organization, user: User, role: str, creator: bool = False
) -> Granted:
    """Give `user` a seat in `org` as `role` (owner when `creator`), unless every seat is taken:
    then record the refusal for the Team page. An existing membership keeps its seat; Clerk's
    roles never demote an owner."""
    assert org.id is not None and user.id is not None
    membership = accounts.get_membership(session, org_id=org.id, user_id=user.id)
    wish = clerk_mirrors.get(session, org_id=org.id, user_id=user.id)
    if wish is not None:
        # A Team-page change Clerk has not applied yet: ours wins over Clerk's older word.
        if wish.role is None:
            return Granted(None, refused=False, removed=True)
        if membership is not None:
            return Granted(membership, refused=False)
    wanted = "owner" if creator else role
    if membership is not None:
        if membership.role != "owner" and membership.role != wanted:
            membership.role = wanted
            session.add(membership)
        return Granted(membership, refused=False)
    now = utcnow()
    used = accounts.count_members(session, org_id=org.id) + accounts.count_pending_invitations(
        session, org_id=org.id, now=now
    )
    if accounts.count_members(session, org_id=org.id) == 0:
        wanted = "owner"  # the first person of a new organization is its creator
    elif used >= org.seat_limit:
        if accounts.get_seat_refusal(session, org_id=org.id, user_id=user.id) is None:
            session.add(SeatRefusal(org_id=org.id, user_id=user.id, role=role))
        log.info("clerk membership refused: org %s full (%s seats)", org.id, org.seat_limit)
        return Granted(None, refused=True)
    membership = Membership(org_id=org.id, user_id=user.id, role=wanted)
    session.add(membership)
    refusal = accounts.get_seat_refusal(session, org_id=org.id, user_id=user.id)
    if refusal is not None:
        session.delete(refusal)
    session.flush()
    return Granted(membership, refused=False)


class NeedsOrganization(AuthError):
    """The token has no active organization: the sign-in page asks to pick or create one."""

    user_message = "Choose or create your shop's organization to continue."


def principal_from_claims(claims: ClerkClaims) -> Principal:
    """Our principal for a verified token, creating user, organization and membership on first
    sight. `NeedsOrganization` without an active organization; `LimitReached` when the
    organization has no free seat (the refusal is shown to its owner)."""
    if claims.org_id is None:
        raise NeedsOrganization()
    email, name = claims.email or "", ""
    with system_session_scope() as session:
        known = session.exec(select(User).where(User.clerk_user_id == claims.user_id)).first()
        known_org = session.exec(
            select(Organization).where(Organization.clerk_org_id == claims.org_id)
        ).first()
    if known is None and not email:
        fetched = fetch_user(claims.user_id)
        email, name = fetched.email, fetched.name
    org_name = known_org.name if known_org else fetch_organization_name(claims.org_id)
    created = False
    principal: Principal | None = None
    with system_session_scope() as session:  # commits the refusal too, before we refuse
        user = upsert_user(session, clerk_user_id=claims.user_id, email=email, name=name)
        org, created = upsert_organization(session, clerk_org_id=claims.org_id, name=org_name)
        granted = grant_membership(session, org=org, user=user, role=claims.org_role or "member")
        if granted.membership is not None:
            assert user.id is not None and org.id is not None
            principal = Principal(
                user_id=user.id,
                org_id=org.id,
                role=granted.membership.role,
                email=user.email,
                org_name=org.name,
            )
    if principal is None and granted.removed:
        raise AuthError(
            f"You are no longer a member of {org.name}. Ask its owner to invite you again."
        )
    if principal is None:
        raise LimitReached(
            f"All {org.seat_limit} seats of {org.name} are in use. Ask the shop's owner to "
            "free a seat, then sign in again."
        )
    if created:
        try:
            push_seat_limit(org)
        except ProviderError:
            log.warning("could not set max_allowed_memberships of org %s yet", org.id)
    return principal


def user_for_claims(claims: ClerkClaims) -> User:
    """Our user for a verified token (created on first sight), without any organization: an
    invitation accepted right after signing up with Clerk."""
    email, name = claims.email or "", ""
    with system_session_scope() as session:
        known = session.exec(select(User).where(User.clerk_user_id == claims.user_id)).first()
    if known is None and not email:
        fetched = fetch_user(claims.user_id)
        email, name = fetched.email, fetched.name
    with system_session_scope() as session:
        return upsert_user(session, clerk_user_id=claims.user_id, email=email, name=name)
