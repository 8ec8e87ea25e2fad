"""A min/max pyramid: what makes a frame cost O(pixels) instead of O(samples).

Level k holds min and max per time bucket of width 2**(-14 + 2k) s (61 us, 244 us, ... 17 min),
buckets aligned to absolute time. Appending n samples costs O(n) once; a frame then reads at
most a few thousand buckets from the level whose width fits a pixel column, whatever the rate
or the window. Columns are whole multiples of a bucket and aligned to absolute time, so each
drawn column is the *exact* min/max of the samples in its interval (peaks never vanish) and
the picture does not shimmer as the window scrolls.

Each level keeps only its most recent buckets, so memory is bounded per series: fine levels
cover recent data at full resolution, coarse levels cover long history. A fixed pyramid holds
`capacity` buckets per level from the start; a growing one (`initial`, `grow`) starts each level
small and asks its owner before a level would forget buckets (see app.core.store for when it
grows). Either way a read falls back to the next coarser level where a level has forgotten.

What a level is for: a frame asks for at most ~2048 columns, and picks level k for columns of
1 to 4 buckets (m), so level k serves spans up to FULL_SPAN = 8192 of its buckets; with
CORE_SPAN = 4096 it serves every view with m <= 2. A view with m = 3 it does not cover falls back
to level k+1 with columns 4/3 as wide; with m = 4 the fallback columns are the same ones.

Beside min/max, each bucket keeps count, sum and M2 (app.core.moments), so statistics over a
long range read buckets, not samples (app.core.range_moments). Min and max do not mind a bucket
passed up twice, sums do: a level's newest row may still grow, so it is passed up with its
count, sum and M2 as zero (its min/max as they are) and passed again, whole, once it is no
longer the newest. So in every level above the base all rows but the newest are complete; the
base level's rows, fed by samples, all are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise

import numpy as np

from app.core.buckets import (  # noqa: F401  (re-exported: the pyramid's vocabulary)
    CORE_SPAN,
    FAR,
    FULL_SPAN,
    INV_W,
    INV_W0,
    LEVEL0_EXP,
    LEVELS,
    bucket_indices,
    bucket_width,
    column_width,
    group,
    level_for,
    levels_finer_than,
    run_starts,
    sample_columns,
)
from app.core.moments import group_buckets, group_samples, group_small
from app.core.pyramid_level import COLUMNS, Level
from app.core.sliding import slack_for

RawColumns = Callable[[int, int, int, int], "tuple[np.ndarray, np.ndarray, np.ndarray] | None"]


class Pyramid:
    """The base level (level 0 unless `fit_base` says the samples are sparser) is updated on
    every append; each coarser level is brought up to date lazily, from the level below, only
    when a read needs it or before the level below would forget buckets it has not passed on.
    A frame showing 30 s reads level ~3, so levels 4..12 cost nothing per batch; doing every
    level per append was most of the append time.

    `capacity` is each level's maximum. With `initial`, levels start at that many buckets and,
    before one would forget a bucket, `grow(k, idx)` is called (k: the level, idx: the buckets
    about to be merged); it may `resize` the level. Without, levels hold `capacity` for good."""

    def __init__(
        self,
        capacity: int = 8192,
        levels: int = LEVELS,
        initial: int | None = None,
        grow: Callable[[int, np.ndarray], None] | None = None,
    ):
        self.capacity = capacity
        if initial is None:  # fixed: as much spare as capacity (one copy per row; see sliding)
            self.levels = [Level(capacity) for _ in range(levels)]
        else:
            start = min(initial, capacity)
            self.levels = [Level(start, slack_for(start)) for _ in range(levels)]
        self.grow = grow
        self.base = 0  # the finest level fed; finer ones would hold one sample per bucket
        self._last0: int | None = None  # the newest level-0 bucket so far: what is late
        # per level j: absolute row number of the first bucket not yet passed up to level j+1
        # (rows are appended in order, so no search is needed), and how many were added since
        self._pending_from = [0] * levels
        self._pending = [0] * levels
        self.last_column_width = 0.0  # of the last envelope: m * bucket width, seconds

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self.levels)

    def resize(self, k: int, capacity: int) -> int:
        """Let level k hold `capacity` buckets (at least `shrink_floor(k)`); returns the bytes
        added. Growing keeps all it holds; shrinking forgets its oldest buckets, which the
        levels above have seen."""
        if capacity < self.shrink_floor(k):
            raise ValueError(f"level {k} has buckets to pass on that {capacity} would drop")
        return self.levels[k].rows.resize(capacity)

    def shrink_floor(self, k: int) -> int:
        """The fewest buckets level k can keep without dropping one not yet passed up."""
        return self._pending[k] + 2

    def append(self, times: np.ndarray, values: np.ndarray, ordered: bool = False) -> int:
        """Add samples (times in epoch seconds) to the base level. Returns how many arrived out
        of order (judged by level-0 bucket); those are kept, in the newest bucket at the time
        they arrived. `ordered`: the times are known to be sorted, skip that check."""
        if not len(times):
            return 0
        last, late = self._last0, 0
        if (ordered or not np.any(times[1:] < times[:-1])) and (
            last is None or int(times[0] * INV_W0) >= last
        ):
            idx = bucket_indices(times, self.base)
            self._last0 = int(times[-1] * INV_W0)
        else:
            idx = bucket_indices(times, 0)
            before = idx.copy()
            if last is not None:
                np.maximum(idx, last, out=idx)
            np.maximum.accumulate(idx, out=idx)
            late = int(np.count_nonzero(idx != before))
            self._last0 = int(idx[-1])
            idx >>= 2 * self.base
        self._merge(self.base, *group_samples(idx, values))
        return late

    def append_small(self, times: list, values: list, ordered: bool = False) -> int | None:
        """`append` for a few samples given as Python floats, bucketed and grouped in plain
        Python: for 5 samples a dozen numpy calls on tiny arrays cost 11 us, this 3.5. The
        same buckets, lateness and NaN-ignoring min/max as `append`; where the level must be
        asked to grow or the rows would overfill it, they are merged the numpy way. None, with
        nothing changed, for times that are NaN, infinite or far from any epoch (numpy's cast
        gives them some bucket, with a warning): then call `append`."""
        last, base = self._last0, self.base
        try:
            first0 = int(times[0] * INV_W0)
            if (ordered or not any(b < a for a, b in pairwise(times))) and (
                last is None or first0 >= last
            ):
                inv = INV_W[base]
                idx, late, last0 = [int(t * inv) for t in times], 0, int(times[-1] * INV_W0)
            else:  # late samples go to the newest level-0 bucket so far, as in `append`
                idx, late, last0, shift = [], 0, first0 if last is None else last, 2 * base
                for t in times:
                    i = int(t * INV_W0)
                    if i < last0:
                        late, i = late + 1, last0
                    last0 = i
                    idx.append(i >> shift)
        except (ValueError, OverflowError):  # NaN or infinite times
            return None
        if not -FAR < idx[0] <= idx[-1] < FAR:
            return None
        rows = group_small(idx, values)
        if not self._merge_small(base, rows):
            self._merge(base, *(np.array(c, d) for c, d in zip(rows, COLUMNS, strict=True)))
        self._last0 = last0
        return late

    def _merge_small(self, j: int, new: tuple) -> bool:
        """`_merge` of a few rows as lists (`Level.merge_small`); False, with nothing changed,
        where it would not be a plain merge: the top level, growth to ask for, more rows than
        the level holds."""
        level = self.levels[j]
        rows, n = level.rows, len(new[0])
        cap = rows.capacity
        if n >= cap or j == len(self.levels) - 1:
            return False
        if (
            rows.end - rows.start + n > cap < self.capacity
            and self.grow is not None
            and rows.total >= level.retry_at
        ):
            return False
        if self._pending[j] + 1 + n > cap:
            self._propagate(j)
        level.merge_small(*new)
        self._pending[j] += n
        return True

    def fit_base(self, spacing: float) -> None:
        """Feed from the first level whose buckets are wider than the sample `spacing`: finer
        ones would hold one sample per bucket, as the owner's raw samples do. Lowered only once
        the level below would hold two samples a bucket, so a rate near a boundary does not make
        a level flap between fed and emptied."""
        up, down = levels_finer_than(spacing), levels_finer_than(2 * spacing)
        if up > self.base or down < self.base:
            self.set_base(up if up > self.base else down)

    def set_base(self, base: int) -> None:
        """Feed level `base` from now on. Levels below stop receiving and are emptied, after
        passing on what they hold: at the series' sample spacing they would hold one sample
        per bucket, which the raw ring has. A level fed again starts empty (covering nothing
        before its first bucket), so no level ever claims samples it did not get."""
        for j in range(self.base, base):  # raised: pass everything on, newest rows whole
            self._propagate(j, final=True)
        for j in range(min(base, self.base), max(base, self.base)):
            self.levels[j].restart()
            self._pending_from[j], self._pending[j] = self.levels[j].rows.total, 0
        self.base = base

    def _merge(self, j: int, *new: np.ndarray) -> None:
        """Merge rows `new` (index, min, max, count, sum, M2) into level j. No level may forget
        a bucket the level above has not seen, so what is pending is passed up just before a
        merge could push it out (as late as possible: upper levels are then updated in few,
        large steps), and a merge of more than the level holds is passed up whole at once,
        with the newest row held before it (passed up without its sums so far)."""
        level = self.levels[j]
        rows = level.rows
        idx = new[0]
        n = len(idx)
        if (
            self.grow is not None
            and len(rows) + n > rows.capacity < self.capacity
            and rows.total >= level.retry_at
        ):
            self.grow(j, idx)
        if j == len(self.levels) - 1:
            level.merge(*new)
            return
        if self._pending[j] + 1 + n > rows.capacity:  # + 1: the last row passed up may grow
            self._propagate(j)
        if n >= rows.capacity:
            last = slice(rows.end - 1 if len(rows) else rows.end, rows.end)
            held = [c[last].copy() for c in rows.columns]  # its sums are not up there yet
            level.merge(*new)
            level.changed = False
            self._pending_from[j], self._pending[j] = rows.total - 1, 0
            up = [np.concatenate((h, c)) for h, c in zip(held, new, strict=True)]
            for c in up[3:]:
                c[-1] = 0  # the newest row may still grow: its sums go up later
            up[0] >>= 2
            self._merge(j + 1, *group_buckets(*up))
            return
        level.merge(*new)
        self._pending[j] += n

    def sync(self, upto: int | None = None) -> None:
        """Bring levels 1..`upto` (default: all) up to date with level 0."""
        upto = len(self.levels) - 1 if upto is None else upto
        for j in range(upto):
            self._propagate(j)

    def _propagate(self, j: int, final: bool = False) -> None:
        """Pass level j's buckets since the last time up into level j+1: the newest without
        its sums (it may still grow; it is passed again next time), unless `final` (level j
        is fed no more)."""
        level = self.levels[j]
        if not (level.changed or final):
            return
        level.changed = False
        rows = level.rows
        s = rows.since(self._pending_from[j])
        if s.stop <= s.start:
            return
        up = [c[s] for c in rows.columns]
        up[0] = up[0] >> 2
        if not final:
            up[3:] = [c.copy() for c in up[3:]]
            for c in up[3:]:
                c[-1] = 0
        self._pending_from[j] = rows.total - (0 if final else 1)
        self._pending[j] = 0
        self._merge(j + 1, *group_buckets(*up))

    def envelope(self, t0: float, t1: float, columns: int, raw: RawColumns | None = None):
        """(x, ymin, ymax) per column for the time span [t0, t1], at most ~`columns` columns.

        x is the column's centre. Each column is a whole number of buckets, aligned to
        absolute time, so its min/max are exact for the samples inside it. Where the level has
        forgotten the start of the span, `raw(k, m, first, last)` may give the same columns
        from the samples themselves (or None); otherwise the next coarser level is used."""
        width = max((t1 - t0) / max(columns, 1), bucket_width(0))
        k = level_for(width, len(self.levels))
        while True:
            b = bucket_width(k)
            m = max(1, math.ceil(width / b - 1e-9))
            first = math.floor(t0 / b) // m * m  # the first bucket of the first column
            last = math.floor(t1 / b) // m * m + m - 1  # the last bucket of the last column
            self.sync(k)  # levels 1..k only: coarser ones are not read by this frame
            if self.levels[k].covers(first):
                break
            got = raw(k, m, first, last) if raw is not None else None
            if got is not None:
                self.last_column_width = m * b
                return got
            if k == len(self.levels) - 1:
                break
            k += 1
        self.last_column_width = m * b
        idx, mn, mx = self.levels[k].window(first, last)
        if not len(idx):
            empty = np.empty(0)
            return empty, empty, empty
        cols, cmn, cmx = group(idx // m, mn, mx)
        return (cols + 0.5) * (m * b), cmn, cmx
