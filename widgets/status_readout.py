"""The status bar's two readouts: the latest sample (as the original example showed it) and
the always-on performance figures (rate in, fps, event-loop lag, buffer memory, drops)."""

from __future__ import annotations

import datetime

from PyQt5.QtWidgets import QLabel, QStatusBar

from app.core.producer_rows import format_bytes, format_count, format_rate, format_value
from widgets.live_chart import series_label


class StatusReadout:
    def __init__(self, bar: QStatusBar):
        self.latest = QLabel("waiting for data…")
        self.latest.setObjectName("latestSample")
        self.perf = QLabel()
        self.perf.setObjectName("perfReadout")
        bar.addWidget(self.latest, 1)
        bar.addPermanentWidget(self.perf)

    def show_latest(self, latest: tuple[str, str, float, float] | None) -> None:
        if latest is None:
            return
        producer, series, t, value = latest
        when = datetime.datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]
        self.latest.setText(
            f"latest: {series_label((producer, series))} = {format_value(value)}  at {when}"
        )

    def show_perf(
        self,
        rate: float,
        fps: float,
        lag_p99_s: float,
        buffer_bytes: int,
        dropped: int,
        buffers_detail: str = "",
    ) -> None:
        """`buffers_detail`: the store's own account (budget, series, refusals), on hover."""
        self.perf.setText(
            f"in {format_rate(rate)} · {fps:.0f} fps · lag p99 {lag_p99_s * 1e3:.0f} ms · "
            f"buffers {format_bytes(buffer_bytes)} · dropped {format_count(dropped)}"
        )
        self.perf.setToolTip(f"memory for the chart's buffers: {buffers_detail}")
        self.perf.setStyleSheet("color: #d64545;" if dropped else "")
