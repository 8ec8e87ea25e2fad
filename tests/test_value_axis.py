"""The value axis: one number format per axis, SI prefixes beyond plain decimals, and the unit
the visible series share."""

from __future__ import annotations

import re

import pyqtgraph as pg
import pytest

from tests.helpers import WAIT_MS, axis_labels, producer, session_from
from widgets.value_axis import ValueAxis, value_labels


@pytest.fixture
def plot(qtbot):
    """A plot the height of a chart, its y axis a ValueAxis like the live chart's."""
    widgets = []  # held: the axis is deleted with its widget

    def make(lo: float, hi: float, unit: str = "") -> ValueAxis:
        axis = ValueAxis("left")
        axis.set_unit(unit)
        widget = pg.PlotWidget(axisItems={"left": axis})
        qtbot.addWidget(widget)
        widgets.append(widget)
        widget.resize(800, 500)
        widget.show()
        qtbot.waitExposed(widget)
        widget.getPlotItem().getViewBox().setYRange(lo, hi, padding=0)
        return axis

    return make


def test_millions_share_one_prefix(plot):
    labels = axis_labels(plot(0, 1.6e6))
    assert {"0", "0.5 M", "1 M", "1.5 M"} <= set(labels), labels
    assert not any("e+" in label or "000" in label for label in labels), labels
    assert all(label == "0" or label.endswith(" M") for label in labels), labels


def test_thousands_below_a_million_read_k(plot):
    labels = axis_labels(plot(0, 600_000))
    assert "500 k" in labels, labels
    assert all(label == "0" or label.endswith(" k") for label in labels), labels


def test_milli_values(plot):
    labels = axis_labels(plot(0.0005, 0.0045))
    assert {"1 m", "2 m", "3 m", "4 m"} <= set(labels), labels


def test_negative_values_and_zero(plot):
    labels = axis_labels(plot(-2e6, 2e6))
    assert {"-2 M", "-1 M", "0", "1 M", "2 M"} <= set(labels), labels


def test_plain_decimals_as_many_as_the_spacing_needs(plot):
    labels = axis_labels(plot(-1, 1))
    assert {"-1", "-0.5", "0", "0.5", "1"} <= set(labels), labels
    assert all(re.fullmatch(r"-?\d(\.\d+)?", label) for label in labels), labels
    labels = axis_labels(plot(0, 600))
    assert "500" in labels and not any("." in label for label in labels), labels


def test_the_unit_follows_the_number(plot):
    labels = axis_labels(plot(0, 100, "%"))
    assert {"0 %", "20 %", "100 %"} <= set(labels), labels
    assert all(label.endswith(" %") for label in labels), labels
    assert "1500 Hz" in axis_labels(plot(0, 2000, "Hz"))
    assert "10 kHz" in axis_labels(plot(0, 20_000, "Hz"))


@pytest.mark.parametrize(
    ("values", "spacing", "span", "expected"),
    [
        ([500_000, 1_000_000, 1_500_000], 500_000, (0, 1.6e6), ["0.5 M", "1 M", "1.5 M"]),
        ([0.001, 0.002, 0.003, 0.004], 0.001, (0, 0.0045), ["1 m", "2 m", "3 m", "4 m"]),
        ([-5e-6, 0, 2.5e-6], 2.5e-6, (-6e-6, 3e-6), ["-5 µ", "0", "2.5 µ"]),
        ([0, 0.25, 12.5, 500], 0.25, (0, 600), ["0", "0.25", "12.5", "500"]),
        ([1.25e9, 2.5e9], 1.25e9, (0, 3e9), ["1.25 G", "2.5 G"]),
        ([1e12, 2e12], 1e12, (0, 2e12), ["1 T", "2 T"]),
        ([0.1, 0.2, 0.30000000000000004], 0.1, (0, 0.35), ["0.1", "0.2", "0.3"]),
        ([1e-8, 2e-8], 1e-8, (0, 2.5e-8), ["10 n", "20 n"]),
    ],
)
def test_labels_for_given_ticks(values, spacing, span, expected):
    assert value_labels(values, spacing, *span) == expected


def test_units_with_prefixes():
    assert value_labels([0, 500e-6, 1e-3], 500e-6, 0, 1.1e-3, "s") == ["0 s", "0.5 ms", "1 ms"]
    assert value_labels([0, 1500], 500, 0, 2e4, "Hz") == ["0 Hz", "1.5 kHz"]


@pytest.mark.slow
def test_a_system_producer_shows_percent_on_the_chart(qtbot, open_window):
    """The unit comes from the kind's declaration: `system` says `%`; once another visible
    series has no unit, the axis shows none; hiding that series brings `%` back."""
    window = open_window(
        session_from(
            producer("load", "system", interval_s=0.1, per_core=False)
            + producer("wave", "sine", rate_hz=200.0)
        )
    )
    chart = window.chart
    qtbot.waitUntil(
        lambda: {("load", "cpu"), ("wave", "value")} <= set(chart._curves), timeout=WAIT_MS
    )
    labels = axis_labels(chart.value_axis)
    assert labels and not any("%" in label for label in labels), labels
    chart.curve(("wave", "value")).setVisible(False)  # unticked in the legend

    def percent_on_every_label():
        labels = axis_labels(chart.value_axis)
        assert labels and all(label.endswith(" %") for label in labels), labels

    qtbot.waitUntil(percent_on_every_label, timeout=WAIT_MS)
