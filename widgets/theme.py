"""The light and dark themes: every colour the window draws itself, as data (no Qt here).

What a new user saw: "the plot is black beside light widgets". A theme now covers the whole
window: the widgets' palette (`window_roles` over the Fusion style's own, applied to the
QApplication by widgets/app_palette.py: dark replaces them all, light only two), the chart
(background, axes, grid, legend, crosshair and cursors), the series colours
(app.core.series_colors: the same slots in a palette made for the background), the producer
table's state colours and the warning and caution colours of status texts (the status bar, the
event log, a form's error).

Every text colour keeps a contrast ratio of at least 4.5 (WCAG AA for text) against whatever it
is drawn on in its theme: the window (status bar, dialogs), the table's rows (plain, alternate,
selected), the chart's background (axis labels, cursor labels), tested in tests/test_theme.py.
The red of status texts (#d64545) had 2.9 on the dark window, 3.8 on the light one; the warning
colour is now a red of each theme's own. Exempt: a legend entry the user hid is dimmed on
purpose (and struck through), like a disabled control.

Light is the default. The choice is remembered (QSettings "theme", app.session_files).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.series_colors import LIGHT_PALETTE, PALETTE
from app.core.supervisor import State

DEFAULT = "light"


@dataclass(frozen=True)
class Theme:
    name: str
    dark: bool
    # the widgets: QPalette role name -> colour, for the Active/Inactive groups and (the
    # `disabled_roles`) the Disabled group, over the style's own palette (Fusion's is light)
    window_roles: dict[str, str]
    disabled_roles: dict[str, str]
    # the chart
    chart_background: str
    axis: str  # axis line and ticks; the grid is this colour at `grid_alpha`
    axis_text: str
    grid_alpha: float
    legend_background: tuple[int, int, int, int]  # translucent: the data shows through
    legend_border: tuple[int, int, int, int]
    legend_text: str
    legend_hidden_text: str
    crosshair: str
    cursors: dict[str, str]  # cursor name (A, B) -> colour of its line and label
    series: tuple[str, ...]  # the series palette, slot for slot the same hues
    # the producer table
    states: dict[State, str] = field(default_factory=dict)
    # status texts: a stalled producer, dropped samples, errors (red); warnings (amber)
    warn: str = "#b3261e"
    caution: str = "#7a5c00"


LIGHT = Theme(
    name="light",
    dark=False,
    # Fusion's own, but for two that text is drawn on or in below 4.5:1: its placeholder text
    # (black at half alpha: 4.0 on white) and its selection (white on #308cc6: 3.7)
    window_roles={"PlaceholderText": "#6b6b6b", "Highlight": "#2a7bae"},
    disabled_roles={},
    chart_background="#ffffff",
    axis="#505050",
    axis_text="#303030",
    grid_alpha=0.18,
    legend_background=(255, 255, 255, 190),
    legend_border=(0, 0, 0, 60),
    legend_text="#202020",
    legend_hidden_text="#9a9a9a",
    crosshair="#606060",
    cursors={"A": "#a65c00", "B": "#0070c0"},
    series=LIGHT_PALETTE,
    states={
        State.RUNNING: "#1c7436",
        State.STARTING: "#7a5c00",
        State.STOPPING: "#7a5c00",
        State.BACKOFF: "#a04e00",
        State.EXITED: "#a04e00",
        State.FATAL: "#c62828",
        State.STOPPED: "#646464",
        State.UNKNOWN: "#7b4f9d",
    },
    warn="#b3261e",  # 5.7 on the window (#efefef); #d64545 had 3.8
    caution="#7a5c00",
)

DARK = Theme(
    name="dark",
    dark=True,
    window_roles={
        "Window": "#353535",
        "WindowText": "#e0e0e0",
        "Base": "#2a2a2a",
        "AlternateBase": "#323232",
        "ToolTipBase": "#202020",
        "ToolTipText": "#e0e0e0",
        "PlaceholderText": "#a0a0a0",
        "Text": "#e0e0e0",
        "Button": "#4a4a4a",
        "ButtonText": "#e0e0e0",
        "BrightText": "#ff6b6b",
        "Light": "#505050",
        "Midlight": "#444444",
        "Mid": "#2e2e2e",
        "Dark": "#232323",
        "Shadow": "#141414",
        "Highlight": "#2377ca",  # white on it: 4.6 (#2a82da had 4.0)
        "HighlightedText": "#ffffff",
        "Link": "#5aa9ff",
        "LinkVisited": "#b48ce6",
    },
    disabled_roles={
        "WindowText": "#7a7a7a",
        "Text": "#7a7a7a",
        "ButtonText": "#7a7a7a",
        "Highlight": "#505050",
        "HighlightedText": "#a0a0a0",
    },
    chart_background="#000000",  # as the chart always was
    axis="#969696",
    axis_text="#b4b4b4",
    grid_alpha=0.25,
    legend_background=(16, 16, 16, 150),
    legend_border=(255, 255, 255, 60),
    legend_text="#d0d0d0",
    legend_hidden_text="#6e6e6e",
    crosshair="#aaaaaa",
    cursors={"A": "#ffb000", "B": "#00b4ff"},
    series=PALETTE,
    states={
        State.RUNNING: "#4cc06a",
        State.STARTING: "#e0b83a",
        State.STOPPING: "#e0b83a",
        State.BACKOFF: "#f0953e",
        State.EXITED: "#f0953e",
        State.FATAL: "#ff8080",
        State.STOPPED: "#a8a8a8",
        State.UNKNOWN: "#c09ad6",
    },
    warn="#ff8080",  # 5.0 on the window (#353535); #d64545 had 2.9
    caution="#e0b83a",
)

THEMES = {theme.name: theme for theme in (LIGHT, DARK)}


def theme_named(name) -> Theme:
    """The theme called `name`; the default one for anything else (an old or edited setting)."""
    return THEMES.get(str(name), THEMES[DEFAULT])


def luminance(color: str) -> float:
    """WCAG relative luminance of '#rrggbb', 0 (black) to 1 (white)."""
    value = int(color.lstrip("#")[:6], 16)
    channels = [((value >> shift) & 0xFF) / 255 for shift in (16, 8, 0)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours, 1 (the same) to 21 (black on white)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
