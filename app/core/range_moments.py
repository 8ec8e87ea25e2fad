"""The moments (count, sum, M2, min, max, newest value) of one series over a time range, from
its raw ring and its pyramid's buckets: what the statistics table shows, at a cost that does not
grow with the samples in range.

Where the raw ring still holds every sample of the range, the samples are read: exact (numpy's
two passes over the same values). Otherwise whole buckets serve the part the ring has forgotten,
fine ones near the ring and coarse ones further back (the coarsest whose whole buckets fit: a
range of hours reads a few hundred rows, not millions of samples), and the samples the ring
holds serve the rest. Buckets are aligned to absolute time and each level's width is 4 times
the one below, so the parts meet without overlap: every sample is counted once.

Only an edge of the range that lies where the ring has forgotten the samples is not exact: the
bucket holding it is counted whole, so the moments cover [start, end] a little wider than the
range (start <= t0, end >= t1; the finest level that still holds that time decides by how
much). The result says so (`RangeMoments.start`, `end`). Where nothing at all is held any more
the range starts later (start > t0), and a part no level can give whole (a level fed again after
the series slowed down holds its first bucket only in part: rare, brief) is left out and said
to be (`complete`).

A level's newest bucket lacks the sums of the level below's newest bucket (app.core.pyramid:
they are passed up once it is complete); read here, it gets them added, level by level from the
base, so every bucket a level holds is whole when read.

Samples that arrived late (out of time order) are filed by the pyramid in the bucket that was
newest when they came; the ring keeps their own time. Where both serve a range such a sample
may be missed by both (never counted twice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.core.buckets import bucket_width
from app.core.moments import Moments, combine
from app.core.pyramid import Pyramid
from app.core.sample_ring import SampleRing

FAR_S = 1e15  # seconds: beyond any time a sample has (30 million years)


@dataclass
class RangeMoments:
    """Moments of the samples with start <= time <= end (the range asked for, unless an edge
    lay where only buckets remain: see the module docstring); `complete`: no part of it
    was left out."""

    moments: Moments
    start: float
    end: float
    complete: bool = True


@dataclass(frozen=True)
class _Level:
    k: int
    width: float
    first: float  # the first bucket index it holds whole (-inf, inf, or an index)
    stop: int  # one past its newest bucket
    newest: tuple  # count, sum, M2 of its newest bucket, whole


def moments_between(
    raw: SampleRing, pyramid: Pyramid, t0: float, t1: float, first: float = -math.inf
) -> RangeMoments:
    """Moments of the samples with t0 <= time <= t1 (see the module docstring); `first`: the
    series' first sample's time, if known (a range from before it has no edge to widen).
    Reads; brings the pyramid's levels up to date first, as a frame does."""
    if not t1 >= t0:  # (NaN too)
        return RangeMoments(Moments(), t0, t1)
    t0, t1 = max(t0, -FAR_S), min(t1, FAR_S)  # -inf..inf: everything; floor() needs finite
    raw_from = raw_holds_from(raw)
    if t0 >= raw_from:
        return RangeMoments(_raw(raw, t0, t1), t0, t1)
    pyramid.sync()
    levels = _levels(pyramid)
    # a bucket may reach past t1 where no sample does: past the newest, whatever the bucket
    limit = math.inf if t1 >= _newest(raw) else t1
    total = Moments()
    start, end, complete = t0, t1, True
    pos = t0
    while pos <= t1:
        if pos >= raw_from:
            total.add(_raw(raw, pos, t1))
            break
        run = _whole_buckets(levels, pos, limit)
        if run is not None:
            level, i, j = run
            total.add(_buckets(pyramid, level, i, j))
            pos = j * level.width
            continue
        # no whole bucket at pos fits in the range: an edge, counted with its whole bucket
        level = _finest_holding(levels, pos)
        if level is not None:
            i = math.floor(pos / level.width)
            if i * level.width < pos and pos > t0:  # it would count samples counted already
                level = None
        if level is None:  # forgotten, or a part no level holds whole: go on where one does
            resume = _next_held(levels, raw_from, pos)
            if pos == t0:
                start = resume
            elif resume <= t1:
                complete = False
            pos = resume
            continue
        edge = _buckets(pyramid, level, i, i + 1)
        total.add(edge)
        pos = (i + 1) * level.width
        if edge.count:  # (an empty bucket adds no sample beyond the range)
            if i * level.width < t0 and t0 > first:
                start = i * level.width
            if pos > limit:
                end = float(np.nextafter(pos, -math.inf))
    if start > t1:  # nothing held in the range
        start = t1
    if total.count:
        total.first_t = max(total.first_t, first)  # a bucket's start: none came before first
        if not raw.in_order or t1 >= raw_from:  # the newest value: a bucket does not tell
            newest = _newest_value(raw, max(raw_from, start), t1)
            if newest is not None:
                total.last_t, total.last_value = newest
    return RangeMoments(total, start, max(end, start), complete)


