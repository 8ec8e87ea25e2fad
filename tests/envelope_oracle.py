"""A brute-force reference for min/max envelopes, shared by the pyramid and store tests.

The contract checked: every drawn column is an interval [c*W, (c+1)*W) aligned to absolute time,
x is its centre, and its ymin/ymax are the true min/max (NaN-ignoring) of the samples inside it.
Every column of [t0, t1] that holds a sample is drawn; beyond the range at most one neighbour
column is drawn on each side, holding only values from that column.
"""

from __future__ import annotations

import math

import numpy as np


def column_of(t: np.ndarray, width: float) -> np.ndarray:
    """floor(t / width) computed exactly: width = odd * 2**e, and flooring twice is exact."""
    mantissa, exponent = math.frexp(width)
    odd, e = int(mantissa * 2**53), exponent - 53
    while odd % 2 == 0:
        odd //= 2
        e += 1
    return np.floor(np.ldexp(np.asarray(t, dtype=np.float64), -e)).astype(np.int64) // odd


QUANTUM = 2.0**-30  # every column width is a whole multiple of this (a power-of-two bucket)


def infer_width(x: np.ndarray) -> float:
    """Column width from the centres: the gcd of their steps, checked against x = (c + 1/2) W.

    Exact integer arithmetic: epoch seconds are multiples of 2**-22, so 2x / QUANTUM is an
    integer, and equals (2c + 1) * W / QUANTUM for some column c."""
    assert len(x) >= 2, "too few columns to tell their width"
    assert np.all(np.diff(x) > 0), "column centres must increase"
    twice = np.ldexp(np.asarray(x, dtype=np.float64), 31).astype(np.int64)  # 2x / QUANTUM
    assert np.array_equal(np.ldexp(twice.astype(np.float64), -31), x)
    units = int(np.gcd.reduce(np.diff(twice))) // 2  # W / QUANTUM
    assert units > 0
    assert np.all(twice % units == 0) and np.all((twice // units) % 2 == 1), "not aligned"
    return units * QUANTUM


def true_columns(t: np.ndarray, v: np.ndarray, width: float):
    """(column index, min, max) of every column holding a sample; t must be sorted."""
    cols = column_of(t, width)
    assert np.all(np.diff(cols) >= 0)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(cols)) + 1))
    return cols[starts], np.fmin.reduceat(v, starts), np.fmax.reduceat(v, starts)


def check_envelope(env, t, v, t0, t1, columns, min_width=None, max_width=None) -> float:
    """Assert `env` (x, ymin, ymax) is exact for samples (t, v); returns the column width.

    For samples that arrived late, pass as `t` the time of the bucket they were counted in
    (`np.maximum.accumulate` of arrival-ordered times).
    """
    x, ymin, ymax = (np.asarray(a) for a in env)
    assert len(x) == len(ymin) == len(ymax)
    width = infer_width(x)
    requested = (t1 - t0) / columns
    assert width >= (min_width or requested) * (1 - 1e-9), (width, requested)
    if max_width is not None:
        assert width <= max_width, (width, max_width)
    got_cols = column_of(x, width)
    c0, c1 = column_of(np.array([t0, t1]), width)
    order = np.argsort(t, kind="stable")
    want_cols, want_min, want_max = true_columns(t[order], v[order], width)

    inside = (got_cols >= c0) & (got_cols <= c1)
    want_inside = (want_cols >= c0) & (want_cols <= c1)
    np.testing.assert_array_equal(got_cols[inside], want_cols[want_inside])
    np.testing.assert_array_equal(ymin[inside], want_min[want_inside])
    np.testing.assert_array_equal(ymax[inside], want_max[want_inside])

    # neighbours beyond the range: at most one each side, holding values of that column only
    assert np.count_nonzero(got_cols < c0) <= 1
    assert np.count_nonzero(got_cols > c1) <= 1
    for i in np.flatnonzero(~inside):
        (j,) = np.flatnonzero(want_cols == got_cols[i])
        if np.isnan(ymin[i]):  # the part of the column it holds is NaN only
            assert np.isnan(ymax[i])
        else:
            assert want_min[j] <= ymin[i] <= ymax[i] <= want_max[j]
    return width
