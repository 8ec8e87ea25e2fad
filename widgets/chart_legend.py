"""The chart's legend: the first LEGEND_MAX series in session order, and a line for the rest.

An entry costs ~2 ms to make (pyqtgraph lays out a sample and a label), and series appear over
many frames while producers start, so the legend is updated in batches, at most every
LEGEND_EVERY_S; series that arrive in order are appended, and it is rebuilt only when one must
go in between (100 producers starting used to rebuild it 100 times: seconds of a frozen window).
A legend of hundreds of entries would cover the chart anyway.

Clicking an entry's line or its name shows or hides the series; a hidden one's name is dimmed
and struck through (pyqtgraph's own legend only reacted to the 20-px line). The box is
translucent, so what it covers still shows, and it sits in the corner of the view where the last
frame drew least, looked at every PLACE_EVERY_S (never per frame: a count over the frame's image
is cheap, but not free) and moved only when another corner is clearly emptier. It is anchored in
the view box, to the right by default: the view's right edge does not move when the y labels
change width, so the entries stay under the mouse. Dragging the legend places it by hand for
good. Its box and text take the theme's colours (`set_theme`, widgets/theme.py).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PyQt5.QtWidgets import QGraphicsItem

from widgets.theme import LIGHT, Theme

LEGEND_MAX = 24
LEGEND_EVERY_S = 0.5
PLACE_EVERY_S = 3.0
LINES_LOOKED_AT = 100  # of the sparse series' lines, when there are more
MARGIN = 10  # px between the legend and the view's edges

# corner -> (itemPos = parentPos, offset sign) in pyqtgraph's anchor terms (0 = left/top)
CORNERS = {
    "top-right": ((1, 0), (-1, 1)),
    "top-left": ((0, 0), (1, 1)),
    "bottom-right": ((1, 1), (-1, -1)),
    "bottom-left": ((0, 1), (1, -1)),
}


class EntryLabel(pg.LabelItem):
    """A legend entry's name: clicking it toggles the series, like clicking its line."""

    def __init__(self, curve, name: str, colors: tuple[str, str]):
        super().__init__("", justify="left", size="9pt")
        self.curve, self.name = curve, name
        self.colors = colors  # (shown, hidden) text colours
        self.refresh()

    @property
    def hidden(self) -> bool:
        return not self.curve.isVisible()

    def refresh(self) -> None:
        name = html.escape(self.name)
        if self.hidden:
            self.setText(f"<s>{name}</s>", color=self.colors[1])
        else:
            self.setText(name, color=self.colors[0])

    def mouseClickEvent(self, event):
        if event.button() == pg.QtCore.Qt.MouseButton.LeftButton:
            self.curve.setVisible(not self.curve.isVisible())
            event.accept()


class EntrySample(pg.ItemSample):
    """The entry's line, 3 px thick: the curves are 1 px, too thin to tell colours apart in a
    20-px sample. Hidden: pyqtgraph's crossed-out eye."""

    def paint(self, p, *args):
        if not self.item.isVisible():
            return super().paint(p, *args)
        p.setPen(pg.mkPen(self.item.opts["pen"].color(), width=3))
        p.drawLine(0, 11, 20, 11)


class _LegendItem(pg.LegendItem):
    """pyqtgraph's legend with clickable names and entries that follow their curve's
    visibility, however it was changed."""

    placed_by_hand = False
    text_colors = (LIGHT.legend_text, LIGHT.legend_hidden_text)

    def addItem(self, item, name):
        label = EntryLabel(item, name, self.text_colors)
        sample = self.sampleType(item)
        sample.sigClicked.connect(self.sigSampleClicked)
        item.visibleChanged.connect(label.refresh)
        item.visibleChanged.connect(sample.update)
        self.items.append((sample, label))
        self._addItemToLayout(sample, label)
        self.updateSize()

    def clear(self):
        for sample, label in self.items:
            label.curve.visibleChanged.disconnect(label.refresh)
            label.curve.visibleChanged.disconnect(sample.update)
        super().clear()

    def mouseDragEvent(self, ev):
        super().mouseDragEvent(ev)
        self.placed_by_hand = True


