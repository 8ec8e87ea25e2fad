"""app.core.sliding: parallel arrays keeping their newest `capacity` rows, contiguous, in order."""

from __future__ import annotations

import hypothesis
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.sample_ring import SampleRing
from app.core.sliding import SlidingArrays, free_by_halving, pow2, slack_for


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


# -- sizing: slack, resize, the sample ring ------------------------------------------------------

settings = hypothesis.settings(max_examples=60, deadline=None, database=None)


@settings
@given(
    capacity=st.integers(1, 40),
    slack=st.integers(0, 40),
    sizes=st.lists(st.integers(0, 50), max_size=40),
)
def test_any_slack_keeps_the_newest_rows_and_knows_when_it_forgot(capacity, slack, sizes):
    rows = SlidingArrays(capacity, np.float64, np.float64, slack=slack)
    appended = np.empty(0)
    for size in sizes:
        appended = np.concatenate([appended, feed(rows, [size], start=len(appended))])
        np.testing.assert_array_equal(rows.held(0), appended[-capacity:])
        assert rows.wrapped == (len(appended) > capacity)
    assert rows.nbytes == 2 * 8 * (capacity + slack)


@settings
@given(
    capacity=st.integers(1, 64),
    sizes=st.lists(st.integers(0, 80), max_size=12),
    new=st.integers(1, 200),
)
def test_resize_keeps_the_newest_rows_and_their_numbers(capacity, sizes, new):
    rows = SlidingArrays(capacity, np.int64, np.float64, slack=slack_for(capacity))
    appended = feed(rows, sizes)
    held, total, wrapped = rows.held(0).copy(), rows.total, rows.wrapped
    cost = rows.resize_cost(new)
    assert rows.resize(new) == cost
    assert rows.capacity == new and rows.total == total
    np.testing.assert_array_equal(rows.held(0), held[-new:])  # growing keeps every held row
    assert rows.wrapped == (wrapped or new < len(held))
    assert rows.nbytes == sum(c.nbytes for c in rows.columns) == (new + slack_for(new)) * 16
    more = feed(rows, [2 * new], start=len(appended))  # and works on as before
    np.testing.assert_array_equal(rows.held(0), np.concatenate([appended, more])[-new:])


def test_forget_covers_nothing_until_rows_come_again():
    rows = SlidingArrays(8, np.float64)
    rows.append(np.array([1.0, 2.0]))
    rows.forget()
    assert len(rows) == 0 and rows.total == 2 and not rows.covers(0, 1e300)
    rows.append(np.array([5.0, 6.0]))
    assert rows.covers(0, 5.0) and not rows.covers(0, 4.9)


def test_slack_is_full_only_for_big_arrays_and_pow2_rounds_up():
    assert slack_for(1 << 14) == 1 << 14 and slack_for(1 << 18) == 1 << 18
    assert slack_for(1024) == 256 and slack_for(8) == 4
    assert [pow2(n) for n in (0, 1, 2, 3, 4, 5, 4096, 4097)] == [1, 1, 2, 4, 4, 8, 4096, 8192]


def test_free_by_halving_shrinks_as_little_as_enough_or_nothing():
    a, b = (SlidingArrays(1024, np.float64, slack=slack_for(1024)) for _ in range(2))
    for rows in (a, b):
        rows.append(np.arange(1000.0))
    room = [0]  # bytes the budget still has: a take of `net` succeeds if net <= room

    def take(net: int) -> bool:
        if net > room[0]:
            return False
        room[0] -= net
        return True

    assert not free_by_halving([(a, 256), (b, 512)], 10**9, take)
    assert (a.capacity, b.capacity) == (1024, 1024)  # not enough: nothing shrunk
    half = -a.resize_cost(512)
    assert free_by_halving([(a, 256), (b, 512)], half, take)
    assert (a.capacity, b.capacity) == (512, 1024)  # the first halving was enough
    assert room == [0] and a.wrapped
    np.testing.assert_array_equal(a.held(0), np.arange(488.0, 1000.0))


