"""widgets.status_readout: the latest sample and the always-on figures, as a user reads them."""

from __future__ import annotations

import time

import numpy as np
from PyQt5.QtCore import QEvent, QPoint
from PyQt5.QtGui import QHelpEvent, QPalette
from PyQt5.QtWidgets import QMainWindow

from app.core.store import SeriesStore
from producers.wire import Chunk
from widgets.app_palette import apply_to_application
from widgets.status_readout import StatusReadout
from widgets.theme import DARK, LIGHT, contrast_ratio


def make(qtbot) -> StatusReadout:
    window = QMainWindow()
    qtbot.addWidget(window)
    readout = StatusReadout(window.statusBar())
    readout.keep = window  # (qtbot holds widgets weakly: the window must outlive this call)
    return readout


def test_latest_sample_reads_like_the_original_example(qtbot):
    readout = make(qtbot)
    assert readout.latest.text() == "waiting for data…"
    readout.show_latest(("wave", "value", 1_700_000_000.25, 0.5))
    assert readout.latest.text().startswith("latest: wave = 0.5  at ")
    assert readout.latest.text().endswith(".250")
    readout.show_latest(("sys", "cpu0", 1_700_000_000.0, 12.5))
    assert "sys/cpu0 = 12.5" in readout.latest.text()


def _shown_color(label) -> str:
    label.ensurePolished()  # (a style sheet's colour reaches the palette when polished)
    return label.palette().color(QPalette.WindowText).name()


def test_figures_and_drops_in_red(qtbot):
    readout = make(qtbot)
    readout.show_perf(2_500_000, 39.6, 0.012, 300 << 20, 0, "300 MB of 512 MB in 8 series")
    text = readout.perf.text()
    assert text == "in 2.50 M/s · 40 fps · lag p99 12 ms · buffers 300.0 MB · dropped 0"
    assert "in 8 series" in readout.perf.toolTip()
    assert readout.perf.styleSheet() == ""
    readout.show_perf(100, 30, 0.0, 1 << 20, 7)
    assert readout.perf.text().endswith("dropped 7") and _shown_color(readout.perf) == LIGHT.warn


def test_the_drops_red_reads_on_the_window_in_both_themes(qtbot):
    readout = make(qtbot)
    readout.show_perf(100, 30, 0.0, 1 << 20, 7)
    try:
        for theme in (LIGHT, DARK, LIGHT):
            apply_to_application(theme)  # what View → Dark theme does; no new figures come
            shown = _shown_color(readout.perf)
            assert shown == theme.warn
            ground = readout.keep.statusBar().palette().color(QPalette.Window).name()
            assert contrast_ratio(shown, ground) >= 4.5, (theme.name, shown, ground)
    finally:
        apply_to_application(LIGHT)
    readout.show_perf(100, 30, 0.0, 1 << 20, 0)
    assert readout.perf.styleSheet() == ""  # the window's own text colour again


def test_the_buffers_tooltip_tells_each_series_history_and_memory(qtbot):
    store = SeriesStore(raw_capacity=1 << 12, bucket_capacity=512)
    now = time.time()
    store.append("slow", Chunk("t", np.arange(7.0), explicit_times=now - 3600 + 600 * np.arange(7)))
    store.append("fast", Chunk("v", np.zeros(50_000), t0=now - 50, dt=1e-3))
    window = QMainWindow()
    qtbot.addWidget(window)
    readout = StatusReadout(window.statusBar(), store)
    readout.keep = window
    readout.show_perf(1000, 40, 0.0, store.nbytes, 0, store.usage_text())
    assert "history" not in readout.perf.toolTip()  # worked out on hover, not per update
    hover = QHelpEvent(QEvent.ToolTip, QPoint(2, 2), QPoint(2, 2))
    readout.eventFilter(readout.perf, hover)  # what the label's hover goes through (no popup)
    tip = readout.perf.toolTip()
    assert tip.startswith("memory for the chart's buffers: ") and "in 2 series" in tip
    slow = next(line for line in tip.splitlines() if line.startswith("slow/t:"))
    assert slow.startswith("slow/t: 60 min at full resolution, 60 min in all, ")  # all 7 held
    fast = next(line for line in tip.splitlines() if line.startswith("fast/v:"))
    # its ring keeps the last 2,048 samples (RAW_SAMPLES: 2 s at 1 kHz); the pyramid all 50 s
    assert fast.startswith("fast/v: 2 s at full resolution, 50 s in all, ")
    assert fast.endswith(" KB") or fast.endswith(" MB")
