"""A theme's palette on the whole application: the Fusion style and one QPalette.

One palette on the QApplication, not a style sheet per widget: every widget (and every dialog
opened later) takes it, and a style sheet would have to be re-polished on every widget at each
switch. Fusion draws from the palette alone (native styles ignore much of it), so both themes
use it; light is Fusion's own palette.

The theme applied is kept here too (`current_theme`, and `theme_changed` says when it
changes): widgets that colour a text themselves (a warning in the status bar, the event log's
levels) take their colour from it when they draw or when it changes, so no window has to hand
the theme to each of them, in the right order, at each switch. (Not QEvent.
ApplicationPaletteChange: Qt sends it to top-level windows only, and only once its event loop
runs.)
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal
from PyQt5.QtGui import QColor, QPalette
from PyQt5.QtWidgets import QApplication

from widgets.theme import DEFAULT, THEMES, Theme

STYLE = "Fusion"


class _Applied(QObject):
    """Signals: changed(object): another Theme was applied to the application."""

    changed = pyqtSignal(object)

    def __init__(self):
        super().__init__()
        self.theme: Theme | None = None


_APPLIED = _Applied()  # one application, one theme


def theme_palette(theme: Theme, standard: QPalette) -> QPalette:
    """`standard` (the style's own palette) with the theme's roles over it."""
    palette = QPalette(standard)
    for role, color in theme.window_roles.items():
        palette.setColor(QPalette.All, getattr(QPalette, role), QColor(color))
    for role, color in theme.disabled_roles.items():
        palette.setColor(QPalette.Disabled, getattr(QPalette, role), QColor(color))
    return palette


def apply_to_application(theme: Theme) -> None:
    """Fusion and the theme's palette on the running QApplication (every widget follows)."""
    app = QApplication.instance()
    if app is None:
        return
    if app.style().objectName().lower() != STYLE.lower():
        app.setStyle(STYLE)
    palette = theme_palette(theme, app.style().standardPalette())
    if app.palette() != palette:
        app.setPalette(palette)
    if theme is not _APPLIED.theme:
        _APPLIED.theme = theme
        _APPLIED.changed.emit(theme)


def current_theme() -> Theme:
    """The theme last applied to the application (the default one before any)."""
    return _APPLIED.theme or THEMES[DEFAULT]


def theme_changed():
    """The signal emitted with the new Theme after `apply_to_application` switched it."""
    return _APPLIED.changed
