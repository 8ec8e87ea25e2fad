"""Every drawn series' column min/max, kept from frame to frame: what lets a scrolling frame
fetch only the newest columns from the store instead of each series' whole window.

Rows are series (slots, reused as series come and go); columns are the grid's absolute columns
first .. first + ncols - 1, held in a ring of exactly ncols array columns: window column j lives
at array column (off + j) % ncols, so a scroll moves `off` and blanks the columns that come in,
and never copies the rest (sliding a 1,000-series window back to the front of a wider array took
30 ms, one frame in every ncols columns). Per cell: lo/hi (NaN where the store has no column, or
one of NaN only) and whether the store has a column there at all, which is what the dense test
counts (strip_grid.is_dense): per row, columns present and adjacent pairs, kept up to date by
every change. Per column: the min/max over all rows, recomputed only where something changed,
so the frame's y extent is one reduction over ncols values. Changes record the window columns
they touched in `dirty`: the painter redraws those and nothing else.
"""

from __future__ import annotations

import numpy as np


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


class ColumnCache:
    def __init__(self, cw: float, first: int, ncols: int, rows: int = 8):
        self.cw, self.first, self.ncols = cw, first, ncols
        self.off = 0  # array column of window column 0
        rows = max(rows, 1)
        self.lo = np.full((rows, ncols), np.nan)
        self.hi = np.full((rows, ncols), np.nan)
        self.has = np.zeros((rows, ncols), bool)
        self.present = np.zeros(rows, np.int64)  # columns the store has, per row
        self.pairs = np.zeros(rows, np.int64)  # of those, side by side
        self.colmin, self.colmax = np.full(ncols, np.nan), np.full(ncols, np.nan)
        self.dirty = np.zeros(ncols, bool)  # window columns changed since `begin`
        self._free = list(range(rows))[::-1]

    def span(self, j0: int, j1: int) -> slice | np.ndarray:
        """Array columns of window columns j0..j1-1: a slice unless they wrap round."""
        a = (self.off + j0) % self.ncols
        if a + (j1 - j0) <= self.ncols:
            return slice(a, a + j1 - j0)
        return (self.off + np.arange(j0, j1)) % self.ncols

    @property
    def window(self) -> slice | np.ndarray:
        """Array columns of the window, in order (index `lo`, `hi`, `has` with it)."""
        return self.span(0, self.ncols)

    # -- rows ------------------------------------------------------------------------------------
    def add_row(self) -> int:
        if not self._free:
            n = len(self.lo)
            self.lo = np.vstack([self.lo, np.full_like(self.lo, np.nan)])
            self.hi = np.vstack([self.hi, np.full_like(self.hi, np.nan)])
            self.has = np.vstack([self.has, np.zeros_like(self.has)])
            self.present = np.concatenate([self.present, np.zeros(n, np.int64)])
            self.pairs = np.concatenate([self.pairs, np.zeros(n, np.int64)])
            self._free = list(range(2 * n - 1, n - 1, -1))
        return self._free.pop()

    def remove_row(self, slot: int) -> None:
        self.clear(slot)
        self._free.append(slot)

    def clear(self, slot: int) -> None:
        """Empty a row; its columns are to be repainted (without it)."""
        self.mark(slot)
        self.lo[slot], self.hi[slot], self.has[slot] = np.nan, np.nan, False
        self.present[slot] = self.pairs[slot] = 0

    def mark(self, slot: int) -> None:
        """Every column the row has is to be repainted (a colour changed, it became a line)."""
        self.dirty |= self.has[slot, self.window]

    # -- the window ------------------------------------------------------------------------------
    def begin(self, shift: int) -> None:
        """Start a frame `shift` (0 <= shift < ncols) columns further on: columns leave on the
        left (their counts with them), blank ones come in on the right."""
        self.dirty[:] = False
        if shift <= 0:
            return
        k, has = shift, self.has
        leaving, next_right = self.span(0, k), self.span(1, k + 1)
        self.present -= np.count_nonzero(has[:, leaving], axis=1)
        self.pairs -= np.count_nonzero(has[:, leaving] & has[:, next_right], axis=1)
        self.off = (self.off + k) % self.ncols
        self.first += k
        new = self.span(self.ncols - k, self.ncols)  # the array columns just left
        self.lo[:, new] = self.hi[:, new] = np.nan
        self.has[:, new] = False
        self.colmin[new] = self.colmax[new] = np.nan

    # -- changes ---------------------------------------------------------------------------------
    def write(self, slot: int, j0: int, j: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """Replace window columns j0.. of a row with the store's columns (j >= j0, sorted)."""
        if j0 >= self.ncols:
            return
        if not self.present[slot]:  # an empty row (a new series): nothing to compare
            self.dirty[j] = True
            cell = (self.off + j) % self.ncols
            self.lo[slot, cell], self.hi[slot, cell], self.has[slot, cell] = lo, hi, True
            self.present[slot] = len(j)
            self.pairs[slot] = np.count_nonzero(np.diff(j) == 1)
            return
        n = self.ncols - j0
        new_lo, new_hi, new_has = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool)
        new_lo[j - j0], new_hi[j - j0], new_has[j - j0] = lo, hi, True
        cells = self.span(j0, self.ncols)
        old_has = self.has[slot, cells]
        changed = (old_has != new_has) | ~_same(self.lo[slot, cells], new_lo)
        changed |= ~_same(self.hi[slot, cells], new_hi)
        self.dirty[j0:] |= changed
        # pairs (c, c + 1) with c + 1 >= j0 change; the one reaching left of j0 included
        left = j0 > 0 and self.has[slot, (self.off + j0 - 1) % self.ncols]
        before = np.count_nonzero(old_has[1:] & old_has[:-1]) + bool(left and old_has[0])
        after = np.count_nonzero(new_has[1:] & new_has[:-1]) + bool(left and new_has[0])
        self.pairs[slot] += after - before
        self.present[slot] += np.count_nonzero(new_has) - np.count_nonzero(old_has)
        self.lo[slot, cells], self.hi[slot, cells], self.has[slot, cells] = new_lo, new_hi, new_has

    def merge(self, slots: np.ndarray, j: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """Widen cells (slots[i], j[i]) by new samples' min/max; each series' cells together and
        in column order, each once. Exact: a cell already holds every earlier sample of its
        column."""
        n = self.ncols
        c = (self.off + j) % n
        old_lo, old_hi, old_has = self.lo[slots, c], self.hi[slots, c], self.has[slots, c]
        new_lo, new_hi = np.fmin(old_lo, lo), np.fmax(old_hi, hi)
        changed = (new_lo != old_lo) | (new_hi != old_hi)  # (a NaN cell counts as changed)
        changed |= ~old_has
        self.dirty[j[changed]] = True
        self.lo[slots, c], self.hi[slots, c], self.has[slots, c] = new_lo, new_hi, True
        fresh = ~old_has
        if not fresh.any():
            return
        # a pair turns complete when a fresh cell meets a present neighbour; a pair of two
        # fresh cells is counted once, as the left pair of the right one
        next_fresh = np.zeros(len(j), bool)
        next_fresh[:-1] = (slots[1:] == slots[:-1]) & (j[1:] == j[:-1] + 1) & fresh[1:]
        left = (j > 0) & self.has[slots, (c - 1) % n]
        right = (j + 1 < n) & self.has[slots, (c + 1) % n] & ~next_fresh
        size = len(self.present)
        self.present += np.bincount(slots, fresh, size).astype(np.int64)
        self.pairs += np.bincount(slots, fresh & left, size).astype(np.int64)
        self.pairs += np.bincount(slots, fresh & right, size).astype(np.int64)

    # -- reads -----------------------------------------------------------------------------------
    def dense(self) -> np.ndarray:
        """Per slot: columns mostly side by side (strip_grid.is_dense), from the kept counts."""
        return (self.present >= 3) & (self.pairs >= 0.9 * (self.present - 1))

    def extent(self) -> tuple[float, float]:
        """(min, max) of every row's columns in the window; (inf, -inf) without data. Brings
        the per-column aggregates of dirty columns up to date first."""
        cols = (self.off + np.flatnonzero(self.dirty)) % self.ncols
        if len(cols):
            self.colmin[cols] = np.fmin.reduce(self.lo[:, cols], axis=0)
            self.colmax[cols] = np.fmax.reduce(self.hi[:, cols], axis=0)
        lo, hi = float(np.fmin.reduce(self.colmin)), float(np.fmax.reduce(self.colmax))
        return (lo, hi) if not np.isnan(lo) else (np.inf, -np.inf)

    def stretched(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) at window columns `cols` (sorted) for `rows`, each column reaching to its
        left neighbour's range, so a jumping signal reads as a connected trace (the pixels a
        line would cover). A column of NaN only, or none, stays empty; column 0 has no
        neighbour."""
        c0, k = int(cols[0]), len(cols)
        if cols[-1] - c0 + 1 == k:  # a run: one gather of it and its left neighbour
            span = self.span(max(c0 - 1, 0), c0 + k)
            pick = (rows, span) if isinstance(span, slice) else (rows[:, None], span)
            blocks = []
            for values in (self.lo, self.hi):
                block = np.empty((len(rows), k + 1))  # the left neighbour, then cols
                if c0 > 0:
                    block[:] = values[pick]
                else:
                    block[:, 0] = np.nan
                    block[:, 1:] = values[pick]
                blocks.append(block)
            lo, hi, prev_lo, prev_hi = (*(b[:, 1:] for b in blocks), *(b[:, :-1] for b in blocks))
        else:
            at = (self.off + cols) % self.ncols
            before = (at - 1) % self.ncols
            lo, hi = self.lo[rows[:, None], at], self.hi[rows[:, None], at]
            prev_lo, prev_hi = self.lo[rows[:, None], before], self.hi[rows[:, None], before]
            if c0 == 0:
                prev_lo[:, 0] = prev_hi[:, 0] = np.nan
        filled = ~np.isnan(lo)
        new_lo, new_hi = lo.copy(), hi.copy()
        np.fmin(lo, prev_hi, out=new_lo, where=filled)
        np.fmax(hi, prev_lo, out=new_hi, where=filled)
        return new_lo, new_hi

    def bands(self, slots: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per row: (column centres, lo, hi) as drawn (stretched), at the columns it has."""
        lo, hi = self.stretched(slots, np.arange(self.ncols))
        w = self.window
        has = self.has[slots, w] if isinstance(w, slice) else self.has[slots[:, None], w]
        x = (self.first + np.arange(self.ncols) + 0.5) * self.cw
        return [(x[h], lo[i][h], hi[i][h]) for i, h in enumerate(has)]
