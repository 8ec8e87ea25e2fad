"""Time buckets of the min/max pyramid: their widths, which level fits a column, and grouping
sorted bucket indices into one min/max each (app.core.moments groups samples into buckets with
their count, sum and M2 too, in numpy for many and plain Python for a few)."""

from __future__ import annotations

import math

import numpy as np

LEVEL0_EXP = -14
LEVELS = 13
CORE_SPAN = 4096  # buckets back from the newest: every view with columns of <= 2 buckets
FULL_SPAN = 8192  # every view that picks the level (columns of up to 4 buckets)


def bucket_width(level: int) -> float:
    return math.ldexp(1.0, LEVEL0_EXP + 2 * level)


def run_starts(idx: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values starts in the sorted array `idx`."""
    span = int(idx[-1] - idx[0])
    if span * 8 < len(idx):  # few long runs: O(runs log n) beats a pass over every sample
        starts = np.searchsorted(idx, np.arange(idx[0] + 1, idx[-1] + 1))
        keep = np.empty(len(starts), bool)
        keep[0] = True
        np.not_equal(starts[1:], starts[:-1], out=keep[1:])
        return np.concatenate(([0], starts[keep]))
    starts = np.flatnonzero(idx[1:] != idx[:-1])
    starts += 1
    return np.concatenate(([0], starts))


def group(idx: np.ndarray, mn: np.ndarray, mx: np.ndarray):
    """Collapse runs of equal (sorted) bucket indices to one min/max each (NaN-ignoring)."""
    if idx[0] == idx[-1]:
        return idx[:1], np.fmin.reduce(mn, keepdims=True), np.fmax.reduce(mx, keepdims=True)
    starts = run_starts(idx)
    return idx[starts], np.fmin.reduceat(mn, starts), np.fmax.reduceat(mx, starts)


INV_W0 = 1.0 / bucket_width(0)
INV_W = [1.0 / bucket_width(k) for k in range(LEVELS)]
FAR = 1 << 62  # bucket indices beyond this are not times (numpy's cast would wrap them)


def bucket_indices(times: np.ndarray, level: int) -> np.ndarray:
    """floor(t / width), exact: the width is a power of two. Epoch times are positive, so a
    truncating cast is a floor."""
    return (times * (1.0 / bucket_width(level))).astype(np.int64)


def sample_columns(t: np.ndarray, v: np.ndarray, k: int, m: int):
    """(x, min, max) per column of m level-k buckets, straight from samples in time order: the
    columns the level would give, for where it holds no buckets."""
    if not len(t):
        return np.empty(0), np.empty(0), np.empty(0)
    cols, mn, mx = group((bucket_indices(t, 0) >> (2 * k)) // m, v, v)
    return (cols + 0.5) * (m * bucket_width(k)), mn, mx


def levels_finer_than(spacing: float, levels: int = LEVELS) -> int:
    """How many levels have buckets no wider than `spacing` (the top level never counts)."""
    return sum(1 for k in range(levels - 1) if bucket_width(k) <= spacing)


def level_for(width: float, levels: int = LEVELS) -> int:
    """The coarsest level whose buckets are no wider than `width` (a column, in seconds)."""
    return min(max(int(math.log(width / bucket_width(0), 4)), 0), levels - 1)


def column_width(width: float, levels: int = LEVELS) -> float:
    """The exact column width an envelope uses for columns of about `width` seconds: a whole
    number of buckets (the same arithmetic as Pyramid.envelope, before any coverage fallback)."""
    width = max(width, bucket_width(0))
    b = bucket_width(level_for(width, levels))
    return max(1, math.ceil(width / b - 1e-9)) * b
