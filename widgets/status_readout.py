"""The status bar's two readouts: the latest sample (as the original example showed it) and
the always-on performance figures (rate in, fps, event-loop lag, buffer memory, drops)."""

from __future__ import annotations

import datetime
import math

from PyQt5.QtCore import QEvent, QObject
from PyQt5.QtWidgets import QLabel, QStatusBar

from app.core.producer_rows import format_bytes, format_count, format_rate, format_value
from widgets.live_chart import series_label
from widgets.warn_label import WarnLabel

HISTORY_SERIES = 8  # series whose history the buffers' tooltip lists


def format_span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def history_lines(store, limit: int = HISTORY_SERIES) -> list[str]:
    """How much history each of the first `limit` series holds, and its memory, e.g.
    "wave/value: 34 s at full resolution, 12 min in all, 1.2 MB"."""
    keys = store.series_keys()
    lines = []
    for key in keys[:limit]:
        try:
            oldest, full_from, newest, nbytes = store.history(key)
        except KeyError:  # gone since (cleared)
            continue
        if math.isinf(oldest):
            continue
        full = max(newest - full_from, 0.0)
        lines.append(
            f"{series_label(key)}: {format_span(full)} at full resolution, "
            f"{format_span(max(newest - oldest, 0.0))} in all, {format_bytes(nbytes)}"
        )
    if len(keys) > limit:
        lines.append(f"… and {len(keys) - limit:,} more series")
    return lines


class StatusReadout(QObject):
    """`store` (app.core.store.SeriesStore, optional): the buffers' tooltip lists how much
    history the first series hold, worked out when the tooltip shows, not on every update."""

    def __init__(self, bar: QStatusBar, store=None):
        super().__init__(bar)
        self.store = store
        self.latest = QLabel("waiting for data…")
        self.latest.setObjectName("latestSample")
        self.perf = WarnLabel(warning=False)  # the theme's red while samples were dropped
        self.perf.setObjectName("perfReadout")
        self._detail = ""
        bar.addWidget(self.latest, 1)
        bar.addPermanentWidget(self.perf)
        self.perf.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.perf and event.type() == QEvent.ToolTip:
            self.perf.setToolTip(self.buffers_tooltip())
        return False

    def buffers_tooltip(self) -> str:
        text = f"memory for the chart's buffers: {self._detail}"
        lines = history_lines(self.store) if self.store is not None else []
        return "\n".join([text, "", "history held:", *lines]) if lines else text

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
        self._detail = buffers_detail
        self.perf.setToolTip(f"memory for the chart's buffers: {buffers_detail}")
        self.perf.set_warning(dropped > 0)
