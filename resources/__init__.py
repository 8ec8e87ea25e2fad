"""Files the app ships with (the default session, the icon); installed with the wheel."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
DEFAULT_SESSION = RESOURCES / "default_session.toml"
