"""Page images: one page of a stored PDF as PNG, bounded and cached.

A PDF page can declare any size (14,400 × 14,400 points is legal): rendered as asked, it would
take gigabytes. `render_png` scales the page down so the image stays within `max_page_pixels`
(and `MAX_SIDE` per side), renders at most `RENDER_SLOTS` pages at once per process, and keeps
recent images in a byte-bounded LRU (`PageImageCache`) keyed by organization, document, stored
file, page, highlight and zoom, so opening the same source twice renders once.

The web route runs its rendering (and the PDF's download, with Supabase Storage) through
`run_render`: `RENDER_SLOTS` threads of its own. Requests waiting for a turn wait there, not on
the default executor's threads that serve every database call (`asyncio.to_thread`): a burst of
page images slows page images, never everyone's page loads.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from techdocs_app.errors import NotFound
from techdocs_app.settings import get_settings
from techdocs_app.work_pools import WorkPool

MAX_SIDE = 8192
"""No side of a page image is longer than this many pixels."""
RENDER_SLOTS = 2
"""Pages rendered at once per process (each can hold up to `max_page_pixels` × 3 bytes)."""

_render_slots = threading.BoundedSemaphore(RENDER_SLOTS)

T = TypeVar("T")
_render_pool = WorkPool("page-image", RENDER_SLOTS)


async def run_render(fn: Callable[..., T], /, *args: object) -> T:
    """`fn(*args)` on the page-image threads (with the caller's context: request ids in logs)."""
    return await _render_pool.run(fn, *args)


def capped_zoom(width_pt: float, height_pt: float, zoom: float, *, max_pixels: int) -> float:
    """`zoom`, or less so that the page fits `max_pixels` and `MAX_SIDE` (never above `zoom`)."""
    width_pt, height_pt = max(width_pt, 1.0), max(height_pt, 1.0)
    limit = zoom
    if width_pt * height_pt * zoom * zoom > max_pixels:
        limit = math.sqrt(max_pixels / (width_pt * height_pt))
    limit = min(limit, MAX_SIDE / width_pt, MAX_SIDE / height_pt)
    # MuPDF rounds the image's size up to whole pixels: stay under the cap after rounding.
    while limit > 0.01 and (
        math.ceil(width_pt * limit) * math.ceil(height_pt * limit) > max_pixels
        or max(math.ceil(width_pt * limit), math.ceil(height_pt * limit)) > MAX_SIDE
    ):
        limit *= 0.999
    return max(limit, 0.01)


class PageImageCache:
    """A least-recently-used map of rendered PNGs, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            png = self._items.get(key)
            if png is not None:
                self._items.move_to_end(key)
            return png

    def put(self, key: tuple, png: bytes) -> None:
        if len(png) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = png
            self._bytes += len(png)
            while self._bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)


@lru_cache(maxsize=2)
def _cache_for(max_bytes: int) -> PageImageCache:
    return PageImageCache(max_bytes)


def page_image_cache() -> PageImageCache:
    return _cache_for(get_settings().page_image_cache_mb * 1024 * 1024)


def cache_key(
    *,
    org_id: int,
    document_id: int,
    storage_key: str,
    page: int,
    highlight: Sequence[dict] | None,
    zoom: float,
) -> tuple:
    boxes = json.dumps(list(highlight or ()), sort_keys=True, default=str)
    digest = hashlib.sha256(boxes.encode()).hexdigest()[:24]
    return (org_id, document_id, storage_key, page, digest, round(zoom, 3))


def render_png(path: Path, *, page: int, highlight: Sequence[dict] | None, zoom: float) -> bytes:
    """Render one page (1-based) of the PDF at `path` with the highlight boxes drawn on it."""
    import pymupdf

    with _render_slots, pymupdf.open(str(path), filetype="pdf") as pdf:
        if not 1 <= page <= pdf.page_count:
            raise NotFound("That page is not in this manual.")
        pdf_page = pdf[page - 1]
        for box in highlight or ():
            if int(box.get("page", page)) != page:
                continue
            try:
                rect = pymupdf.Rect(
                    float(box["x0"]), float(box["y0"]), float(box["x1"]), float(box["y1"])
                )
            except (KeyError, TypeError, ValueError):
                continue
            if rect.is_empty:
                continue
            shape = pdf_page.new_shape()
            shape.draw_rect(rect)
            shape.finish(
                color=(0.95, 0.6, 0.0),
                fill=(1.0, 0.85, 0.0),
                fill_opacity=0.35,
                stroke_opacity=0.9,
                width=1.2,
            )
            shape.commit()
        bounds = pdf_page.rect
        scale = capped_zoom(
            bounds.width, bounds.height, zoom, max_pixels=get_settings().max_page_pixels
        )
        pixmap = pdf_page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
        return pixmap.tobytes("png")
