"""Pause, the crosshair readout and the two cursors, in a real window with a real producer:
Space freezes the view while samples keep arriving, the readout shows the stored samples
themselves, two clicks measure Δt, Esc clears."""

from __future__ import annotations

import pytest
from PyQt5.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt5.QtGui import QMouseEvent, QWheelEvent
from PyQt5.QtWidgets import QAction, QApplication, QLabel

from app.core.readout import delta, delta_text, duration, exact
from tests.helpers import WAIT_MS, button, points_in_chart, producer, session_from, wait_state

pytestmark = pytest.mark.slow

KEY = ("a", "value")


def _window(qtbot, open_window):
    toml = "[chart]\nwindow_s = 10.0\n" + producer("a", "sine", rate_hz=200.0, frequency_hz=0.7)
    window = open_window(session_from(toml))
    wait_state(qtbot, window, "a", "RUNNING")
    qtbot.waitUntil(lambda: points_in_chart(window, "a") > 100, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _samples(window) > 400, timeout=WAIT_MS)  # 2 s of the 10 in view
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    return window


def _x_range(window) -> tuple[float, float]:
    return tuple(window.chart.getPlotItem().getViewBox().viewRange()[0])


def _at(window, fx: float, fy: float = 0.7) -> QPoint:
    """A point of the chart's viewport, at fractions of the plot area."""
    rect = window.chart.getPlotItem().getViewBox().sceneBoundingRect()
    scene = QPointF(rect.left() + fx * rect.width(), rect.top() + fy * rect.height())
    return window.chart.mapFromScene(scene)


def _time_at(window, point: QPoint) -> float:
    view = window.chart.getPlotItem().getViewBox()
    return view.mapSceneToView(window.chart.mapToScene(point)).x() + window.chart.origin


def _hover(qtbot, window, point: QPoint) -> None:
    """Move the mouse there, no button held (pyqtgraph drops moves < 10 ms apart)."""
    viewport = window.chart.viewport()
    qtbot.wait(15)
    event = QMouseEvent(
        QEvent.MouseMove,
        QPointF(point),
        QPointF(viewport.mapToGlobal(point)),
        Qt.NoButton,
        Qt.NoButton,
        Qt.NoModifier,
    )
    QApplication.sendEvent(viewport, event)


def _wheel(window, point: QPoint, steps: int) -> None:
    viewport = window.chart.viewport()
    event = QWheelEvent(
        QPointF(point),
        QPointF(viewport.mapToGlobal(point)),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.NoButton,
        Qt.NoModifier,
        Qt.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, event)


def _samples(window) -> int:
    return window.engine.counters.snapshot("a").samples


