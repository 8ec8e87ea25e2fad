"""One level of a series' pyramid: the newest buckets of one width, (index, min, max, count,
sum, M2) rows in a SlidingArrays (see app.core.pyramid for what the levels are for, and
app.core.moments for count, sum and M2: what statistics over a time range are made of)."""

from __future__ import annotations

import math

import numpy as np

from app.core.moments import combine
from app.core.sliding import SlidingArrays

I8, F8 = np.int64, np.float64
COLUMNS = (I8, F8, F8, I8, F8, F8)  # index, min, max, count, sum, M2


class Level:
    """The newest `capacity` buckets of one level: columns index, min, max, count, sum, M2."""

    __slots__ = ("changed", "partial_row", "retry_at", "rows")  # 13 a series: dicts add up

    def __init__(self, capacity: int, slack: int | None = None):
        self.rows = SlidingArrays(capacity, *COLUMNS, slack=slack)
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

    def merge(self, idx, mn, mx, count, total, m2) -> None:
        """Add buckets with sorted unique indices >= the last one held (numpy arrays)."""
        rows = self.rows
        self.changed = True
        if len(rows) and idx[0] == rows.columns[0][rows.end - 1]:
            self._merge_last(mn[0], mx[0], count[0], total[0], m2[0])
            idx, mn, mx, count, total, m2 = idx[1:], mn[1:], mx[1:], count[1:], total[1:], m2[1:]
        if len(idx):
            rows.append(idx, mn, mx, count, total, m2)

    def _merge_last(self, mn, mx, count, total, m2) -> None:
        """One bucket's worth into the newest row (the same bucket)."""
        c = self.rows.columns
        j = self.rows.end - 1
        lo, hi = c[1][j], c[2][j]
        if mn < lo or lo != lo:  # NaN-ignoring, as np.fmin
            c[1][j] = mn
        if mx > hi or hi != hi:
            c[2][j] = mx
        if count:
            c[3][j], c[4][j], c[5][j] = combine(c[3][j], c[4][j], c[5][j], count, total, m2)

    def merge_small(self, idx: list, mn: list, mx: list, count: list, total: list, m2: list):
        """`merge` for a few rows given as Python lists (no more than the capacity): element by
        element (40 ns each), or for more than 4 rows a slice per column (210 ns each)."""
        rows = self.rows
        self.changed = True
        c0, c1, c2, c3, c4, c5 = rows.columns
        end, n, k = rows.end, len(idx), 0
        if end > rows.start and idx[0] == c0[end - 1]:  # into the newest bucket held
            self._merge_last(mn[0], mx[0], count[0], total[0], m2[0])
            k = 1
        if n - k > 4:
            at = rows.make_room(n - k)
            b = at + n - k
            c0[at:b], c1[at:b], c2[at:b] = idx[k:], mn[k:], mx[k:]
            c3[at:b], c4[at:b], c5[at:b] = count[k:], total[k:], m2[k:]
        elif k < n:
            at = rows.make_room(n - k)
            for i in range(k, n):
                c0[at], c1[at], c2[at] = idx[i], mn[i], mx[i]
                c3[at], c4[at], c5[at] = count[i], total[i], m2[i]
                at += 1

    def window(self, lo: int, hi: int):
        """(index, min, max) of buckets with lo <= index <= hi, plus one neighbour each side
        (lines reach the edges)."""
        s = self.rows.slice_between(0, lo, hi)
        return tuple(c[s] for c in self.rows.columns[:3])

    def between(self, lo: int, hi: int):
        """Every column of the buckets with lo <= index < hi (views, not copies)."""
        held = self.rows.held(0)
        a, b = np.searchsorted(held, lo, "left"), np.searchsorted(held, hi, "left")
        s = slice(self.rows.start + int(a), self.rows.start + int(b))
        return tuple(c[s] for c in self.rows.columns)

    def first_complete(self) -> float:
        """The first bucket index from which this level forgot nothing and lacks no sample
        (-inf: it never forgot any; inf: it holds nothing)."""
        rows = self.rows
        if not rows.wrapped:
            return -math.inf
        if not len(rows):
            return math.inf
        first = int(rows.columns[0][rows.start])
        return first + 1 if rows.total - len(rows) == self.partial_row else first

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
