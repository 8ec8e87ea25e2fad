"""The series list: every series by producer, where it is drawn, and the means to move it.

A tree (producer -> series) with a filter box. A series' check box shows or hides it, its
swatch is its colour, the columns say which plot and axis it is on. Series are dragged onto a
plot (the right fifth of a plot: its right axis), or moved from the context menu: to another
plot or a new one, to the left or right axis, another colour. Every change is a new view
description given to the stack (widgets/plot_stack.py), the one place the view is decided.

Items are made when series first appear and updated in place after (text, check, swatch), so
a list of hundreds of series is not rebuilt on every change, and the user's selection and
expanded producers survive.
"""

from __future__ import annotations

from functools import partial

from PyQt5.QtCore import QPoint, Qt, pyqtSlot
from PyQt5.QtGui import QColor, QIcon, QPixmap
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QHeaderView,
    QLineEdit,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.store import SeriesKey
from widgets.series_mime import series_mime

KEY_ROLE = Qt.UserRole


class SeriesTree(QTreeWidget):
    """The tree itself: drags carry the selected series (widgets/series_mime.py)."""

    def mimeData(self, items):
        keys = []
        for item in items:
            key = item.data(0, KEY_ROLE)
            if key is not None:
                keys.append(key)
            else:  # a producer: all its series
                keys += [item.child(i).data(0, KEY_ROLE) for i in range(item.childCount())]
        return series_mime(keys)

    def mimeTypes(self):
        from widgets.series_mime import SERIES_MIME

        return [SERIES_MIME]


