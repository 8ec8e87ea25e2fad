"""The view description (app/core/view_layout.py) and XY pairing (app/core/xy_pairs.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.view_layout import AxisView, LayoutError, PlotView, ViewLayout, key_label, label_key
from app.core.xy_pairs import pair_by_time

A, B = ("a", "value"), ("b", "x/y")


def test_series_nobody_placed_go_to_the_first_time_plot_left_axis():
    layout, xy = ViewLayout().adding_plot("xy")
    layout, second = layout.adding_plot()
    layout = layout.moving_plot(xy, 0)  # an XY plot on top: still the first *time* plot
    assert layout.placement(A) == (0, "left")
    layout = layout.with_series(A, plot=second, axis="right")
    assert layout.placement(A) == (second, "right")
    assert layout.series_on([A, B], second, "right") == [A]
    assert layout.index_of(xy) == 0 and layout.index_of(second) == 2


def test_removing_a_plot_brings_its_series_back_and_the_last_time_plot_stays():
    layout, second = ViewLayout().adding_plot()
    layout = layout.with_series(A, plot=second, color="#112233")
    back = layout.removing_plot(second)
    assert back.placement(A) == (0, "left") and back.view_of(A).color == "#112233"
    with pytest.raises(LayoutError):
        back.removing_plot(0)


def test_defaults_are_not_written_down_and_layouts_compare_by_value():
    layout = ViewLayout().with_series(A, visible=False).with_series(A, visible=True)
    assert layout.series == {} and layout == ViewLayout() and hash(layout) == hash(ViewLayout())
    renumbered = ViewLayout().adding_plot()[0].removing_plot(0).renumbered()
    assert [p.id for p in renumbered.plots] == [0]


@pytest.mark.parametrize(
    "make",
    [
        lambda: AxisView("fixed", 1.0, 1.0),
        lambda: AxisView("fixed", -1.0, 1.0, log=True),
        lambda: AxisView("sometimes"),
        lambda: PlotView(0, "polar"),
        lambda: ViewLayout(plots=(PlotView(0, "xy"),)),
        lambda: ViewLayout(plots=(PlotView(0), PlotView(0))),
        lambda: ViewLayout().with_series(A, plot=7),
        lambda: ViewLayout().with_series(A, color="red"),
        lambda: ViewLayout().with_series(A, axis="top"),
    ],
)
def test_what_cannot_be_drawn_is_refused(make):
    with pytest.raises(LayoutError):
        make()


@given(st.text(st.sampled_from("ab.-_"), min_size=1), st.text(min_size=1))
def test_labels_name_series_both_ways(producer, series):
    assert label_key(key_label((producer, series))) == (producer, series)


def _brute_pairs(tx, vx, ty, vy, tol):
    out = []
    for t, v in zip(ty, vy, strict=True):
        d = np.abs(tx - t)
        i = int(np.argmin(d))  # the first of equally near ones: the earlier x sample
        near = np.flatnonzero(d == d[i])
        i = int(near[-1]) if len(near) > 1 else i
        if d[i] <= tol:
            out.append((vx[i], v))
    return out


@given(
    st.lists(st.integers(0, 400), min_size=1, max_size=40, unique=True),
    st.lists(st.integers(0, 400), min_size=1, max_size=40, unique=True),
    st.integers(0, 30),
)
def test_pairs_are_the_nearest_sample_within_the_tolerance(xs, ys, tol):
    tx, ty = np.array(sorted(xs), float) / 100, np.array(sorted(ys), float) / 100
    vx, vy = tx * 10 + 1, ty * -3
    x, y = pair_by_time(tx, vx, ty, vy, tolerance=tol / 100)
    expected = _brute_pairs(tx, vx, ty, vy, tol / 100)
    assert list(zip(x.tolist(), y.tolist(), strict=True)) == [
        (float(a), float(b)) for a, b in expected
    ]


def test_a_sweep_pairs_each_result_with_its_input_by_equal_stamps():
    t = np.array([1.0, 1.5, 2.25, 4.0])
    x, y = pair_by_time(t, np.array([10.0, 20, 30, 40]), t, np.array([1.0, 4, 9, 16]))
    assert x.tolist() == [10, 20, 30, 40] and y.tolist() == [1, 4, 9, 16]
    x, _ = pair_by_time(np.array([0.0, 0.1]), np.array([1.0, 2]), np.array([5.0]), np.array([3.0]))
    assert len(x) == 0  # five seconds apart: not a pair
