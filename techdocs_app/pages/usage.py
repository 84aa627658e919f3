"""/usage: what the shop uses (owners and admins): questions per day and per technician, top
unanswered questions, 👎 answers, the library, answer speed; what to do first in a new shop."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.usage import (
    empty_state,
    failed_list,
    questions_per_day_chart,
    questions_per_technician_chart,
    section,
    thumbs_down_list,
    tile_grid,
    unanswered_list,
)
from techdocs_app.pages.frame import signed_in_frame
from techdocs_app.state.usage import UsageState

ROUTE = "/usage"
TITLE = "Usage · TechDocs AI"


def _figures() -> rx.Component:
    return rx.vstack(
        tile_grid(UsageState.summary, label="This month"),
        section(
            "Questions per day",
            questions_per_day_chart(UsageState.per_day),
            hint="Last 30 days: answered, closest passages, and not in your manuals.",
        ),
        section(
            "Questions per technician",
            questions_per_technician_chart(UsageState.per_technician),
            hint="This month.",
        ),
        section(
            "Top unanswered questions",
            unanswered_list(UsageState.unanswered),
            hint="Questions your manuals could not answer (last 30 days): the manuals to upload next.",
        ),
        section(
            "Answers marked thumbs down",
            thumbs_down_list(UsageState.thumbs_down),
            hint="The newest first, with the question and the manual the answer cited.",
            icon="thumbs_down",
        ),
        section(
            "Library",
            tile_grid(UsageState.library, label="Library"),
            failed_list(UsageState.failed_manuals),
        ),
        section(
            "Answer speed",
            tile_grid(UsageState.speed, label="Answer speed"),
            hint="Time to the first words and to the whole answer, from the query log.",
        ),
        spacing="4",
        width="100%",
    )


def usage_page() -> rx.Component:
    return signed_in_frame(
        rx.vstack(
            rx.heading("Usage", size="7", as_="h1"),
            rx.text(
                "What your shop asks, what your manuals answer, and what is missing.",
                size="3",
                class_name="td-muted",
            ),
            rx.cond(
                UsageState.loaded,
                rx.cond(
                    UsageState.refused != "",
                    rx.callout(UsageState.refused, icon="lock", color_scheme="gray", size="2"),
                    rx.cond(UsageState.new_shop, empty_state("/library", "/"), _figures()),
                ),
                rx.center(rx.spinner(size="3"), width="100%", padding="24px"),
            ),
            spacing="4",
            width="100%",
        ),
        active_route=ROUTE,
    )
