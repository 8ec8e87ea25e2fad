"""producers.yield_shapes: which yielded items are samples, and the timestamps of chunks.

The context here only records what it is asked to emit (the kind's processes are tested in
tests/test_python_kind.py); these cases need a clock the test controls, or would take a
process per item.
"""

from __future__ import annotations

import numpy as np
import pytest

from producers.yield_shapes import RESYNC_S, YieldShapes


class Recorded:
    """The part of ProducerContext that YieldShapes uses, keeping what it was given."""

    def __init__(self):
        self.samples, self.chunks = [], []

    def emit_sample(self, series, value, timestamp=None):
        self.samples.append((series, value, timestamp))

    def emit(self, series, values, timestamps=None, *, t0=None, dt=None):
        self.chunks.append((series, np.asarray(values, float).tolist(), t0, dt))


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_numbers_of_every_real_type_are_values():
    ctx = Recorded()
    shapes = YieldShapes(ctx)
    for item in (1.5, 2, True, np.float32(0.5), np.int64(7), np.array(3.0), float("nan")):
        assert shapes.take(item) is None
    values = [v for _, v, _ in ctx.samples]
    assert values[:6] == [1.5, 2.0, 1.0, 0.5, 7.0, 3.0] and np.isnan(values[6])
    assert all(type(v) is float for v in values)


@pytest.mark.parametrize(
    "item, words",
    [
        ("abc", "a str 'abc'"),
        ([1.0, 2.0], "a list"),
        (np.zeros((2, 2)), "2-D array"),
        (np.array(["a"]), "array of <U1"),
        (10**400, "a int"),
        (1 + 2j, "a complex"),
        (None, "a NoneType"),
        ({"a": 1.0, "b": "x"}, "'b' is a str 'x'"),
        ({1: 1.0}, "dict key 1"),
        ((1.0, 2.0, 3.0), "tuple of 3 items"),
        (("now", 1.0), "timestamp 'now'"),
        ((float("inf"), 1.0), "timestamp inf"),
        ((1.0, np.arange(3.0)), "value must be a number or a dict"),
    ],
)
def test_other_shapes_are_bad_yields_that_emit_nothing(item, words):
    ctx = Recorded()
    why = YieldShapes(ctx).take(item)
    assert why is not None and words in why, why
    assert not ctx.samples and not ctx.chunks


def test_chunks_with_a_rate_continue_one_grid_and_restart_after_a_pause():
    ctx, clock = Recorded(), Clock()
    shapes = YieldShapes(ctx, rate_hz=10.0, clock=clock)
    shapes.take(np.arange(10.0))  # the first chunk ends at its receipt
    clock.now += 0.5  # the yields' cadence does not matter: the grid goes on
    shapes.take(np.arange(10.0))
    assert [(t0, dt) for _, _, t0, dt in ctx.chunks] == [(999.1, 0.1), (1000.1, 0.1)]
    clock.now += RESYNC_S + 2.0  # a pause: this chunk would end more than RESYNC_S ago
    shapes.take(np.arange(10.0))
    assert ctx.chunks[-1][2] == pytest.approx(clock.now - 0.9)


def test_chunks_without_a_rate_tile_the_time_between_receipts():
    ctx, clock = Recorded(), Clock()
    shapes = YieldShapes(ctx, start=999.0, clock=clock)
    shapes.take(np.arange(4.0))  # 999 .. 1000 in 4 steps
    clock.now += 2.0
    shapes.take({"value": np.arange(2.0), "other": np.arange(2.0), "n": 1})
    (_, _, t0a, dta), (_, _, t0b, dtb), (other, _, t0c, dtc) = ctx.chunks
    assert (t0a, dta) == (999.25, 0.25)  # samples at 999.25, 999.5, 999.75, 1000
    assert (t0b, dtb) == (1001.0, 1.0)  # at 1001, 1002: the next step after 1000
    assert other == "other" and (t0c, dtc) == (1000.5, 1.5)  # its first: since the start
    assert ctx.samples == [("n", 1.0, 1002.0)]


def test_stamped_values_keep_their_timestamps():
    ctx = Recorded()
    shapes = YieldShapes(ctx)
    assert shapes.take((5.0, 1.0)) is None
    assert shapes.take((6, {"a": 2, "b": np.float64(3.0)})) is None
    assert ctx.samples == [("value", 1.0, 5.0), ("a", 2.0, 6.0), ("b", 3.0, 6.0)]
