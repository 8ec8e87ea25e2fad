"""A theme's palette on the whole application: the Fusion style and one QPalette.

One palette on the QApplication, not a style sheet per widget: every widget (and every dialog
opened later) takes it, and a style sheet would have to be re-polished on every widget at each
switch. Fusion draws from the palette alone (native styles ignore much of it), so both themes
use it; light is Fusion's own palette.
"""

from __future__ import annotations

from PyQt5.QtGui import QColor, QPalette
from PyQt5.QtWidgets import QApplication

from widgets.theme import Theme

STYLE = "Fusion"


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
