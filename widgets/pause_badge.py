"""A "PAUSED" badge over the chart while the view is paused: a frozen chart looks like a live
one whose producers went quiet, so the state must be seen where the user is looking."""

from __future__ import annotations

from PyQt5.QtCore import QEvent, QObject, Qt, pyqtSlot
from PyQt5.QtWidgets import QLabel

from widgets.live_chart import LiveChart

TEXT = "⏸ PAUSED · data still recorded · Space or Follow resumes"
# white on this red keeps 4.5:1 or more over either theme's chart (was rgba(214, 69, 69, 200):
# 3.9 over the light one)
BACKGROUND = (176, 32, 32, 220)


class PauseBadge(QLabel):
    """Shown at the top middle of the chart while it is paused (`LiveChart.paused_changed`)."""

    def __init__(self, chart: LiveChart):
        super().__init__(TEXT, chart)
        self.setObjectName("pausedBadge")
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setStyleSheet(
            f"background: rgba{BACKGROUND}; color: white; font-weight: bold;"
            "padding: 3px 10px; border-radius: 4px;"
        )
        self.adjustSize()
        self.setVisible(chart.paused)
        chart.paused_changed.connect(self._on_paused)
        chart.installEventFilter(self)

    @pyqtSlot(bool)
    def _on_paused(self, paused: bool) -> None:
        self._place()
        self.setVisible(paused)
        self.raise_()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Resize:
            self._place()
        return False

    def _place(self) -> None:
        chart = self.parentWidget()
        self.move(max((chart.width() - self.width()) // 2, 0), 6)