def _newest_value(raw: SampleRing, a: float, b: float) -> tuple[float, float] | None:
    """(time, value) of the ring's newest sample with a <= time <= b that is a number."""
    t, v = raw.held(0), raw.held(1)
    if raw.in_order:
        lo, hi = np.searchsorted(t, a, "left"), np.searchsorted(t, b, "right")
        if hi > lo and v[hi - 1] == v[hi - 1]:  # the usual case: no NaN at the end
            return float(t[hi - 1]), float(v[hi - 1])
        t, v = t[lo:hi], v[lo:hi]
    else:
        keep = (t >= a) & (t <= b)
        t, v = t[keep], v[keep]
    ok = np.flatnonzero(~np.isnan(v))
    if not len(ok):
        return None
    i = ok[-1] if raw.in_order else ok[np.argmax(t[ok])]
    return float(t[i]), float(v[i])


def _newest(raw: SampleRing) -> float:
    """The newest sample's time (the ring always holds it), -inf for none."""
    if not len(raw):
        return -math.inf
    times = raw.held(0)
    return float(times[-1]) if raw.in_order else float(times.max())


def raw_holds_from(raw: SampleRing) -> float:
    """The time from which the ring holds every sample (-inf: it never forgot one; inf: it
    holds none of a series that had some): just after its oldest (a sample it forgot may
    have had the same time). Out of order, after the oldest time it holds."""
    if not raw.wrapped:
        return -math.inf
    if not len(raw):
        return math.inf
    times = raw.held(0)
    oldest = times[0] if raw.in_order else times.min()
    return float(np.nextafter(oldest, math.inf))


def _raw(raw: SampleRing, a: float, b: float) -> Moments:
    """Moments of the ring's samples with a <= time <= b."""
    t, v = raw.held(0), raw.held(1)
    if raw.in_order:
        lo, hi = np.searchsorted(t, a, "left"), np.searchsorted(t, b, "right")
        return Moments.of_samples(t[lo:hi], v[lo:hi])
    keep = (t >= a) & (t <= b)
    return Moments.of_samples(t[keep], v[keep], in_order=False)


def _levels(pyramid: Pyramid) -> list[_Level]:
    """Levels fed (the base and above), finest first, with the buckets each holds whole and
    its newest bucket's sums made whole: the base level's are; above it, a level's newest
    bucket holds the level below's newest bucket, but not yet its sums (app.core.pyramid)."""
    out: list[_Level] = []
    below = None  # the newest bucket of the level below: (index, count, sum, M2), whole
    for k in range(pyramid.base, len(pyramid.levels)):
        rows = pyramid.levels[k].rows
        if not len(rows):
            below = None
            continue
        last = rows.end - 1
        idx, count, total, m2 = (rows.columns[c][last] for c in (0, 3, 4, 5))
        idx = int(idx)
        if below is not None and below[0] >> 2 == idx:
            count, total, m2 = combine(count, total, m2, *below[1:])
        below = (idx, count, total, m2)
        first = pyramid.levels[k].first_complete()
        out.append(_Level(k, bucket_width(k), first, idx + 1, (count, total, m2)))
    return out


def _serves(level: _Level, i: int) -> bool:
    return level.first <= i < level.stop


def _whole_buckets(levels: list[_Level], pos: float, limit: float):
    """(level, i, j): the coarsest level holding whole buckets i..j-1 that start at `pos` and
    end by `limit`, and how far to read it: up to where the next coarser level can take over
    (then fewer rows are read), else as far as it holds and the range goes. None if no level
    has such a bucket."""
    for n in range(len(levels) - 1, -1, -1):
        level = levels[n]
        i = pos / level.width
        if not i.is_integer() or pos + level.width > limit or not _serves(level, int(i)):
            continue
        i = int(i)
        j = min(level.stop, _buckets_by(limit, level.width))
        if n + 1 < len(levels):
            up = levels[n + 1]
            up_first = max(up.first, math.ceil((i + 1) / 4))  # in the coarser level's buckets
            up_stop = min(up.stop, _buckets_by(limit, up.width))
            if up_first < up_stop:
                j = min(j, int(up_first) * 4)
        return level, i, j
    return None


def _buckets_by(limit: float, width: float) -> float:
    """How many buckets of `width` end by `limit` (counted from 0)."""
    return math.floor(limit / width) if limit < math.inf else math.inf


def _finest_holding(levels: list[_Level], pos: float) -> _Level | None:
    """The finest level holding the bucket that contains `pos` whole."""
    for level in levels:
        if _serves(level, math.floor(pos / level.width)):
            return level
    return None


def _next_held(levels: list[_Level], raw_from: float, pos: float) -> float:
    """The earliest time after `pos` from which the ring or some level holds buckets whole."""
    candidates = [raw_from] if raw_from > pos else []
    for level in levels:
        first = level.first * level.width
        if pos < first < level.stop * level.width:
            candidates.append(first)
    return min(candidates, default=math.inf)


def _buckets(pyramid: Pyramid, level: _Level, i: int, j: int) -> Moments:
    idx, mn, mx, count, total, m2 = pyramid.levels[level.k].between(i, j)
    if j >= level.stop and len(idx) and idx[-1] == level.stop - 1:  # the newest: made whole
        sums = zip((count, total, m2), level.newest, strict=True)
        count, total, m2 = (np.append(c[:-1], x) for c, x in sums)
    return Moments.of_buckets(idx, mn, mx, count, total, m2, level.width)
