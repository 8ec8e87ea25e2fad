"""Writing the view part of a session file (`[[plots]]`, `[series."label"]`) with tomlkit.

Like the producers (app.core.session_writer), a file is edited, not regenerated: a plot table
whose plot did not change is left exactly as written (comments, spacing, `min = -1` as an
integer), a changed one gets only its changed keys rewritten, tables of plots and series that
are gone are removed and new ones appended. A file written from nothing says only what differs
from the defaults: no `[[plots]]` at all for the default single time plot, no `[series]` entry
for a series at its defaults.

Plots have no name in the file (their id is their position), so an edited file's tables are
matched to plots by content first: a plot that did not change keeps its table even when a plot
above it was removed or moved; changed plots then take the leftover tables in order.

The layout written must be the one `parse_session` would give: ids 0..n-1 (`renumbered`),
only series of producers in the session, no default entries (`savable_view`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, InlineTable, KeyType, SingleKey, Table

from app.core.session_view import AXIS_KEYS, SERIES_KEYS, ViewFileError, read_plot, read_series
from app.core.toml_locator import Locator
from app.core.view_layout import PlotView, SeriesView, ViewLayout, key_label, label_key

__all__ = ["savable_view", "update_view"]

_DEFAULT_PLOT = PlotView(0)
_DEFAULT_SERIES = SeriesView()
_NOWHERE = Locator("")  # the reader wants lines; a table of the document being edited has none


def savable_view(layout: ViewLayout, producers: set[str]) -> ViewLayout:
    """`layout` as a session file holds it: ids are positions, settings of series of producers
    that are no longer in the session are dropped (the file may only name its producers), and
    series at their defaults have no entry."""
    layout = layout.renumbered()
    series = {
        key: view
        for key, view in layout.series.items()
        if key[0] in producers and view != _DEFAULT_SERIES
    }
    plots = tuple(
        replace(plot, x_series=None, y_series=None)  # the pair cannot be drawn any more
        if any(
            key is not None and key[0] not in producers for key in (plot.x_series, plot.y_series)
        )
        else plot
        for plot in layout.plots
    )
    return ViewLayout(plots, series)


def update_view(doc, layout: ViewLayout, producers: set[str]) -> None:
    """Make `doc` (a tomlkit document) say `layout` (a `savable_view`)."""
    _update_plots(doc, layout.plots, producers)
    _update_series(doc, layout, producers)


# -- [[plots]] ----------------------------------------------------------------------------------
def plot_values(plot: PlotView) -> dict[str, Any]:
    """Every key of a plot's table and the value it must read as (None: left out)."""
    values: dict[str, Any] = {"kind": plot.kind}
    for prefix, axis in (("", plot.left), ("right_", plot.right)):
        for key, attr in AXIS_KEYS.items():
            values[f"{prefix}{key}"] = getattr(axis, attr)
    values["x"] = plot.x_series
    values["y"] = plot.y_series
    values["window_s"] = plot.xy_window_s
    return values


_DEFAULT_VALUES = plot_values(_DEFAULT_PLOT)


def _new_plot_items(plot: PlotView) -> dict[str, Any]:
    """What a new table says: its kind, what differs from the defaults, and both limits of a
    fixed range and an XY plot's window (people look for them)."""
    values = plot_values(plot)
    keep = {"kind"}
    for prefix, axis in (("", plot.left), ("right_", plot.right)):
        if axis.mode == "fixed":
            keep |= {f"{prefix}min", f"{prefix}max"}
    if plot.kind == "xy":
        keep.add("window_s")
    return {
        key: _file_value(value)
        for key, value in values.items()
        if value is not None and (key in keep or value != _DEFAULT_VALUES[key])
    }


def _file_value(value: Any) -> Any:
    """A value as the file spells it: a series as its label."""
    return key_label(value) if isinstance(value, tuple) else value


def _update_plots(doc, plots: tuple[PlotView, ...], producers: set[str]) -> None:
    tables = doc.get("plots")
    if not _array_of_tables(tables):
        if tables is None and plots == (_DEFAULT_PLOT,):
            return  # the default view: nothing to say
        if tables is not None:
            del doc["plots"]
        _separate(doc)
        doc["plots"] = tomlkit.aot()
        for plot in plots:
            doc["plots"].append(_new_table(_new_plot_items(plot), inline=False))
        return
    inline = not isinstance(tables, AoT)  # `plots = [{...}, ...]` as written
    readings = [_reading(table, producers) for table in tables]
    chosen = _match(plots, readings)
    for plot, i in zip(plots, chosen, strict=True):
        if i is not None:
            _update_plot_table(tables[i], plot)
    ordered = [tables[i] if i is not None else None for i in chosen]
    kept = [i for i in chosen if i is not None]
    if chosen[: len(kept)] == sorted(kept):  # nothing moved: remove the gone, append the new
        for i in reversed(range(len(tables))):
            if i not in kept:
                del tables[i]
        for plot, table in zip(plots, ordered, strict=True):
            if table is None:
                _append(tables, _new_table(_new_plot_items(plot), inline), inline)
        return
    for i in reversed(range(len(tables))):
        del tables[i]
    for plot, table in zip(plots, ordered, strict=True):
        _append(tables, table or _new_table(_new_plot_items(plot), inline), inline)


def _array_of_tables(tables) -> bool:
    """`[[plots]]` tables or `plots = [{...}, ...]` (else the section is written anew)."""
    return isinstance(tables, AoT) or (
        isinstance(tables, Array) and all(isinstance(t, InlineTable) for t in tables)
    )


