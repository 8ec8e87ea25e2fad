"""Writing session files back (File → Save): what the window runs now, as TOML a person can read.

A session file is something people write and comment by hand, so saving must not turn it into
a machine dump. When the session came from a file, that file's text is edited in place with
tomlkit (it keeps comments, key order, spacing and quoting): only values that differ from what
the text says are replaced, producer tables that are gone are removed and new ones appended.
A file written from nothing says only what differs from the defaults, so it stays short.
The view (plots, axes, series settings) is written the same way by app.core.session_view_writer.

Relative `path` parameters (and a `target`'s file part) stay relative. They are relative to the
session file's folder, so saving to another folder rewrites them relative to the new one:
the saved session still names the same files.

The text is checked before it is written: `parse_session` must read back exactly the specs,
settings, view and theme being saved (else a bug here would silently lose a setting). The
write is atomic (a temporary file in the same folder, fsync, rename): a failure leaves the old
file whole.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table

from app.core.session import ProducerSpec, SessionError, parse_session
from app.core.session_view_writer import savable_view, update_view
from app.core.view_layout import ViewLayout
from producers.params import one_line, path, split_target, target
from producers.registry import get_kind

__all__ = ["SessionWriteError", "rebase_spec", "render_session", "write_session"]

# What the loader assumes when a key is missing (app.core.session): a file from nothing omits
# these values, and an edited file compares against them for keys it does not spell out.
_CHART_DEFAULTS = {"window_s": 30.0, "fps": 40.0}
_STORE_DEFAULTS = {"budget_mb": 512.0}
_PRODUCER_DEFAULTS = {"autostart": True, "restart": "on-failure", "visible": True}
_HEADER = (
    "streamscope session (saved by streamscope; comments you add here are kept on save).",
    'Format: see README.md, "Session files". `streamscope producers` lists every kind.',
)


class SessionWriteError(Exception):
    """A session that could not be saved; str() is one line: `FILE: what went wrong`."""

    def __init__(self, file: str | Path, message: str):
        self.path, self.message = one_line(str(file)), one_line(message)
        super().__init__(f"{self.path}: {self.message}")


def write_session(session_like, file: str | Path, original_text: str | None = None) -> str:
    """Write `session_like` (anything with producers, window_s, fps, budget_mb, and usually
    view and theme: a Session) to `file` atomically and return the text written. Without
    `view` / `theme` attributes, what the file says about them is left as it is.
    `original_text`: the text of the file the session came from; its comments and layout are
    kept. SessionWriteError on any failure (the old file, if any, is then untouched)."""
    file = Path(file)
    text = render_session(session_like, file, original_text)
    _write_atomically(file, text)
    return text


def render_session(session_like, file: str | Path, original_text: str | None = None) -> str:
    """The TOML text `write_session` would write to `file`, checked to read back the same."""
    file = Path(file)
    folder = str(file.absolute().parent)
    specs = [rebase_spec(spec, folder) for spec in session_like.producers]
    if original_text is None:
        doc = _new_document()
    else:
        try:
            doc = tomlkit.parse(original_text)
        except (TOMLKitError, ValueError) as exc:
            raise SessionWriteError(
                file, f"the session file is not valid TOML, so it is not overwritten ({exc})"
            ) from None
    settings = {
        "chart": {"window_s": session_like.window_s, "fps": session_like.fps},
        "store": {"budget_mb": session_like.budget_mb},
    }
    theme = getattr(session_like, "theme", None)
    if theme:
        settings["chart"]["theme"] = theme
    for section, defaults in (("chart", _CHART_DEFAULTS), ("store", _STORE_DEFAULTS)):
        _update_section(doc, section, settings[section], defaults, original_text is None)
    chart = doc.get("chart")
    if theme == "" and isinstance(chart, Table) and "theme" in chart:
        del chart["theme"]  # "": the theme the user chose last, so the file says nothing
    _update_producers(doc, specs, getattr(session_like, "origins", None))
    view = getattr(session_like, "view", None)
    if view is not None:
        view = savable_view(view, {spec.name for spec in specs})
        update_view(doc, view, {spec.name for spec in specs})
    text = tomlkit.dumps(doc)
    if text.endswith("\n\n") and not (original_text or "").endswith("\n\n"):
        text = text.rstrip("\n") + "\n"  # (a removed table can leave its blank lines behind)
    _check_round_trip(text, file, specs, settings, view, theme)
    return text


def rebase_spec(spec: ProducerSpec, folder: str) -> ProducerSpec:
    """`spec` with relative paths rewritten to be relative to `folder` (where the session file
    goes) instead of `spec.base_dir`; unchanged when both are the same folder."""
    base = os.path.abspath(spec.base_dir or os.getcwd())
    if os.path.normpath(base) == os.path.normpath(folder):
        return spec
    params = dict(spec.params)
    for param in get_kind(spec.kind).params:
        value = params.get(param.name)
        if not isinstance(value, str) or not value:
            continue
        if param.type is path:
            params[param.name] = _rebase(value, base, folder)
        elif param.type is target:
            where, function, is_file = split_target(value.strip())
            if is_file and where:
                params[param.name] = f"{_rebase(where, base, folder)}:{function}"
    return ProducerSpec(
        spec.name, spec.kind, params, spec.autostart, spec.restart, spec.visible, folder
    )


def _rebase(value: str, base: str, folder: str) -> str:
    if os.path.isabs(value) or value.startswith("~"):
        return value
    return os.path.relpath(os.path.join(base, value), folder)


# -- the document ---------------------------------------------------------------------------------
def _new_document() -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    for line in _HEADER:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    return doc


def _update_section(doc, section: str, values: dict, defaults: dict, new: bool) -> None:
    """Set the keys whose value differs from what the text says (or the default it implies).
    A new document spells every setting out: they are the ones people look for."""
    table = doc.get(section)
    if table is None:
        if not new:  # a person's file without this section: add it only to say something
            values = {k: v for k, v in values.items() if not _same(v, defaults.get(k), float)}
            if not values:
                return
        table = tomlkit.table()
        for key, value in values.items():
            table[key] = _toml_value(value)
        table.add(tomlkit.nl())
        doc[section] = table
        return
    for key, value in values.items():
        old = table.get(key)
        if not _same(value, defaults.get(key) if old is None else _plain(old), float):
            table[key] = _toml_value(value, old)


def _update_producers(doc, specs: list[ProducerSpec], origins: dict[str, str] | None) -> None:
    """`origins`: each producer's table in the file by its name there (Session.origins: a
    renamed producer keeps its table and comments; a producer without one gets a new table);
    None: a producer's table is the one with its name."""
    wanted = {spec.name: spec for spec in specs}
    if origins is None:
        origins = {name: name for name in wanted}
    owner = {origins[name]: name for name in wanted if name in origins}  # table name -> producer
    tables = doc.get("producers")
    edited = tables is not None  # (tomlkit spaces the tables of a new array itself)
    if tables is None:
        if specs:
            doc["producers"] = tomlkit.aot()
            tables = doc["producers"]
        else:
            return
    for i in reversed(range(len(tables))):  # a producer that is gone: its table goes too
        if _plain(tables[i].get("name")) not in owner:
            del tables[i]
    for table in tables:  # a renamed producer: its table, renamed
        name = owner[_plain(table.get("name"))]
        if _plain(table.get("name")) != name:
            table["name"] = name
    have = {_plain(t.get("name")): t for t in tables}
    for spec in specs:
        table = have.get(spec.name)
        if table is None:
            _append_table(tables, spec, edited)
        else:
            _update_table(table, spec)
    order = [_plain(t.get("name")) for t in tables]
    if order != [spec.name for spec in specs]:  # (nothing reorders producers today)
        by_name = {_plain(t.get("name")): t for t in tables}
        reordered = [by_name[spec.name] for spec in specs]
        for i in reversed(range(len(tables))):
            del tables[i]
        for table in reordered:
            tables.append(table)
    if not specs:
        del doc["producers"]


