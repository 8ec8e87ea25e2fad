"""The statistics table: one row per visible series, its count, rate, min, max, mean, RMS, std
and last over the visible time range (computed on the consumer thread: app.core.statistics).

Figures read like the value axis (widgets/value_axis.py): one SI prefix per row, chosen for the
row's largest |value| as the axis chooses one for its largest label, and the series' unit
after it (`12.35 k%`, `250.0 mHz`), to four significant digits of that largest value, in a
fixed-pitch font, right-aligned, the prefix and unit padded to one width so that digits line up
from row to row. Hover a figure for its full precision. The series' name carries its colour
swatch (the chart's colour for it).

Ctrl+C (or right-click → Copy) copies the selected rows, Copy all every row, as tab-separated
text for a spreadsheet: a header line, then plain numbers at full precision (no prefix; the
unit in a last column; empty where there is no value).

Rows are only added or removed when the set of visible series changes; an update writes text
into the existing items of the rows in view (others when scrolled to), and a column only ever
widens (to its longest text so far, measured in the fixed-pitch font): a few times a second
costs next to nothing, and nothing shifts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from PyQt5.QtCore import Qt, pyqtSlot
from PyQt5.QtGui import QColor, QFontMetrics, QIcon, QKeySequence, QPixmap
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QAction,
    QApplication,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
)

from app.core.statistics import SeriesStats
from app.core.store import SeriesKey
from widgets.producer_panel import figures_font
from widgets.value_axis import PREFIXES, prefix_exponent

COLUMNS = ("series", "count", "rate", "min", "max", "mean", "RMS", "std", "last")
VALUES = ("min", "max", "mean", "rms", "std", "last")  # SeriesStats fields, in the series' unit
HEADER_TIPS = {
    "series": "The series (its colour as in the chart); hover for what the figures cover",
    "count": "Samples with a value in the visible time range (NaN is not counted)",
    "rate": "Samples per second from the first to the last sample in the range",
    "min": "The smallest value in the range",
    "max": "The largest value in the range",
    "mean": "The mean of the values in the range",
    "RMS": "Root mean square: the square root of the mean of the squared values",
    "std": "Standard deviation (population, as numpy.std): the spread around the mean",
    "last": "The newest value in the range",
}
DIGITS = 4  # significant digits of a row's largest value
NONE = "\N{EN DASH}"  # no value (an empty range, or a newest value only buckets remember)
SWATCH = 12  # px


def figures(values: list[float], unit: str = "", digits: int = DIGITS) -> tuple[list[str], str]:
    """Texts of `values` sharing one SI prefix chosen for the largest |value| (as the value
    axis chooses), to `digits` significant digits of it, and the suffix (prefix and unit)
    they share: ["12.35", "0.50"], "k%"."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    largest = max(finite, default=0.0)
    exponent = prefix_exponent(largest)
    scale = 10.0**exponent
    top = largest / scale
    decimals = max(0, digits - 1 - math.floor(math.log10(top))) if top > 0 else digits - 1
    texts = [_number(v, scale, decimals) for v in values]
    return texts, PREFIXES[exponent] + unit


def _number(value: float, scale: float, decimals: int) -> str:
    if math.isnan(value):
        return NONE
    if math.isinf(value):
        return "\N{INFINITY}" if value > 0 else "\N{MINUS SIGN}\N{INFINITY}"
    text = f"{value / scale:.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.00"


def rate_text(rate: float) -> str:
    (text,), suffix = figures([rate], "/s")
    return f"{text} {suffix}"


def tsv_value(value: float) -> str:
    """A number as a spreadsheet reads it back exactly; empty for none."""
    return "" if math.isnan(value) else repr(float(value))


