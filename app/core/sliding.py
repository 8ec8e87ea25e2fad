"""Parallel numpy arrays that keep their newest `capacity` rows, always contiguous.

A ring buffer wraps, so every read of a time range has two cases; here the rows live in a
buffer of `capacity + slack` rows and slide back to the front when the slack is used up, so
the held rows are one slice: `np.searchsorted` and slicing work directly. A slide copies up to
`capacity` rows once per `slack` rows appended: with a slack equal to the capacity (the default)
that is one copy per row, what a ring fed millions of rows a second can afford. A small ring fed
a few rows a second takes a slack of an eighth: 8 copies per row nobody notices, and 44 % less
memory, which is what lets a thousand slow series share a budget.

Allocated and written in full when created or resized, never as data arrives: the memory is
resident from the start, so the process's RSS stays flat and `nbytes` is what it really uses.
"""

from __future__ import annotations

import numpy as np


class SlidingArrays:
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

    @property
    def row_bytes(self) -> int:
        return sum(c.itemsize for c in self.columns)

    def resize(self, capacity: int, slack: int | None = None) -> int:
        """From now on keep the newest `capacity` (>= the current) rows. Every held row is kept,
        in order, with its absolute row number; returns the bytes added. The old arrays are
        released: `nbytes` stays what is allocated."""
        if capacity < self.capacity:
            raise ValueError(f"cannot shrink from {self.capacity} to {capacity} rows")
        before = self.nbytes
        slack = capacity if slack is None else slack
        n = len(self)
        columns = [np.full(capacity + slack, 0, c.dtype) for c in self.columns]
        for dst, src in zip(columns, self.columns, strict=True):
            dst[:n] = src[self.start : self.end]
        self.columns, self.capacity, self.slack = columns, capacity, slack
        self.start, self.end = 0, n
        return self.nbytes - before

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
        cap = self.capacity
        if n > cap:
            raise ValueError(f"cannot reserve {n} rows in a capacity of {cap}")
        if self.end + n > cap + self.slack:
            keep = min(self.end - self.start, cap - n)
            src = slice(self.end - keep, self.end)
            for c in self.columns:
                c[:keep] = c[src]
            self.start, self.end = 0, keep
        dst = slice(self.end, self.end + n)
        self.end += n
        self.total += n
        if self.end - self.start > cap:
            self.start = self.end - cap
            self.wrapped = True
        return [c[dst] for c in self.columns]

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
