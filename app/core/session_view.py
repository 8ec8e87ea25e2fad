"""Reading the view part of a session file: `[[plots]]`, `[series."label"]` and `[chart] theme`.

A session holds what the window shows (issue 9: plots, series assignments, colours, axes,
theme), and people edit it by hand, so every value is checked here with the line it is on,
like the producers: a typo'd producer name in `[series."nois"]` is an error, not a setting
that silently does nothing.

The file says what the view description (app.core.view_layout) holds, position for position:
plot ids are positions in `[[plots]]` (0 = top), a series is named by its label (`producer` or
`producer/series`, see `key_label`), and what is left out is the default. Values the view keeps
without using them now (the range of an axis that is not fixed, x/y of a time plot) are read
too, so a view saved and reopened is equal to the one saved.

Errors are `ViewFileError(message, line)`; app.core.session adds the file name.
"""

from __future__ import annotations

from app.core.store import SeriesKey
from app.core.toml_locator import Locator
from app.core.view_layout import (
    AXES,
    COLOR_RE,
    MAX_PLOTS,
    PLOT_KINDS,
    RANGE_MODES,
    AxisView,
    LayoutError,
    PlotView,
    SeriesView,
    ViewLayout,
    label_key,
)
from producers.params import one_line, short_repr

__all__ = [
    "AXIS_KEYS",
    "PLOT_KEYS",
    "SERIES_KEYS",
    "THEMES",
    "ViewFileError",
    "read_plot",
    "read_series",
    "read_theme",
    "read_view",
]

THEMES = ("light", "dark")  # widgets.theme's names ("" in a session: the remembered one)
# The keys of one axis in a [[plots]] table; the right axis has the same with "right_".
AXIS_KEYS = {"range": "mode", "min": "lo", "max": "hi", "log": "log"}
PLOT_KEYS = (
    "kind",
    *AXIS_KEYS,
    *(f"right_{key}" for key in AXIS_KEYS),
    "x",
    "y",
    "window_s",
)
SERIES_KEYS = ("plot", "axis", "color", "visible")
MAX_VALUE = 1e100  # an axis limit: far beyond any data, and hi - lo stays finite
MAX_WINDOW_S = 86400.0


