"""Parallel numpy arrays that keep their newest `capacity` rows, always contiguous.

A ring buffer wraps, so every read of a time range has two cases; here the rows live in a
buffer of `capacity + slack` rows and slide back to the front when the slack is used up, so
the held rows are one slice: `np.searchsorted` and slicing work directly. A slide copies up to
`capacity` rows once per `slack` rows appended: a slack equal to the capacity (the default) is
one copy per row, what arrays fed millions of rows a second can afford; small arrays fed a few
rows a second take a quarter (`slack_for`): 4 copies per row nobody notices, 38 % less memory.

Built on it, the two kinds of rows a series keeps (app.core.store): `SampleRing`
(app.core.sample_ring), its newest samples, and `Level` (app.core.pyramid_level), one level of
its min/max pyramid, (bucket, min, max).

Allocated and written in full when created or resized, never as data arrives: the memory is
resident from the start, so the process's RSS stays flat and `nbytes` is what it really uses.
"""

from __future__ import annotations

from collections.abc import Callable

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
