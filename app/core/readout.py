"""What the chart's crosshair and cursors read out, as text, without Qt.

A reading is `SeriesStore.nearest`: the stored sample nearest to a time, (time, value), exact
as stored, or where the store only keeps min/max buckets for that time, (bucket centre,
Bucket). Values are shown exactly: the shortest text that reads back as the same float
(Python's repr), so what the readout says is the sample, not a rounding of it. A bucket is
shown as `low..high`: every sample of that bucket lay within it, which is all the store still
knows. Differences between cursors are computed, so they are shown to 12 significant digits
(a float subtraction's last digits are noise, e.g. 0.3 - 0.1); between a bucket and a value or
two buckets the difference is a range too: `lowest..highest` it could be.

Times are local wall-clock time with milliseconds, as the time axis reads.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from app.core.store import Bucket, SeriesKey

Value = float | Bucket


@dataclass(frozen=True)
class Reading:
    """One series at one time: `sample` is what the store answered, None if it holds none."""

    key: SeriesKey
    label: str
    sample: tuple[float, Value] | None


def clock(t: float) -> str:
    """Local wall-clock time with milliseconds, e.g. "14:03:07.250"."""
    if not math.isfinite(t):
        return "-"
    return datetime.datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]


def exact(v: float) -> str:
    """The shortest text that reads back as `v` exactly ("3" for 3.0, "nan", "inf")."""
    if math.isfinite(v) and v == int(v) and abs(v) < 1e16:
        return str(int(v)) if v != 0 or math.copysign(1, v) > 0 else "-0"
    return repr(float(v))


def value_text(value: Value) -> str:
    if isinstance(value, Bucket):
        return f"{exact(value.low)}..{exact(value.high)}"
    return exact(value)


def delta(a: Value, b: Value) -> float | tuple[float, float]:
    """b - a; where either is a bucket, the range (lowest, highest) the difference can have."""
    if not isinstance(a, Bucket) and not isinstance(b, Bucket):
        return b - a
    a_lo, a_hi = (a.low, a.high) if isinstance(a, Bucket) else (a, a)
    b_lo, b_hi = (b.low, b.high) if isinstance(b, Bucket) else (b, b)
    return b_lo - a_hi, b_hi - a_lo


def delta_text(d: float | tuple[float, float]) -> str:
    if isinstance(d, tuple):
        return f"{d[0]:+.12g}..{d[1]:+.12g}"
    return f"{d:+.12g}"


def duration(dt: float) -> str:
    """A signed time difference in a readable unit: "+212.000 ms", "-3.250 s", "+2 min 5.1 s"."""
    sign, a = ("-" if dt < 0 else "+"), abs(dt)
    if a < 1e-3:
        return f"{sign}{a * 1e6:.1f} µs"
    if a < 1:
        return f"{sign}{a * 1e3:.3f} ms"
    if a < 120:
        return f"{sign}{a:.3f} s"
    minutes, seconds = divmod(a, 60)
    return f"{sign}{minutes:.0f} min {seconds:.1f} s"


def _far(t: float, sample_t: float, near_s: float) -> str:
    """Where the nearest sample is further from the cursor than `near_s`, say how far."""
    return f" ({duration(sample_t - t)})" if abs(sample_t - t) > near_s else ""


def hover_text(t: float, readings: list[Reading], near_s: float = 0.0, more: int = 0) -> str:
    """The crosshair's line: the time under the mouse, then each series' value there, e.g.
    "14:03:07.250 │ sine = 0.841 │ slow = 20.5 (-312.000 ms) │ old = -0.2..0.9 (min..max)".
    A sample further than `near_s` seconds away says how far; `more`: series not read."""
    parts = [clock(t)]
    for r in readings:
        if r.sample is None:
            parts.append(f"{r.label} = no data")
            continue
        st, value = r.sample
        note = " (min..max)" if isinstance(value, Bucket) else _far(t, st, near_s)
        parts.append(f"{r.label} = {value_text(value)}{note}")
    if more:
        parts.append(f"+{more} more")
    return " │ ".join(parts)


def cursors_text(
    ta: float, tb: float | None, a: list[Reading], b: list[Reading], more: int = 0
) -> str:
    """The cursors' line: A's time, B's, Δt = B - A, and per series Δvalue = B - A, e.g.
    "A 14:03:07.250  B 14:03:07.462  Δt +212.000 ms │ sine Δ +0.25 │ old Δ -0.9..+0.4".
    With A only, A's values."""
    if tb is None:
        parts = [f"A {clock(ta)}"]
        parts += [f"{r.label} = {value_text(r.sample[1])}" for r in a if r.sample is not None]
    else:
        parts = [f"A {clock(ta)}  B {clock(tb)}  Δt {duration(tb - ta)}"]
        for ra, rb in zip(a, b, strict=True):
            if ra.sample is None or rb.sample is None:
                parts.append(f"{ra.label} Δ no data")
            else:
                parts.append(f"{ra.label} Δ {delta_text(delta(ra.sample[1], rb.sample[1]))}")
    if more:
        parts.append(f"+{more} more")
    return " │ ".join(parts)