@pytest.mark.qt_log_ignore("This plugin does not support")
def test_space_pauses_the_view_not_the_data_and_resumes(qtbot, open_window):
    window = _window(qtbot, open_window)
    chart = window.chart
    pause = window.findChild(QAction, "pauseAction")
    follow = window.findChild(QAction, "followAction")
    badge = window.findChild(QLabel, "pausedBadge")
    assert pause.shortcut().toString() == "Space" and not pause.isChecked()
    assert pause in window.menuBar().actions()[1].menu().actions()  # View
    qtbot.keyClick(chart, Qt.Key_Space)
    assert chart.paused and not chart.following
    assert pause.isChecked() and not follow.isChecked() and badge.isVisible()
    frozen, drawn_until = _x_range(window), chart.drawn(KEY)[0].max()
    samples, stored = _samples(window), window.engine.store.stats(KEY)[0]
    qtbot.wait(1000)  # the claim is about a span of time: nothing moves during it
    assert _x_range(window) == frozen
    assert chart.drawn(KEY)[0].max() == drawn_until  # no new data drawn
    assert _samples(window) > samples + 100  # ... while it keeps arriving (200/s)
    assert window.engine.store.stats(KEY)[0] > stored + 100

    # zoom while paused: the range changes, still paused
    _wheel(window, _at(window, 0.5), 2)
    qtbot.waitUntil(lambda: _x_range(window) != frozen, timeout=WAIT_MS)
    assert chart.paused and pause.isChecked()

    qtbot.keyClick(chart, Qt.Key_Space)  # again: live
    assert not chart.paused and chart.following and follow.isChecked()
    assert not pause.isChecked() and not badge.isVisible()
    resumed = _x_range(window)
    qtbot.waitUntil(lambda: _x_range(window)[1] > resumed[1] + 0.2, timeout=WAIT_MS)

    # Space pauses even where a button has the focus (it never clicks Stop), and Follow
    # ends a pause too
    stop = button(window, "stop", "a")
    stop.setFocus()
    qtbot.waitUntil(stop.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(stop, Qt.Key_Space)
    assert chart.paused and window.engine.supervisor.entries["a"].state.value == "RUNNING"
    follow.trigger()
    assert not chart.paused and chart.following and not pause.isChecked()


@pytest.mark.qt_log_ignore("This plugin does not support")
def test_zoom_while_live_stays_where_the_user_put_it(qtbot, open_window):
    window = _window(qtbot, open_window)
    chart = window.chart
    before = _x_range(window)
    _wheel(window, _at(window, 0.8), 3)  # zoom in
    qtbot.waitUntil(lambda: not chart.following, timeout=WAIT_MS)
    zoomed = _x_range(window)
    assert zoomed[1] - zoomed[0] < (before[1] - before[0]) * 0.9
    assert not chart.paused and not window.findChild(QAction, "pauseAction").isChecked()
    samples = _samples(window)
    qtbot.waitUntil(lambda: _samples(window) > samples + 200, timeout=WAIT_MS)
    assert _x_range(window) == zoomed  # no snap back to the newest data


@pytest.mark.qt_log_ignore("This plugin does not support")
def test_hover_reads_the_stored_sample_and_two_clicks_measure(qtbot, open_window):
    window = _window(qtbot, open_window)
    chart, store, crosshair = window.chart, window.engine.store, window.crosshair
    readout = window.findChild(QLabel, "cursorReadout")
    assert readout is crosshair.readout and readout.isVisible()

    # live: the readout follows the mouse with the sample stored at that time
    point = _at(window, 0.9)
    _hover(qtbot, window, point)
    qtbot.waitUntil(lambda: bool(crosshair.hover_readings), timeout=WAIT_MS)
    t = crosshair.hover_t
    assert abs(t - _time_at(window, point)) < 0.1  # the chart moved on since, a little
    (reading,) = crosshair.hover_readings
    assert reading.key == KEY
    sample_t, value = reading.sample
    assert reading.sample == store.nearest(KEY, t)
    assert isinstance(value, float)  # 1 s ago at 200/s: still in the raw ring, exact
    times, values, _ = store.raw_samples(KEY, sample_t, sample_t)
    assert list(times) == [sample_t] and list(values) == [value]
    assert abs(sample_t - t) <= 0.0025 + 1e-9  # the nearest of samples 5 ms apart
    assert f"a = {exact(value)}" in readout.text()

    # paused, two clicks: cursors A and B where clicked, Δt and Δvalue between them
    qtbot.keyClick(chart, Qt.Key_Space)
    pa, pb = _at(window, 0.82), _at(window, 0.95)  # within the 2 s of data
    ta, tb = _time_at(window, pa), _time_at(window, pb)
    qtbot.mouseClick(chart.viewport(), Qt.LeftButton, pos=pa)
    qtbot.mouseClick(chart.viewport(), Qt.LeftButton, pos=pb)
    got_a, got_b = crosshair.cursor_times()
    assert got_a == pytest.approx(ta, abs=1e-9) and got_b == pytest.approx(tb, abs=1e-9)
    (ra,), (rb,) = crosshair.cursor_readings["A"], crosshair.cursor_readings["B"]
    assert abs(ra.sample[0] - got_a) <= 0.0025 + 1e-9 and isinstance(rb.sample[1], float)
    assert ra.sample == store.nearest(KEY, got_a) and rb.sample == store.nearest(KEY, got_b)
    text = readout.text()
    assert f"Δt {duration(got_b - got_a)}" in text
    assert f"a Δ {delta_text(delta(ra.sample[1], rb.sample[1]))}" in text
    assert len(_cursor_lines(chart)) == 2

    qtbot.keyClick(chart, Qt.Key_Escape)
    assert crosshair.cursor_times() == (None, None)
    assert "Δt" not in readout.text()
    assert not _cursor_lines(chart)


def _cursor_lines(chart) -> list:
    """The draggable vertical lines in the plot: the cursors."""
    import pyqtgraph as pg

    items = chart.getPlotItem().getViewBox().childGroup.childItems()
    return [i for i in items if isinstance(i, pg.InfiniteLine) and i.movable and i.angle == 90]
