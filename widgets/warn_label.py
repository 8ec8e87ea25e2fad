"""A status text that turns the theme's warning colour: dropped samples in the status bar, a
dead data path, a form's error.

Why not a fixed red in a style sheet: a red that reads on a light window (#d64545) is too dark
on the dark one (2.9:1). The colour is the current theme's (`Theme.warn`, at least 4.5:1 on
either window), looked up when the warning turns on and again at every theme switch
(widgets/app_palette.py).
"""

from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSlot
from PyQt5.QtWidgets import QLabel

from widgets.app_palette import current_theme, theme_changed


class WarnLabel(QLabel):
    """Plain text (never guessed to be rich text); in the warning colour while `warning`."""

    def __init__(self, text: str = "", parent=None, *, warning: bool = True, bold: bool = False):
        super().__init__(text, parent)
        self.setTextFormat(Qt.PlainText)
        self._bold = bold
        self._warning = warning
        self._restyle()
        theme_changed().connect(self._on_theme_changed)

    def warning(self) -> bool:
        return self._warning

    def set_warning(self, warning: bool) -> None:
        """Warning colour on or off (the window's text colour); costs nothing when unchanged."""
        if warning != self._warning:
            self._warning = warning
            self._restyle()

    @pyqtSlot(object)
    def _on_theme_changed(self, _theme) -> None:
        self._restyle()

    def _restyle(self) -> None:
        style = f"color: {current_theme().warn};" if self._warning else ""
        style += " font-weight: bold;" if self._bold else ""
        if style.strip() != self.styleSheet():
            self.setStyleSheet(style.strip())
