"""Parallel numpy arrays that keep their newest `capacity` rows, always contiguous.

A ring buffer wraps, so every read of a time range has two cases; here the rows live in a
buffer of `capacity + slack` rows and slide back to the front when the slack is used up, so
the held rows are one slice: `np.searchsorted` and slicing work directly. A slide copies up to
`capacity` rows once per `slack` rows appended: a slack equal to the capacity (the default) is
one copy per row, what arrays fed millions of rows a second can afford; small arrays fed a few
rows a second take a quarter (`slack_for`): 4 copies per row nobody notices, 38 % less memory.

Built on it, the two kinds of rows a series keeps (app.core.store): `SampleRing`, its newest
samples, and `Level`, one level of its min/max pyramid (app.core.pyramid), (bucket, min, max).

Allocated and written in full when created or resized, never as data arrives: the memory is
resident from the start, so the process's RSS stays flat and `nbytes` is what it really uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise

import numpy as np

FAST_ROWS = 1 << 13  # arrays this big are fed fast, or grew because memory is plentiful


def slack_for(capacity: int) -> int:
    """Spare rows for arrays that grow with their data: a full slack where they are big (fed
    fast, or grown while memory is plentiful: one copy per row), a quarter where they are small
    and fed slowly (four copies per row; an eighth saved 10 % more memory but cost a 10 kHz
    series 10 % more per append)."""
    return capacity if capacity >= FAST_ROWS else max(capacity // 4, 4)


def pow2(n: int) -> int:
    """The smallest power of two >= n (1 for n <= 1)."""
    return 1 << max(int(n) - 1, 0).bit_length()


def free_by_halving(
    parts: list[tuple[SlidingArrays, int]], extra: int, take: Callable[[int], bool]
) -> bool:
    """Make room for `extra` more bytes by halving `parts`, each (rows, floor) down to no fewer
    than `floor` rows, in order and as few as needed: each candidate is offered to `take` as
    the net change of bytes, and only the first it accepts is carried out. False (and nothing
    shrunk) if all of them are not enough."""
    plan: list[tuple[SlidingArrays, int]] = []
    freed = 0
    for rows, floor in parts:
        cap, gain = rows.capacity, 0
        while cap // 2 >= floor:
            cap //= 2
            gain = -rows.resize_cost(cap)
            if take(extra - freed - gain):
                for shrink, size in [*plan, (rows, cap)]:
                    shrink.resize(size)
                return True
        if gain:
            plan.append((rows, cap))
            freed += gain
    return False


class SlidingArrays:
    __slots__ = ("capacity", "columns", "end", "slack", "start", "total", "wrapped")

    def __init__(self, capacity: int, *dtypes, slack: int | None = None):
        self.capacity = capacity
        self.slack = capacity if slack is None else slack
        # written once now, not as data arrives: the memory is resident from the start, so the
        # process's RSS stays flat and the buffer size shown in the UI is what it really uses
        self.columns = [np.full(capacity + self.slack, 0, dtype) for dtype in dtypes]
        self.start = self.end = 0
        self.total = 0  # rows ever appended: the absolute number of the next row
        self.wrapped = False  # older rows have been forgotten

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.columns)

    def resize_cost(self, capacity: int) -> int:
        """The bytes `resize(capacity)` would add (negative: free)."""
        return (capacity + slack_for(capacity)) * sum(
            c.itemsize for c in self.columns
        ) - self.nbytes

    def resize(self, capacity: int) -> int:
        """From now on keep the newest `capacity` rows (spare: `slack_for`), in new arrays (the
        old ones are released: `nbytes` stays what is allocated). Growing keeps every held row;
        shrinking forgets the oldest that do not fit. Row numbers go on. Returns bytes added."""
        before = self.nbytes
        slack = slack_for(capacity)
        n = min(len(self), capacity)
        self.wrapped |= n < len(self)
        columns = [np.full(capacity + slack, 0, c.dtype) for c in self.columns]
        for dst, src in zip(columns, self.columns, strict=True):
            dst[:n] = src[self.end - n : self.end]
        self.columns, self.capacity, self.slack = columns, capacity, slack
        self.start, self.end = 0, n
        return self.nbytes - before

    def forget(self) -> None:
        """Drop every held row (row numbering goes on): covers nothing until rows come again."""
        self.start = self.end = 0
        self.wrapped = True

    def held(self, column: int) -> np.ndarray:
        return self.columns[column][self.start : self.end]

    def last(self, column: int):
        return self.columns[column][self.end - 1] if self.end > self.start else None

    def append(self, *arrays: np.ndarray) -> None:
        n = len(arrays[0])
        if n > self.capacity:
            arrays, n = [a[-self.capacity :] for a in arrays], self.capacity
            self.wrapped = True
        for dst, a in zip(self.reserve(n), arrays, strict=True):
            dst[:] = a

    def reserve(self, n: int) -> list[np.ndarray]:
        """Make `n` (<= capacity) new rows at the end and return them, one view per column, for
        the caller to fill in place (saves a temporary copy per column at high rates)."""
        at = self.make_room(n)
        return [c[at : at + n] for c in self.columns]

    def make_room(self, n: int) -> int:
        """Make `n` (<= capacity) new rows at the end; returns the index of the first, for the
        caller to write into `columns` (small appends write a few elements, not views)."""
        cap, end = self.capacity, self.end
        if n > cap:
            raise ValueError(f"cannot reserve {n} rows in a capacity of {cap}")
        if end + n > cap + self.slack:
            keep = min(end - self.start, cap - n)
            self.wrapped |= keep < end - self.start  # possible once slack < capacity
            src = slice(end - keep, end)
            for c in self.columns:
                c[:keep] = c[src]
            self.start, end = 0, keep
        self.end = end + n
        self.total += n
        if self.end - self.start > cap:
            self.start = self.end - cap
            self.wrapped = True
        return end

    def since(self, row: int) -> slice:
        """Rows from absolute row number `row` (or the oldest still held) to the newest."""
        return slice(max(self.end - (self.total - row), self.start), self.end)

    def count_from(self, key: int, value) -> int:
        """How many held rows have sorted column `key` >= `value`."""
        held = self.held(key)
        return len(held) - int(np.searchsorted(held, value, "left"))

    def slice_between(self, key: int, lo, hi) -> slice:
        """Rows whose sorted column `key` lies in [lo, hi], plus one neighbour each side."""
        held = self.held(key)
        a = max(int(np.searchsorted(held, lo, "left")) - 1, 0)
        b = min(int(np.searchsorted(held, hi, "right")) + 1, len(held))
        return slice(self.start + a, self.start + b)

    def covers(self, key: int, value) -> bool:
        """True if nothing older than `value` was forgotten."""
        return not self.wrapped or (len(self) > 0 and self.columns[key][self.start] <= value)


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


_ARANGE = np.arange(1 << 17, dtype=np.float64)


class SampleRing(SlidingArrays):
    """The newest samples of one series, (time, value) rows in arrival order. Reads search the
    times, so the ring also tracks whether the rows it holds are in time order."""

    __slots__ = ("in_order_from",)

    def __init__(self, capacity: int, slack: int | None = None):
        super().__init__(capacity, np.float64, np.float64, slack=slack)
        self.in_order_from = 0  # absolute row from which rows are in order (and after all before)

    @property
    def in_order(self) -> bool:
        return self.total - len(self) >= self.in_order_from

    def add(
        self, values: np.ndarray, t0: float, dt: float, times: np.ndarray | None, after: float
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Append samples at explicit `times`, or at t0 + i * dt (the same arithmetic as
        Chunk.timestamps, bit for bit), written straight into the ring: no temporaries.
        Returns the rows as stored, (times, values), and whether they are in time order and
        not before `after` (the newest time so far)."""
        n = len(values)
        if n > self.capacity:
            rt, rv = (t0 + dt * np.arange(n) if times is None else times), values
            self.append(rt, rv)
        else:
            rt, rv = self.reserve(n)
            if times is None:
                np.multiply(_ARANGE[:n] if n <= len(_ARANGE) else np.arange(n), dt, out=rt)
                rt += t0
            else:
                rt[:] = times
            rv[:] = values
        in_order = rt[0] >= after and (dt >= 0 if times is None else not np.any(rt[1:] < rt[:-1]))
        if not in_order:
            self.in_order_from = self.total
        return rt, rv, in_order

    def add_small(
        self, values: np.ndarray, t0: float, dt: float, times: np.ndarray | None, after: float
    ) -> tuple[list, list, bool]:
        """`add` for a few samples (no more than the capacity), returned as Python lists for
        the caller's scalar work: numpy's fixed cost per call, not the samples, is what a
        chunk of 5 costs, so this takes 1.6 us where `add` takes 2.4. Times are t0 + i * dt in
        the same float arithmetic as `add`, bit for bit."""
        vs = values.tolist()
        n = len(vs)
        if times is None:
            ts = [t0 + dt * i for i in range(n)]
            in_order = ts[0] >= after and dt >= 0
        else:
            ts = times.tolist()
            in_order = ts[0] >= after and not any(b < a for a, b in pairwise(ts))
        at = self.make_room(n)
        self.columns[0][at : at + n] = ts
        self.columns[1][at : at + n] = values
        if not in_order:
            self.in_order_from = self.total
        return ts, vs, in_order

    def spacing(self) -> float:
        """Mean time between the samples held (0 while fewer than two)."""
        t = self.held(0)
        return float(t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 else 0.0

    def recent(self, n: int, first: float, newest: float, seconds: float) -> int:
        """How many rows lie within `seconds` of the newest once n samples from `first` to
        `newest` are added (for a chunk longer than that, in proportion)."""
        spread = newest - first
        fresh = n if spread <= seconds else math.ceil(n * seconds / spread)
        return fresh + self.count_from(0, newest - seconds)
