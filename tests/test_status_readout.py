"""widgets.status_readout: the latest sample and the always-on figures, as a user reads them."""

from __future__ import annotations

from PyQt5.QtWidgets import QMainWindow

from widgets.status_readout import StatusReadout


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


def test_figures_and_drops_in_red(qtbot):
    readout = make(qtbot)
    readout.show_perf(2_500_000, 39.6, 0.012, 300 << 20, 0, "300 MB of 512 MB in 8 series")
    text = readout.perf.text()
    assert text == "in 2.50 M/s · 40 fps · lag p99 12 ms · buffers 300.0 MB · dropped 0"
    assert "in 8 series" in readout.perf.toolTip()
    assert readout.perf.styleSheet() == ""
    readout.show_perf(100, 30, 0.0, 1 << 20, 7)
    assert readout.perf.text().endswith("dropped 7") and "#d64545" in readout.perf.styleSheet()
