"""Files the app ships with (the default session, the icon, the desktop entry); installed with
the wheel."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
DEFAULT_SESSION = RESOURCES / "default_session.toml"
ICON = RESOURCES / "streamscope.svg"
DESKTOP_FILE = RESOURCES / "streamscope.desktop"
