"""app.core.stable_range: the y range grows at once, shrinks only after the data stayed small."""

from __future__ import annotations

import math

import pytest

from app.core.stable_range import StableRange


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def stable(clock):
    return StableRange(pad=0.05, headroom=0.1, shrink_after_s=2.0, clock=clock)


def contains(outer, lo, hi) -> bool:
    return outer[0] <= lo and hi <= outer[1]


def test_the_first_extent_sets_the_range_with_a_margin(stable):
    got = stable.update(0.0, 10.0)
    assert got == pytest.approx((-0.5, 10.5))
    assert stable.range == got


def test_small_changes_inside_the_range_leave_it_alone(stable, clock):
    first = stable.update(0.0, 10.0)
    for lo, hi in [(0.5, 9.5), (-0.4, 10.4), (1.0, 9.0), (0.0, 10.0)]:
        clock.now += 0.1
        assert stable.update(lo, hi) is None
    assert stable.range == first


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 12.0), (-3.0, 10.0), (-20.0, 30.0)])
def test_it_grows_at_once_with_headroom(stable, lo, hi):
    stable.update(0.0, 10.0)
    got = stable.update(lo, hi)
    assert got is not None and contains(got, lo, hi)
    span = hi - lo
    if hi > 10.5:
        assert got[1] == pytest.approx(hi + 0.15 * span)  # pad + headroom beyond the data
    if lo < -0.5:
        assert got[0] == pytest.approx(lo - 0.15 * span)
    assert contains(got, -0.5, 10.5), "growing never takes away what was shown"
    # a little more of the same does not move the range again: that is what headroom is for
    assert stable.update(lo - 0.05 * span, hi + 0.05 * span) is None


def test_noisy_data_growing_slowly_changes_the_range_rarely(stable, clock):
    changes = 0
    for i in range(200):
        clock.now += 0.025
        amplitude = 1.0 + i * 0.01  # grows by 3x over the run
        if stable.update(-amplitude, amplitude) is not None:
            changes += 1
        assert contains(stable.range, -amplitude, amplitude)
    assert changes <= 15


def test_it_never_shrinks_before_shrink_after_s_of_small_data(stable, clock):
    stable.update(-100.0, 100.0)
    wide = stable.range
    for _ in range(19):  # 1.9 s of small data, at 10 updates a second
        assert stable.update(-1.0, 1.0) is None
        clock.now += 0.1
    assert stable.range == wide
    clock.now += 0.1  # 2 s since the data became small
    got = stable.update(-1.0, 1.0)
    assert got == pytest.approx((-1.1, 1.1))
    assert stable.range == got


def test_large_data_in_between_restarts_the_wait(stable, clock):
    stable.update(-100.0, 100.0)
    stable.update(-1.0, 1.0)
    clock.now += 1.5
    assert stable.update(-1.0, 1.0) is None
    assert stable.update(-90.0, 90.0) is None  # large again, inside the range
    clock.now += 1.0
    assert stable.update(-1.0, 1.0) is None  # small for 0 s
    clock.now += 1.9
    assert stable.update(-1.0, 1.0) is None  # small for 1.9 s
    clock.now += 0.1
    assert stable.update(-1.0, 1.0) == pytest.approx((-1.1, 1.1))


def test_growing_restarts_the_wait_to_shrink(stable, clock):
    stable.update(0.0, 100.0)
    stable.update(1.0, 2.0)  # small: the wait starts
    clock.now += 1.5
    grown = stable.update(1.0, 120.0)
    assert grown is not None
    stable.update(1.0, 2.0)
    clock.now += 1.9
    assert stable.update(1.0, 2.0) is None
    clock.now += 0.1
    assert stable.update(1.0, 2.0) == pytest.approx((0.95, 2.05))


def test_reset_starts_over_from_the_next_extent(stable):
    stable.update(-100.0, 100.0)
    stable.reset()
    assert stable.range is None
    assert stable.update(0.0, 1.0) == pytest.approx((-0.05, 1.05))


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(math.nan, 1.0), (0.0, math.nan), (math.inf, -math.inf), (-math.inf, 5.0), (0.0, math.inf)],
)
def test_non_finite_extents_are_ignored(stable, clock, lo, hi):
    assert stable.update(lo, hi) is None
    assert stable.range is None
    first = stable.update(-1.0, 1.0)
    assert stable.update(lo, hi) is None
    clock.now += 10.0
    assert stable.update(lo, hi) is None
    assert stable.range == first


def test_a_flat_signal_gets_a_range_that_contains_it(stable):
    got = stable.update(5.0, 5.0)
    assert got[0] < 5.0 < got[1]
    assert stable.update(5.0, 5.0) is None
