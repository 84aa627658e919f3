"""The Billing page and the app-wide billing banner (thin: each event calls one billing service)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import reflex as rx

from techdocs_app.auth import Principal
from techdocs_app.billing import overview, subscriptions
from techdocs_app.errors import TechDocsError
from techdocs_app.state.base import SIGN_IN_ROUTE, current_principal

CHECKOUT_NOTES = {
    "success": "Thank you! Stripe is confirming the payment: this page shows it in a moment.",
    "cancel": "Checkout was canceled: nothing was charged.",
}


class BillingState(rx.State):
    loaded: bool = False
    enabled: bool = False
    status: str = ""
    summary: str = ""
    read_only: bool = False
    date_label: str = ""
    plan_name: str = ""
    price_label: str = ""
    seats_used: int = 0
    seat_limit: int = 0
    can_manage: bool = False
    subscribed: bool = False
    problem: str = ""
    """Stripe could not be reached (nothing was changed)."""
    note: str = ""
    """After Checkout: thanks, or canceled."""
    redirecting: bool = False

    banner: str = ""
    banner_for_owner: bool = False
    asking_paused: bool = False
    """The shop is read-only: the chat's Send is disabled and says why before anyone types."""

    def _show_banner(self, banner: overview.Banner, principal: Principal) -> None:
        self.banner = banner.text
        self.asking_paused = banner.read_only
        self.banner_for_owner = principal.role == "owner"

    @rx.var
    def seats_label(self) -> str:
        return f"{self.seats_used} of {self.seat_limit} seats used"

    def _show(self, view: overview.BillingOverview) -> None:
        self.enabled = view.enabled
        self.status = view.status
        self.summary = view.summary
        self.read_only = view.read_only
        self.date_label = view.date_label
        self.plan_name = view.plan_name
        self.price_label = view.price_label
        self.seats_used = view.seats_used
        self.seat_limit = view.seat_limit
        self.can_manage = view.can_manage
        self.subscribed = view.subscribed
        self.problem = view.problem
        self.loaded = True

    @rx.event
    async def load(self):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        checkout = self.router.url.query_parameters.get("checkout", "")
        self.note = CHECKOUT_NOTES.get(str(checkout), "")
        self.redirecting = False
        problem = ""
        if checkout == "success" and principal.role == "owner":
            # Back from Checkout: ask Stripe now rather than wait for the webhook.
            try:
                await asyncio.to_thread(subscriptions.refresh_from_stripe, principal.org_id)
            except TechDocsError as exc:
                problem = exc.user_message
        try:
            view = await asyncio.to_thread(overview.billing_overview, principal)
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        self._show(view)
        self.problem = self.problem or problem
        if checkout == "success" and view.subscribed:
            self.note = "Thank you! The subscription is active."
        self._show_banner(await asyncio.to_thread(overview.banner_for, principal), principal)
        return None

    @rx.event
    async def load_banner(self):
        """on_load of every signed-in page: the billing banner ("" hides it)."""
        principal = await current_principal(self)
        if principal is None:
            self.banner = ""
            self.asking_paused = False
            return
        try:
            banner = await asyncio.to_thread(overview.banner_for, principal)
        except TechDocsError:
            # The standing could not be read: show nothing and let the server-side check decide.
            banner = overview.Banner("", False)
        self._show_banner(banner, principal)

    @rx.event(background=True)
    async def subscribe(self):
        """Owners: to Stripe Checkout (or a plain message when Stripe cannot be reached)."""
        url = await self._stripe_url(subscriptions.start_checkout)
        if url:
            yield rx.redirect(url)  # another host: the browser leaves for Stripe

    @rx.event(background=True)
    async def manage(self):
        """Owners: to Stripe's Customer Portal (payment method, invoices, cancel)."""
        url = await self._stripe_url(subscriptions.open_portal)
        if url:
            yield rx.redirect(url)  # another host: the browser leaves for Stripe

    async def _stripe_url(self, service: Callable[[Principal], str]) -> str:
        async with self:
            if self.redirecting:
                return ""
            principal = await current_principal(self)
            if principal is None:
                return ""
            self.redirecting = True
            self.problem = ""
        try:
            return await asyncio.to_thread(service, principal)
        except TechDocsError as exc:
            async with self:
                self.redirecting = False
                self.problem = exc.user_message
            return ""
        except Exception:
            async with self:
                self.redirecting = False
            raise