def _append_table(tables, spec: ProducerSpec, edited: bool) -> None:
    inline = not isinstance(tables, tomlkit.items.AoT)  # `producers = [{...}]` as written
    table = tomlkit.inline_table() if inline else tomlkit.table()
    table["name"] = spec.name
    table["kind"] = spec.kind
    for key, default in _PRODUCER_DEFAULTS.items():
        if getattr(spec, key) != default:
            table[key] = getattr(spec, key)
    given = _non_defaults(spec)
    if given:
        params = tomlkit.inline_table() if inline else tomlkit.table()
        for key, value in given.items():
            params[key] = _toml_value(value)
        table["params"] = params
    if edited and not inline and len(tables) and not tomlkit.dumps(tables[-1]).endswith("\n\n"):
        tables[-1].add(tomlkit.nl())  # a blank line between producers, as people write them
    tables.append(table)


def _update_table(table, spec: ProducerSpec) -> None:
    for key, default in _PRODUCER_DEFAULTS.items():
        old = table.get(key)
        value = getattr(spec, key)
        if (default if old is None else _plain(old)) != value:
            table[key] = value
    declared = {p.name: p for p in get_kind(spec.kind).params}
    params = table.get("params")
    for key, value in spec.params.items():
        old = None if params is None else params.get(key)
        if old is None:
            if key in declared and _same(value, declared[key].default, declared[key].type):
                continue
        elif _same(value, _plain(old), declared[key].type if key in declared else None):
            continue
        if params is None:
            params = tomlkit.table()
            table.append("params", params)
            params = table["params"]
        params[key] = _toml_value(value, old)


