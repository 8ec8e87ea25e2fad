"""The statistics table as a user meets it: View → Statistics (Ctrl+T) opens a dock with one row
per visible series, whose figures are numpy's over the samples the store holds in the visible
range (computed on the consumer thread, not the GUI thread), rows that follow the legend, Ctrl+C
as tab-separated text, and a dock that is where it was left in the next window."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QApplication, QDockWidget, QTableWidget

from app.core.statistics import SeriesStats
from tests.helpers import WAIT_MS, points_in_chart, producer, session_from, wait_state
from widgets.stats_table import COLUMNS, NONE, StatsTable, figures, rate_text
from widgets.value_axis import PREFIXES, prefix_exponent

A, B0, B1 = ("a", "value"), ("b", "ch0"), ("b", "ch1")


# -- the table on its own -------------------------------------------------------------------------


def test_a_row_shares_one_prefix_chosen_as_the_value_axis_chooses():
    texts, suffix = figures([2.5e6, 1e6, 1.5e6, 1.6e6, 4e5, 2.4e6], "Hz")
    assert suffix == PREFIXES[prefix_exponent(2.5e6)] + "Hz" == "MHz"
    assert texts == ["2.500", "1.000", "1.500", "1.600", "0.400", "2.400"]  # 4 digits of 2.5
    texts, suffix = figures([-3.0, 0.5, 0.25, 1.0, 0.0, math.nan], "%")
    assert (texts, suffix) == (["-3.000", "0.500", "0.250", "1.000", "0.000", NONE], "%")
    texts, suffix = figures([12345.0, -3.2, 0.0, 0.0, 0.0, 1.0])
    assert suffix == "k" and texts[0] == "12.35" and texts[1] == "0.00"  # never "-0.00"
    assert figures([0.004, 0.002], "s") == (["4.000", "2.000"], "ms")
    assert rate_text(200.0) == "200.0 /s" and rate_text(1.25e6) == "1.250 M/s"


def _stats(count, mean, std, low, high, last, rate=100.0) -> SeriesStats:
    rms = math.sqrt(std * std + mean * mean)
    return SeriesStats(count, rate, low, high, mean, rms, std, last, 0.0, 1.0)


def test_rows_colours_right_aligned_figures_and_copy_as_tsv(qtbot):
    table = StatsTable()
    qtbot.addWidget(table)
    table.show()
    colors = {A: "#1f77b4", B0: "#ff7f0e"}
    units = {A: "%", B0: ""}
    table.set_series([A, B0], lambda k: "/".join(k), colors.get, units.get)
    assert table.objectName() == "statsTable"
    assert [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())] == list(
        COLUMNS
    )
    assert all(table.horizontalHeaderItem(c).toolTip() for c in range(table.columnCount()))
    assert table.rowCount() == 2 and table.item(1, 3).text() == NONE  # no figures yet
    swatch = table.item(0, 0).icon().pixmap(12, 12).toImage()
    assert swatch.pixelColor(6, 6).name() == "#1f77b4"

    empty = _stats(0, *[math.nan] * 5)
    table.show_stats({A: _stats(1234, 50.0, 2.0, 40.0, 60.5, 51.25), B0: empty})
    row = [table.item(0, c).text() for c in range(table.columnCount())]
    assert row[:3] == ["a/value", "1,234", "100.0 /s"]
    assert [t.strip() for t in row[3:]] == [
        "40.00 %",
        "60.50 %",
        "50.00 %",
        "50.04 %",
        "2.00 %",
        "51.25 %",
    ]  # fmt: skip  (one number of decimals per row: 4 digits of its largest value)
    assert table.item(0, 5).toolTip() == "50.0 %"  # full precision on hover
    assert table.item(0, 5).textAlignment() == int(Qt.AlignRight | Qt.AlignVCenter)
    assert table.item(0, 5).font().fixedPitch() or table.item(0, 5).font().family()
    # prefix and unit padded to one width (a prefix's place, the longest unit): the figures of
    # every row end in one column
    assert table.item(0, 3).text() == "40.00 % " and table.item(1, 3).text() == NONE + "   "
    assert table.item(1, 1).text() == "0" and table.item(1, 3).text().strip() == NONE

    table.selectRow(0)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key_C, Qt.ControlModifier)
    copied = QApplication.clipboard().text()
    assert copied.splitlines()[0].split("\t") == [*COLUMNS, "unit"]
    cells = copied.splitlines()[1].split("\t")
    assert len(copied.splitlines()) == 2  # the selected row only
    assert cells[0] == "a/value" and int(cells[1]) == 1234 and float(cells[5]) == 50.0
    assert float(cells[6]) == math.sqrt(2.0**2 + 50.0**2) and cells[-1] == "%"
    table.clearSelection()
    everything = table.copy_all()
    assert QApplication.clipboard().text() == everything and len(everything.splitlines()) == 3
    assert everything.splitlines()[2].split("\t")[3:9] == [""] * 6  # no values: empty cells
    menu = {a.objectName(): a for a in table.actions()}
    assert set(menu) == {"statsCopyAction", "statsCopyAllAction"}
    assert menu["statsCopyAction"].shortcut() == QKeySequence.Copy
    assert all(a.toolTip() for a in menu.values())

    # rows are rebuilt only when the series change: the same keys keep their items
    kept = table.item(0, 3)
    table.set_series([A, B0], lambda k: "/".join(k), colors.get, units.get)
    assert table.item(0, 3) is kept
    table.set_series([B0], lambda k: "/".join(k), colors.get, units.get)
    assert table.rowCount() == 1 and table.item(0, 0).text() == "b/ch0"


# -- in the window, with real producers -----------------------------------------------------------


@pytest.fixture
def window(qtbot, open_window, private_settings):
    toml = (
        "[chart]\nwindow_s = 10.0\n"
        + producer("a", "sine", rate_hz=200.0, frequency_hz=0.7)
        + producer("b", "noise", rate_hz=100.0, channels=2, mean=5.0, std=2.0)
    )
    window = open_window(session_from(toml))
    for name in ("a", "b"):
        wait_state(qtbot, window, name, "RUNNING")
    qtbot.waitUntil(lambda: len(window.chart.visible_series()) == 3, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: points_in_chart(window, "a") > 200, timeout=WAIT_MS)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    return window


def _open_statistics(qtbot, window) -> QTableWidget:
    action = window.findChild(QAction, "statsAction")
    assert action.shortcut() == QKeySequence("Ctrl+T") and action.toolTip()
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert action in view.actions()
    dock = window.findChild(QDockWidget, "statsDock")
    assert not dock.isVisible() and not action.isChecked()
    qtbot.keyClick(window.chart, Qt.Key_T, Qt.ControlModifier)
    table = window.findChild(QTableWidget, "statsTable")
    qtbot.waitUntil(table.isVisible, timeout=WAIT_MS)
    assert dock.isVisible() and action.isChecked()
    return table


def _results(window) -> list:
    got: list = []
    window.consumer.stats_ready.connect(got.append)
    return got


def _numpy(window, key, t0, t1) -> dict:
    t, v, full_from = window.engine.store.raw_samples(key, t0, t1)
    assert full_from <= t0  # the ring holds every sample of the range
    x = v[~np.isnan(v)]
    return {"count": len(x), "min": x.min(), "max": x.max(), "mean": np.mean(x),
            "rms": math.sqrt(np.mean(x * x)), "std": np.std(x), "last": x[-1],
            "rate": (len(x) - 1) / (t[-1] - t[0])}  # fmt: skip


@pytest.mark.slow
@pytest.mark.qt_log_ignore("This plugin does not support")
def test_paused_statistics_equal_numpy_computed_on_the_consumer_thread(qtbot, window):
    results = _results(window)
    table = _open_statistics(qtbot, window)
    qtbot.keyClick(window.chart, Qt.Key_Space)  # pause: the range holds still
    assert window.chart.paused
    t0, t1 = window.chart.visible_range()
    # samples stamped before t1 may still be on their way: a second later, none are
    count = window.engine.store.stats(A)[0]
    qtbot.waitUntil(lambda: window.engine.store.stats(A)[0] > count + 200, timeout=WAIT_MS)
    del results[:]
    qtbot.waitUntil(lambda: len(results) > 0, timeout=WAIT_MS)
    result = results[-1]
    assert (result.request.t0, result.request.t1) == (t0, t1)
    assert result.thread == window.consumer.ident != threading.get_ident()
    assert list(result.request.keys) == window.chart.visible_series() == [A, B0, B1]
    qtbot.waitUntil(lambda: table.item(0, 1).text() != NONE, timeout=WAIT_MS)
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["a", "b/ch0", "b/ch1"]
    for row, key in enumerate((A, B0, B1)):
        got, want = result.stats[key], _numpy(window, key, t0, t1)
        assert got.exact and got.count == want["count"] > 100
        assert (got.min, got.max, got.last) == (want["min"], want["max"], want["last"])
        for name in ("mean", "rms", "std", "rate"):
            np.testing.assert_allclose(getattr(got, name), want[name], rtol=1e-9, atol=1e-12)
        # ... and the table shows them, formatted as the axis would
        texts, suffix = figures([got.min, got.max, got.mean, got.rms, got.std, got.last])
        qtbot.waitUntil(lambda r=row, g=got: table.item(r, 1).text() == f"{g.count:,}")
        assert [table.item(row, c).text().strip() for c in range(3, 9)] == [
            f"{text} {suffix}".strip() for text in texts
        ]
    # paused, the data keeps coming but the figures stay those of the frozen range
    shown = [table.item(r, c).text() for r in range(3) for c in range(9)]
    qtbot.wait(600)  # two updates' time: nothing moves during it
    assert [table.item(r, c).text() for r in range(3) for c in range(9)] == shown


@pytest.mark.slow
@pytest.mark.qt_log_ignore("This plugin does not support")
def test_a_series_unticked_in_the_legend_leaves_the_table(qtbot, window):
    table = _open_statistics(qtbot, window)
    chart = window.chart
    rows = lambda: [table.item(r, 0).text() for r in range(table.rowCount())]  # noqa: E731
    qtbot.waitUntil(lambda: rows() == ["a", "b/ch0", "b/ch1"], timeout=WAIT_MS)
    curve = chart.curve(B0)
    chart.legend.due = 0.0  # (the legend's batching is not what this is about)
    chart.redraw()
    qtbot.waitUntil(lambda: chart.legend.entry(curve) is not None, timeout=WAIT_MS)
    _, label = chart.legend.entry(curve)
    point = chart.mapFromScene(label.mapToScene(label.boundingRect().center()))
    qtbot.mouseClick(chart.viewport(), Qt.LeftButton, pos=point)  # untick b/ch0
    assert not curve.isVisible()
    qtbot.waitUntil(lambda: rows() == ["a", "b/ch1"], timeout=WAIT_MS)
    qtbot.mouseClick(chart.viewport(), Qt.LeftButton, pos=point)  # and back
    qtbot.waitUntil(lambda: rows() == ["a", "b/ch0", "b/ch1"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: table.item(1, 1).text() != NONE, timeout=WAIT_MS)


@pytest.mark.slow
@pytest.mark.qt_log_ignore("This plugin does not support")
def test_nothing_is_computed_while_hidden_and_the_dock_is_remembered(
    qtbot, open_window, private_settings
):
    session = session_from(producer("a", "sine", rate_hz=200.0))
    first = open_window(session)
    wait_state(qtbot, first, "a", "RUNNING")
    results = _results(first)
    qtbot.wait(800)  # three updates' time, hidden: none asked for
    assert not results and first.stats_feed.results == 0
    first.statsAction.trigger()
    qtbot.waitUntil(lambda: first.stats_feed.results > 0, timeout=WAIT_MS)
    with qtbot.waitSignal(first.shutdown_finished, timeout=WAIT_MS):
        first.close()
    second = open_window(session)
    assert second.findChild(QDockWidget, "statsDock").isVisible()
    assert second.statsAction.isChecked()
    qtbot.waitUntil(lambda: second.stats_feed.results > 0, timeout=WAIT_MS)


def test_a_thousand_rows_are_written_where_they_are_seen_and_copied_whole(qtbot):
    table = StatsTable()
    qtbot.addWidget(table)
    table.resize(600, 300)
    table.show()
    qtbot.waitExposed(table)
    keys = [("p", f"s{i}") for i in range(1000)]
    table.set_series(keys, lambda k: k[1], lambda k: "#336699", lambda k: "")
    table.show_stats({k: _stats(i + 1, 1.0, 0.5, 0.0, 2.0, 1.5) for i, k in enumerate(keys)})
    assert table.item(0, 1).text() == "1" and table.item(999, 1).text() == NONE
    table.scrollToBottom()
    qtbot.waitUntil(lambda: table.item(999, 1).text() == "1,000", timeout=WAIT_MS)
    lines = table.copy_all().splitlines()
    assert len(lines) == 1001 and lines[500].split("\t")[:2] == ["s499", "500"]
    # a series hidden: the rows after it move up, with their own figures
    table.set_series(keys[:1] + keys[2:], lambda k: k[1], lambda k: "#336699", lambda k: "")
    table.scrollToTop()
    qtbot.waitUntil(lambda: table.item(1, 0).text() == "s2", timeout=WAIT_MS)
    assert table.item(1, 1).text() == "3"


@pytest.mark.slow
@pytest.mark.qt_log_ignore("This plugin does not support")
def test_series_on_every_plot_have_their_rows_in_plot_order(qtbot, window):
    table = _open_statistics(qtbot, window)
    plot_id = window.plots.add_plot()
    window.plots.move_series([A], plot_id, "right")  # a to the bottom plot, right axis
    rows = lambda: [table.item(r, 0).text() for r in range(table.rowCount())]  # noqa: E731
    qtbot.waitUntil(lambda: rows() == ["b/ch0", "b/ch1", "a"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: table.item(2, 1).text() not in ("", NONE), timeout=WAIT_MS)
    assert int(table.item(2, 1).text().replace(",", "")) > 100  # a's samples, counted
