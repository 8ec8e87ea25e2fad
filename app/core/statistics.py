"""Statistics of series over a time range: count, rate, min, max, mean, RMS, std and last, as
the statistics table shows them, without Qt.

Computed from the store's moments (app.core.range_moments): the samples themselves where the
raw ring still holds them, whole pyramid buckets elsewhere, so a range of hours costs what a
few seconds cost. Where the ring holds the range's edges the figures are numpy's over the same
samples, up to the order of the additions: count is len, min/max np.nanmin/nanmax, mean
np.nanmean, RMS sqrt(nanmean(x**2)), std np.nanstd (ddof=0), last the newest sample's value
(NaN where the range ends in history only buckets keep: they remember no single sample).

NaN is not a value (a gap some sources send): it is not counted and changes no figure, as in
numpy's nan-functions; `last` is the newest value that is a number. An empty range has count 0,
rate 0 and NaN for the rest.

Rate is samples per second *while the series had samples in the range*: (count - 1) over the
time from its first to its last sample there. Counting over the whole range would say a
200/s producer started 5 s into a 30 s window sends 33/s. Where the first sample lies in
history only buckets keep, its time is its bucket's start (the rate is then off by at most one
bucket in the span).

The request/result pair is what the window hands the consumer thread and gets back (a latest-
wins request slot, like frames: app/consumer.py).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from app.core.range_moments import RangeMoments
from app.core.store import SeriesKey, SeriesStore

NAN = math.nan


@dataclass(frozen=True)
class SeriesStats:
    """One series' statistics over [t0, t1] (see the module docstring). `start`..`end` is what
    the figures cover: the range itself (`exact`), or wider where an edge lay in history kept
    only as buckets, or later where nothing that old is held; `complete` is False if a part
    inside could not be read (see app.core.range_moments)."""

    count: int = 0
    rate: float = 0.0
    min: float = NAN
    max: float = NAN
    mean: float = NAN
    rms: float = NAN
    std: float = NAN
    last: float = NAN
    start: float = NAN
    end: float = NAN
    exact: bool = True
    complete: bool = True

    @classmethod
    def of(cls, got: RangeMoments, t0: float, t1: float) -> SeriesStats:
        m = got.moments
        exact = bool(got.start == t0 and got.end == t1 and got.complete)
        got = RangeMoments(m, float(got.start), float(got.end), bool(got.complete))
        n = m.count
        if not n:
            return cls(start=got.start, end=got.end, exact=exact, complete=got.complete)
        mean = m.total / n
        var = max(m.m2 / n, 0.0) if not math.isnan(m.m2) else NAN
        infinite = math.isinf(m.low) or math.isinf(m.high)  # as numpy: RMS inf, std NaN
        rms = math.inf if infinite else math.sqrt(var + mean * mean)
        span = m.last_t - m.first_t
        rate = (n - 1) / span if n > 1 and span > 0 else 0.0
        # RMS from mean and spread, not a sum of squares: sum(x^2)/n = var + mean^2 exactly,
        # and both terms are positive (no cancellation)
        return cls(
            count=n,
            rate=rate,
            min=m.low,
            max=m.high,
            mean=mean,
            rms=rms,
            std=math.sqrt(var) if not math.isnan(var) else NAN,
            last=m.last_value,
            start=got.start,
            end=got.end,
            exact=exact,
            complete=got.complete,
        )


def series_stats(
    store: SeriesStore, keys: list[SeriesKey], t0: float, t1: float
) -> dict[SeriesKey, SeriesStats]:
    """Statistics of each of `keys` over [t0, t1] (a series not in the store: empty)."""
    out = {}
    for key in keys:
        got = store.moments(key, t0, t1)
        out[key] = SeriesStats() if got is None else SeriesStats.of(got, t0, t1)
    return out


@dataclass(frozen=True, eq=False)
class StatsRequest:
    """Statistics wanted: of `keys` over [t0, t1]."""

    t0: float
    t1: float
    keys: tuple[SeriesKey, ...]


@dataclass(frozen=True, eq=False)
class StatsResult:
    request: StatsRequest
    stats: dict[SeriesKey, SeriesStats] = field(default_factory=dict)
    thread: int = 0  # threading.get_ident() of the thread that computed them
    cost_s: float = 0.0  # time spent computing them


def compute(store: SeriesStore, request: StatsRequest) -> StatsResult:
    started = time.perf_counter()
    stats = series_stats(store, list(request.keys), request.t0, request.t1)
    cost = time.perf_counter() - started
    return StatsResult(request, stats, threading.get_ident(), cost)
