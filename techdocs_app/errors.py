"""One exception tree for the product.

Every error a person can see carries `user_message`: a plain sentence saying what happened and what to
do. Vendor and library errors are translated into these at the boundary (provider modules, upload
validation, auth); `str(exc)` of anything else is never shown to a user.

TechDocsError
├── ValidationFailed      bad input from a person (form fields, questions)
├── AuthError             sign-in, session and permission problems
│   └── PermissionDenied
├── NotFound              the object does not exist in the caller's organization
├── UploadRejected        a file we will not store (not a PDF, encrypted, too big …)
├── IngestFailed          a stored document that could not be processed
├── LimitReached          seats, trial or plan limits
│   └── ReadOnlyPlan      the shop's trial ended / subscription lapsed: reading only
├── RateLimited           too many attempts in a short time: carries `retry_after` (seconds)
├── WebhookRejected       a vendor's webhook delivery we refuse: carries the HTTP `status`
└── ProviderError         a remote/vendor call failed
    └── ProviderTimeout
"""

from __future__ import annotations

import math


class TechDocsError(Exception):
    user_message: str = "Something went wrong. Please try again."

    def __init__(self, user_message: str | None = None, *, detail: str | None = None) -> None:
        if user_message is not None:
            self.user_message = user_message
        self.detail = detail
        super().__init__(detail or self.user_message)


class ValidationFailed(TechDocsError):
    user_message = "Please check the form and try again."


class AuthError(TechDocsError):
    user_message = "Please sign in again."


class PermissionDenied(AuthError):
    user_message = "You do not have permission to do that."


class NotFound(TechDocsError):
    user_message = "That item was not found."


class UploadRejected(TechDocsError):
    user_message = "This file cannot be uploaded."


class IngestFailed(TechDocsError):
    user_message = "This manual could not be processed."


class LimitReached(TechDocsError):
    user_message = "Your plan's limit has been reached."


class ReadOnlyPlan(LimitReached):
    """The organization's trial ended, its subscription was canceled or its payment is overdue
    past the grace period: people can still read everything, but not ask or upload. Nothing is
    deleted. `user_message` says why and who can fix it (see `billing.plans`)."""

    user_message = "This shop is read-only. Ask the owner to subscribe on the Billing page."


class RateLimited(TechDocsError):
    """Too many attempts: the person (or API client) may try again after `retry_after` seconds.

    `user_message` always says when ("Too many sign-in attempts. Try again in 40 s."); the REST
    API answers 429 with a `Retry-After` header of `retry_after`.
    """

    user_message = "Too many attempts. Please wait a moment and try again."

    def __init__(
        self,
        what: str = "Too many attempts.",
        *,
        retry_after: float,
        detail: str | None = None,
    ) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"{what} Try again in {wait_label(self.retry_after)}.", detail=detail)


def wait_label(seconds: float) -> str:
    """`40 s`, `3 min`, `2 h`: how long to wait, rounded up, in words a person reads at a glance."""
    s = max(1, math.ceil(seconds))
    if s < 120:
        return f"{s} s"
    if s < 2 * 3600:
        return f"{math.ceil(s / 60)} min"
    return f"{math.ceil(s / 3600)} h"


class WebhookRejected(TechDocsError):
    """A webhook delivery refused before anything is written: a bad signature, a stale
    timestamp, a malformed body, webhooks not configured, or the vendor unreachable while
    applying it. The route answers `status` with `user_message` (read by the vendor's delivery
    log), and the vendor retries or gives up as that status says."""

    user_message = "The webhook delivery was refused."

    def __init__(
        self, status: int, user_message: str, *, detail: str | None = None, final: bool = False
    ) -> None:
        self.status = status
        self.final = final
        """No retry can succeed (the event itself cannot be applied): the route asks the vendor
        to stop retrying it (Svix: `webhook-delivery: abort-message`)."""
        super().__init__(user_message, detail=detail)


class ProviderError(TechDocsError):
    user_message = "A service we depend on failed. Please try again in a moment."


class ProviderTimeout(ProviderError):
    user_message = "The answer service took too long to respond. Please try again."
