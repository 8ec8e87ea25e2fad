"""Light and dark themes, driven in a real window with real producers: View → Dark theme turns
the widgets and the chart (background, axes, legend, the series' colours in the strip image)
dark and back, a series keeps its palette slot, the choice survives a new window, and the state
words stay readable on the table in both themes."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from PyQt5.QtCore import QRect, QSettings
from PyQt5.QtGui import QColor, QImage, QPalette
from PyQt5.QtWidgets import QAction, QApplication

from app.core.series_colors import LIGHT_PALETTE, PALETTE
from app.core.supervisor import State
from tests.helpers import WAIT_MS, points_in_chart, producer, session_from, wait_state
from widgets.app_palette import apply_to_application
from widgets.pause_badge import BACKGROUND as BADGE_BACKGROUND
from widgets.producer_panel import COL, StateLabel, selection_palette
from widgets.theme import DARK, LIGHT, Theme, contrast_ratio, luminance

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _own_settings(private_settings):
    """Its own QSettings (conftest), and the application's light palette back afterwards for
    the tests that follow."""
    yield private_settings
    apply_to_application(LIGHT)


def _name(color) -> str:
    return QColor(color).name()


def _lum(color) -> float:
    return luminance(_name(color))


def _plot_background(chart) -> QColor:
    """The most common colour of the plot area as rendered (the grid and any data are few of
    its pixels)."""
    view = chart.getPlotItem().getViewBox()
    rect = chart.mapFromScene(view.sceneBoundingRect()).boundingRect()
    image = chart.grab(rect.adjusted(5, 5, -5, -5)).toImage().convertToFormat(QImage.Format_RGB32)
    bits = image.constBits().asstring(image.sizeInBytes())
    counts = Counter(np.frombuffer(bits, np.uint32).tolist())
    return QColor.fromRgb(counts.most_common(1)[0][0])


def _pixels_of(chart, color: str) -> int:
    image = chart.grab().toImage().convertToFormat(QImage.Format_RGB32)
    pixels = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint32)
    return int(np.count_nonzero((pixels & 0xFFFFFF) == int(color.lstrip("#"), 16)))


def _dark_action(window) -> QAction:
    action = window.findChild(QAction, "darkThemeAction")
    assert action is not None and action.isCheckable()
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert action in view.actions()
    return action


def _assert_look(window, dark: bool) -> None:
    chart = window.chart
    window_lum = _lum(QApplication.palette().color(QPalette.Window))
    background = chart.backgroundBrush().color()
    axis_text = chart.getPlotItem().getAxis("left").textPen().color()
    legend_text = chart.legend.text_color()
    if dark:
        assert window_lum < 0.3
        assert _lum(background) < 0.1 and _lum(axis_text) > 0.3 and _lum(legend_text) > 0.4
    else:
        assert window_lum > 0.7
        assert _lum(background) > 0.9 and _lum(axis_text) < 0.1 and _lum(legend_text) < 0.1
    assert QApplication.style().objectName().lower() == "fusion"
    # the legend's entries are written in it too
    for _sample, label in chart.legend.items:
        assert QColor(label.opts["color"]).name() == QColor(legend_text).name()


def test_dark_theme_turns_the_window_and_the_chart_dark_and_back(qtbot, open_window):
    window = open_window(
        session_from(
            producer("a", "sine", rate_hz=2000, frequency_hz=1.3)
            + producer("b", "sine", rate_hz=2000, frequency_hz=0.7)
        )
    )
    action = _dark_action(window)
    for name in ("a", "b"):
        wait_state(qtbot, window, name, "RUNNING")
    qtbot.waitUntil(lambda: all(points_in_chart(window, n) > 50 for n in "ab"), timeout=WAIT_MS)
    chart = window.chart
    assert not action.isChecked()  # light is the default
    _assert_look(window, dark=False)
    assert _lum(_plot_background(chart)) > 0.7
    b = ("b", "value")
    slot = chart.colors.slot(b)
    # the second producer's colour differs between the themes (same slot, another shade)
    assert LIGHT_PALETTE[slot] != PALETTE[slot]
    qtbot.waitUntil(lambda: _pixels_of(chart, LIGHT_PALETTE[slot]) > 200, timeout=WAIT_MS)

    action.trigger()
    assert action.isChecked()
    _assert_look(window, dark=True)
    assert chart.colors.slot(b) == slot
    assert chart.colors.color(b) == PALETTE[slot] and chart._colors[b] & 0xFFFFFF == int(
        PALETTE[slot].lstrip("#"), 16
    )
    assert chart.curve(b).opts["pen"].color().name() == PALETTE[slot]
    # rendered: a dark plot, the strip image repainted in the dark palette's colour
    qtbot.waitUntil(lambda: _lum(_plot_background(chart)) < 0.1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _pixels_of(chart, PALETTE[slot]) > 200, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _pixels_of(chart, LIGHT_PALETTE[slot]) == 0, timeout=WAIT_MS)
    # cursors and the hover line follow the theme
    window.crosshair.drop_cursor()
    assert window.crosshair.cursor_lines("A")[0].pen.color().name() == DARK.cursors["A"]

    action.trigger()
    assert not action.isChecked()
    _assert_look(window, dark=False)
    assert chart.colors.slot(b) == slot and chart.colors.color(b) == LIGHT_PALETTE[slot]
    assert window.crosshair.cursor_lines("A")[0].pen.color().name() == LIGHT.cursors["A"]
    assert window.crosshair.cursor_lines("A")[0].label.color.name() == LIGHT.cursors["A"]
    qtbot.waitUntil(lambda: _lum(_plot_background(chart)) > 0.7, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _pixels_of(chart, LIGHT_PALETTE[slot]) > 200, timeout=WAIT_MS)

    # the same theme again costs nothing: no redraw is asked for
    drawn = chart._drawn
    chart.set_theme(LIGHT)
    assert chart._drawn is drawn


def test_the_choice_persists_in_a_new_window(qtbot, open_window, private_settings):
    session = session_from(producer("a", "sine", autostart=False))
    first = open_window(session)
    _dark_action(first).trigger()
    assert QSettings().value("theme") == "dark"
    assert any(private_settings.rglob("*"))  # the test's own settings file, not the user's
    with qtbot.waitSignal(first.shutdown_finished, timeout=WAIT_MS):
        first.close()
    apply_to_application(LIGHT)  # what a new process starts with

    second = open_window(session)
    assert _dark_action(second).isChecked()
    _assert_look(second, dark=True)
    _dark_action(second).trigger()
    assert QSettings().value("theme") == "light"


def _cell_background(panel, row: int) -> QColor:
    rect: QRect = panel.visualRect(panel.model().index(row, COL["State"]))
    image = panel.viewport().grab(rect).toImage()
    counts = Counter(image.pixel(x, y) for x in range(image.width()) for y in range(image.height()))
    return QColor.fromRgb(counts.most_common(1)[0][0])


def test_state_words_stay_readable_on_the_table_in_both_themes(qtbot, open_window):
    window = open_window(
        session_from(
            producer("a", "sine", autostart=False) + producer("b", "sine", autostart=False)
        )
    )
    wait_state(qtbot, window, "a", "STOPPED")
    wait_state(qtbot, window, "b", "STOPPED")
    panel = window.panel
    for theme in (LIGHT, DARK, LIGHT):
        if _dark_action(window).isChecked() != theme.dark:
            _dark_action(window).trigger()
        palette = panel.palette()
        grounds = {
            "base": palette.color(QPalette.Active, QPalette.Base),
            "alternate": palette.color(QPalette.Active, QPalette.AlternateBase),
            "selected": palette.color(QPalette.Active, QPalette.Highlight),
        }
        assert (_lum(grounds["base"]) < 0.1) == theme.dark
        for state, color in [*theme.states.items(), ("warn", theme.warn)]:
            for ground, background in grounds.items():
                ratio = contrast_ratio(color, background.name())
                assert ratio >= 4.5, (theme.name, state, ground, ratio)
        # as drawn: the label's colour on its rendered cell (rows 0 and 1: plain, alternate)
        for row, name in enumerate("ab"):
            label = window.findChild(StateLabel, f"stateLabel:{name}")
            shown = label.palette().color(QPalette.WindowText)
            assert shown.name() == theme.states[State.STOPPED]
            qtbot.waitUntil(
                lambda r=row, dark=theme.dark: (_lum(_cell_background(panel, r)) < 0.2) == dark,
                timeout=WAIT_MS,
            )
            assert contrast_ratio(shown.name(), _cell_background(panel, row).name()) >= 4.5


def _lab(color: str) -> tuple[float, float, float]:
    value = int(color.lstrip("#"), 16)
    linear = []
    for shift in (16, 8, 0):
        c = ((value >> shift) & 0xFF) / 255
        linear.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = linear
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _closest(palette) -> float:
    return min(math.dist(_lab(a), _lab(b)) for a, b in itertools.combinations(palette, 2))


def test_the_light_palette_is_distinct_and_readable_on_white():
    assert len(LIGHT_PALETTE) == len(PALETTE) and len(set(LIGHT_PALETTE)) == len(LIGHT_PALETTE)
    assert LIGHT.series == LIGHT_PALETTE and DARK.series == PALETTE
    # no two light colours closer (CIE76 ΔE) than the dark palette's closest pair, nor < 15
    assert _closest(LIGHT_PALETTE) >= max(_closest(PALETTE), 15)
    assert min(contrast_ratio(c, LIGHT.chart_background) for c in LIGHT_PALETTE) >= 2.9
    # the light tints are too pale on white: the light theme has dark shades in their slots
    assert min(contrast_ratio(c, "#ffffff") for c in PALETTE[9:18]) < 2
    assert min(contrast_ratio(c, "#ffffff") for c in LIGHT_PALETTE[9:18]) > 4.5


def _over(rgba: tuple[int, int, int, int], under: str) -> str:
    """A translucent colour drawn over an opaque one, as '#rrggbb'."""
    *rgb, alpha = rgba
    below = QColor(under)
    mix = [
        round(c * alpha / 255 + b * (1 - alpha / 255))
        for c, b in zip(rgb, below.getRgb()[:3], strict=True)
    ]
    return QColor(*mix).name()


def _texts_and_grounds(theme: Theme) -> list[tuple[str, str, str]]:
    """(what, text colour, background) for every text the window draws in `theme`: the
    widgets' palette roles, status texts (status bar, dialogs, event log, table), the state
    words on the table's rows, and the chart's labels. Call with `theme` applied."""
    palette = QApplication.palette()

    def role(name: str) -> QColor:
        return palette.color(QPalette.Active, getattr(QPalette, name))

    def flat(name: str, under: str) -> str:  # a role's colour as drawn (Fusion's have alpha)
        color = role(name)
        return _over((color.red(), color.green(), color.blue(), color.alpha()), under)

    window, base, alternate = (role(r).name() for r in ("Window", "Base", "AlternateBase"))
    selected = selection_palette(palette).color(QPalette.Active, QPalette.Highlight).name()
    pairs = [
        ("window text", flat("WindowText", window), window),
        ("text", flat("Text", base), base),
        ("text, alternate row", flat("Text", alternate), alternate),
        ("button text", flat("ButtonText", role("Button").name()), role("Button").name()),
        ("tooltip", flat("ToolTipText", role("ToolTipBase").name()), role("ToolTipBase").name()),
        (
            "selected text",
            flat("HighlightedText", role("Highlight").name()),
            role("Highlight").name(),
        ),
        ("placeholder", flat("PlaceholderText", base), base),
    ]
    rows = {"window": window, "row": base, "alternate row": alternate, "selected row": selected}
    for what, color in [("warning", theme.warn), ("caution", theme.caution)]:
        pairs += [(f"{what} on {name}", color, ground) for name, ground in rows.items()]
    for state, color in theme.states.items():
        pairs += [(f"{state.name} on {n}", color, rows[n]) for n in rows if n != "window"]
    chart = theme.chart_background
    pairs += [
        ("axis labels", theme.axis_text, chart),
        ("legend", theme.legend_text, _over(theme.legend_background, chart)),
        ("PAUSED badge", "#ffffff", _over(BADGE_BACKGROUND, chart)),
        *((f"cursor {name} label", color, chart) for name, color in theme.cursors.items()),
    ]
    return pairs


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=lambda t: t.name)
def test_every_text_colour_reads_on_its_background(qtbot, theme):
    """WCAG AA for text: a contrast ratio of at least 4.5. (A legend entry the user hid is
    dimmed on purpose, like a disabled control, and is not in the list.)"""
    apply_to_application(theme)
    pairs = _texts_and_grounds(theme)
    assert len(pairs) > 40
    low = [
        (what, text, ground, round(contrast_ratio(text, ground), 2))
        for what, text, ground in pairs
        if contrast_ratio(text, ground) < 4.5
    ]
    assert not low, low
    # the status bar's red in particular (it was #d64545: 2.9 on the dark window)
    assert contrast_ratio(theme.warn, QApplication.palette().color(QPalette.Window).name()) >= 4.5
