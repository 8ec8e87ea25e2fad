"""app.core.sliding: parallel arrays keeping their newest `capacity` rows, contiguous, in order."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.sliding import SlidingArrays


def feed(rows: SlidingArrays, sizes, start=0):
    """Append consecutive integers in batches of `sizes`; returns everything appended."""
    everything = []
    n = start
    for size in sizes:
        a = np.arange(n, n + size, dtype=np.float64)
        rows.append(a, -a)
        everything.append(a)
        n += size
    return np.concatenate(everything) if everything else np.empty(0)


def test_empty():
    rows = SlidingArrays(8, np.float64)
    assert len(rows) == 0
    assert rows.last(0) is None
    assert len(rows.held(0)) == 0
    assert not rows.wrapped
    assert rows.covers(0, -1e300)


def test_keeps_everything_until_capacity():
    rows = SlidingArrays(100, np.float64, np.float64)
    data = feed(rows, [10, 30, 1, 59])
    assert len(rows) == 100
    assert not rows.wrapped
    np.testing.assert_array_equal(rows.held(0), data)
    np.testing.assert_array_equal(rows.held(1), -data)
    assert rows.last(0) == 99.0


@pytest.mark.parametrize("seed", range(5))
def test_keeps_the_newest_rows_in_order_whatever_the_batch_sizes(seed):
    rng = np.random.default_rng(seed)
    cap = 64
    rows = SlidingArrays(cap, np.float64, np.float64)
    appended = np.empty(0)
    for _ in range(300):
        size = int(rng.choice([0, 1, 2, 5, 31, 63, 64, 65, 200]))
        appended = np.concatenate([appended, feed(rows, [size], start=len(appended))])
        expected = appended[-cap:]
        np.testing.assert_array_equal(rows.held(0), expected)
        np.testing.assert_array_equal(rows.held(1), -expected)
        assert rows.wrapped == (len(appended) > cap)
        if len(appended):
            assert rows.last(0) == appended[-1]


def test_batch_larger_than_capacity_keeps_its_tail():
    rows = SlidingArrays(10, np.float64, np.float64)
    feed(rows, [3])
    feed(rows, [25], start=3)
    np.testing.assert_array_equal(rows.held(0), np.arange(18.0, 28.0))
    assert rows.wrapped


def test_memory_is_fixed():
    rows = SlidingArrays(1000, np.int64, np.float64)
    before = rows.nbytes
    assert before == 2 * 1000 * (8 + 8)
    feed(rows, [777] * 20)
    assert rows.nbytes == before


def test_columns_keep_their_dtype():
    rows = SlidingArrays(4, np.int64, np.float64)
    rows.append(np.array([1, 2]), np.array([0.5, 1.5]))
    assert rows.held(0).dtype == np.int64
    assert rows.held(1).dtype == np.float64


def test_slice_between_adds_one_neighbour_each_side():
    rows = SlidingArrays(100, np.float64)
    rows.append(np.arange(10.0) * 10)  # 0, 10, ..., 90
    held = rows.columns[0]
    assert list(held[rows.slice_between(0, 25, 55)]) == [20, 30, 40, 50, 60]
    assert list(held[rows.slice_between(0, 30, 50)]) == [20, 30, 40, 50, 60]
    assert list(held[rows.slice_between(0, -5, 5)]) == [0, 10]
    assert list(held[rows.slice_between(0, 85, 1000)]) == [80, 90]
    assert list(held[rows.slice_between(0, 200, 300)]) == [90]
    assert list(held[rows.slice_between(0, -20, -10)]) == [0]


def test_slice_between_after_wrapping():
    rows = SlidingArrays(5, np.float64)
    for i in range(23):
        rows.append(np.array([float(i)]))
    assert list(rows.held(0)) == [18, 19, 20, 21, 22]
    assert list(rows.columns[0][rows.slice_between(0, 19.5, 20.5)]) == [19, 20, 21]
    assert list(rows.columns[0][rows.slice_between(0, 0, 18)]) == [18, 19]


def test_covers_tells_whether_older_rows_were_forgotten():
    rows = SlidingArrays(5, np.float64)
    rows.append(np.array([10.0, 11.0, 12.0]))
    assert rows.covers(0, 0.0)  # nothing forgotten: all there is, is held
    rows.append(np.array([13.0, 14.0, 15.0]))
    assert rows.wrapped
    assert not rows.covers(0, 10.5)
    assert rows.covers(0, 11.0)
    assert rows.covers(0, 14.0)


def test_reserve_returns_new_rows_to_fill_in_place():
    rows = SlidingArrays(8, np.float64, np.int64)
    feed_values = []
    for i in range(10):
        times, counts = rows.reserve(3)
        times[:] = [i, i + 0.25, i + 0.5]
        counts[:] = i
        feed_values.extend([i, i + 0.25, i + 0.5])
    np.testing.assert_array_equal(rows.held(0), feed_values[-8:])
    assert rows.held(1).tolist() == [7, 7, 8, 8, 8, 9, 9, 9]
    assert rows.wrapped


def test_reserve_more_than_capacity_is_an_error():
    rows = SlidingArrays(4, np.float64)
    with pytest.raises(ValueError):
        rows.reserve(5)
    assert len(rows) == 0
