"""app.core.readout and SeriesStore.nearest: the crosshair reads the sample itself, exactly."""

from __future__ import annotations

import datetime
import time

import numpy as np

from app.core.readout import (
    Reading,
    clock,
    cursors_text,
    delta,
    delta_text,
    duration,
    exact,
    hover_text,
    value_text,
)
from app.core.store import Bucket, SeriesStore
from producers.wire import Chunk

T0 = 1_700_000_000.0
KEY = ("p", "v")


def store_with(values, t0=T0, dt=0.001, store=None) -> SeriesStore:
    store = store or SeriesStore()
    assert store.append(KEY[0], Chunk(KEY[1], np.asarray(values, np.float64), t0=t0, dt=dt))
    return store


def test_nearest_is_the_stored_sample_bit_for_bit():
    rng = np.random.default_rng(1)
    values = rng.normal(size=1500)
    store = store_with(values)
    times = T0 + 0.001 * np.arange(1500)  # the store's own arithmetic (Chunk.timestamps)
    for i in (0, 1, 700, 1499):
        for offset in (0.0, 0.0004, -0.0004):
            t, v = store.nearest(KEY, times[i] + offset)
            assert t == times[i] and v == values[i]  # exact, not close
    assert store.nearest(KEY, times[700] + 0.00051) == (times[701], values[701])
    assert store.nearest(KEY, T0 - 5) == (times[0], values[0])  # before all: the first
    assert store.nearest(KEY, T0 + 99) == (times[-1], values[-1])  # after all: the newest
    assert store.nearest(("p", "missing"), T0) is None


def test_nearest_with_explicit_times_and_a_tie_takes_the_earlier():
    store = SeriesStore()
    times = np.array([T0, T0 + 1.0, T0 + 3.0])
    store.append("p", Chunk("v", np.array([1.5, 2.5, 3.5]), explicit_times=times))
    assert store.nearest(KEY, T0 + 2.0) == (T0 + 1.0, 2.5)
    assert store.nearest(KEY, T0 + 2.01) == (T0 + 3.0, 3.5)


def test_out_of_order_samples_still_give_the_nearest():
    store = SeriesStore()
    times = np.array([T0 + 2.0, T0, T0 + 1.0])
    store.append("p", Chunk("v", np.array([20.0, 0.0, 10.0]), explicit_times=times))
    assert store.nearest(KEY, T0 + 0.9) == (T0 + 1.0, 10.0)


def test_where_only_buckets_remain_the_answer_is_the_bucket_min_and_max():
    store = SeriesStore(raw_capacity=4096)
    n = 200_000  # 200 s at 1 kHz: the raw ring keeps the newest few seconds only
    values = np.sin(np.arange(n) * 0.001)
    store_with(values, store=store)
    buf = store.buffer(KEY)
    assert buf.raw.wrapped
    t = T0 + 50.0
    found_t, bucket = store.nearest(KEY, t)
    assert isinstance(bucket, Bucket)
    assert bucket.t0 <= t < bucket.t1 and found_t == (bucket.t0 + bucket.t1) / 2
    times = T0 + 0.001 * np.arange(n)
    inside = values[(times >= bucket.t0) & (times < bucket.t1)]
    assert len(inside) and bucket.low == inside.min() and bucket.high == inside.max()
    assert value_text(bucket) == f"{exact(inside.min())}..{exact(inside.max())}"
    reading = Reading(KEY, "p/v", (found_t, bucket))
    assert "(min..max)" in hover_text(t, [reading])
    # the newest samples are still raw: exact there
    assert store.nearest(KEY, times[-10]) == (times[-10], values[-10])


def test_nearest_is_cheap():
    store = store_with(np.arange(100_000.0))
    ts = T0 + np.linspace(0, 99, 2000)
    started = time.perf_counter()
    for t in ts:
        store.nearest(KEY, t)
    assert (time.perf_counter() - started) / len(ts) < 100e-6  # a few us; loaded CI: margin


def test_exact_reads_back_as_the_same_float():
    for v in (0.1, 1 / 3, -2.5e-300, 1e22, 3.0, -7.0, 123456789.125, float("nan")):
        text = exact(v)
        assert float(text) == v or (v != v and text == "nan")
    assert exact(3.0) == "3" and exact(0.1) == "0.1"


def test_clock_shows_local_time_with_milliseconds():
    t = datetime.datetime(2024, 5, 6, 14, 3, 7, 250_000).timestamp()
    assert clock(t) == "14:03:07.250"


def test_duration_units():
    assert duration(0.212) == "+212.000 ms"
    assert duration(-3.25) == "-3.250 s"
    assert duration(125.1) == "+2 min 5.1 s"
    assert duration(25e-6) == "+25.0 µs"


def test_delta_of_values_and_buckets():
    assert delta(0.1, 0.3) == 0.3 - 0.1
    assert delta_text(delta(0.1, 0.3)) == "+0.2"
    assert delta(Bucket(0, 1, -1.0, 2.0), 5.0) == (3.0, 6.0)
    assert delta(1.0, Bucket(0, 1, -1.0, 2.0)) == (-2.0, 1.0)
    assert delta_text((-2.0, 1.0)) == "-2..+1"


def test_hover_and_cursor_lines():
    t = datetime.datetime(2024, 5, 6, 14, 3, 7, 250_000).timestamp()
    a = [Reading(("s", "value"), "s", (t, 0.5)), Reading(("slow", "x"), "slow/x", (t - 0.3, 2.0))]
    text = hover_text(t, a, near_s=0.01, more=3)
    assert text == "14:03:07.250 │ s = 0.5 │ slow/x = 2 (-300.000 ms) │ +3 more"
    b = [Reading(("s", "value"), "s", (t + 0.2, 0.75)), Reading(("slow", "x"), "slow/x", None)]
    line = cursors_text(t, t + 0.2, a, b)
    assert line == "A 14:03:07.250  B 14:03:07.450  Δt +200.000 ms │ s Δ +0.25 │ slow/x Δ no data"
    assert cursors_text(t, None, a, []) == "A 14:03:07.250 │ s = 0.5 │ slow/x = 2"