@functools.lru_cache(maxsize=256)
def swatch(color: str) -> QIcon:
    """A square of the series' colour (one per colour: a palette has a few dozen)."""
    pixmap = QPixmap(SWATCH, SWATCH)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class StatsTable(QTableWidget):
    """The table. `set_series` says which series (rows) and how to name, colour and unit them;
    `show_stats` fills in figures as they come."""

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("statsTable")
        self.setAccessibleName("Statistics")
        self.setToolTip(
            "Statistics of each visible series over the visible time range, updated a few "
            "times a second (paused: the frozen range). Ctrl+C copies rows as tab-separated text"
        )
        self.setHorizontalHeaderLabels(list(COLUMNS))
        for i, name in enumerate(COLUMNS):
            self.horizontalHeaderItem(i).setToolTip(HEADER_TIPS[name])
            if i:
                self.horizontalHeaderItem(i).setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(False)
        self._font = figures_font(self.font())
        self._chars = [0] * len(COLUMNS)  # the longest text each figure column has shown
        self.keys: list[SeriesKey] = []
        self._label_of: Callable[[SeriesKey], str] = lambda key: f"{key[0]}/{key[1]}"
        self._unit_of: Callable[[SeriesKey], str] = lambda key: ""
        self._color_of: Callable[[SeriesKey], str] = lambda key: "#888888"
        self.stats: dict[SeriesKey, SeriesStats] = {}

        self.copyAction = self._action(
            "&Copy", "statsCopyAction", self.copy_selected,
            "Copy the selected rows (every row if none is selected) as tab-separated text",
        )  # fmt: skip
        self.copyAction.setShortcut(QKeySequence.Copy)
        self.copyAction.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        self.copyAllAction = self._action(
            "Copy &all", "statsCopyAllAction", self.copy_all,
            "Copy every row as tab-separated text, with a header line",
        )  # fmt: skip
        self.addActions([self.copyAction, self.copyAllAction])
        self.setContextMenuPolicy(Qt.ActionsContextMenu)
        self.verticalScrollBar().valueChanged.connect(self._fill)

    def _action(self, text: str, name: str, slot, tip: str) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    # -- rows ------------------------------------------------------------------------------------
    def set_series(
        self,
        keys: list[SeriesKey],
        label_of: Callable[[SeriesKey], str],
        color_of: Callable[[SeriesKey], str],
        unit_of: Callable[[SeriesKey], str],
    ) -> None:
        """One row per key, in this order. Rows change only where the keys did (a series
        shown or hidden): items are reused, a row keeps its figures while its series stays."""
        self._label_of, self._color_of, self._unit_of = label_of, color_of, unit_of
        if keys == self.keys:
            return
        old, self.keys = self.keys, list(keys)
        self.setUpdatesEnabled(False)
        self.setRowCount(len(keys))
        for row, key in enumerate(keys):
            if row < len(old) and old[row] == key:
                continue
            name = self.item(row, 0)
            if name is None:
                self.setItem(row, 0, QTableWidgetItem(swatch(color_of(key)), label_of(key)))
                for column in range(1, len(COLUMNS)):
                    item = QTableWidgetItem(NONE)
                    item.setFont(self._font)
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    self.setItem(row, column, item)
                continue
            name.setIcon(swatch(color_of(key)))
            name.setText(label_of(key))
            name.setToolTip("")
            for column in range(1, len(COLUMNS)):  # another series' figures, until its own
                self.item(row, column).setText(NONE)
                self.item(row, column).setToolTip("")
        self.stats = {k: s for k, s in self.stats.items() if k in set(keys)}
        self.resizeColumnToContents(0)
        self.setUpdatesEnabled(True)
        self._fill()

    def recolor(self) -> None:
        """The series' colours changed (a theme): repaint the swatches."""
        for row, key in enumerate(self.keys):
            self.item(row, 0).setIcon(swatch(self._color_of(key)))

    # -- figures ---------------------------------------------------------------------------------
    def show_stats(self, stats: dict[SeriesKey, SeriesStats]) -> None:
        """New figures for (some of) the rows; series not shown are ignored."""
        shown = set(self.keys)
        self.stats.update((k, s) for k, s in stats.items() if k in shown)
        self._fill()

    def _fill(self, *_args) -> None:
        """Write the figures of the rows in view (the others when scrolled to: a thousand
        rows' texts cost the GUI thread ~85 ms, the rows in view a few)."""
        if not self.keys:
            return
        units = [self._unit_of(key) for key in self.keys]
        width = 1 + max(len(u) for u in units)  # prefix and unit: one width for every row
        for row in self._rows_in_view():
            key, unit = self.keys[row], units[row]
            s = self.stats.get(key)
            if s is None:
                continue
            texts, suffix = figures([getattr(s, f) for f in VALUES], unit)
            self._set(row, 1, f"{s.count:,}", f"{s.count} samples")
            self._set(row, 2, rate_text(s.rate), f"{s.rate!r} samples/s")
            tail = f" {suffix:<{width}}"
            for column, (field, text) in enumerate(zip(VALUES, texts, strict=True), start=3):
                value = getattr(s, field)
                exact = NONE if math.isnan(value) else f"{value!r} {unit}".rstrip()
                self._set(row, column, text + (tail if text != NONE else " " * len(tail)), exact)
            self.item(row, 0).setToolTip(self._coverage(key, s))
        self._widen()

    def _rows_in_view(self) -> range:
        first, last = self.rowAt(0), self.rowAt(self.viewport().height() - 1)
        first = max(first, 0)
        last = self.rowCount() - 1 if last < 0 else last
        return range(first, last + 1)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fill()

    def _set(self, row: int, column: int, text: str, tip: str) -> None:
        item = self.item(row, column)
        if item.text() != text:
            item.setText(text)
            self._chars[column] = max(self._chars[column], len(text))
        item.setToolTip(tip)

    def _widen(self) -> None:
        """Figure columns as wide as their longest text so far (and their header)."""
        metrics = QFontMetrics(self._font)
        header = self.horizontalHeader().fontMetrics()
        for column in range(1, len(COLUMNS)):
            need = (
                max(
                    metrics.horizontalAdvance("8" * self._chars[column]),
                    header.horizontalAdvance(COLUMNS[column]),
                )
                + 16
            )
            if need > self.columnWidth(column):
                self.setColumnWidth(column, need)

    def _coverage(self, key: SeriesKey, s: SeriesStats) -> str:
        label = self._label_of(key)
        if s.exact:
            return f"{label}: every sample in the visible range"
        if not s.count:
            return f"{label}: no sample in the visible range"
        note = f"{label}: the samples from {_clock(s.start)} to {_clock(s.end)}"
        if not s.complete:
            note += ", less a part no longer held"
        return note + (
            ": where the range starts or ends, only older buckets of samples are kept, "
            "so the whole bucket is counted"
        )

    # -- copying ---------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.Copy):  # the view's own copy takes one cell's text
            self.copy_selected()
            event.accept()
            return
        super().keyPressEvent(event)

    def as_tsv(self, keys: list[SeriesKey] | None = None) -> str:
        """Rows of `keys` (default all) as tab-separated text with a header line."""
        lines = ["\t".join((*COLUMNS, "unit"))]
        for key in self.keys if keys is None else keys:
            s = self.stats.get(key, SeriesStats())
            cells = [self._label_of(key), str(s.count), tsv_value(s.rate)]
            cells += [tsv_value(getattr(s, f)) for f in VALUES]
            lines.append("\t".join((*cells, self._unit_of(key))))
        return "\n".join(lines) + "\n"

    def selected_keys(self) -> list[SeriesKey]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [self.keys[row] for row in rows if row < len(self.keys)]

    @pyqtSlot()
    def copy_selected(self) -> str:
        """The selected rows (all if none is selected) to the clipboard; returns the text."""
        text = self.as_tsv(self.selected_keys() or None)
        QApplication.clipboard().setText(text)
        return text

    @pyqtSlot()
    def copy_all(self) -> str:
        text = self.as_tsv()
        QApplication.clipboard().setText(text)
        return text


def _clock(t: float) -> str:
    import time

    if not math.isfinite(t):
        return NONE
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"
