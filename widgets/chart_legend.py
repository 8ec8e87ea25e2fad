"""The chart's legend: the first LEGEND_MAX series in session order, and a line for the rest.

An entry costs ~2 ms to make (pyqtgraph lays out a sample and a label), and series appear over
many frames while producers start, so the legend is updated in batches, at most every
LEGEND_EVERY_S; series that arrive in order are appended, and it is rebuilt only when one must
go in between (100 producers starting used to rebuild it 100 times: seconds of a frozen window).
A legend of hundreds of entries would cover the chart anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pyqtgraph as pg

LEGEND_MAX = 24
LEGEND_EVERY_S = 0.5


class ChartLegend:
    def __init__(self, plot_item: pg.PlotItem):
        self.item = plot_item.addLegend(offset=(10, 10))
        self.due: float | None = None  # when the entries should be brought up to date
        self.more: pg.LabelItem | None = None  # "… and N more series"
        self._keys: list = []  # the entries shown, in order

    @property
    def items(self) -> list:
        """(sample, label) per entry, as pyqtgraph keeps them."""
        return self.item.items

    def schedule(self) -> None:
        """New series exist: update soon (at once for the very first ones)."""
        if self.due is None:
            self.due = time.monotonic() + (0.0 if not self.item.items else LEGEND_EVERY_S)

    def update_if_due(
        self, ordered_keys: Callable[[], Sequence], curve_of: Callable, label_of: Callable
    ) -> None:
        """`ordered_keys()`: every series key in legend order (asked only when due);
        `curve_of(key)`: its curve; `label_of(key)`: its name."""
        if self.due is None or time.monotonic() < self.due:
            return
        self.due = None
        ordered = ordered_keys()
        wanted = list(ordered[:LEGEND_MAX])
        if wanted[: len(self._keys)] != self._keys:
            self.item.clear()
            self._keys = []
        if self.more is not None:  # it stays last: taken out while entries are added
            self.item.layout.removeItem(self.more)
        for key in wanted[len(self._keys) :]:
            self.item.addItem(curve_of(key), label_of(key))
            self._keys.append(key)
        hidden = len(ordered) - LEGEND_MAX
        if hidden > 0:
            if self.more is None:
                self.more = pg.LabelItem("")
            self.more.setText(f"… and {hidden} more series")
            self.item.layout.addItem(self.more, self.item.layout.rowCount(), 0, 1, 2)
