"""What a user's generator may yield (`kind = "python"`), turned into samples on the context.

- a number: one sample of series `value`, stamped on receipt;
- a dict of numbers: one sample per key (the key names the series), all stamped on receipt;
- a `(timestamp, number-or-dict)` tuple: the same, at the given time (epoch seconds);
- a 1-D numpy array, or a dict of them (numbers may sit beside them): a chunk per series. With
  `rate_hz`, its samples continue that series' regular grid (`1 / rate_hz` apart), ending at
  the receipt time for the first chunk; without, they are spread evenly from the previous
  chunk's receipt (the run's start for the first) to this one's, so consecutive chunks tile
  time with no gap and no overlap.

Anything else (a string, a list, a 2-D array, a dict holding a string, a non-string key) is a
bad yield: `take` returns why, the caller counts it, and the run goes on. NaN is a value.

A grid that falls more than `RESYNC_S` behind the clock (the generator paused: a device
restarted, the laptop slept) starts again so that its chunk ends at the receipt time: the pause
shows as a gap, not as old timestamps forever after. A grid ahead of the clock (a file read as
fast as it goes) is left alone: its time never runs backwards.
"""

from __future__ import annotations

import math
import numbers
import time

import numpy as np

from producers.params import short_repr

RESYNC_S = 1.0
MIN_SPAN_S = 1e-6  # a chunk received in the same clock tick as the previous one
NUMERIC_KINDS = frozenset("biuf")
SERIES = "value"
EXPECTED = "yield a number, a dict of numbers, (timestamp, value) or a 1-D numpy array"


class YieldShapes:
    """Turns yielded items into `ctx.emit` / `ctx.emit_sample` calls (see the module docstring).
    Used from one thread, the one running the generator."""

    def __init__(self, ctx, rate_hz: float = 0.0, start: float | None = None, clock=time.time):
        self._now = clock  # receipt times (numbers alone are stamped by ctx.emit_sample)
        self._emit = ctx.emit
        self._sample = ctx.emit_sample
        self._dt = 1.0 / rate_hz if rate_hz > 0 else 0.0
        self._next_t: dict[str, float] = {}  # series -> time of its next sample (rate_hz)
        self._last_at: dict[str, float] = {}  # series -> its previous chunk's receipt (no rate)
        self._start = clock() if start is None else start

    def take(self, item) -> str | None:
        """Emit `item`; None if it fit a shape, else why it was skipped (one short line)."""
        kind = type(item)
        if kind is float:  # the common case first
            self._sample(SERIES, item)
            return None
        if kind is dict:
            return self._dict(item, None)
        if kind is tuple:
            return self._stamped(item)
        if isinstance(item, np.ndarray) and item.ndim == 1:
            if item.dtype.kind not in NUMERIC_KINDS:
                return f"an array of {item.dtype}: {EXPECTED}"
            self._chunk(SERIES, item, self._now())
            return None
        value = number(item)
        if value is None:
            return f"{describe(item)}: {EXPECTED}"
        self._sample(SERIES, value)
        return None

    def _stamped(self, item: tuple) -> str | None:
        if len(item) != 2:
            return f"a tuple of {len(item)} items: a stamped value is (timestamp, value)"
        stamp, value = number(item[0]), item[1]
        if stamp is None or not math.isfinite(stamp):
            return f"timestamp {short_repr(item[0])} is not a finite number (epoch seconds)"
        if type(value) is dict:
            return self._dict(value, stamp)
        sample = number(value)
        if sample is None:
            return f"(timestamp, {describe(value)}): the value must be a number or a dict of them"
        self._sample(SERIES, sample, stamp)
        return None

    def _dict(self, item: dict, stamp: float | None) -> str | None:
        """All of the dict or none of it: checked first, then emitted."""
        samples, chunks = [], []
        for key, value in item.items():
            if type(key) is not str or not key:
                return f"dict key {short_repr(key)}: series names are non-empty strings"
            sample = number(value)
            if sample is not None:
                samples.append((key, sample))
            elif isinstance(value, np.ndarray) and value.ndim == 1 and stamp is None:
                if value.dtype.kind not in NUMERIC_KINDS:
                    return f"dict value {key!r} is an array of {value.dtype}"
                chunks.append((key, value))
            else:
                return f"dict value {key!r} is {describe(value)}: {EXPECTED}"
        if samples:
            at = self._now() if stamp is None else stamp
            for key, sample in samples:
                self._sample(key, sample, at)
        if chunks:
            now = self._now()
            for key, values in chunks:
                self._chunk(key, values, now)
        return None

    def _chunk(self, series: str, values: np.ndarray, now: float) -> None:
        n = len(values)
        if not n:
            return
        dt = self._dt
        if dt:
            t0 = self._next_t.get(series)
            if t0 is None or t0 + (n - 1) * dt < now - RESYNC_S:
                t0 = now - (n - 1) * dt
            self._next_t[series] = t0 + n * dt
        else:
            previous = self._last_at.get(series, self._start)
            dt = max(now - previous, MIN_SPAN_S) / n
            t0 = now - (n - 1) * dt
            self._last_at[series] = now
        self._emit(series, values, t0=t0, dt=dt)


def number(value) -> float | None:
    """`value` as a float if it is a real number (int, float, bool, numpy scalar or 0-d array),
    else None. An int too large for a float is not a number here."""
    if isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in NUMERIC_KINDS:
            return None
        value = value.item()
    if not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except (OverflowError, TypeError, ValueError):
        return None


def describe(value) -> str:
    """A few words for a bad item: its type and a short repr (`a str 'abc'`, `a 2-D array`)."""
    if isinstance(value, np.ndarray):
        return f"a {value.ndim}-D array of shape {value.shape}"
    return f"a {type(value).__name__} {short_repr(value)}"