def _reading(table, producers: set[str]) -> PlotView | None:
    """What a plot table of the document says now (None: nothing valid)."""
    try:
        return read_plot(_plain(table), 0, _NOWHERE, producers)
    except ViewFileError:
        return None


def _match(plots, readings: list[PlotView | None]) -> list[int | None]:
    """For each plot, the index of the table it takes (None: a new one)."""
    free = list(range(len(readings)))
    chosen: list[int | None] = [None] * len(plots)
    for j, plot in enumerate(plots):  # unchanged plots keep their own table
        for i in free:
            if readings[i] is not None and replace(readings[i], id=plot.id) == plot:
                chosen[j] = i
                free.remove(i)
                break
    for j in range(len(plots)):  # changed ones take the leftovers, top to bottom
        if chosen[j] is None and free:
            chosen[j] = free.pop(0)
    return chosen


def _update_plot_table(table, plot: PlotView) -> None:
    """Rewrite the keys whose reading differs from `plot` (a missing key reads as its
    default); a series that is no longer chosen loses its key."""
    for key, value in plot_values(plot).items():
        old = table.get(key)
        if _same(_reads_as(key, old), value):
            continue
        if value is None:
            del table[key]
        else:
            table[key] = _item(_file_value(value), old)


def _reads_as(key: str, item) -> Any:
    if item is None:
        return _DEFAULT_VALUES[key]
    value = _plain(item)
    if key in ("x", "y"):
        return label_key(value) if isinstance(value, str) and value else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


# -- [series."label"] ---------------------------------------------------------------------------
def _series_values(view: SeriesView) -> dict[str, Any]:
    return {key: getattr(view, key) for key in SERIES_KEYS}


def _update_series(doc, layout: ViewLayout, producers: set[str]) -> None:
    tables = doc.get("series")
    wanted = dict(layout.series)
    if not isinstance(tables, Table | InlineTable):
        if tables is not None:
            del doc["series"]
        if not wanted:
            return
        _separate(doc)
        doc["series"] = tomlkit.table(is_super_table=True)
        tables = doc["series"]
    inline = isinstance(tables, InlineTable)
    seen = set()
    for label in list(tables.keys()):
        key = label_key(label)
        view = wanted.get(key)
        table = tables[label]
        if (
            key in seen
            or not isinstance(table, Table | InlineTable)
            or (view is None and not _says_nothing(table, label, producers))
        ):
            del tables[label]  # a series whose settings are gone, or a second name of one
            continue
        seen.add(key)
        if view is not None:
            _update_series_table(table, view)
    for key, view in wanted.items():
        if key not in seen:
            items = {k: v for k, v in _series_values(view).items() if v != _default_of(k)}
            table = _new_table(items, inline)
            if not inline and len(tables) and not tomlkit.dumps(tables).endswith("\n\n"):
                tables.add(tomlkit.nl())
            tables.append(SingleKey(key_label(key), KeyType.Basic), table)  # [series."x"]
    if not len(tables):
        del doc["series"]


def _default_of(key: str) -> Any:
    return getattr(_DEFAULT_SERIES, key)


def _says_nothing(table, label: str, producers: set[str]) -> bool:
    """A table that reads as the defaults (`[series."wave"]` and nothing under it) for a
    producer still in the session: kept as written."""
    if label.partition("/")[0] not in producers:
        return False
    try:
        return read_series(_plain(table), label, _NOWHERE, 1) == _DEFAULT_SERIES
    except ViewFileError:
        return False


def _update_series_table(table, view: SeriesView) -> None:
    for key, value in _series_values(view).items():
        old = table.get(key)
        if _same(_default_of(key) if old is None else _plain(old), value):
            continue
        if value is None:
            del table[key]
        else:
            table[key] = _item(value, old)


# -- tomlkit ------------------------------------------------------------------------------------
def _new_table(items: dict[str, Any], inline: bool):
    table = tomlkit.inline_table() if inline else tomlkit.table()
    for key, value in items.items():
        table[key] = _item(value)
    return table


def _append(tables, table, inline: bool) -> None:
    """Append a table, a blank line after the one before it, as people write them."""
    if not inline and len(tables) and not tomlkit.dumps(tables[-1]).endswith("\n\n"):
        tables[-1].add(tomlkit.nl())
    tables.append(table)


def _separate(doc) -> None:
    """A blank line before a section added at the end of the document."""
    if not doc.body or tomlkit.dumps(doc).endswith("\n\n"):
        return
    last = doc.body[-1][1]
    if isinstance(last, AoT) and len(last):
        last[-1].add(tomlkit.nl())
    elif isinstance(last, Table):
        last.add(tomlkit.nl())
    else:
        doc.add(tomlkit.nl())


def _same(a: Any, b: Any) -> bool:
    """Equal as the loader reads them: TOML keeps true and 1 apart."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _plain(item: Any) -> Any:
    """A tomlkit item as the plain Python value tomllib would give."""
    return item.unwrap() if hasattr(item, "unwrap") else item


def _item(value: Any, old: Any = None):
    """A tomlkit item; a whole float where the text had an integer stays an integer."""
    was = _plain(old)
    if (
        isinstance(was, int)
        and not isinstance(was, bool)
        and isinstance(value, float)
        and value.is_integer()
        and abs(value) < 2**53
    ):
        return tomlkit.item(int(value))
    return tomlkit.item(value)
