"""A time plot's own menu (right-click on it): its axes' range and log scale, move, remove.

Each entry is a change of the view description (app.core.view_layout) handed to the stack,
so what the menu does is saved with the session and undone the same way it was done. The menu
is filled when it opens, from the layout as it is then (no state kept here to go stale).
"""

from __future__ import annotations

import math
from functools import partial

from PyQt5.QtWidgets import QActionGroup, QMenu

from app.core.view_layout import LayoutError

MODES = (("steady", "Steady auto range"), ("auto", "Auto range (every frame)"),
         ("fixed", "Fixed at the range shown"))  # fmt: skip


class PlotMenu(QMenu):
    """The menu of the time plot `plot_id` of `stack` (a PlotStack)."""

    def __init__(self, stack, plot_id: int):
        super().__init__("This plot")
        self.setObjectName(f"plotMenu:{plot_id}")
        self.setToolTipsVisible(True)
        self.stack, self.plot_id = stack, plot_id
        self.aboutToShow.connect(self.fill)

    def fill(self) -> None:
        self.clear()
        layout = self.stack.view_layout
        try:
            plot = layout.plot(self.plot_id)
        except LayoutError:
            return
        chart = self.stack.panels[self.plot_id].widget
        for axis, title in (("left", "Left axis"), ("right", "Right axis")):
            if axis == "right" and not chart.layers.get("right", None):
                continue
            menu = self.addMenu(title)
            menu.setObjectName(f"{axis}AxisMenu")
            group = QActionGroup(menu)
            settings = plot.axis(axis)
            for mode, text in MODES:
                action = menu.addAction(text)
                action.setObjectName(f"{axis}Range:{mode}")
                action.setCheckable(True)
                action.setChecked(settings.mode == mode)
                action.setToolTip(_MODE_TIPS[mode])
                group.addAction(action)
                action.triggered.connect(partial(self._set_mode, axis, mode))
            log = menu.addAction("Logarithmic scale")
            log.setObjectName(f"{axis}Log")
            log.setCheckable(True)
            log.setChecked(settings.log)
            log.setToolTip("Values as powers of ten (values at or below zero are not drawn)")
            log.toggled.connect(partial(self._set_log, axis))
        self.addSeparator()
        index = layout.index_of(self.plot_id)
        up = self.addAction("Move plot &up", partial(self._move, index - 1))
        up.setEnabled(index > 0)
        down = self.addAction("Move plot &down", partial(self._move, index + 1))
        down.setEnabled(index < len(layout.plots) - 1)
        remove = self.addAction("&Remove plot", self._remove)
        remove.setObjectName("removePlotAction")
        remove.setEnabled(len(layout.time_plots) > 1)
        remove.setToolTip("Its series go to the top plot")

    def _set_mode(self, axis: str, mode: str, _checked=False) -> None:
        changes = {"mode": mode}
        if mode == "fixed":
            lo, hi = self.stack.panels[self.plot_id].widget.layers[axis].view.viewRange()[1]
            if self.stack.view_layout.plot(self.plot_id).axis(axis).log:
                lo, hi = 10.0**lo, 10.0**hi
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                return
            changes.update(lo=float(lo), hi=float(hi))
        self._apply(axis, changes)

    def _set_log(self, axis: str, log: bool) -> None:
        changes = {"log": log}
        settings = self.stack.view_layout.plot(self.plot_id).axis(axis)
        if log and settings.mode == "fixed" and settings.lo <= 0:
            changes["mode"] = "steady"  # a fixed range through zero cannot be logarithmic
        self._apply(axis, changes)

    def _apply(self, axis: str, changes: dict) -> None:
        try:
            layout = self.stack.view_layout.with_axis(self.plot_id, axis, **changes)
        except LayoutError:
            return
        self.stack.change(layout)

    def _move(self, index: int) -> None:
        self.stack.change(self.stack.view_layout.moving_plot(self.plot_id, index))

    def _remove(self) -> None:
        self.stack.remove_plot(self.plot_id)


_MODE_TIPS = {
    "steady": "Grows at once, shrinks when the data stayed small for a while (no jitter)",
    "auto": "Fits the data in view on every frame",
    "fixed": "Keeps the range shown now, whatever the data does",
}
