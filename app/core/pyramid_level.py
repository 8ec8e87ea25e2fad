"""One level of a series' min/max pyramid: the newest buckets of one width, (index, min, max)
rows in a SlidingArrays (see app.core.pyramid for what the levels are for)."""

from __future__ import annotations

import numpy as np

from app.core.sliding import SlidingArrays


class Level:
    """The newest `capacity` buckets of one level: columns index, min, max."""

    __slots__ = ("changed", "partial_row", "retry_at", "rows")  # 13 a series: dicts add up

    def __init__(self, capacity: int, slack: int | None = None):
        self.rows = SlidingArrays(capacity, np.int64, np.float64, np.float64, slack=slack)
        self.changed = False  # merged into since the level above last looked
        self.retry_at = 0  # absolute row: do not ask to grow again before it (asked, refused)
        self.partial_row = -1  # absolute row that may lack samples: the first after `restart`

    @property
    def nbytes(self) -> int:
        return self.rows.nbytes

    @property
    def last_index(self) -> int | None:
        last = self.rows.last(0)
        return None if last is None else int(last)

    def merge(self, idx: np.ndarray, mn: np.ndarray, mx: np.ndarray) -> None:
        """Add buckets with sorted unique indices >= the last one held."""
        rows = self.rows
        self.changed = True
        if len(rows) and idx[0] == rows.columns[0][rows.end - 1]:
            j = rows.end - 1
            rows.columns[1][j] = np.fmin(rows.columns[1][j], mn[0])
            rows.columns[2][j] = np.fmax(rows.columns[2][j], mx[0])
            idx, mn, mx = idx[1:], mn[1:], mx[1:]
        if len(idx):
            rows.append(idx, mn, mx)

    def merge_small(self, idx: list, mn: list, mx: list) -> None:
        """`merge` for a few rows given as Python lists (no more than the capacity): element by
        element (40 ns each), or for more than 4 rows a slice per column (210 ns each)."""
        rows = self.rows
        self.changed = True
        c0, c1, c2 = rows.columns
        end, n, k = rows.end, len(idx), 0
        if end > rows.start and idx[0] == c0[end - 1]:  # into the newest bucket held
            lo, hi, v, w = c1[end - 1], c2[end - 1], mn[0], mx[0]
            if v < lo or lo != lo:  # NaN-ignoring, as np.fmin
                c1[end - 1] = v
            if w > hi or hi != hi:
                c2[end - 1] = w
            k = 1
        if n - k > 4:
            at = rows.make_room(n - k)
            c0[at : at + n - k], c1[at : at + n - k], c2[at : at + n - k] = idx[k:], mn[k:], mx[k:]
        elif k < n:
            at = rows.make_room(n - k)
            for i in range(k, n):
                c0[at], c1[at], c2[at] = idx[i], mn[i], mx[i]
                at += 1

    def window(self, lo: int, hi: int):
        """Buckets with lo <= index <= hi, plus one neighbour each side (lines reach the edges)."""
        s = self.rows.slice_between(0, lo, hi)
        return tuple(c[s] for c in self.rows.columns)

    def covers(self, index: int) -> bool:
        """Nothing older than bucket `index` forgotten, and that bucket complete."""
        rows = self.rows
        if rows.total - len(rows) == self.partial_row and len(rows):
            return rows.columns[0][rows.start] < index
        return rows.covers(0, index)

    def restart(self) -> None:
        """Forget every bucket; the next one may start mid-bucket (fed anew from samples while
        what came before went elsewhere), so it does not count as covered."""
        self.rows.forget()
        self.changed = False
        self.partial_row = self.rows.total

    def rows_within(self, idx: np.ndarray, span: int) -> int:
        """Rows this level would hold within `span` buckets of the newest, after merging `idx`."""
        lo = int(idx[-1]) - span + 1
        held = self.rows.count_from(0, lo)
        if held and idx[0] == self.rows.columns[0][self.rows.end - 1]:
            held -= 1  # merged into the last row, not a new one
        return held + len(idx) - int(np.searchsorted(idx, lo))
