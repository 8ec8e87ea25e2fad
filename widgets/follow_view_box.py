"""The chart's ViewBox, where "auto range" means Follow.

pyqtgraph's own auto range (the "A" button, the menu's "View All", an axis's "Auto" box) fits
the view to the items' bounds: here that is the strip image of the last frame, a range that
stops scrolling and is not what the user asked for. So every way of asking for it asks the
chart to follow the newest data instead (`follow_requested`); turning auto range off, which
pyqtgraph does itself on every setRange, still works as before.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt5.QtCore import pyqtSignal

_UNSET = object()  # setRange passes x=None, y=None: not a request for auto range


def _given(value):
    return None if value is _UNSET else value


class FollowViewBox(pg.ViewBox):
    """Signals:
    follow_requested(): the user asked for auto range (menu, axis menu): follow instead.
    """

    follow_requested = pyqtSignal()

    def autoRange(self, *_args, **_kwargs) -> None:
        self.follow_requested.emit()

    def enableAutoRange(self, axis=None, enable=True, x=_UNSET, y=_UNSET) -> None:
        if x is not _UNSET or y is not _UNSET:  # per-axis keywords: pyqtgraph calls back
            super().enableAutoRange(axis, enable, _given(x), _given(y))
        elif enable is False or enable is None:
            super().enableAutoRange(axis, enable)
        else:
            self.follow_requested.emit()