class ViewFileError(ValueError):
    """A view setting that cannot be used: the message, and its line (None if unknown)."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def read_view(data: dict, where: Locator, producers: set[str]) -> ViewLayout:
    """The ViewLayout a session file's parsed `data` describes (ViewLayout() if it has no
    [[plots]]); `producers`: the names a series label may name."""
    plots = _read_plots(data.get("plots"), where, producers)
    raw_series = data.get("series", {})
    if not isinstance(raw_series, dict):
        raise ViewFileError('series must be tables ([series."name"])', where.top("series"))
    series: dict[SeriesKey, SeriesView] = {}
    labels: dict[SeriesKey, str] = {}
    for label, raw in raw_series.items():
        line = where.at("series", label)
        key = _series_key(label, line, producers, f"[series.{_quoted(label)}]")
        if key in labels:
            raise ViewFileError(
                f"[series.{_quoted(label)}] is the same series as [series.{_quoted(labels[key])}]",
                line,
            )
        labels[key] = label
        view = read_series(raw, label, where, len(plots))
        if view != SeriesView():  # as ViewLayout keeps them: defaults are not entries
            series[key] = view
    try:
        return ViewLayout(plots, series)
    except LayoutError as exc:
        raise ViewFileError(str(exc), where.at("plots", 0) or where.top("plots")) from None


def read_theme(value, line: int | None) -> str:
    """`[chart] theme`: "light", "dark", or "" (the theme the user chose last)."""
    if value != "" and value not in THEMES:
        raise ViewFileError(f'chart.theme must be one of {", ".join(THEMES)} (or "")', line)
    return value


# -- plots --------------------------------------------------------------------------------------
def _read_plots(raw, where: Locator, producers: set[str]) -> tuple[PlotView, ...]:
    if raw is None:
        return ViewLayout().plots
    if not isinstance(raw, list):
        raise ViewFileError("plots must be an array of tables ([[plots]])", where.top("plots"))
    if not raw:
        raise ViewFileError("plots is empty: there must be at least one plot", where.top("plots"))
    if len(raw) > MAX_PLOTS:
        line = where.at("plots", MAX_PLOTS) or where.top("plots")
        raise ViewFileError(f"at most {MAX_PLOTS} plots (this file has {len(raw)})", line)
    return tuple(read_plot(table, i, where, producers) for i, table in enumerate(raw))


def _checked_table(raw, what: str, where_named: str, keys, head, key_line):
    """`raw` is a table of only `keys` (else ViewFileError at its line); returns line(key):
    where a key of it is (its table's head when the key is not found)."""
    if not isinstance(raw, dict):
        raise ViewFileError(f"{what} must be a table", head)

    def line(key: str) -> int | None:
        return key_line(key) or head

    for key in raw:
        if key not in keys:
            known = ", ".join(keys)
            message = f"unknown key {short_repr(key)} in {where_named} (known: {known})"
            raise ViewFileError(message, line(key))
    return line


def read_plot(raw, i: int, where: Locator, producers: set[str]) -> PlotView:
    """The i-th `[[plots]]` table (its id is i); its x/y may name `producers`' series."""
    head = where.at("plots", i) or where.top("plots")
    line = _checked_table(raw, f"plot #{i + 1}", "[[plots]]", PLOT_KEYS, head,
                          lambda key: where.at("plots", i, key))  # fmt: skip
    kind = raw.get("kind", "time")
    if kind not in PLOT_KINDS:
        raise ViewFileError(f"kind must be one of {', '.join(PLOT_KINDS)}", line("kind"))
    axes = [_read_axis(raw, prefix, line) for prefix in ("", "right_")]
    x, y = (
        _series_key(raw[key], line(key), producers, key) if raw.get(key, "") != "" else None
        for key in ("x", "y")
    )
    window = raw.get("window_s", 30.0)
    if not _is_number(window) or not 0 < window <= MAX_WINDOW_S:
        raise ViewFileError(
            f"window_s must be a number of seconds in (0, {MAX_WINDOW_S:g}]", line("window_s")
        )
    return PlotView(i, kind, axes[0], axes[1], x, y, float(window))


def _read_axis(raw: dict, prefix: str, line) -> AxisView:
    given = {}
    mode_key = f"{prefix}range"
    mode = raw.get(mode_key, "steady")
    if mode not in RANGE_MODES:
        raise ViewFileError(f"{mode_key} must be one of {', '.join(RANGE_MODES)}", line(mode_key))
    for key in ("min", "max"):
        name = f"{prefix}{key}"
        if name in raw:
            value = raw[name]
            if not _is_number(value) or not -MAX_VALUE <= value <= MAX_VALUE:
                raise ViewFileError(
                    f"{name} must be a number in [{-MAX_VALUE:g}, {MAX_VALUE:g}]", line(name)
                )
            given[AXIS_KEYS[key]] = float(value)
    log = raw.get(f"{prefix}log", False)
    if not isinstance(log, bool):
        raise ViewFileError(f"{prefix}log must be true or false", line(f"{prefix}log"))
    try:
        return AxisView(mode, log=log, **given)
    except LayoutError as exc:  # a fixed range that is empty, or not above 0 on a log axis
        at = next((f"{prefix}{k}" for k in ("min", "max", "range") if f"{prefix}{k}" in raw), "")
        raise ViewFileError(f"{'right axis: ' if prefix else ''}{exc}", line(at)) from None


# -- series -------------------------------------------------------------------------------------
def read_series(raw, label: str, where: Locator, plot_count: int) -> SeriesView:
    """The settings of one `[series."label"]` table, in a file with `plot_count` plots."""
    head = where.at("series", label)
    name = f"[series.{_quoted(label)}]"
    line = _checked_table(raw, name, name, SERIES_KEYS, head,
                          lambda key: where.at("series", label, key))  # fmt: skip
    plot = raw.get("plot")
    if plot is not None and (
        isinstance(plot, bool) or not isinstance(plot, int) or not 0 <= plot < plot_count
    ):
        where_to = f"0..{plot_count - 1}" if plot_count > 1 else "0"
        raise ViewFileError(
            f"plot must be the position of a plot in [[plots]] ({where_to}, 0 = top)",
            line("plot"),
        )
    axis = raw.get("axis", "left")
    if axis not in AXES:
        raise ViewFileError(f"axis must be {' or '.join(AXES)}", line("axis"))
    visible = raw.get("visible", True)
    if not isinstance(visible, bool):
        raise ViewFileError("visible must be true or false", line("visible"))
    color = raw.get("color")
    if color is not None and not (isinstance(color, str) and COLOR_RE.fullmatch(color)):
        raise ViewFileError('color must be "#rrggbb" (e.g. "#d62728")', line("color"))
    return SeriesView(plot, axis, visible, color)


def _series_key(label, line: int | None, producers: set[str], what: str) -> SeriesKey:
    """The series a label names; its producer must be one of the session's."""
    if not isinstance(label, str):
        raise ViewFileError(f'{what} must be a series label ("producer/series")', line)
    producer, slash, series = label.partition("/")
    if producer not in producers:
        raise ViewFileError(
            f"{what}: no producer {short_repr(producer)} in this session"
            ' (a series is named "producer" or "producer/series")',
            line,
        )
    if slash and not series:
        raise ViewFileError(f"{what}: {short_repr(label)} names no series after the '/'", line)
    return label_key(label)


def _quoted(label: str) -> str:
    """A label in double quotes, as the table header has it, shortened for a message."""
    return '"' + one_line(label if len(label) <= 60 else label[:57] + "...") + '"'


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
