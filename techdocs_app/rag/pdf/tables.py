"""Tables rebuilt from ruling lines: the rules are the grid, the page's words fill its cells."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import pymupdf

from techdocs_app.rag.pdf.content import MAX_TABLE_PATHS, Block
from techdocs_app.rag.pdf.lines import clean_line, join_lines


@dataclass(slots=True)
class _Seg:
    pos: float  # y for horizontal, x for vertical
    lo: float
    hi: float


def _segments(page: pymupdf.Page, paths: list[dict]) -> tuple[list[_Seg], list[_Seg]] | None:
    if len(paths) > MAX_TABLE_PATHS or len(paths) < 2:
        return None
    page_area = abs(page.rect)
    hs: list[_Seg] = []
    vs: list[_Seg] = []

    def add_rect(x0: float, y0: float, x1: float, y1: float) -> None:
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
        w, h = x1 - x0, y1 - y0
        if h <= 3 and w > 3:
            hs.append(_Seg((y0 + y1) / 2, x0, x1))
        elif w <= 3 and h > 3:
            vs.append(_Seg((x0 + x1) / 2, y0, y1))
        elif w > 3 and h > 3 and w * h < 0.5 * page_area:
            hs.extend((_Seg(y0, x0, x1), _Seg(y1, x0, x1)))
            vs.extend((_Seg(x0, y0, y1), _Seg(x1, y0, y1)))

    for p in paths:
        for item in p["items"]:
            op = item[0]
            if op == "l":
                (ax, ay), (bx, by) = item[1], item[2]
                if abs(ay - by) <= 1 and abs(ax - bx) > 3:
                    hs.append(_Seg((ay + by) / 2, min(ax, bx), max(ax, bx)))
                elif abs(ax - bx) <= 1 and abs(ay - by) > 3:
                    vs.append(_Seg((ax + bx) / 2, min(ay, by), max(ay, by)))
            elif op == "re":
                add_rect(*item[1])
            elif op == "qu":
                pts = item[1]
                xs = [pt[0] for pt in pts]
                ys = [pt[1] for pt in pts]
                add_rect(min(xs), min(ys), max(xs), max(ys))
    if len(hs) < 3 or len(vs) < 3:
        return None
    return _merge(hs), _merge(vs)


def _merge(segs: list[_Seg], tol: float = 1.5, gap: float = 2.0) -> list[_Seg]:
    segs = sorted(segs, key=lambda s: (round(s.pos), s.lo))
    out: list[_Seg] = []
    for s in sorted(segs, key=lambda s: (s.pos, s.lo)):
        for o in reversed(out[-8:]):
            if abs(o.pos - s.pos) <= tol and s.lo <= o.hi + gap and s.hi >= o.lo - gap:
                o.lo, o.hi = min(o.lo, s.lo), max(o.hi, s.hi)
                break
        else:
            out.append(_Seg(s.pos, s.lo, s.hi))
    return out


def _cluster(values: list[float], tol: float = 2.0) -> list[float]:
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(c) / len(c) for c in out]


def find_tables(
    page: pymupdf.Page, textpage: pymupdf.TextPage, paths: list[dict] | None = None
) -> list[Block]:
    segs = _segments(page, page.get_cdrawings() if paths is None else paths)
    if segs is None:
        return []
    hs, vs = segs
    tol = 2.0
    parent = list(range(len(hs) + len(vs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Rules that cross: only the vertical rules whose x lies within a horizontal rule's span
    # (found by bisection over the sorted x positions) are tested.
    v_order = sorted(range(len(vs)), key=lambda j: vs[j].pos)
    v_pos = [vs[j].pos for j in v_order]
    for i, h in enumerate(hs):
        lo = bisect.bisect_left(v_pos, h.lo - tol)
        hi = bisect.bisect_right(v_pos, h.hi + tol)
        for j in v_order[lo:hi]:
            v = vs[j]
            if v.lo - tol <= h.pos <= v.hi + tol:
                a, b = find(i), find(len(hs) + j)
                if a != b:
                    parent[a] = b
    groups: dict[int, tuple[list[_Seg], list[_Seg]]] = {}
    for i, h in enumerate(hs):
        groups.setdefault(find(i), ([], []))[0].append(h)
    for j, v in enumerate(vs):
        groups.setdefault(find(len(hs) + j), ([], []))[1].append(v)

    words = None
    tables: list[Block] = []
    for ghs, gvs in groups.values():
        ys = _cluster([h.pos for h in ghs])
        xs = _cluster([v.pos for v in gvs])
        if len(ys) < 3 or len(xs) < 3:
            continue
        if words is None:
            words = page.get_text("words", textpage=textpage)
        table = _fill_grid(ys, xs, ghs, gvs, words)
        if table is not None:
            tables.append(table)
    return tables


def _fill_grid(
    ys: list[float], xs: list[float], hsegs: list[_Seg], vsegs: list[_Seg], words: list[tuple]
) -> Block | None:
    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    # For each row, which inner column boundaries are really drawn (else the cells are merged).
    vsegs_at = [[v for v in vsegs if abs(v.pos - x) <= 2.0] for x in xs]
    starts: list[list[int]] = []
    for r in range(n_rows):
        mid = (ys[r] + ys[r + 1]) / 2
        row_starts = [0]
        for c in range(1, n_cols):
            if any(v.lo - 2 <= mid <= v.hi + 2 for v in vsegs_at[c]):
                row_starts.append(c)
        starts.append(row_starts)
    cells: list[list[list[tuple]]] = [[[] for _ in range(n_cols)] for _ in range(n_rows)]
    x0, y0, x1, y1 = xs[0], ys[0], xs[-1], ys[-1]
    for w in words:
        cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
        if not (x0 <= cx <= x1 and y0 <= cy <= y1):
            continue
        r = _bisect(ys, cy)
        c = _bisect(xs, cx)
        c = max(s for s in starts[r] if s <= c)
        cells[r][c].append(w)
    # Cells spanning several rows (no rule drawn between them in that column): the words go
    # together into the span's first row.
    hsegs_at = [[h for h in hsegs if abs(h.pos - y) <= 2.0] for y in ys]
    rows: list[list[str]] = [[""] * n_cols for _ in range(n_rows)]
    for c in range(n_cols):
        mid = (xs[c] + xs[c + 1]) / 2
        r = 0
        while r < n_rows:
            end = r
            while (
                end + 1 < n_rows
                and c in starts[end + 1]
                and not any(h.lo - 2 <= mid <= h.hi + 2 for h in hsegs_at[end + 1])
            ):
                end += 1
            ws = sorted(
                (w for rr in range(r, end + 1) for w in cells[rr][c]),
                key=lambda w: (w[5], w[6], w[7]),
            )
            text = clean_line(join_lines(_cell_lines(ws)))
            # Row labels (first column) repeat on every row; other spanned cells appear once,
            # which keeps large datasheet tables from multiplying their token count.
            for rr in range(r, end + 1) if c == 0 else (r,):
                rows[rr][c] = text
            r = end + 1
    rows = [
        sub
        for row_index, row in enumerate(rows)
        for sub in _split_stacked_row(row_index, rows[row_index], cells)
    ]
    rows = [row for row in rows if any(row)]
    keep = [c for c in range(n_cols) if any(row[c] for row in rows)]
    rows = [[row[c] for c in keep] for row in rows]
    caption = ""
    if len(rows) >= 3 and sum(1 for cell in rows[0] if cell) == 1 and len(keep) >= 2:
        caption = next(cell for cell in rows[0] if cell)
        rows = rows[1:]
    if len(rows) < 2 or len(keep) < 2:
        return None
    block = Block(kind="table", text="", bbox=(x0, y0, x1, y1), rows=rows, caption=caption)
    block.text = render_table(rows)
    return block


def _split_stacked_row(r: int, row: list[str], cells: list[list[list[tuple]]]) -> list[list[str]]:
    """A grid row holding several table rows (no rules between them, e.g. NEETS table 1-2).

    When two or more columns hold three or more lines each and their lines sit on the same
    baselines, every baseline becomes its own row. A single wrapped cell does not trigger this.
    """
    line_ys: list[list[float]] = []
    for words in cells[r]:
        ys = _cluster([(w[1] + w[3]) / 2 for w in words], tol=2.0)
        line_ys.append(ys)
    stacked = [ys for ys in line_ys if len(ys) >= 3]
    if len(stacked) < 2:
        return [row]
    baselines = _cluster([y for ys in stacked for y in ys], tol=2.0)
    if len(baselines) > max(len(ys) for ys in stacked) + 1:
        return [row]  # lines do not line up: wrapped text, keep the row whole
    out: list[list[str]] = [["" for _ in row] for _ in baselines]
    for c, words in enumerate(cells[r]):
        if not words:
            continue
        for w in sorted(words, key=lambda w: (w[5], w[6], w[7])):
            cy = (w[1] + w[3]) / 2
            i = min(range(len(baselines)), key=lambda k: abs(baselines[k] - cy))
            out[i][c] = f"{out[i][c]} {w[4]}".strip()
    filled = sum(1 for words in cells[r] if words)
    full_lines = sum(1 for sub in out if sum(1 for t in sub if t) >= 0.8 * filled)
    if full_lines < 0.8 * len(out):
        return [row]  # lines only partly filled: wrapped cells or a rotated header
    return [[clean_line(t) for t in sub] for sub in out]


def _bisect(bounds: list[float], v: float) -> int:
    for i in range(len(bounds) - 2, -1, -1):
        if v >= bounds[i]:
            return i
    return 0


def _cell_lines(ws: list[tuple]) -> list[str]:
    lines: list[str] = []
    key = None
    for w in ws:
        k = (w[5], w[6])
        if k != key:
            lines.append(w[4])
            key = k
        else:
            lines[-1] += " " + w[4]
    return lines


def render_table(rows: list[list[str]]) -> str:
    """Header row first, one row a line, cells separated by ' | '."""
    return "\n".join(" | ".join(cell for cell in row) for row in rows)
