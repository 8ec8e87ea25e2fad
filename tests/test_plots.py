"""Several plots: added, removed, moved; series moved between plots and axes (series list,
drag and drop, plot menus); range modes and log scale; XY plots; export of every plot."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PyQt5.QtCore import QMimeData, QPoint, Qt
from PyQt5.QtGui import QDropEvent, QImage
from PyQt5.QtWidgets import QAction, QDockWidget, QLineEdit, QTreeWidget, QWidget

from tests.helpers import WAIT_MS, producer, session_from, wait_state

A, B = ("a", "value"), ("b", "value")
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def _window(qtbot, open_window, extra: str = ""):
    toml = (
        producer("a", "sine", rate_hz=200.0, frequency_hz=0.5)
        + producer("b", "random_walk", rate_hz=200.0)
        + extra
    )
    window = open_window(session_from(toml))
    for name in ("a", "b"):
        wait_state(qtbot, window, name, "RUNNING")
    qtbot.waitUntil(lambda: len(window.chart.drawn(A)[0]) > 50, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(window.chart.drawn(B)[0]) > 50, timeout=WAIT_MS)
    return window


def _panel(window, n: int) -> QWidget | None:
    return window.findChild(QWidget, f"plotPanel:{n}")


def test_add_plot_move_a_series_there_on_the_right_axis_and_remove_the_plot(qtbot, open_window):
    window = _window(qtbot, open_window)
    add = window.findChild(QAction, "addPlotAction")
    assert add.shortcut().toString() == "Ctrl+Shift+P" and add.toolTip()
    assert add in window.menuBar().actions()[1].menu().actions()  # View
    assert _panel(window, 0) is not None and _panel(window, 1) is None
    add.trigger()
    assert _panel(window, 1) is not None and window.unsaved
    top, bottom = window.plots.charts
    assert _panel(window, 1).widget is bottom
    # the series list's menu: b to plot 2, then to its right axis
    tree = window.findChild(QTreeWidget, "seriesList")
    window.series_list.refresh()
    menu = window.series_list.context_menu([B])
    menu.findChild(QAction, "moveToPlot:1").trigger()
    window.series_list.context_menu([B]).findChild(QAction, "rightAxisAction").trigger()
    assert window.plots.view_layout.placement(B) == (window.plots.view_layout.plots[1].id, "right")
    qtbot.waitUntil(lambda: len(bottom.drawn(B)[0]) > 50, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(top.drawn(B)[0]) == 0, timeout=WAIT_MS)
    assert bottom.axis_of(B) == "right" and bottom.getPlotItem().getAxis("right").isVisible()
    assert top.series() == [A] and bottom.series() == [B]
    item = window.series_list.item(B)
    assert (item.text(1), item.text(2)) == ("2", "right") and tree.indexOfTopLevelItem(
        item.parent()
    ) == 1
    # the plots share time: the same x range, and one pan moves both out of following
    qtbot.waitUntil(
        lambda: np.allclose(top.getViewBox().viewRange()[0], bottom.getViewBox().viewRange()[0]),
        timeout=WAIT_MS,
    )
    bottom.getViewBox().translateBy(x=-5.0)
    bottom.getViewBox().sigRangeChangedManually.emit([True, False])
    assert not top.following and not bottom.following and not window.plots.following
    # removing the plot brings b back to the top plot (the left axis it had is kept: right)
    window.plots.remove_plot(window.plots.view_layout.plots[1].id)
    assert _panel(window, 1) is None
    qtbot.waitUntil(lambda: B in top.series(), timeout=WAIT_MS)


def test_a_series_dropped_on_a_plot_moves_there_and_its_right_edge_means_right_axis(
    qtbot, open_window
):
    window = _window(qtbot, open_window)
    window.plots.add_plot()
    bottom = window.plots.charts[1]
    data = window.series_list.tree.mimeData([window.series_list.item(A)])
    for x, axis in ((bottom.width() // 2, "left"), (bottom.width() - 5, "right")):
        mime = QMimeData()
        for fmt in data.formats():
            mime.setData(fmt, data.data(fmt))
        drop = QDropEvent(QPoint(x, 40), Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier)
        bottom.dropEvent(drop)
        assert drop.isAccepted()
        assert window.plots.view_layout.placement(A) == (bottom.plot_id, axis)
    qtbot.waitUntil(lambda: len(bottom.drawn(A)[0]) > 50, timeout=WAIT_MS)


def test_log_scale_draws_decades_and_a_fixed_range_stays(qtbot, open_window):
    extra = producer("c", "clock")  # seconds since start: positive, growing
    window = _window(qtbot, open_window, extra)
    chart = window.chart
    key = ("c", "uptime") if ("c", "uptime") in window.engine.store.series_keys() else None
    keys = [k for k in window.engine.store.series_keys() if k[0] == "c"]
    key = key or keys[0]
    window.plots.change(window.plots.view_layout.with_series(A, visible=False)
                        .with_series(B, visible=False))  # fmt: skip
    menu = window._plot_menu(chart.plot_id)
    menu.fill()
    menu.findChild(QAction, "leftLog").trigger()
    assert chart.value_axis.logMode and window.plots.view_layout.plots[0].left.log
    qtbot.waitUntil(lambda: len(chart.drawn(key)[0]) > 2, timeout=WAIT_MS)
    x, y, _ = chart.drawn(key)
    times, values, _ = window.engine.store.raw_samples(key, x.min(), x.max())
    positive = values > 0
    assert positive.any()
    drawn = dict(zip(x.tolist(), y.tolist(), strict=True))
    for t, v in zip(times[positive].tolist(), values[positive].tolist(), strict=True):
        if t in drawn:
            assert drawn[t] == pytest.approx(math.log10(v))
    # fixed at the range shown: the view keeps it while data moves on
    menu.fill()
    menu.findChild(QAction, "leftLog").trigger()  # linear again
    menu.fill()
    menu.findChild(QAction, "leftRange:fixed").trigger()
    fixed = window.plots.view_layout.plots[0].left
    assert fixed.mode == "fixed" and fixed.lo < fixed.hi
    qtbot.wait(300)  # frames keep coming: the range must not move
    lo, hi = chart.getViewBox().viewRange()[1]
    assert (lo, hi) == pytest.approx((fixed.lo, fixed.hi))


def test_series_list_filters_hides_and_colours(qtbot, open_window):
    window = _window(qtbot, open_window)
    dock = window.findChild(QDockWidget, "seriesDock")
    assert dock.isVisible() and window.findChild(QAction, "seriesListAction").isChecked()
    window.series_list.refresh()
    window.findChild(QLineEdit, "seriesFilter").setText("b")
    assert window.series_list.item(A).isHidden() and not window.series_list.item(B).isHidden()
    window.findChild(QLineEdit, "seriesFilter").setText("")
    window.series_list.item(A).setCheckState(0, Qt.Unchecked)
    assert not window.chart.curve(A).isVisible() and A not in window.plots.visible_series()
    assert not window.plots.view_layout.visible(A)
    window.series_list.set_color([B], "#123456")
    assert window.chart.curve(B).opts["pen"].color().name() == "#123456"
    assert window.chart.layers["left"].colors[B] & 0xFFFFFF == 0x123456
    window.series_list.set_color([B], None)
    assert window.chart.curve(B).opts["pen"].color().name() != "#123456"


def test_xy_plot_pairs_a_sweeps_result_with_its_input(qtbot, open_window, tmp_path):
    square = tmp_path / "square.py"
    square.write_text("def run(x):\n    return x * x\n")
    sweep = producer(
        "s", "sweep", target=f"{square}:run", grid={"x": {"start": 0.0, "stop": 3.0, "num": 7}},
        workers=1, executor="thread",
    )  # fmt: skip
    window = open_window(session_from(sweep))
    store = window.engine.store
    qtbot.waitUntil(lambda: ("s", "out/value") in store.series_keys(), timeout=WAIT_MS)
    add = window.findChild(QAction, "addXYPlotAction")
    add.trigger()
    xy = window.plots.panel(1).widget
    assert window.findChild(QWidget, "plotPanel:1") is not None
    x_box, y_box = xy.x_box, xy.y_box
    qtbot.waitUntil(lambda: y_box.findText("s/out/value") >= 0, timeout=WAIT_MS)
    x_box.setCurrentIndex(x_box.findText("s/in/x"))
    x_box.activated.emit(x_box.currentIndex())
    y_box.setCurrentIndex(y_box.findText("s/out/value"))
    y_box.activated.emit(y_box.currentIndex())
    plot = window.plots.view_layout.plots[1]
    assert (plot.kind, plot.x_series, plot.y_series) == ("xy", ("s", "in/x"), ("s", "out/value"))
    qtbot.waitUntil(lambda: len(xy.points()[0]) == 7, timeout=WAIT_MS)
    x, y = xy.points()
    assert sorted(zip(x.tolist(), y.tolist(), strict=True)) == [
        (v, v * v) for v in np.linspace(0.0, 3.0, 7).tolist()
    ]


def test_export_takes_every_plot(qtbot, open_window, tmp_path):
    window = _window(qtbot, open_window)
    window.plots.add_plot()
    window.plots.move_series([B], window.plots.view_layout.plots[1].id)
    qtbot.waitUntil(lambda: len(window.plots.charts[1].drawn(B)[0]) > 50, timeout=WAIT_MS)
    png, svg = tmp_path / "all.png", tmp_path / "all.svg"
    for path in (png, svg):
        with qtbot.waitSignal(window.export_finished, timeout=WAIT_MS) as done:
            window.export_image(str(path))
        assert done.args == [str(path), ""]
    image = QImage(str(png))
    ratio = window.plots.devicePixelRatioF()
    assert (image.width(), image.height()) == (
        round(window.plots.width() * ratio),
        round(window.plots.height() * ratio),
    )
    root = ET.parse(svg).getroot()
    parts = [e for e in root if e.tag.endswith("svg")]
    assert len(parts) == 2 and float(parts[1].get("y")) > 0


def test_a_renamed_producer_keeps_its_place_and_a_removed_ones_series_leave_the_view(
    qtbot, open_window
):
    window = _window(qtbot, open_window)
    plot_id = window.plots.add_plot()
    window.plots.move_series([B], plot_id, "right")
    window.series_list.set_color([B], "#123456")
    window.producer_actions.rename_producer("b", "walk")
    walk = ("walk", "value")
    assert window.plots.view_layout.placement(walk) == (plot_id, "right")
    assert window.plots.view_layout.view_of(walk).color == "#123456"
    bottom = window.plots.charts[1]
    qtbot.waitUntil(lambda: len(bottom.drawn(walk)[0]) > 20, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.series_list.item(walk) is not None, timeout=WAIT_MS)
    assert window.series_list.item(B) is None
    assert bottom.curve(walk).opts["pen"].color().name() == "#123456"
    window.producer_actions.remove_producer("walk")
    assert walk not in window.plots.view_layout.series
    qtbot.waitUntil(lambda: window.series_list.item(walk) is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bottom.series() == [], timeout=WAIT_MS)


def test_an_xy_plot_from_the_session_file_draws_its_pairs(qtbot, open_window):
    toml = (
        producer("w", "sine", rate_hz=200.0, channels=4)
        + '[[plots]]\n[[plots]]\nkind = "xy"\nx = "w/ch0"\ny = "w/ch1"\nwindow_s = 5.0\n'
    )
    window = open_window(session_from(toml))
    xy = window.plots.panel(1).widget
    assert window.findChild(QWidget, "plotPanel:1") is window.plots.panel(1)
    qtbot.waitUntil(lambda: len(xy.points()[0]) > 100, timeout=WAIT_MS)
    x, y = xy.points()
    # four channels a quarter period apart: ch0 and ch1 trace a circle of the amplitude
    assert np.allclose(np.hypot(x, y), 1.0, atol=0.02)
