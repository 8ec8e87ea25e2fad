"""The chart's y range: grows at once, shrinks only when the data has stayed small for a while.

pyqtgraph's autorange follows every new extreme, so with noisy data the range (and the axis,
which then re-lays its ticks and text) changes on every frame: the picture jitters and the
axis repaint was measured as a tenth of the GUI thread at full rate. Professional scopes hold
the scale steady; so do we. No Qt here: it is plain arithmetic, tested as such.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class StableRange:
    def __init__(
        self,
        pad: float = 0.05,
        headroom: float = 0.1,
        shrink_after_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.pad = pad  # margin around the data when the range is set to fit
        self.headroom = headroom  # extra room taken when growing, so growth is rare
        self.shrink_after_s = shrink_after_s
        self._clock = clock
        self.range: tuple[float, float] | None = None
        self._small_since: float | None = None

    def reset(self) -> None:
        self.range, self._small_since = None, None

    def update(self, lo: float, hi: float) -> tuple[float, float] | None:
        """Feed the visible data's extent; returns a new range when the view should change."""
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        span = hi - lo
        if span <= 1e-9 * max(abs(lo), abs(hi), 1.0):  # a flat signal: show it with some room
            span = 0.2 * max(abs(hi), 1.0)
            lo, hi = lo - 0.5 * span, hi + 0.5 * span
        if self.range is None:
            return self._set(lo - self.pad * span, hi + self.pad * span)
        cur_lo, cur_hi = self.range
        if lo < cur_lo or hi > cur_hi:
            room = (self.pad + self.headroom) * span
            return self._set(min(cur_lo, lo - room), max(cur_hi, hi + room))
        if span < 0.5 * (cur_hi - cur_lo):
            now = self._clock()
            if self._small_since is None:
                self._small_since = now
            elif now - self._small_since >= self.shrink_after_s:
                return self._set(lo - self.pad * span, hi + self.pad * span)
        else:
            self._small_since = None
        return None

    def _set(self, lo: float, hi: float) -> tuple[float, float]:
        self.range, self._small_since = (lo, hi), None
        return self.range