def _non_defaults(spec: ProducerSpec) -> dict:
    """Parameters that differ from their declared default (required ones always)."""
    out = {}
    for param in get_kind(spec.kind).params:
        if param.name not in spec.params:
            continue
        value = spec.params[param.name]
        if param.required or not _same(value, param.default, param.type):
            out[param.name] = value
    return out


def _same(a: Any, b: Any, kind: type | None = None) -> bool:
    """Equal as the loader would see them (a float parameter written as 5 reads as 5.0)."""
    if kind is float and _number(a) and _number(b):
        return float(a) == float(b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, bool) or isinstance(b, bool):  # TOML keeps true and 1 apart
        return type(a) is type(b) and a == b
    return a == b


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(item: Any) -> Any:
    """A tomlkit item as the plain Python value tomllib would give."""
    return item.unwrap() if hasattr(item, "unwrap") else item


def _toml_value(value: Any, old: Any = None):
    """A tomlkit item for a value: tables and lists of tables inline (a parameter is one line
    in the file); a whole float where the text had an integer stays an integer."""
    was_int = _number(_plain(old)) and isinstance(_plain(old), int)
    if was_int and isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return tomlkit.item(int(value))
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        for key, item in value.items():
            table[key] = _toml_value(item)
        return table
    if isinstance(value, list | tuple):
        array = tomlkit.array()
        for item in value:
            array.append(_toml_value(item))
        return array
    return tomlkit.item(value)


def _check_round_trip(
    text: str,
    file: Path,
    specs: list[ProducerSpec],
    settings: dict,
    view: ViewLayout | None = None,
    theme: str | None = None,
) -> None:
    try:
        back = parse_session(text, file)
    except SessionError as exc:
        raise SessionWriteError(file, f"saving would write a broken session: {exc}") from None
    lost = [
        spec.name
        for spec, read in zip(specs, back.producers, strict=False)
        if (spec.name, spec.kind, spec.autostart, spec.restart, spec.visible)
        != (read.name, read.kind, read.autostart, read.restart, read.visible)
        or not _same_params(spec.params, read.params)
    ]
    if len(back.producers) != len(specs):
        lost.append(f"{len(specs)} producers, {len(back.producers)} read back")
    for section, values in settings.items():
        lost += [
            f"{section}.{k}"
            for k, v in values.items()
            if k != "theme" and getattr(back, k) != float(v)
        ]
    if theme is not None and back.theme != theme:
        lost.append("chart.theme")
    if view is not None and back.view != view:
        lost.append("the view (plots and series)")
    if lost:
        raise SessionWriteError(file, f"saving would not keep {', '.join(lost)} (a bug)")


def _same_params(a: dict, b: dict) -> bool:
    """Dict equality where NaN equals NaN (a parameter may well be nan)."""
    return a.keys() == b.keys() and all(
        x == y or (isinstance(x, float) and isinstance(y, float) and x != x and y != y)
        for x, y in ((a[k], b[k]) for k in a)
    )


# -- the file -------------------------------------------------------------------------------------
def _write_atomically(file: Path, text: str) -> None:
    """Write `text` to a temporary file beside `file`, fsync it, rename it over `file`.

    A symlink is followed (the link stays a link); the file keeps its permission bits."""
    real = Path(os.path.realpath(file))
    folder = real.parent
    try:
        mode = os.stat(real).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise SessionWriteError(file, f"cannot save: {exc.strerror or exc}") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise SessionWriteError(
            file, f"cannot save: cannot create a file in {folder} ({exc.strerror or exc})"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise SessionWriteError(file, f"cannot save: {exc.strerror or exc}") from None
        raise
    with contextlib.suppress(OSError):  # the rename itself survives a crash
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _umask() -> int:
    """The process umask, read without changing it (os.umask would, for a moment)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022
