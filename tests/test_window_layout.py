"""The window's layout as a user sees it in a small window: the chart keeps its height."""

from __future__ import annotations

from PyQt5.QtWidgets import QPushButton

from tests.helpers import producer, session_from
from widgets.producer_panel import ACTIONS

CHART_MIN = 200


def test_a_small_window_keeps_the_chart_and_the_table_scrolls(qtbot, open_window):
    """At 500x350 the chart had shrunk to ~60 px while the table kept every row."""
    session = session_from("".join(producer(f"p{i}", "sine", autostart=False) for i in range(8)))
    window = open_window(session)
    qtbot.waitExposed(window)
    chart, panel = window.chart, window.panel
    tall = chart.height()
    window.resize(500, 350)
    # (as small as its menu, toolbar and status bar let it be: 364 px offscreen)
    qtbot.waitUntil(lambda: window.height() <= 400 and chart.height() < tall, timeout=3000)
    assert chart.height() >= CHART_MIN
    assert panel.verticalScrollBar().maximum() > 0  # the rows that do not fit scroll
    window.resize(1000, 700)  # room again: the chart gets it back
    qtbot.waitUntil(lambda: chart.height() == tall, timeout=3000)
    # the actions stay at the left, in sight, however narrow the window
    assert panel.columnViewportPosition(ACTIONS) == 0
    configure = window.findChild(QPushButton, "configureButton:p0")
    assert configure.mapTo(window, configure.rect().topRight()).x() < window.width()
