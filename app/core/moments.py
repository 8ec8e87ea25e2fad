"""Count, sum and M2 per bucket: what mean, RMS and standard deviation over any time range are
computed from, beside the min/max the chart draws (app.core.pyramid keeps all of them).

M2 is the sum of squared deviations from the bucket's own mean, not the sum of squares:
var = (sum(x^2) - sum(x)^2 / n) / n cancels catastrophically once the mean is large against
the spread: its relative error is about 1e-16 * (mean/std)^2, so a 1e5 offset on a ripple of 1
leaves 6 digits and a 1e8 offset none. Combining (count, sum, M2) the way Chan, Golub and
LeVeque do errs by about 1e-16 * |mean|/std instead (the rounding of each bucket's mean), so
the std agrees with numpy's two-pass `np.std` to 1e-9 up to offsets of some 1e6 times the
spread, and stays meaningful far beyond. It costs one more pass over a chunk's samples than
plain sums (the deviations from each bucket's mean) and nothing per sample at coarser levels
(buckets merge by formula). Count and sum are exact up to the order of the additions.

NaN is not a value: it is skipped (count, sum and M2 leave it out, as np.nanmean / np.nanstd
do; min/max already ignore it, as np.fmin). ±inf is a value: the sum becomes infinite and M2
NaN, as numpy's mean and std of such data.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np

from app.core.buckets import run_starts


def group_samples(idx: np.ndarray, values: np.ndarray):
    """Per run of equal (sorted) bucket indices of samples: (index, min, max, count, sum, M2),
    min/max NaN-ignoring as `buckets.group`, NaN left out of count, sum and M2."""
    starts, lengths = _runs(idx)
    mn, mx = np.fmin.reduceat(values, starts), np.fmax.reduceat(values, starts)
    total = np.add.reduceat(values, starts)
    if not np.isfinite(total).all():  # NaN among the samples (or inf)
        return (idx[starts], mn, mx, *_not_finite(values, starts, lengths))
    dev = np.repeat(total / lengths, lengths)
    np.subtract(values, dev, out=dev)
    np.multiply(dev, dev, out=dev)
    return idx[starts], mn, mx, lengths, total, np.add.reduceat(dev, starts)


def _not_finite(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray):
    """count, sum and M2 per run where some values are NaN (left out) or infinite (kept:
    an infinite sum, a NaN M2, as numpy's mean and std of such values)."""
    nan = np.isnan(values)
    count = np.add.reduceat(~nan, starts)
    values = np.where(nan, 0.0, values)
    total = np.add.reduceat(values, starts)
    with np.errstate(invalid="ignore"):
        dev = np.repeat(total / np.maximum(count, 1), lengths)
        np.subtract(values, dev, out=dev)
        dev[nan] = 0.0
        np.multiply(dev, dev, out=dev)
    return count, total, np.add.reduceat(dev, starts)


def _runs(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of equal sorted indices starts, and its length."""
    n = len(idx)
    if idx[0] == idx[-1]:
        return _ZERO, np.array([n])
    if (idx[-1] - idx[0]) * 8 < n:  # few long runs (samples): searched, not scanned
        edges = np.append(run_starts(idx), n)
    else:
        change = np.empty(n + 1, bool)
        change[0] = change[n] = True
        np.not_equal(idx[1:], idx[:-1], out=change[1:n])
        edges = np.flatnonzero(change)
    return edges[:-1], edges[1:] - edges[:-1]


_ZERO = np.zeros(1, np.int64)
_NO_CONTEXT = contextlib.nullcontext()


def group_buckets(idx, mn, mx, count, total, m2):
    """Runs of equal (sorted) indices of buckets merged into one bucket each: min/max as
    `buckets.group`, count and sum added, M2 combined (Chan et al.): the sum of the parts'
    M2 plus each part's count times its mean's squared distance from the merged mean."""
    starts, lengths = _runs(idx)
    n = np.add.reduceat(count, starts)
    s = np.add.reduceat(total, starts)
    finite = np.isfinite(s).all()
    with np.errstate(invalid="ignore") if not finite else _NO_CONTEXT:  # inf - inf: NaN
        dev = total / np.maximum(count, 1)  # an empty part (count 0, sum 0): mean 0 ...
        dev -= np.repeat(s / np.maximum(n, 1), lengths)
        dev *= dev
        dev *= count  # ... weighs nothing
        dev += m2
    return (
        idx[starts],
        np.fmin.reduceat(mn, starts),
        np.fmax.reduceat(mx, starts),
        n,
        s,
        np.add.reduceat(dev, starts),
    )


def group_small(idx: list, values: list):
    """`group_samples` for a few samples as Python lists (a loop beats numpy's calls up to
    some 30 samples): six lists. M2 is updated per sample (Welford), which agrees with the
    two-pass M2 to rounding."""
    ri: list = []
    mn: list = []
    mx: list = []
    cn: list = []
    cs: list = []
    cm: list = []
    prev = None
    for i, v in zip(idx, values, strict=True):
        if i != prev:
            ri.append(i)
            mn.append(v)
            mx.append(v)
            if v == v:
                cn.append(1)
                cs.append(v)
            else:
                cn.append(0)
                cs.append(0.0)
            cm.append(0.0)
            prev = i
            continue
        lo, hi = mn[-1], mx[-1]
        if v < lo or lo != lo:  # NaN-ignoring, as np.fmin
            mn[-1] = v
        if v > hi or hi != hi:
            mx[-1] = v
        if v == v:
            n, s = cn[-1], cs[-1]
            if n:
                n1, s1 = n + 1, s + v
                cm[-1] += (v - s / n) * (v - s1 / n1)
                cn[-1], cs[-1] = n1, s1
            else:
                cn[-1], cs[-1] = 1, v
    return ri, mn, mx, cn, cs, cm


def combine(na: int, sa: float, m2a: float, nb: int, sb: float, m2b: float):
    """Two parts' (count, sum, M2) as one (Chan et al.)."""
    if not nb:
        return na, sa, m2a
    if not na:
        return nb, sb, m2b
    n = na + nb
    d = sb / nb - sa / na
    return n, sa + sb, m2a + m2b + d * d * (na * nb / n)


@dataclass
class Moments:
    """What a time range of one series holds, for its statistics: count, sum and M2 of the
    values (NaN left out), min and max, the times of the first and last sample with a value
    (where only buckets are left, the start of the first / end of the last such bucket) and
    the newest value (NaN where that sample is gone: buckets keep no samples)."""

    count: int = 0
    total: float = 0.0
    m2: float = 0.0
    low: float = math.nan
    high: float = math.nan
    first_t: float = math.inf
    last_t: float = -math.inf
    last_value: float = math.nan

    def add(self, newer: Moments) -> None:
        """Fold in the moments of a range that starts where this one ends (or later)."""
        if not newer.count:
            return
        self.count, self.total, self.m2 = combine(
            self.count, self.total, self.m2, newer.count, newer.total, newer.m2
        )
        self.low = float(np.fmin(self.low, newer.low))
        self.high = float(np.fmax(self.high, newer.high))
        self.first_t = min(self.first_t, newer.first_t)
        self.last_t, self.last_value = newer.last_t, newer.last_value

    @classmethod
    def of_samples(cls, t: np.ndarray, v: np.ndarray, in_order: bool = True) -> Moments:
        """Moments of samples (times `t`, values `v`), two-pass like numpy: sum, then the
        squared deviations from the mean. `in_order`: `t` is sorted (else the newest is
        searched for)."""
        valid = ~np.isnan(v)
        if not valid.all():
            t, v = t[valid], v[valid]
        n = len(v)
        if not n:
            return cls()
        total = float(np.add.reduce(v))
        with np.errstate(invalid="ignore"):  # (inf - inf)
            dev = v - total / n
            np.multiply(dev, dev, out=dev)  # not np.dot: BLAS threads cost ms on a busy machine
            m2 = float(np.add.reduce(dev))
        if in_order:
            first_t, last_t, newest = float(t[0]), float(t[-1]), n - 1
        else:
            newest = int(np.argmax(t))
            first_t, last_t = float(t.min()), float(t[newest])
        return cls(n, total, m2, float(v.min()), float(v.max()), first_t, last_t, float(v[newest]))

    @classmethod
    def of_buckets(cls, idx, mn, mx, count, total, m2, width: float) -> Moments:
        """Moments of whole buckets (sorted `idx` of buckets `width` s wide); no sample is left
        in them, so the newest value is unknown (NaN) and times are bucket edges."""
        if not len(idx):
            return cls()
        n = int(count.sum())
        if not n:
            return cls()
        one = np.zeros(len(idx), np.int64)  # every bucket in one group
        _, _, _, _, gs, gm2 = group_buckets(one, mn, mx, count, total, m2)
        filled = np.flatnonzero(count)  # buckets that held only NaN have no count
        return cls(
            n,
            float(gs[0]),
            float(gm2[0]),
            float(np.fmin.reduce(mn)),
            float(np.fmax.reduce(mx)),
            float(idx[filled[0]]) * width,
            float(idx[filled[-1]] + 1) * width,
            math.nan,
        )