def test_sample_ring_writes_regular_chunks_bit_exact_and_tracks_order():
    ring = SampleRing(16, slack_for(16))
    t, _, ok = ring.add(np.arange(5.0), 1e9 + 0.1, 1 / 3, None, -np.inf)
    assert ok and t.tobytes() == (1e9 + 0.1 + (1 / 3) * np.arange(5.0)).tobytes()
    assert ring.in_order and ring.spacing() == pytest.approx(1 / 3)
    late = np.array([1e9, 1e9 + 5])  # starts before the newest time so far
    _, _, ok = ring.add(np.ones(2), 0.0, 0.0, late, float(t[-1]))
    assert not ok and not ring.in_order
    ring.add(np.ones(16), 1e9 + 10, 1.0, None, 1e9 + 5)  # the late rows slide out
    assert ring.in_order
    _, _, ok = ring.add(np.ones(3), 0.0, 0.0, np.array([2e9, 2e9 - 1, 2e9 + 1]), 1e9 + 30)
    assert not ok and not ring.in_order  # out of order within the chunk
    big = np.arange(40.0)  # more than the ring holds: keeps the tail
    t, _, _ = ring.add(big, 3e9, 0.5, None, 2e9 + 1)
    assert len(t) == 40 and ring.held(1).tolist() == big[-16:].tolist()


def test_sample_ring_counts_the_rows_within_the_last_seconds():
    ring = SampleRing(64, slack_for(64))
    ring.add(np.zeros(64), 100.0, 0.01, None, -np.inf)  # 100 Hz: 100.00 .. 100.63
    assert ring.recent(4, 100.64, 100.675, 0.1) == 4 + 6  # 100.58 .. 100.63 held
    assert ring.recent(1000, 101.0, 101.999, 0.5) == 501  # a long chunk: in proportion
    assert ring.recent(0, 0.0, 200.0, 1.0) == 0


@hypothesis.settings(max_examples=60, deadline=None, database=None)
@given(
    capacity=st.sampled_from([4, 16, 64]),
    chunks=st.lists(
        st.tuples(st.integers(1, 8), st.booleans(), st.sampled_from([-0.5, 0.0, 1e-3, 0.1])),
        min_size=1,
        max_size=40,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_add_small_writes_what_add_writes_bit_for_bit(capacity, chunks, seed):
    """The scalar way for small chunks: the same times (t0 + i * dt to the last bit), values,
    order tracking and forgetting as `add`, for regular and explicit, sorted or not, NaN."""
    rng = np.random.default_rng(seed)
    a, b = SampleRing(capacity, slack_for(capacity)), SampleRing(capacity, slack_for(capacity))
    t, after = 1_700_000_000.0 + rng.random(), -np.inf
    for n, regular, step in chunks:
        n = min(n, capacity)
        values = rng.normal(size=n)
        values[rng.random(n) < 0.2] = np.nan
        times = None if regular else t + np.cumsum(rng.exponential(abs(step) + 1e-6, n))
        if times is not None and rng.random() < 0.3:
            rng.shuffle(times)
        dt = step * rng.random()
        ta, va, in_order = a.add(values, t, dt, times, after)
        tb, vb, small_in_order = b.add_small(values, t, dt, times, after)
        assert in_order == small_in_order
        np.testing.assert_array_equal(np.array(tb).view(np.uint64), ta.view(np.uint64))
        np.testing.assert_array_equal(np.array(vb).view(np.uint64), va.view(np.uint64))
        for column in (0, 1):
            np.testing.assert_array_equal(a.held(column), b.held(column))
        assert (a.total, a.wrapped, a.in_order, a.start, a.end) == (
            b.total, b.wrapped, b.in_order, b.start, b.end
        )  # fmt: skip
        after = max(after, float(ta[-1]))
        t += step * n + 0.01


def test_make_room_slides_and_forgets_as_reserve_does():
    rows = SlidingArrays(4, np.float64, slack=2)
    for value in range(9):
        at = rows.make_room(1)
        rows.columns[0][at] = value
    assert rows.held(0).tolist() == [5.0, 6.0, 7.0, 8.0]
    assert rows.total == 9 and rows.wrapped
    with pytest.raises(ValueError):
        rows.make_room(5)
