"""The time axis reads as a wall clock at every zoom: hours and minutes are always there, and
the date where a day begins."""

from __future__ import annotations

import datetime
import math
import re

import pyqtgraph as pg
import pytest

from tests.helpers import axis_labels
from widgets.time_axis import WallClockAxis, wall_clock_label

HMS = r"\d\d:\d\d:\d\d"


def at(*args) -> float:
    """Epoch seconds of a local time."""
    return datetime.datetime(*args).timestamp()


@pytest.fixture
def plot(qtbot):
    """A plot as wide as a chart, its x axis a WallClockAxis like the live chart's."""
    widgets = []  # held: the axis is deleted with its widget

    def make(start: float, end: float) -> WallClockAxis:
        origin = math.floor(start / 60.0) * 60.0
        axis = WallClockAxis(origin, orientation="bottom")
        widget = pg.PlotWidget(axisItems={"bottom": axis})
        qtbot.addWidget(widget)
        widgets.append(widget)
        widget.resize(1000, 300)
        widget.show()
        qtbot.waitExposed(widget)
        widget.getPlotItem().getViewBox().setXRange(start - origin, end - origin, padding=0)
        return axis

    return make


def show(axis: WallClockAxis, start: float, end: float) -> list[str]:
    axis.linkedView().setXRange(start - axis.origin, end - axis.origin, padding=0)
    return axis_labels(axis)


def test_zoomed_in_below_a_second_labels_keep_the_hours(plot):
    start, end = at(2024, 5, 2, 14, 3, 7), at(2024, 5, 2, 14, 3, 7, 800000)
    labels = axis_labels(plot(start, end))
    assert "14:03:07.3" in labels, labels
    assert all(re.fullmatch(HMS + r"\.\d", label) for label in labels), labels


def test_ticks_a_hundredth_apart_read_two_decimals(plot):
    start = at(2024, 5, 2, 14, 3, 7)
    labels = axis_labels(plot(start, start + 0.08))
    assert "14:03:07.05" in labels or "14:03:07.04" in labels, labels
    assert all(re.fullmatch(HMS + r"\.\d\d", label) for label in labels), labels


def test_a_ten_second_window_reads_hours_minutes_seconds(plot):
    start = at(2024, 5, 2, 14, 3, 1)
    labels = axis_labels(plot(start, start + 10))
    assert "14:03:05" in labels, labels
    assert all(re.fullmatch(HMS, label) for label in labels), labels  # never `49.000`


def test_a_whole_minute_among_tenths_reads_like_its_neighbours(plot):
    start = at(2024, 5, 2, 14, 3, 59, 600000)
    labels = axis_labels(plot(start, start + 0.8))
    assert "14:04:00.0" in labels, labels
    assert all(re.fullmatch(HMS + r"\.\d", label) for label in labels), labels


def test_an_hour_reads_hours_and_minutes(plot):
    start = at(2024, 5, 2, 14, 0)
    labels = axis_labels(plot(start, start + 3600))
    assert "14:30" in labels, labels
    assert all(re.fullmatch(r"\d\d:\d\d", label) for label in labels), labels


def test_the_first_tick_of_a_day_shows_the_date(plot):
    labels = axis_labels(plot(at(2024, 5, 2, 21, 0), at(2024, 5, 3, 3, 0)))
    assert "2024-05-03 00:00" in labels, labels
    assert "2024-05-02 00:00" not in labels
    others = [label for label in labels if label != "2024-05-03 00:00"]
    assert others and all(re.fullmatch(r"\d\d:\d\d", label) for label in others), labels


def test_a_second_by_second_midnight_shows_the_date_once(plot):
    labels = axis_labels(plot(at(2024, 5, 2, 23, 59, 55), at(2024, 5, 3, 0, 0, 5)))
    assert labels.count("2024-05-03 00:00:00") == 1, labels
    assert "23:59:59" in labels or "23:59:58" in labels, labels
    assert sum("2024" in label for label in labels) == 1, labels


def test_weeks_read_dates(plot):
    labels = axis_labels(plot(at(2024, 5, 1), at(2024, 5, 15)))
    assert len(labels) >= 3, labels
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", label) for label in labels), labels


def test_labels_stay_right_while_the_chart_scrolls(plot):
    """The tick and label caches: scrolling a 10 s window by a frame's step at a time draws
    the labels a fresh axis would draw at each position."""
    start = at(2024, 5, 2, 14, 3, 1)
    scrolled = plot(start, start + 10)
    for step in range(0, 150):
        t0 = start + step * 0.025
        labels = show(scrolled, t0, t0 + 10)
        assert all(re.fullmatch(HMS, label) for label in labels), labels
    fresh = plot(t0, t0 + 10)
    assert labels == axis_labels(fresh)


def test_label_format_follows_the_spacing():
    t = at(2024, 5, 2, 14, 3, 7, 250000)
    assert wall_clock_label(t, 0.25) == "14:03:07.25"
    assert wall_clock_label(t, 0.05) == "14:03:07.25"
    assert wall_clock_label(at(2024, 5, 2, 14, 3, 7, 300000), 0.1) == "14:03:07.3"
    assert wall_clock_label(at(2024, 5, 2, 14, 3, 7, 1000), 0.001) == "14:03:07.001"
    assert wall_clock_label(at(2024, 5, 2, 14, 3, 7), 5) == "14:03:07"
    assert wall_clock_label(at(2024, 5, 2, 14, 3), 300) == "14:03"
    assert wall_clock_label(at(2024, 5, 3), 3600) == "2024-05-03 00:00"
    assert wall_clock_label(at(2024, 5, 3, 1), 3600) == "01:00"
    assert wall_clock_label(at(2024, 5, 3), 86400) == "2024-05-03"
