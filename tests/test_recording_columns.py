"""app.core.recording.columns: rows in arrival order, timestamps rounded exactly."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from app.core.recording.columns import SCHEMA, TableBuilder, clean_name, gather, scaled
from producers.wire import Chunk

T_BASE = 1_700_000_000.0
epoch_seconds = st.floats(0, 4e9, allow_nan=False) | st.floats(T_BASE, T_BASE + 1e6)


@given(st.lists(epoch_seconds, min_size=1, max_size=50))
def test_microseconds_are_the_digits_python_prints(seconds):
    micros, ok = scaled(np.array(seconds), 1_000_000)
    assert ok.all()
    for t, us in zip(seconds, micros.tolist(), strict=True):
        assert f"{us // 1_000_000}.{us % 1_000_000:06d}" == f"{t:.6f}"


@given(st.lists(st.floats(-9e9, 9e9, allow_nan=False), min_size=1, max_size=50))
def test_nanoseconds_are_the_exact_value_rounded_half_even(seconds):
    ns, ok = scaled(np.array(seconds), 1_000_000_000)
    assert ok.all()
    assert ns.tolist() == [round(Fraction(t) * 10**9) for t in seconds]


def test_ties_and_near_ties_round_like_exact_arithmetic():
    # k / 1024 s is an exact tie in nanoseconds; 1/2048 and friends sit a hair off one
    seconds = np.concatenate(
        [T_BASE + np.arange(4096) / 1024, np.arange(4096) / 2048 + 1e-3, [0.5e-9, 1.5e-9, 2.5e-6]]
    )
    for scale in (10**6, 10**9):
        got, _ = scaled(seconds, scale)
        assert got.tolist() == [round(Fraction(float(t)) * scale) for t in seconds]


def test_timestamps_no_nanosecond_can_hold_become_null():
    table = TableBuilder().batch(
        gather([("p", Chunk("v", np.ones(4), explicit_times=np.array([1.0, math.nan, 1e10, 2])))])
    )
    assert table.column("timestamp").to_pylist()[1:3] == [None, None]
    assert table.column("timestamp").cast(pa.int64()).to_pylist()[::3] == [10**9, 2 * 10**9]


def test_rows_keep_arrival_order_and_dictionaries_only_grow():
    builder = TableBuilder()
    first = builder.batch(
        gather(
            [
                ("b", Chunk("x", np.array([1.0, 2.0]), t0=T_BASE, dt=1.0)),
                ("a", Chunk("x", np.array([], dtype=float), t0=T_BASE, dt=1.0)),  # empty: skipped
                ("a", Chunk("y", np.array([3.0]), t0=T_BASE, dt=1.0)),
            ]
        )
    )
    second = builder.batch(gather([("c", Chunk("x", np.array([4.0]), t0=T_BASE, dt=1.0))]))
    assert first.schema == SCHEMA
    assert first.column("value").to_pylist() == [1.0, 2.0, 3.0]
    assert first.column("producer").to_pylist() == ["b", "b", "a"]
    assert first.column("producer").dictionary.to_pylist() == ["b", "a"]
    assert second.column("producer").dictionary.to_pylist() == ["b", "a", "c"]


def test_regular_chunks_get_exactly_chunk_timestamps():
    chunk = Chunk("v", np.arange(1000.0), t0=T_BASE + 0.1, dt=1e-3)
    rows = gather([("p", chunk)])
    assert rows.seconds.tobytes() == chunk.timestamps.tobytes()


def test_names_that_no_file_can_hold_are_replaced_not_fatal():
    assert clean_name('ünïcödé, "q"\n') == 'ünïcödé, "q"\n'
    assert clean_name("bad\ud800") == "bad?"