class SeriesList(QWidget):
    """`seriesList` (the tree) and `seriesFilter` (the filter box), for a PlotStack."""

    def __init__(self, stack, parent=None):
        super().__init__(parent)
        self.stack = stack
        self.filter = QLineEdit()
        self.filter.setObjectName("seriesFilter")
        self.filter.setPlaceholderText("Filter series…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("Show only series whose name contains this text")
        self.tree = SeriesTree()
        self.tree.setObjectName("seriesList")
        self.tree.setHeaderLabels(["Series", "Plot", "Axis"])
        self.tree.setToolTip(
            "Tick to show, untick to hide; drag onto a plot (its right edge: right axis), or "
            "right-click to move to another plot or axis, or pick a colour"
        )
        self.tree.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setContextMenuPolicy(Qt.CustomContextMenu)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.Stretch)
        for column in (1, 2):
            self.tree.header().setSectionResizeMode(column, QHeaderView.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        self._producers: dict[str, QTreeWidgetItem] = {}
        self._items: dict[SeriesKey, QTreeWidgetItem] = {}
        self._order: list[str] = []
        self._updating = False
        self.filter.textChanged.connect(self._apply_filter)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.customContextMenuRequested.connect(self._on_context_menu)
        stack.layout_changed.connect(self.refresh)

    # -- public ----------------------------------------------------------------------------------
    def set_producers(self, names: list[str]) -> None:
        """Producers in session order (their series appear under them as they come)."""
        self._order = list(names)

    def item(self, key: SeriesKey) -> QTreeWidgetItem | None:
        return self._items.get(key)

    def refresh(self, *_args) -> None:
        """New series get items; every item shows where its series is drawn now."""
        self._updating = True
        try:
            held = self.stack.store.series_keys()
            for key in held:
                if key not in self._items:
                    self._add(key)
            for key in set(self._items) - set(held):  # its producer was removed or renamed
                self._remove(key)
            layout = self.stack.view_layout
            for key, item in self._items.items():
                plot_id, axis = layout.placement(key)
                visible = self._shown(key)
                item.setCheckState(0, Qt.Checked if visible else Qt.Unchecked)
                item.setText(1, str(layout.index_of(plot_id) + 1))
                item.setText(2, axis)
                color = QColor(self.stack.color_of(key))
                if item.data(1, KEY_ROLE) != color.name():
                    item.setData(1, KEY_ROLE, color.name())
                    item.setIcon(0, _swatch(color))
        finally:
            self._updating = False
        self._apply_filter(self.filter.text())

    def selected_keys(self) -> list[SeriesKey]:
        keys = []
        for item in self.tree.selectedItems():
            key = item.data(0, KEY_ROLE)
            if key is not None:
                keys.append(key)
            else:
                keys += [item.child(i).data(0, KEY_ROLE) for i in range(item.childCount())]
        return list(dict.fromkeys(keys))

    # -- inside ----------------------------------------------------------------------------------
    def _shown(self, key: SeriesKey) -> bool:
        curve = self.stack.curve(key)
        return curve.isVisible() if curve is not None else self.stack.view_layout.visible(key)

    def _add(self, key: SeriesKey) -> None:
        producer, series = key
        parent = self._producers.get(producer)
        if parent is None:
            parent = QTreeWidgetItem([producer])
            parent.setFlags(parent.flags() | Qt.ItemIsDragEnabled)
            parent.setToolTip(0, f"Producer {producer}: drag to move all its series")
            at = self._position(producer)
            self.tree.insertTopLevelItem(at, parent)
            parent.setExpanded(True)
            self._producers[producer] = parent
        item = QTreeWidgetItem([series])
        item.setData(0, KEY_ROLE, key)
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable | Qt.ItemIsDragEnabled)
        item.setToolTip(0, f"{producer}/{series}")
        item.setTextAlignment(1, Qt.AlignRight | Qt.AlignVCenter)
        parent.addChild(item)
        self._items[key] = item

    def _remove(self, key: SeriesKey) -> None:
        item = self._items.pop(key)
        parent = item.parent()
        parent.removeChild(item)
        if not parent.childCount():
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(parent))
            del self._producers[key[0]]

    def _position(self, producer: str) -> int:
        rank = {name: i for i, name in enumerate(self._order)}
        mine = rank.get(producer, len(rank))
        for i in range(self.tree.topLevelItemCount()):
            other = self.tree.topLevelItem(i).text(0)
            if (rank.get(other, len(rank)), other) > (mine, producer):
                return i
        return self.tree.topLevelItemCount()

    @pyqtSlot(str)
    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for parent in self._producers.values():
            any_shown = False
            for i in range(parent.childCount()):
                child = parent.child(i)
                key = child.data(0, KEY_ROLE)
                hit = not needle or needle in f"{key[0]}/{key[1]}".lower()
                child.setHidden(not hit)
                any_shown |= hit
            parent.setHidden(not any_shown)

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        key = item.data(0, KEY_ROLE)
        if self._updating or column != 0 or key is None:
            return
        visible = item.checkState(0) == Qt.Checked
        if visible != self._shown(key):
            self.stack.change(self.stack.view_layout.with_series(key, visible=visible))

    @pyqtSlot(QPoint)
    def _on_context_menu(self, pos) -> None:
        keys = self.selected_keys()
        if not keys:
            item = self.tree.itemAt(pos)
            if item is None:
                return
            item.setSelected(True)
            keys = self.selected_keys()
        self.context_menu(keys).popup(self.tree.viewport().mapToGlobal(pos))

    def context_menu(self, keys: list[SeriesKey]) -> QMenu:
        """What can be done with `keys` (tests use it without popping it up)."""
        menu = QMenu(self)
        menu.setObjectName("seriesMenu")
        menu.setToolTipsVisible(True)
        move = menu.addMenu("Move to plot")
        move.setObjectName("moveToPlotMenu")
        layout = self.stack.view_layout
        for index, plot in enumerate(layout.plots):
            if plot.kind == "time":
                action = move.addAction(f"Plot {index + 1}")
                action.setObjectName(f"moveToPlot:{index}")
                action.triggered.connect(partial(self._move_to, keys, plot.id))
        new = move.addAction("New plot")
        new.setObjectName("moveToNewPlot")
        new.triggered.connect(partial(self._move_to_new, keys))
        for axis in ("left", "right"):
            action = menu.addAction(f"{axis.capitalize()} axis")
            action.setObjectName(f"{axis}AxisAction")
            action.triggered.connect(partial(self._to_axis, keys, axis))
        menu.addSeparator()
        color = menu.addAction("Colour…")
        color.setObjectName("seriesColorAction")
        color.triggered.connect(partial(self.pick_color, keys))
        reset = menu.addAction("Default colour")
        reset.setObjectName("seriesDefaultColorAction")
        reset.triggered.connect(partial(self.set_color, keys, None))
        return menu

    def _move_to(self, keys, plot_id: int, _checked=False) -> None:
        self.stack.move_series(keys, plot_id)

    def _move_to_new(self, keys, _checked=False) -> None:
        plot_id = self.stack.add_plot()
        if plot_id is not None:
            self.stack.move_series(keys, plot_id)

    def _to_axis(self, keys, axis: str, _checked=False) -> None:
        self.stack.move_series(keys, axis=axis)

    def pick_color(self, keys, _checked=False) -> QColorDialog:
        """A colour dialog (not modal to the app: the chart keeps running)."""
        dialog = QColorDialog(QColor(self.stack.color_of(keys[0])), self)
        dialog.setObjectName("seriesColorDialog")
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.colorSelected.connect(lambda c: self.set_color(keys, c.name()))
        dialog.open()
        return dialog

    def set_color(self, keys, color: str | None, _checked=False) -> None:
        layout = self.stack.view_layout
        for key in keys:
            layout = layout.with_series(key, color=color)
        self.stack.change(layout)


def _swatch(color: QColor) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(color)
    return QIcon(pixmap)
