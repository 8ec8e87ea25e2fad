"""Which producer kinds exist: the entry-point group `streamscope.producers`.

A kind is an entry point `name = "module:Class"` (a `Producer` subclass) in any installed
distribution: the built-ins are registered that way in this project's pyproject.toml, and a
third-party package adds its own with no change here (see examples/streamscope-plugin-demo).
The app validates sessions with the class it loads here, and hands the child process the same
`module:Class` target (`LaunchSpec.target`), so both sides find a kind by the same route.

A plugin that fails to import, names something that is not a Producer, or claims a name another
distribution claims too, is kept as a `KindEntry` with an `error`: `streamscope producers`
lists it with that error, a session that uses it gets that error, and every other kind works.

`fail`, a producer that misbehaves on purpose, is a test aid: it is a kind only where the
environment sets STREAMSCOPE_TEST_KINDS=1 (the test suite does), never in the user's list.
"""

from __future__ import annotations

import importlib
import inspect
import os
import threading
import traceback
from dataclasses import dataclass
from importlib import metadata

from producers.base import Producer
from producers.params import short_repr

GROUP = "streamscope.producers"
TEST_KINDS = {"fail": "producers.builtin.fail:Fail"}
TEST_KINDS_ENV = "STREAMSCOPE_TEST_KINDS"


class KindError(KeyError):
    """A kind that cannot be used: unknown, or broken (its message says why)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass
class KindEntry:
    name: str
    target: str  # "module:Class"
    source: str  # the distribution that declares it
    cls: type[Producer] | None = None
    error: str = ""  # why it cannot be used; "" when it works


_lock = threading.Lock()
_entries: dict[str, KindEntry] | None = None


def load_target(target: str) -> type[Producer]:
    """Import `module:Class` and check that it is a Producer subclass."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ImportError(f"{target!r} is not of the form module:Class")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, Producer)):
        raise TypeError(f"{target} is not a streamscope Producer subclass")
    return obj


def _declared() -> list[tuple[str, str, str]]:
    found = []
    for ep in metadata.entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        found.append((ep.name, ep.value, dist.name if dist is not None else "?"))
    if os.environ.get(TEST_KINDS_ENV) == "1":
        found += [(name, target, "test aids") for name, target in TEST_KINDS.items()]
    return found


def _scan() -> dict[str, KindEntry]:
    entries: dict[str, KindEntry] = {}
    for name, target, source in _declared():
        entry = KindEntry(name, target, source)
        if name in entries:
            first = entries[name]
            if first.target == target:
                continue  # one distribution seen twice on the path: the same kind
            first.error = (
                f"kind {name!r} is defined twice: by {first.source} ({first.target}) and by "
                f"{source} ({target}); uninstall one"
            )
            first.cls = None
            continue
        try:
            entry.cls = load_target(target)
        except BaseException as exc:  # a plugin's import may raise anything, even SystemExit
            last = traceback.format_exception_only(exc)[-1].strip()
            entry.error = f"plugin {target} from {source} failed to load: {last}"
        else:
            if entry.cls.kind and entry.cls.kind != name:
                entry.error = (
                    f"{target} says its kind is {entry.cls.kind!r}, but is registered as {name!r}"
                )
                entry.cls = None
        entries[name] = entry
    return dict(sorted(entries.items()))


def entries() -> dict[str, KindEntry]:
    """Every declared kind, working or not, by name (scanned once per process)."""
    global _entries
    with _lock:
        if _entries is None:
            _entries = _scan()
        return _entries


def rescan() -> None:
    """Forget what was found (after installing a plugin into the running interpreter)."""
    global _entries
    with _lock:
        _entries = None
    importlib.invalidate_caches()


def all_kinds() -> dict[str, type[Producer]]:
    """The kinds that can be used, by name."""
    return {name: e.cls for name, e in entries().items() if e.cls is not None}


def get_kind(name: str) -> type[Producer]:
    entry = entries().get(name)
    if entry is None:
        known = ", ".join(all_kinds())
        raise KindError(f"unknown producer kind {short_repr(name)} (known: {known})")
    if entry.cls is None:
        raise KindError(entry.error)
    return entry.cls


def summary(cls: type[Producer]) -> str:
    """A kind's one-line description, for a list to choose from: its `help`, else the first
    line of its docstring, else ""."""
    text = (cls.help or inspect.cleandoc(cls.__doc__ or "")).strip()  # its own, not object's
    return text.splitlines()[0] if text else ""


def target_of(name: str) -> str:
    """The `module:Class` a child process imports to run kind `name`."""
    get_kind(name)
    return entries()[name].target
