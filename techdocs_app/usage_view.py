"""The usage page's figures shaped for the screen: chart rows, tiles and list items in words.

Pure functions of a `UsageReport` (no database, no Reflex), so that the page's state only assigns
what `usage_view(report)` returns and the wording is unit-tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from techdocs_app.db.usage import AnswerSpeed, LibraryFigures
from techdocs_app.usage import UsageReport

FORMER_MEMBER = "Former member"
NO_MANUAL_CITED = "No manual cited"
ANSWER_PREVIEW_CHARS = 240

DAY_KEYS = ("answered", "closest", "not_found")
"""The outcome keys of a questions-per-day row (`components.usage.DAY_SERIES` charts them)."""


@dataclass
class Tile:
    label: str = ""
    value: str = ""
    hint: str = ""


@dataclass
class UnansweredItem:
    question: str = ""
    count: int = 0
    last_asked: str = ""


@dataclass
class ThumbsDownItem:
    question: str = ""
    answer: str = ""
    manuals: str = ""
    when: str = ""


@dataclass
class FailedItem:
    filename: str = ""
    error: str = ""


@dataclass
class UsageView:
    new_shop: bool = True
    summary: list[Tile] = field(default_factory=list)
    per_day: list[dict[str, Any]] = field(default_factory=list)
    per_technician: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[UnansweredItem] = field(default_factory=list)
    thumbs_down: list[ThumbsDownItem] = field(default_factory=list)
    library: list[Tile] = field(default_factory=list)
    failed_manuals: list[FailedItem] = field(default_factory=list)
    speed: list[Tile] = field(default_factory=list)


def day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def date_label(value: datetime) -> str:
    return f"{value.day} {value:%b %Y}"


def size_label(size_bytes: int) -> str:
    """Bytes in words: '0 B', '512 B', '2.0 KB', '13.4 MB', '1.2 GB'."""
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def ms_label(ms: float | None) -> str:
    """'—' when nothing was measured; '850 ms' below a second; '2.4 s' above."""
    if ms is None:
        return "—"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def share_label(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "—"


def preview(text: str, limit: int = ANSWER_PREVIEW_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _summary(report: UsageReport) -> list[Tile]:
    month = report.month
    answered = month.answered + month.closest
    return [
        Tile(
            "Questions this month",
            f"{month.total}",
            f"since {day_label(report.period.month_start)}",
        ),
        Tile(
            "Answered from your manuals",
            share_label(answered, month.total),
            f"{month.answered} answered, {month.closest} closest passages",
        ),
        Tile(
            "Not in your manuals",
            f"{month.not_found}",
            "questions your manuals could not answer"
            + (f"; {month.failed} failed" if month.failed else ""),
        ),
    ]


def _library(figures: LibraryFigures) -> list[Tile]:
    in_progress = f", {figures.processing} processing" if figures.processing else ""
    return [
        Tile("Manuals", f"{figures.ready}", f"ready of {figures.manuals}{in_progress}"),
        Tile("Pages", f"{figures.pages:,}", "in ready manuals"),
        Tile("Passages", f"{figures.passages:,}", "searchable"),
        Tile("Storage used", size_label(figures.storage_bytes), "uploaded PDFs"),
        Tile("Failed manuals", f"{figures.failed}", "see below" if figures.failed else "none"),
    ]


def _speed(speed: AnswerSpeed) -> list[Tile]:
    hint = f"{speed.answers} answers, last 30 days"
    return [
        Tile("First words, typical (p50)", ms_label(speed.first_token_p50_ms), hint),
        Tile("First words, slow (p95)", ms_label(speed.first_token_p95_ms), hint),
        Tile("Whole answer, typical (p50)", ms_label(speed.total_p50_ms), hint),
        Tile("Whole answer, slow (p95)", ms_label(speed.total_p95_ms), hint),
    ]


def usage_view(report: UsageReport) -> UsageView:
    return UsageView(
        new_shop=report.is_new_shop,
        summary=_summary(report),
        per_day=[
            {
                "day": day_label(d.day),
                "answered": d.answered,
                "closest": d.closest,
                "not_found": d.not_found,
            }
            for d in report.per_day
        ],
        per_technician=[
            {"name": t.name or FORMER_MEMBER, "questions": t.questions}
            for t in report.per_technician
        ],
        unanswered=[
            UnansweredItem(q.question, q.count, date_label(q.last_asked)) for q in report.unanswered
        ],
        thumbs_down=[
            ThumbsDownItem(
                question=preview(t.question, 200) or "(question not kept)",
                answer=preview(t.answer),
                manuals=t.manuals or NO_MANUAL_CITED,
                when=date_label(t.created_at),
            )
            for t in report.thumbs_down
        ],
        library=_library(report.library),
        failed_manuals=[
            FailedItem(f.filename, f.error or "Processing failed.") for f in report.failed_manuals
        ],
        speed=_speed(report.speed),
    )
