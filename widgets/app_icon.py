"""The application's icon (resources/streamscope.svg), for the window and the application."""

from __future__ import annotations

from PyQt5.QtGui import QIcon

from resources import ICON


def app_icon() -> QIcon:
    """The theme's `streamscope` icon if one is installed (`streamscope install-desktop`), else
    the packaged SVG: the same picture either way."""
    return QIcon.fromTheme("streamscope", QIcon(str(ICON)))