class ChartLegend:
    def __init__(self, plot_item: pg.PlotItem):
        self.view = plot_item.getViewBox()
        self.item = _LegendItem(
            offset=None,
            brush=LIGHT.legend_background,
            pen=LIGHT.legend_border,
            sampleType=EntrySample,
        )
        self.item.setParentItem(self.view)
        self.item.setZValue(100)  # over the strip image and the curves
        self.corner = ""
        self.place("top-right")
        self.due: float | None = None  # when the entries should be brought up to date
        self.place_due = 0.0  # when to look for the emptiest corner again
        self.more: pg.LabelItem | None = None  # "… and N more series"
        self._keys: list = []  # the entries shown, in order

    @property
    def items(self) -> list:
        """(sample, label) per entry, as pyqtgraph keeps them."""
        return self.item.items

    def entry(self, curve) -> tuple | None:
        """(sample, label) of a curve's entry, if it has one."""
        return next((e for e in self.item.items if e[0].item is curve), None)

    def schedule(self) -> None:
        """New series exist: update soon (at once for the very first ones)."""
        if self.due is None:
            self.due = time.monotonic() + (0.0 if not self.item.items else LEGEND_EVERY_S)

    def rebuild(self) -> None:
        """Series left: make the entries anew at the next update (soon)."""
        self.item.clear()
        self._keys = []
        self.due = time.monotonic()

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
        _cache(self.item)
        hidden = len(ordered) - LEGEND_MAX
        if hidden > 0:
            if self.more is None:
                self.more = pg.LabelItem("")
            self.more.setText(f"… and {hidden} more series", color=self.item.text_colors[0])
            self.item.layout.addItem(self.more, self.item.layout.rowCount(), 0, 1, 2)

    def set_theme(self, theme: Theme) -> None:
        """The box, its border and the entries' text in the theme's colours; the entries'
        lines follow their curves' pens."""
        self.item.setBrush(theme.legend_background)
        self.item.setPen(theme.legend_border)
        self.item.text_colors = (theme.legend_text, theme.legend_hidden_text)
        for sample, label in self.item.items:
            if isinstance(label, EntryLabel):
                label.colors = self.item.text_colors
                label.refresh()
            sample.update()
        if self.more is not None:
            self.more.setText(self.more.text, color=theme.legend_text)

    def text_color(self) -> str:
        """The colour shown entries' names are written in."""
        return self.item.text_colors[0]

    # -- placement -------------------------------------------------------------------------------
    def place(self, corner: str) -> None:
        if corner != self.corner:
            self.corner = corner
            anchor, (sx, sy) = CORNERS[corner]
            self.item.anchor(itemPos=anchor, parentPos=anchor, offset=(sx * MARGIN, sy * MARGIN))

    def place_if_due(self, strip, origin: float) -> None:
        """Every PLACE_EVERY_S: move to the corner where `strip` (the frame just shown) drew
        least, if it is clearly emptier than the one the legend is in."""
        now = time.monotonic()
        if now < self.place_due or self.item.placed_by_hand or not self.item.items:
            return
        self.place_due = now + PLACE_EVERY_S
        ink = corner_ink(strip, origin, self.view.viewRange(), self._size_in_view())
        if ink is None:
            return
        best = min(CORNERS, key=lambda c: (ink[c], c != self.corner, list(CORNERS).index(c)))
        if ink[best] < 0.5 * ink[self.corner]:
            self.place(best)

    def _size_in_view(self) -> tuple[float, float] | None:
        """The legend with its margin as fractions of the view's width and height."""
        width, height = self.view.width(), self.view.height()
        if width <= 0 or height <= 0:
            return None
        return (
            min((self.item.width() + MARGIN) / width, 1.0),
            min((self.item.height() + MARGIN) / height, 1.0),
        )


def _cache(item) -> None:
    """The legend and each of its parts painted from cached pixmaps: it changes rarely and is
    painted over on every frame (a cache is per item, not per subtree: every part needs one)."""
    item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    for child in item.childItems():
        _cache(child)


def corner_ink(strip, origin: float, view_range, size) -> dict[str, int] | None:
    """How much each corner of the view, in a rectangle of `size` (fractions of the view), holds
    of the frame: painted pixels of its image and points of its lines. Qt-free: numpy only."""
    if size is None:
        return None
    (x0, x1), (y0, y1) = view_range
    fw, fh = size
    xs = {"left": (x0, x0 + fw * (x1 - x0)), "right": (x1 - fw * (x1 - x0), x1)}
    ys = {"bottom": (y0, y0 + fh * (y1 - y0)), "top": (y1 - fh * (y1 - y0), y1)}
    grid, image = strip.grid, strip.image
    lines = [v for v in strip.lines.values() if len(v[0])]
    lines = lines[:: max(len(lines) // LINES_LOOKED_AT, 1)]  # an estimate: 1,000 cost 6 ms
    lx = np.concatenate([x for x, _ in lines]) - origin if lines else np.empty(0)
    ly = np.concatenate([y for _, y in lines]) if lines else np.empty(0)
    ink = {}
    for corner in CORNERS:
        vertical, horizontal = corner.split("-")
        (a, b), (c, d) = xs[horizontal], ys[vertical]
        count = 0
        if image is not None and image.size and grid.y1 > grid.y0:
            c0 = int(np.clip((a + origin - grid.t0) / grid.cw, 0, grid.ncols))
            c1 = int(np.clip(np.ceil((b + origin - grid.t0) / grid.cw), 0, grid.ncols))
            scale = grid.height / (grid.y1 - grid.y0)
            r0 = int(np.clip((c - grid.y0) * scale, 0, grid.height))
            r1 = int(np.clip(np.ceil((d - grid.y0) * scale), 0, grid.height))
            count += int(np.count_nonzero(image[r0:r1, c0:c1]))
        if len(lx):
            count += int(np.count_nonzero((lx >= a) & (lx <= b) & (ly >= c) & (ly <= d)))
        ink[corner] = count
    return ink
