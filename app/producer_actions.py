"""Producers from the window: Add producer…, Duplicate, Rename…, Remove (menu bar → Producers,
and a row's right-click menu), acting on the producer selected in the table.

The window's part of it, kept apart from app/main_window.py (which builds it in one place,
`_build_producer_actions`). Each action hands the engine one command: checked at once with the
session file's rules (a taken name is refused before anything happens), applied on the engine's
thread, where a producer is started or stopped: never in a slot here. Then it keeps the window
in step:

- the table follows the engine's view row by row (one row inserted or removed, the others'
  widgets untouched); a renamed row is renamed in place and stays selected;
- the chart's legend order and colour slots follow the producers' order; a renamed producer's
  series keep their colours and whether they are shown; a removed one's leave the chart and
  the legend once the store has forgotten them (within a frame);
- the session is marked unsaved (`*`), and `current_session()` / Save include the change: a
  renamed producer keeps its table in the file, comments included (Session.origins).

Remove asks first (its series' history goes); `remove_producer` and the other public methods
do what the dialogs do, without one.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from types import SimpleNamespace

from PyQt5.QtCore import QObject, Qt, pyqtSlot
from PyQt5.QtWidgets import QAction, QMessageBox

from app.core.producer_specs import SpecError
from app.core.session import ProducerSpec
from widgets.add_producer import AddProducerDialog
from widgets.rename_producer import RenameProducerDialog

log = logging.getLogger("streamscope")


class ProducerActions(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = w = window
        # producer name -> the name of its table in the session's file (Session.origins)
        self.origins: dict[str, str] = {spec.name: spec.name for spec in w.session.producers}
        self.add_action = w._menu_action(
            "&Add producer…", "addProducerAction", "Ctrl+Shift+N", self.ask_add,
            "Add a producer: choose its kind, name it and set its parameters",
        )  # fmt: skip
        self.duplicate_action = w._menu_action(
            "&Duplicate", "duplicateProducerAction", "Ctrl+D", self.duplicate_selected,
            "Add a stopped copy of the selected producer, right after it (noise -> noise-2)",
        )  # fmt: skip
        self.rename_action = w._menu_action(
            "Re&name…", "renameProducerAction", "F2", self.ask_rename,
            "Give the selected producer another name (a running one restarts under it)",
        )  # fmt: skip
        self.remove_action = w._menu_action(
            "&Remove…", "removeProducerAction", "Delete", self.ask_remove,
            "Remove the selected producer: it stops, and its series leave the chart",
        )  # fmt: skip
        menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Producers")
        first = menu.actions()[0] if menu.actions() else None
        menu.insertActions(first, self.actions())
        menu.insertSeparator(first)
        w.panel.set_row_actions(
            [self.duplicate_action, self.rename_action, self.remove_action, self.add_action]
        )
        w.panel.itemSelectionChanged.connect(self.update_enabled)
        self.update_enabled()

    def actions(self) -> list[QAction]:
        return [self.add_action, self.duplicate_action, self.rename_action, self.remove_action]

    # -- what the actions act on ------------------------------------------------------------------
    def selected(self) -> str | None:
        """The selected producer, if it is one of this session's (not a row elsewhere)."""
        name = self.window.panel.selected_producer()
        if name is None or self.window.panel.is_remote(name) or name not in self.window._specs:
            return None
        return name

    @pyqtSlot()
    def update_enabled(self) -> None:
        open_ = self._open()
        name = self.selected()
        self.add_action.setEnabled(open_)
        for action in (self.duplicate_action, self.rename_action, self.remove_action):
            action.setEnabled(open_ and name is not None)

    # -- the dialogs ------------------------------------------------------------------------------
    def ask_add(self) -> AddProducerDialog:
        w = self.window
        dialog = AddProducerDialog(w.engine.names, self._base_dir(), parent=w)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.added.connect(self.add_producer)
        dialog.open()
        return dialog

    def ask_rename(self) -> RenameProducerDialog | None:
        name = self.selected()
        if name is None:
            return None
        w = self.window
        entry = w.engine.view.entries.get(name)
        running = entry is not None and entry.state.value in ("STARTING", "RUNNING")
        dialog = RenameProducerDialog(name, w.engine.names, running, parent=w)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.renamed.connect(self.rename_producer)
        dialog.open()
        return dialog

    def ask_remove(self) -> QMessageBox | None:
        """Remove the selected producer, once the user says so: its series' history goes."""
        name = self.selected()
        if name is None:
            return None
        from app.main_window import _message_box  # (one look for every box of the window)

        box = _message_box(QMessageBox.Question, f"Remove {name}?", self.window)
        box.setObjectName("removeProducerDialog")
        box.setText(f"Remove the producer {name}?")
        box.setInformativeText(
            "It stops, and its series leave the chart and the legend. A recording keeps what "
            "it wrote; the session file changes when you save."
        )
        box.setStandardButtons(QMessageBox.Cancel)
        remove = box.addButton("Remove", QMessageBox.DestructiveRole)
        box.setDefaultButton(QMessageBox.Cancel)
        box.buttonClicked.connect(lambda button: button is remove and self.remove_producer(name))
        box.open()
        return box

    @pyqtSlot()
    def duplicate_selected(self) -> ProducerSpec | None:
        name = self.selected()
        return self.duplicate_producer(name) if name is not None else None

    # -- what they do (public: automation calls these without a dialog) ---------------------------
    @pyqtSlot(object)
    def add_producer(self, spec: ProducerSpec) -> bool:
        """Add `spec` at the end, started now if `spec.autostart`; False (and an error shown)
        if the engine refuses it."""
        w = self.window
        if not self._open():
            return False
        try:
            w._sent = w.engine.add(spec, start=spec.autostart)
        except SpecError as exc:
            w.show_error(f"Cannot add the producer: {exc}")
            return False
        w._specs[spec.name] = w.engine.spec(spec.name)
        self._changed(select=spec.name)
        return True

    def duplicate_producer(self, name: str) -> ProducerSpec | None:
        """A stopped copy of `name` right after it; returns its spec."""
        w = self.window
        if not self._open():
            return None
        try:
            copy, w._sent = w.engine.duplicate(name)
        except SpecError as exc:
            w.show_error(f"Cannot duplicate {name}: {exc}")
            return None
        w._specs[copy.name] = dataclasses.replace(copy, visible=w._specs[name].visible)
        self._changed(select=copy.name)
        return copy

    @pyqtSlot(str, str)
    def rename_producer(self, old: str, new: str) -> bool:
        """Rename `old` to `new` (a running producer restarts under it); its series keep their
        history, colours and visibility. False (and an error shown) if refused."""
        w = self.window
        if not self._open():
            return False
        shown = self._shown(old) if old in w._specs else True  # (before its series move)
        entry = w.engine.view.entries.get(old)
        running = entry is not None and entry.state.value in ("STARTING", "RUNNING")
        try:
            w._sent = w.engine.rename(old, new)
        except SpecError as exc:
            w.show_error(f"Cannot rename {old}: {exc}")
            return False
        renamed = {old: dataclasses.replace(w._specs[old], name=new, visible=shown)}
        w._specs = {(new if n == old else n): renamed.get(n, s) for n, s in w._specs.items()}
        if old in self.origins:
            self.origins[new] = self.origins.pop(old)
        w.plots.colors.rename_producer(old, new)
        w.plots.set_layout(w.plots.view_layout.renaming_producer(old, new))
        w.panel.rename_producer(old, new)
        if running:  # it stops to start again under its new name: Stop stays possible
            w.panel.mark_pending(new, "start")
        self._changed()
        return True

    def remove_producer(self, name: str) -> bool:
        """Remove `name` (a running one is stopped); False (and an error shown) if refused."""
        w = self.window
        if not self._open():
            return False
        try:
            w._sent = w.engine.remove(name)
        except SpecError as exc:
            w.show_error(f"Cannot remove {name}: {exc}")
            return False
        w._specs.pop(name, None)
        self.origins.pop(name, None)
        w.plots.set_layout(w.plots.view_layout.forgetting(set(w._specs)))
        self._changed()
        return True

    def _open(self) -> bool:
        """Not while the window closes (its producers are being stopped for good)."""
        return self.window._shutdown_started is None and not self.window._closed

    def saved(self) -> None:
        """The session was written: its file's tables now have the producers' names."""
        self.origins = {name: name for name in self.window.engine.names}

    # -- keeping the window in step ---------------------------------------------------------------
    def _changed(self, select: str | None = None) -> None:
        from app.main_window import units_of

        w = self.window
        names = w.engine.names
        w.plots.set_producers(names, {n for n in names if not w._specs[n].visible})
        w.plots.set_units(units_of(SimpleNamespace(producers=w.engine.specs)))
        w.series_list.set_producers(names)
        w._set_dirty(True)
        if select is not None:
            w.panel.select_when_shown(select)
        w._show_view()  # (the view shows it once the engine applied it; at once if it has)
        self.update_enabled()

    def _shown(self, name: str) -> bool:
        """Whether `name`'s series are shown (ticked in the legend), as Save would say."""
        w = self.window
        keys = [k for k in w.engine.store.series_keys() if k[0] == name]
        visible = set(w.plots.visible_series())
        return any(k in visible for k in keys) if keys else w._specs[name].visible

    def _base_dir(self) -> str | None:
        """Where a new producer's relative paths are: the session file's folder, once it has
        one of the user's (else the current directory; Save as rewrites them)."""
        w = self.window
        if w._save_in_place and w.session.path is not None:
            return str(Path(w.session.path).absolute().parent)
        return None
