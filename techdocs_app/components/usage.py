"""Usage page pieces: figure tiles, the two charts (Reflex's recharts), the lists, the empty state.

Components receive Vars, never a State."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

DAY_SERIES: tuple[tuple[str, str, str], ...] = (
    ("answered", "Answered", "var(--grass-9)"),
    ("closest", "Closest passages", "var(--amber-9)"),
    ("not_found", "Not in your manuals", "var(--tomato-9)"),
)
"""(data key, legend label, colour) of the questions-per-day bars, stacked in this order."""


def tile_grid(tiles: rx.Var[list[Any]], *, label: str) -> rx.Component:
    return rx.el.div(
        rx.foreach(
            tiles,
            lambda tile: rx.vstack(
                rx.text(tile.label, size="2", class_name="td-muted"),
                rx.text(tile.value, size="6", weight="bold", class_name="td-usage-value"),
                rx.text(tile.hint, size="1", class_name="td-muted"),
                spacing="1",
                class_name="td-card td-usage-tile",
            ),
        ),
        class_name="td-usage-tiles",
        aria_label=label,
        role="group",
    )


def section(title: str, *children: rx.Component, hint: str = "", icon: str = "") -> rx.Component:
    heading = rx.heading(title, size="5", as_="h2")
    return rx.vstack(
        rx.hstack(rx.icon(icon, size=20), heading, align="center", spacing="2")
        if icon
        else heading,
        rx.cond(hint != "", rx.text(hint, size="2", class_name="td-muted")),
        *children,
        spacing="2",
        width="100%",
        class_name="td-card td-usage-section",
    )


def _chart_frame(chart: rx.Component, *, label: str) -> rx.Component:
    """A chart at full width, announced to screen readers as one image named `label`."""
    return rx.box(chart, width="100%", class_name="td-usage-chart", aria_label=label, role="img")


def questions_per_day_chart(data: rx.Var[list[dict[str, Any]]]) -> rx.Component:
    return _chart_frame(
        rx.recharts.bar_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
            rx.recharts.x_axis(data_key="day", interval="preserveStartEnd", min_tick_gap=16),
            rx.recharts.y_axis(allow_decimals=False, width=36),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(),
            *[
                rx.recharts.bar(data_key=key, name=label, stack_id="questions", fill=colour)
                for key, label, colour in DAY_SERIES
            ],
            data=data,
            width="100%",
            height=280,
        ),
        label="Questions per day, last 30 days",
    )


def questions_per_technician_chart(data: rx.Var[list[dict[str, Any]]]) -> rx.Component:
    return rx.cond(
        data.length() > 0,
        _chart_frame(
            rx.recharts.bar_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3", horizontal=False),
                rx.recharts.x_axis(type_="number", allow_decimals=False),
                rx.recharts.y_axis(data_key="name", type_="category", width=132),
                rx.recharts.graphing_tooltip(),
                rx.recharts.bar(data_key="questions", name="Questions", fill="var(--accent-9)"),
                data=data,
                layout="vertical",
                width="100%",
                height=60 + 40 * data.length(),
            ),
            label="Questions per technician this month",
        ),
        rx.text("Nobody has asked a question this month yet.", class_name="td-muted"),
    )


def _row_list(
    items: rx.Var[list[Any]],
    *cells: Callable[[Any], rx.Component],
    label: str,
    empty: str | None = None,
    ordered: bool = False,
) -> rx.Component:
    """One list item per item, holding `cells(item)`; without items, the sentence `empty`
    (nothing when it is None)."""
    listing = (rx.el.ol if ordered else rx.el.ul)(
        rx.foreach(
            items,
            lambda item: rx.el.li(*[cell(item) for cell in cells], class_name="td-usage-row"),
        ),
        class_name="td-usage-list",
        aria_label=label,
    )
    if empty is None:
        return rx.cond(items.length() > 0, listing)
    return rx.cond(items.length() > 0, listing, rx.text(empty, class_name="td-muted"))


def _unanswered_row(item: rx.Var[Any]) -> rx.Component:
    return rx.hstack(
        rx.badge(item.count, size="2", color_scheme="tomato", variant="soft"),
        rx.text(item.question, size="3", class_name="td-usage-question"),
        rx.spacer(),
        rx.text(f"last {item.last_asked}", size="1", class_name="td-muted"),
        align="center",
        spacing="3",
        wrap="wrap",
        width="100%",
    )


def unanswered_list(items: rx.Var[list[Any]]) -> rx.Component:
    empty = "Every question of the last 30 days found an answer."
    return _row_list(
        items, _unanswered_row, label="Top unanswered questions", empty=empty, ordered=True
    )


def _thumbs_down_row(item: rx.Var[Any]) -> rx.Component:
    return rx.vstack(
        rx.text(item.question, weight="bold", size="3"),
        rx.text(item.answer, size="2", class_name="td-usage-answer"),
        rx.hstack(
            rx.icon("book_open", size=14),
            rx.text(item.manuals, size="1"),
            rx.text(f"· {item.when}", size="1", class_name="td-muted"),
            align="center",
            spacing="1",
            wrap="wrap",
        ),
        spacing="1",
        width="100%",
    )


def thumbs_down_list(items: rx.Var[list[Any]]) -> rx.Component:
    empty = "No answer has been marked thumbs down."
    return _row_list(items, _thumbs_down_row, label="Answers marked thumbs down", empty=empty)


def failed_list(items: rx.Var[list[Any]]) -> rx.Component:
    return _row_list(
        items,
        lambda item: rx.text(item.filename, weight="bold", size="2"),
        lambda item: rx.text(item.error, size="2", class_name="td-muted"),
        label="Manuals that failed",
    )


def empty_state(library_route: str, chat_route: str) -> rx.Component:
    return rx.vstack(
        rx.icon("chart_column", size=40, class_name="td-muted"),
        rx.heading("No usage yet", size="5", as_="h2"),
        rx.text(
            "Upload your first manual, then ask it a question in Chat. This page then shows "
            "how many questions your team asks, which ones your manuals cannot answer yet, "
            "and how fast answers come.",
            size="3",
            text_align="center",
        ),
        rx.hstack(
            rx.link(
                rx.button(rx.icon("upload", size=18), "Upload your first manual", size="3"),
                href=library_route,
            ),
            rx.link(
                rx.button("Open Chat", size="3", variant="outline"),
                href=chat_route,
            ),
            spacing="3",
            wrap="wrap",
            justify="center",
        ),
        align="center",
        spacing="3",
        width="100%",
        class_name="td-card td-usage-empty",
    )
