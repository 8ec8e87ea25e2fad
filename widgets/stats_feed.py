"""What keeps the statistics table current: a few times a second, while the table is shown, it
asks for statistics of the series a plot shows over the time range it shows, and puts the
answer in the table.

The asking goes to whoever computes them off the GUI thread (the consumer thread in the app:
`request`, latest request wins) and the answer comes back by signal (`show_result`); the GUI
thread only reads the plot's range and series and sets the table's text. Nothing is asked while
the table is hidden, nor when neither the range, the series nor the data changed. Statistics of
many series cost the consumer thread time: the next request waits at least ten times what the
last one cost, so they never take more than a tenth of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PyQt5.QtCore import QObject, QTimer, pyqtSlot

from app.core.statistics import StatsRequest, StatsResult
from app.core.store import SeriesKey
from widgets.stats_table import StatsTable

PERIOD_MS = 250  # 4 updates a second
SHARE = 0.1  # of the computing thread's time, at most


class StatsFeed(QObject):
    """`view()` -> ((t0, t1), keys): the range and series to show (a plot's visible range and
    visible series); `version()` -> a number that changes when the data does; `request(r)`
    asks for a StatsRequest; `show_result` takes the StatsResult. `label_of`, `color_of`,
    `unit_of`: how a series is named, coloured and measured in the table."""

    def __init__(
        self,
        table: StatsTable,
        view: Callable[[], tuple[tuple[float, float], list[SeriesKey]]],
        version: Callable[[], int],
        request: Callable[[StatsRequest], None],
        label_of: Callable[[SeriesKey], str],
        color_of: Callable[[SeriesKey], str],
        unit_of: Callable[[SeriesKey], str],
        parent=None,
    ):
        super().__init__(parent)
        self.table = table
        self._view, self._version, self._request = view, version, request
        self._label_of, self._color_of, self._unit_of = label_of, color_of, unit_of
        self._asked: StatsRequest | None = None
        self._asked_state: tuple | None = None
        self._next_at = 0.0  # monotonic: not before then (see SHARE)
        self.results = 0  # answers shown (tests, tools)
        self.timer = QTimer(self)
        self.timer.setInterval(PERIOD_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    @pyqtSlot()
    def tick(self) -> None:
        """Rows for the series shown now; a request if the table is shown and something
        changed since the last one."""
        if not self.table.isVisible():
            return
        (t0, t1), keys = self._view()
        self.table.set_series(keys, self._label_of, self._color_of, self._unit_of)
        state = (t0, t1, tuple(keys), self._version())
        if state == self._asked_state or time.monotonic() < self._next_at:
            return
        self._asked_state = state
        self._asked = StatsRequest(t0, t1, tuple(keys))
        self._request(self._asked)

    def refresh(self) -> None:
        """Ask again now (the table was just shown, or colours changed)."""
        self._asked_state = None
        self._next_at = 0.0
        self.table.recolor()
        self.tick()

    @pyqtSlot(object)
    def show_result(self, result: StatsResult) -> None:
        if result.request is not self._asked:  # an older request's answer: a newer one comes
            return
        self._next_at = time.monotonic() + result.cost_s / SHARE
        self.table.show_stats(result.stats)
        self.results += 1

    def stop(self) -> None:
        self.timer.stop()
