"""The Usage page: loads every figure once per visit (`usage.load_usage`, owners and admins) and
keeps what `usage_view` shaped; a member gets the permission refusal in words."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from techdocs_app import usage
from techdocs_app.errors import PermissionDenied, TechDocsError
from techdocs_app.state.base import SIGN_IN_ROUTE, current_principal
from techdocs_app.usage_view import (
    FailedItem,
    ThumbsDownItem,
    Tile,
    UnansweredItem,
    UsageView,
    usage_view,
)


class UsageState(rx.State):
    loaded: bool = False
    refused: str = ""
    """The permission refusal (a member), shown instead of the figures."""
    new_shop: bool = False
    summary: list[Tile] = []
    per_day: list[dict[str, Any]] = []
    per_technician: list[dict[str, Any]] = []
    unanswered: list[UnansweredItem] = []
    thumbs_down: list[ThumbsDownItem] = []
    library: list[Tile] = []
    failed_manuals: list[FailedItem] = []
    speed: list[Tile] = []

    def _show(self, view: UsageView) -> None:
        self.new_shop = view.new_shop
        self.summary = view.summary
        self.per_day = view.per_day
        self.per_technician = view.per_technician
        self.unanswered = view.unanswered
        self.thumbs_down = view.thumbs_down
        self.library = view.library
        self.failed_manuals = view.failed_manuals
        self.speed = view.speed

    @rx.event
    async def load(self):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.refused = ""
        try:
            report = await asyncio.to_thread(usage.load_usage, principal)
        except PermissionDenied as exc:
            self._show(UsageView())
            self.refused = exc.user_message
            self.loaded = True
            return None
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        self._show(usage_view(report))
        self.loaded = True
        return None
