"""The main window: live chart above, producer panel below, readouts in the status bar.

The composition root of the desktop front end: it builds the engine (app.core.engine, the same
one `record` drives) and the consumer thread, and shows what they do. Nothing here blocks: a
command to the engine returns at once (process starts and stops happen on the engine's thread),
the panel is refreshed from the engine's published view, and the chart from frames the consumer
thread builds.

Every way out ends the same way (`finish_shutdown`): the consumer thread stopped and joined, the
engine closed (producers stopped or killed, the recording finished), whether the window was
closed, deleted by its container (`deleteLater`), dropped by its last reference, or the
application quit or was torn down first. A QThread destroyed while running aborts the process;
that is why none of those paths may skip it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from pathlib import Path

from PyQt5.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app import session_files
from app.consumer import ConsumerThread
from app.core import export
from app.core.engine import Engine
from app.core.recording import Recorder, RecordingError
from app.core.session import DEFAULT_SESSION, Session, SessionError, load_session
from app.core.session_writer import SessionWriteError, write_session
from app.core.tuning import tune_gui_process
from app.producer_actions import ProducerActions
from app.window_exits import guard_every_exit, stop_core
from producers.registry import KindError, get_kind
from widgets.app_icon import app_icon
from widgets.app_palette import apply_to_application
from widgets.crosshair import Crosshair
from widgets.event_log import EventLog
from widgets.help_dialogs import ShortcutsDialog, about_text
from widgets.lag_meter import EventLoopLagMeter
from widgets.live_chart import LiveChart, series_label
from widgets.main_toolbar import MainToolbar
from widgets.pause_badge import PauseBadge
from widgets.plot_menu import PlotMenu
from widgets.plot_stack import PlotStack
from widgets.producer_config import ProducerConfigDialog
from widgets.producer_panel import ProducerPanel
from widgets.series_list import SeriesList
from widgets.stats_feed import StatsFeed
from widgets.stats_table import StatsTable
from widgets.status_readout import StatusReadout
from widgets.theme import DARK, LIGHT, Theme, theme_named
from widgets.warn_label import WarnLabel

log = logging.getLogger("streamscope")

# Timer periods while producers run / while everything is stopped (idle must cost < 2 %).
STATUS_MS = (250, 1000)
LAG_MS = (20, 250)
SHUTDOWN_DEADLINE_S = 2.5
RECORDER_CLOSE_S = 5.0


IMAGE_FORMATS = {"PNG image (*.png)": "png", "SVG drawing (*.svg)": "svg"}


def units_of(session: Session):
    """The unit of each series (producer, series) -> "%" as its kind declares it
    (`Producer.units`): known from the session alone, without asking the producers' processes."""
    kinds = {}
    for spec in session.producers:
        with contextlib.suppress(KindError):  # a broken kind: its row says why; no unit
            kinds[spec.name] = get_kind(spec.kind)

    def unit_of(key) -> str:
        kind = kinds.get(key[0])
        return kind.unit_of(key[1]) if kind is not None else ""

    return unit_of


class MainWindow(QMainWindow):
    """Signals:
    shutdown_finished(): producers ended and the consumer thread joined; the window closes.
    export_finished(str, str): an export to the path (first) ended; the second is the error
        text, "" when it succeeded.
    replaced_by(object): File → Open replaced this window by a new MainWindow (the argument)
        for the opened session; this one has stopped its producers and closed.
    """

    shutdown_finished = pyqtSignal()
    export_finished = pyqtSignal(str, str)
    replaced_by = pyqtSignal(object)

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowIcon(app_icon())
        self.session = session
        self._init_session_state(session)
        tune_gui_process()
        self._shutdown_started: float | None = None
        self._closed = False
        self._active: bool | None = None
        self.lag_interval_ms: int | None = None  # fixed lag-meter period (benchmarks)
        self._sent = 0  # the number of the last command sent to the engine
        self._bridge = _ViewBridge()  # no parent: it outlives the window as long as the engine
        self.engine = Engine(session, on_view=self._bridge.changed.emit, source_news=True)
        self._bridge.changed.connect(self._on_view_changed)
        self.consumer = ConsumerThread(self.engine)
        self.consumer.failed.connect(self._on_consumer_failed)
        self.lag_meter = EventLoopLagMeter(LAG_MS[1], parent=self)
        self._build_ui(session)
        self.restored_geometry = session_files.restore_geometry(self, self.splitter)
        guard_every_exit(self, self.consumer, self.engine)
        self.consumer.start()
        self.lag_meter.start()
        QTimer.singleShot(0, self.engine.start_autostart)

    @property
    def chart(self) -> LiveChart:
        """The top time plot (the one every time plot follows in x)."""
        return self.plots.chart

    # -- construction ----------------------------------------------------------------------------
    def _build_ui(self, session: Session) -> None:
        self.plots = PlotStack(self.engine.store, session.window_s, session.fps)
        self.plots.frame_requested.connect(self.consumer.request_frame, Qt.DirectConnection)
        self.consumer.frames_ready.connect(self.plots.show_frames)
        self.plots.layers_dropped.connect(self.consumer.forget_layers)
        self.plots.set_producers(
            [s.name for s in session.producers],
            {s.name for s in session.producers if not s.visible},
        )
        self.plots.set_units(units_of(session))
        self.plots.set_layout(session.view)
        self.panel = ProducerPanel()
        self.panel.set_producers([(s.name, s.kind) for s in session.producers])
        self.panel.start_requested.connect(self._on_start_requested)
        self.panel.stop_requested.connect(self._on_stop_requested)
        self.panel.details_requested.connect(self.show_details)
        self.panel.configure_requested.connect(self.show_configure)
        splitter = QSplitter(Qt.Vertical)
        splitter.setChildrenCollapsible(False)
        self.plots.setMinimumHeight(200)  # a small window shrinks the table (it scrolls) first
        splitter.addWidget(self.plots)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        rows = min(max(len(session.producers), 3), 10)
        panel_height = self.panel.horizontalHeader().sizeHint().height() + 32 * rows + 8
        splitter.setSizes([600, panel_height])
        self.setCentralWidget(splitter)
        self.splitter = splitter
        self.toolbar = MainToolbar(self, self.plots, session.window_s)
        self.toolbar.start_all.connect(self._on_start_all)
        self.toolbar.stop_all.connect(self._on_stop_all)
        self.toolbar.record_requested.connect(self.start_recording)
        self.toolbar.record_stop_requested.connect(self.stop_recording)
        self.addToolBar(self.toolbar)
        self._build_menus()
        self._build_pause_and_cursors(splitter)
        self._build_theme()
        self._build_event_log()
        self._build_plots_menu()
        self._build_producer_actions()
        self._build_statistics()
        self.readout = StatusReadout(self.statusBar(), self.engine.store)
        self.consumer_status = WarnLabel(bold=True)  # the theme's red: readable on either
        self.consumer_status.setObjectName("consumerStatus")
        self.statusBar().addPermanentWidget(self.consumer_status)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_MS[1])
        self._status_timer.timeout.connect(self._on_status_timer)
        self._status_timer.start()
        self._on_status_timer()

    def _build_menus(self) -> None:
        """The menu bar. Actions the toolbar has are the same QActions (one state, one
        shortcut); every action says what it does in its tooltip and status tip."""
        tb = self.toolbar
        bar = self.menuBar()
        self.exportImageAction = self._menu_action(
            "Export &image…", "exportImageAction", "Ctrl+E", self.ask_export_image,
            "Save the chart as shown, as a PNG image or an SVG drawing",
        )  # fmt: skip
        self.exportCsvAction = self._menu_action(
            "Export &data…", "exportCsvAction", "Ctrl+Shift+E", self.ask_export_csv,
            "Save the samples of the visible series in the visible time range as CSV, "
            "Parquet or an Arrow stream (by the file's suffix)",
        )  # fmt: skip
        self.quitAction = self._menu_action(
            "&Quit", "quitAction", "Ctrl+Q", self.close_asking,
            "Stop every producer, finish the recording and close the window",
        )  # fmt: skip
        _describe(tb.record, "Ctrl+R", tb.record.toolTip())
        file = bar.addMenu("&File")
        self._build_session_menu(file)
        file.addActions([self.exportImageAction, self.exportCsvAction])
        file.addSeparator()
        file.addAction(tb.record)
        file.addSeparator()
        file.addAction(self.quitAction)

        _describe(tb.follow, "F", tb.follow.toolTip())
        self.autoRangeAction = self._menu_action(
            "&Auto range: follow the newest", "autoRangeAction", "A",
            lambda: self.plots.set_follow(True),
            "Show the newest data again (what pyqtgraph's auto range did: Follow on)",
        )  # fmt: skip
        self.fullScreenAction = self._menu_action(
            "F&ull screen", "fullScreenAction", "F11", self._set_full_screen,
            "Show the window on the whole screen, or back as it was", checkable=True,
        )  # fmt: skip
        view = bar.addMenu("&View")
        view.addActions([tb.follow, self.autoRangeAction])
        view.addSeparator()
        view.addAction(self.fullScreenAction)

        start_all = tb.findChild(QAction, "startAllAction")
        stop_all = tb.findChild(QAction, "stopAllAction")
        _describe(start_all, "", "Start every producer that is not running")
        _describe(stop_all, "", "Stop every running producer")
        bar.addMenu("&Producers").addActions([start_all, stop_all])

        self.shortcutsAction = self._menu_action(
            "&Keyboard shortcuts", "shortcutsAction", "F1", self.show_shortcuts,
            "List every action with its keyboard shortcut",
        )  # fmt: skip
        self.aboutAction = self._menu_action(
            "&About streamscope", "aboutAction", "", self.show_about,
            "The version of streamscope and of Qt, PyQt, pyqtgraph, numpy and Python",
        )  # fmt: skip
        bar.addMenu("&Help").addActions([self.shortcutsAction, self.aboutAction])
        self.plots.set_context_actions([self.exportImageAction, self.exportCsvAction])

    def _build_pause_and_cursors(self, splitter: QSplitter) -> None:
        """Pause (Space), the crosshair readout under the chart, cursors A/B (click or C; Esc
        clears): the readout goes in a pane with the chart, the actions in the View menu."""
        self.crosshair = Crosshair(self.plots)
        self.pause_badge = PauseBadge(self.plots)
        pane = QWidget()
        pane.setObjectName("chartPane")
        layout = QVBoxLayout(pane)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        splitter.replaceWidget(splitter.indexOf(self.plots), pane)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.crosshair.readout)
        pane.show()  # replaceWidget hid what it replaced, and may hide the new one
        self.plots.show()
        self.pauseAction = self._menu_action(
            "&Pause", "pauseAction", "Space", self.plots.set_paused,
            "Freeze the chart (zoom and pan still work) while data keeps coming into the "
            "buffers and the recording; again, or Follow, to go live", checkable=True,
        )  # fmt: skip
        self.plots.paused_changed.connect(self.pauseAction.setChecked)
        self.dropCursorAction = self._menu_action(
            "Drop &cursor", "dropCursorAction", "C", self.crosshair.drop_cursor,
            "Put cursor A, then B, at the mouse (or click the chart); the readout shows Δt "
            "and each series' Δvalue",
        )  # fmt: skip
        self.clearCursorsAction = self._menu_action(
            "C&lear cursors", "clearCursorsAction", "Esc", self.crosshair.clear_cursors,
            "Remove cursors A and B",
        )  # fmt: skip
        view = next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")
        after = view.actions()[view.actions().index(self.autoRangeAction) + 1 :]
        before = after[0] if after else None
        view.insertActions(before, [self.pauseAction, self.dropCursorAction])
        view.insertActions(before, [self.clearCursorsAction])

    def _build_theme(self) -> None:
        """View → Dark theme: light (the default) or dark, for the whole window and the chart,
        remembered across runs (QSettings "theme")."""
        self.darkThemeAction = self._menu_action(
            "&Dark theme", "darkThemeAction", "", self._on_dark_theme,
            "Dark widgets and a dark chart; off: light ones (remembered)", checkable=True,
        )  # fmt: skip
        view = next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")
        view.addSeparator()
        view.addAction(self.darkThemeAction)
        self.theme: Theme | None = None
        theme = theme_named(self.session.theme or session_files.saved_theme())
        self.darkThemeAction.blockSignals(True)  # applied below, not saved again
        self.darkThemeAction.setChecked(theme.dark)
        self.darkThemeAction.blockSignals(False)
        self.apply_theme(theme)

    @pyqtSlot(bool)
    def _on_dark_theme(self, dark: bool) -> None:
        theme = DARK if dark else LIGHT
        self.apply_theme(theme)
        session_files.remember_theme(theme.name)
        self._set_dirty(True)  # the session file says which theme it is shown in

    def apply_theme(self, theme: Theme) -> None:
        """The theme on the application's widgets (one palette, Fusion), the chart, the
        crosshair and the producer table; instant, and nothing per frame."""
        self.theme = theme
        apply_to_application(theme)
        self.plots.set_theme(theme)
        self.crosshair.set_theme(theme)
        self.panel.set_theme(theme)
        if self.darkThemeAction.isChecked() != theme.dark:
            self.darkThemeAction.setChecked(theme.dark)  # (toggled: applies it again, a no-op)

    def _build_event_log(self) -> None:
        """The event log (widgets/event_log.py) in a dock under the producer table, hidden at
        first; View → Event log shows and hides it (and follows its close button)."""
        self.event_log = EventLog()
        self.eventLogDock, self.eventLogAction = self._add_dock(
            self.event_log, ("Event log", "eventLogDock", "eventLogAction"),
            Qt.BottomDockWidgetArea, "Ctrl+L",
            "Show or hide what happened: starts, stops, crashes (with their traceback), "
            "sources' status and drops, recordings, exports, errors",
        )  # fmt: skip
        view = next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")
        view.addSeparator()
        view.addAction(self.eventLogAction)

    def _add_dock(self, widget, names: tuple[str, str, str], area, keys: str, tip: str):
        """`widget` in a dock in `area`, hidden at first, and the action that shows and hides
        it (following the dock's close button too). `names`: the dock's title, its
        objectName and the action's objectName."""
        title, dock_name, action_name = names
        dock = QDockWidget(title, self)
        dock.setObjectName(dock_name)
        dock.setWidget(widget)
        if area == Qt.LeftDockWidgetArea:  # a narrow list: at a side
            dock.setAllowedAreas(Qt.LeftDockWidgetArea | Qt.RightDockWidgetArea)
        else:  # a wide pane: under the table, or at the right
            dock.setAllowedAreas(Qt.BottomDockWidgetArea | Qt.RightDockWidgetArea)
        self.addDockWidget(area, dock)
        dock.hide()
        action = dock.toggleViewAction()
        action.setText(f"&{title}")
        action.setObjectName(action_name)
        _describe(action, keys, tip)
        return dock, action

    def _build_plots_menu(self) -> None:
        """View → Add plot / Add XY plot / Series list; each plot's own menu (right-click);
        the series list in a dock at the left. A change to the view marks the session
        unsaved, like a change to a producer."""
        self.addPlotAction = self._menu_action(
            "Add &plot", "addPlotAction", "Ctrl+Shift+P", self.plots.add_plot,
            "A new time plot at the bottom; drag series onto it from the series list",
        )  # fmt: skip
        self.addXYPlotAction = self._menu_action(
            "Add &XY plot", "addXYPlotAction", "Ctrl+Shift+X", lambda: self.plots.add_plot("xy"),
            "A plot of one series against another (samples paired by time), e.g. a sweep's "
            "result against its input",
        )  # fmt: skip
        self.series_list = SeriesList(self.plots)
        self._series_listed = -1  # the store's keys_version the list shows
        self.series_list.set_producers([s.name for s in self.session.producers])
        self.seriesDock, self.seriesListAction = self._add_dock(
            self.series_list, ("Series list", "seriesDock", "seriesListAction"),
            Qt.LeftDockWidgetArea, "Ctrl+Shift+L",
            "Show or hide the list of series: show, hide, colour, and move them between "
            "plots and axes",
        )  # fmt: skip
        self.seriesDock.show()  # shown at first: where series are moved between plots
        self.resizeDocks([self.seriesDock], [200], Qt.Horizontal)
        view = next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")
        view.addSeparator()
        view.addActions([self.addPlotAction, self.addXYPlotAction, self.seriesListAction])
        self._plot_menus: dict[int, PlotMenu] = {}
        self.plots.set_plot_menu(self._plot_menu)
        self.plots.layout_changed.connect(self._on_layout_changed)

    def _plot_menu(self, plot_id: int) -> PlotMenu:
        menu = self._plot_menus.get(plot_id)
        if menu is None:
            menu = self._plot_menus[plot_id] = PlotMenu(self.plots, plot_id)
        return menu

    @pyqtSlot(object)
    def _on_layout_changed(self, _layout) -> None:
        self.crosshair.attach()
        self._set_dirty(True)

    def _build_producer_actions(self) -> None:
        """Producers → Add producer… (Ctrl+Shift+N), Duplicate (Ctrl+D), Rename… (F2),
        Remove… (Delete), also in a row's right-click menu (app/producer_actions.py)."""
        self.producer_actions = ProducerActions(self)
        self.addProducerAction = self.producer_actions.add_action
        self.duplicateProducerAction = self.producer_actions.duplicate_action
        self.renameProducerAction = self.producer_actions.rename_action
        self.removeProducerAction = self.producer_actions.remove_action

    def _build_statistics(self) -> None:
        """View → Statistics (Ctrl+T): a dock with one row per series the chart shows, their
        count, rate, min, max, mean, RMS, std and last over its visible range (paused: the
        frozen range), computed on the consumer thread a few times a second while shown
        (widgets/stats_table.py, widgets/stats_feed.py). Hidden at first."""
        self.stats_table = StatsTable()
        self.statsDock, self.statsAction = self._add_dock(
            self.stats_table, ("Statistics", "statsDock", "statsAction"),
            Qt.BottomDockWidgetArea, "Ctrl+T",
            "Show or hide the statistics of the visible series over the visible time range: "
            "count, rate, min, max, mean, RMS, std, last",
        )  # fmt: skip
        dock = self.statsDock
        view = next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")
        view.addAction(self.statsAction)
        plots = self.plots
        self.stats_feed = StatsFeed(
            self.stats_table,
            lambda: (plots.visible_range(), plots.visible_series()),
            lambda: self.engine.store.version,
            lambda request: None if self._closed else self.consumer.request_stats(request),
            series_label,
            plots.color_of,
            units_of(self.session),
            parent=self,
        )
        self.consumer.stats_ready.connect(self.stats_feed.show_result)
        dock.visibilityChanged.connect(lambda shown: shown and self.stats_feed.refresh())
        self.darkThemeAction.toggled.connect(lambda _dark: self.stats_feed.refresh())

    def _log_event(self, level: int, text: str, source: str = "", details: str = "", at=None):
        """Log it and show it in the event log: one place, so they cannot disagree."""
        log.log(level, "%s", f"{text}\n{details}" if details else text)
        self.event_log.add(level, text, source, details, at)

    def _menu_action(self, text, name, keys, slot, tip, checkable=False) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setCheckable(checkable)
        _describe(action, keys, tip)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        return action

    # -- session files ---------------------------------------------------------------------------
    def _init_session_state(self, session: Session) -> None:
        """What Save needs: the specs as configured now (the window's record: the engine's
        view may not have the latest yet), whether the session's own file may be saved over
        (not the packaged default, not a file that did not load), and unsaved changes."""
        self._specs = {spec.name: spec for spec in session.producers}
        self._dirty = False
        self._source = session.path  # the file the session came from (its comments are kept)
        self._save_in_place = False
        if session.path is not None and Path(session.path).exists():
            try:
                same_default = Path(session.path).resolve() == DEFAULT_SESSION.resolve()
                self._save_in_place = not same_default and bool(load_session(session.path))
            except (SessionError, OSError):
                self._save_in_place = False
        self._update_title()

    def _build_session_menu(self, file) -> None:
        """File → Open…, Open recent, Save, Save as… (first in the File menu)."""
        self.openSessionAction = self._menu_action(
            "&Open session…", "openSessionAction", "Ctrl+O", self.ask_open_session,
            "Open a session file: its producers replace the running ones",
        )  # fmt: skip
        self.saveSessionAction = self._menu_action(
            "&Save session", "saveSessionAction", "Ctrl+S", self.ask_save_session,
            "Save the producers as configured now, and the chart and store settings",
        )  # fmt: skip
        self.saveSessionAsAction = self._menu_action(
            "Save session &as…", "saveSessionAsAction", "Ctrl+Shift+S", self.ask_save_session_as,
            "Save the session to another file",
        )  # fmt: skip
        file.addAction(self.openSessionAction)
        self.recentMenu = file.addMenu("Open &recent")
        self.recentMenu.setObjectName("recentMenu")
        self.recentMenu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        file.addActions([self.saveSessionAction, self.saveSessionAsAction])
        file.addSeparator()

    def _fill_recent_menu(self) -> None:
        self.recentMenu.clear()
        paths = session_files.recent_paths()
        for i, path in enumerate(paths):
            action = self.recentMenu.addAction(f"&{i + 1} {path}")
            action.setObjectName(f"recentSessionAction:{i}")
            action.setData(path)
            action.setStatusTip(f"Open {path}")
            action.triggered.connect(
                lambda _c=False, p=path: self._unless_unsaved(self.open_session, p)
            )
        self.recentMenu.setEnabled(bool(paths))

    def current_session(self) -> Session:
        """The session as it runs now: each producer's current spec (Configure… changes it),
        shown or hidden as in the legend, the chart's time window, the plots and where each
        series is drawn (the view description), the theme."""
        producers = []
        visible_keys = set(self.plots.visible_series())
        drawn = [k for k in self.engine.store.series_keys() if self.plots.curve(k) is not None]
        for name in self.engine.names:
            spec = self._specs[name]
            keys = [k for k in drawn if k[0] == name]
            visible = any(k in visible_keys for k in keys) if keys else spec.visible
            producers.append(dataclasses.replace(spec, visible=visible))
        return Session(
            producers,
            self.session.path,
            # the chosen preset, not the span "everything buffered" happens to cover now
            window_s=self.toolbar.chosen_window_s() or self.session.window_s,
            fps=self.session.fps,
            budget_mb=self.session.budget_mb,
            origins=dict(self.producer_actions.origins),  # (renamed producers keep their table)
            view=self.plots.view_layout,
            theme=self.theme.name if self.theme is not None else "",
        )

    def save_session(self, path: str | Path) -> bool:
        """Write the session to `path` (File → Save / Save as without the dialog). The file it
        came from is edited, keeping its comments; an error is shown, and False returned."""
        path = Path(path)
        session = self.current_session()
        original = None
        if self._source is not None:
            try:
                original = Path(self._source).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                original = None
        try:
            try:
                write_session(session, path, original)
            except SessionWriteError:
                if original is None or _same_file(path, self._source):
                    raise
                write_session(session, path, None)  # Save as, from a file that is not TOML
        except SessionWriteError as exc:
            self.show_error(f"Cannot save the session: {exc}")
            return False
        self.session.path = self._source = path
        self._save_in_place = True
        self.producer_actions.saved()
        self._set_dirty(False)
        session_files.remember_recent(path)
        self._log_event(logging.INFO, f"saved the session to {path}")
        self.statusBar().showMessage(f"saved the session to {path}", 10000)
        return True

    def ask_save_session(self, then=None) -> QFileDialog | None:
        """Ctrl+S: save over the session's file, or ask where (a new or the default session)."""
        if self._save_in_place and self.session.path is not None:
            if self.save_session(self.session.path) and then is not None:
                then()
            return None
        return self.ask_save_session_as(then)

    def ask_save_session_as(self, then=None) -> QFileDialog:
        name = self.session.path.name if self.session.path else "session.toml"
        formats = {"Session files (*.toml)": "toml"}
        dialog = self._save_dialog("Save session as…", name, formats, "saveSessionDialog")
        if self.session.path is not None and self._save_in_place:
            dialog.setDirectory(str(Path(self.session.path).absolute().parent))

        def chosen(path: str) -> None:
            if self.save_session(path) and then is not None:
                then()

        dialog.fileSelected.connect(chosen)
        dialog.open()
        return dialog

    def ask_open_session(self) -> None:
        """Ctrl+O: (after asking about unsaved changes) a file dialog, then `open_session`."""
        self._unless_unsaved(self._open_dialog)

    def _open_dialog(self) -> QFileDialog:
        dialog = QFileDialog(self, "Open session…")
        dialog.setObjectName("openSessionDialog")
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.setAcceptMode(QFileDialog.AcceptOpen)
        dialog.setFileMode(QFileDialog.ExistingFile)
        dialog.setNameFilters(["Session files (*.toml)", "All files (*)"])
        if self.session.path is not None:
            dialog.setDirectory(str(Path(self.session.path).absolute().parent))
        dialog.fileSelected.connect(self.open_session)
        dialog.open()
        return dialog

    def open_session(self, path: str | Path) -> bool:
        """Open the session file at `path` in place of this one (File → Open without the
        dialog; unsaved changes are not asked about). A file that does not load: an error
        dialog, and this session keeps running (False).

        How: this window stops its producers (its usual shutdown) and, once they are gone, a
        new MainWindow for the file takes its place (same geometry) and this one closes;
        `replaced_by` carries the new window. A fresh window is built exactly as at start-up
        and ended by the exits every window has (app/window_exits.py): nothing is rebuilt in
        place, so nothing of the old session can linger."""
        try:
            session = load_session(path)
        except SessionError as exc:
            self.show_error(f"Cannot open the session: {exc}")
            return False
        if self._shutdown_started is not None or self._closed:
            return False
        session_files.remember_recent(path)
        _watch_quit()
        self.statusBar().showMessage(f"opening {path}: stopping producers…")
        self.shutdown_finished.connect(lambda: self._open_replacement(session))
        self.begin_shutdown()
        return True

    def _open_replacement(self, session: Session) -> None:
        if _QUITTING or QCoreApplication.instance() is None:
            return  # the app is quitting (aboutToQuit ended this window): no new window
        window = MainWindow(session)
        window.restoreGeometry(self.saveGeometry())
        window.splitter.restoreState(self.splitter.saveState())
        window.restoreState(self.saveState())  # docks: event log, statistics
        _keep_until_closed(window)
        window.show()
        self.replaced_by.emit(window)

    def _unless_unsaved(self, action, *args) -> None:
        """Run `action(*args)`, after asking Save / Discard / Cancel if there are changes."""
        if self._dirty:
            self._ask_unsaved(lambda: action(*args))
        else:
            action(*args)

    def _ask_unsaved(self, then) -> None:
        name = self.session.path.name if self.session.path else "untitled"

        def answered(button) -> None:
            if button == QMessageBox.Save:
                self.ask_save_session(then)
            elif button == QMessageBox.Discard:
                self._set_dirty(False)
                then()

        session_files.ask_unsaved(self, name, answered)

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty
        self._update_title()

    @property
    def unsaved(self) -> bool:
        """A change (Configure…, a producer added, removed or renamed) since the last save or
        open."""
        return self._dirty

    def _update_title(self) -> None:
        title = self.session.path.name if self.session.path else "untitled"
        self.setWindowTitle(f"streamscope — {title}{'*' if self._dirty else ''}")

    # -- view and help ---------------------------------------------------------------------------
    @pyqtSlot(bool)
    def _set_full_screen(self, on: bool) -> None:
        if on != self.isFullScreen():
            self.setWindowState(self.windowState() ^ Qt.WindowFullScreen)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.WindowStateChange and hasattr(self, "fullScreenAction"):
            self.fullScreenAction.setChecked(self.isFullScreen())  # also when left by the WM
        super().changeEvent(event)

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.menuBar(), self)
        dialog.open()
        return dialog

    def show_about(self) -> QMessageBox:
        box = _message_box(QMessageBox.Information, "About streamscope", self)
        box.setObjectName("aboutDialog")
        box.setText(about_text())
        box.open()
        return box

    # -- export ----------------------------------------------------------------------------------
    def ask_export_image(self) -> QFileDialog:
        dialog = self._save_dialog("Export image…", "chart.png", IMAGE_FORMATS, "exportImageDialog")
        dialog.fileSelected.connect(self.export_image)
        dialog.open()
        return dialog

    def ask_export_csv(self) -> QFileDialog:
        formats = export.DATA_FORMATS  # CSV, Parquet, Arrow: the file's suffix says which
        dialog = self._save_dialog("Export data…", "chart.csv", formats, "exportCsvDialog")
        dialog.fileSelected.connect(self.export_data)
        dialog.open()
        return dialog

    def _save_dialog(self, title, name, formats, object_name) -> QFileDialog:
        dialog = QFileDialog(self, title, name)
        dialog.setObjectName(object_name)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.setAcceptMode(QFileDialog.AcceptSave)
        dialog.setNameFilters(list(formats))
        dialog.setDefaultSuffix(next(iter(formats.values())))
        dialog.filterSelected.connect(lambda f: dialog.setDefaultSuffix(formats[f]))
        return dialog

    @pyqtSlot(str)
    def export_image(self, path: str) -> None:
        """Save the chart as shown: PNG (the widget's pixels, at its device pixel ratio) or SVG
        (by the suffix). The picture is taken now; the file is written on a thread, and the
        status bar (or an error dialog) says how it went: `export_finished` tells when."""
        suffix = Path(path).suffix.lower()
        if suffix == ".png":
            image = self.plots.grab().toImage()  # exactly what is shown, every plot

            def write() -> str:
                if not image.save(path, "PNG"):
                    raise OSError(f"cannot write {path} (is the folder writable?)")
                return f"exported the chart ({image.width()} x {image.height()} px) to {path}"

        elif suffix == ".svg":
            svg = self.plots.svg()

            def write() -> str:
                Path(path).write_bytes(svg)
                return f"exported the chart to {path}"

        else:
            self._export_failed(path, f"Cannot export to {path}: choose a .png or .svg file")
            return
        self._run_export(path, write)

    @pyqtSlot(str)
    def export_csv(self, path: str) -> None:
        """`export_data` as CSV, whatever the file is called."""
        self.export_data(path, ".csv")

    @pyqtSlot(str)
    def export_data(self, path: str, suffix: str | None = None) -> None:
        """Save the samples of the visible series in the visible time range, as the store
        holds them at full resolution (app.core.export), as CSV, Parquet or an Arrow stream by
        the file's suffix (or `suffix`), laid out as a recording; written on a thread."""
        try:
            suffix = suffix or export.format_of(path)
        except ValueError as exc:
            self._export_failed(path, f"Cannot export to {path}: {exc}")
            return
        t0, t1 = self.plots.visible_range()
        gathered = export.gather(self.engine.store, self.plots.visible_series(), t0, t1)

        def write() -> str:
            rows = export.write_file(gathered, path, suffix)
            note = gathered.note()
            return f"exported {rows:,} samples to {path}" + (f"; {note}" if note else "")

        self._run_export(path, write)

    def _run_export(self, path: str, write) -> None:
        bridge = _ExportBridge()  # no parent: the thread may end after the window
        bridge.done.connect(self._on_export_done)

        def run() -> None:
            try:
                message, error = write(), ""
            except OSError as exc:
                message, error = "", f"Cannot export to {path}: {exc.strerror or exc}"
            except Exception as exc:  # a bug: say so rather than lose it on a thread
                log.exception("export to %s failed", path)
                message, error = "", f"Cannot export to {path}: {exc}"
            bridge.done.emit(path, message, error)

        self._export_bridges = getattr(self, "_export_bridges", set()) | {bridge}
        self.statusBar().showMessage(f"exporting to {path}…")
        threading.Thread(target=run, name="export", daemon=True).start()

    @pyqtSlot(str, str, str)
    def _on_export_done(self, path: str, message: str, error: str) -> None:
        self._export_bridges = {b for b in self._export_bridges if b is not self.sender()}
        if self._closed:
            return
        if error:
            self._export_failed(path, error)
            return
        self._log_event(logging.INFO, message)
        self.statusBar().showMessage(message, 15000)
        self.export_finished.emit(path, "")

    def _export_failed(self, path: str, error: str) -> None:
        self._log_event(logging.ERROR, error)
        self.show_error(error)
        self.export_finished.emit(path, error)

    # -- producer control ------------------------------------------------------------------------
    @pyqtSlot(str)
    def _on_start_requested(self, name: str) -> None:
        if self._shutdown_started is None:
            self._sent = self.engine.start(name)
            self.panel.mark_pending(name, "start")

    @pyqtSlot(str)
    def _on_stop_requested(self, name: str) -> None:
        self._sent = self.engine.stop(name)
        self.panel.mark_pending(name, "stop")

    @pyqtSlot()
    def _on_start_all(self) -> None:
        if self._shutdown_started is None:
            self._sent = self.engine.start_all()
            self.panel.mark_all_pending("start")

    @pyqtSlot()
    def _on_stop_all(self) -> None:
        self._sent = self.engine.stop_all()
        self.panel.mark_all_pending("stop")

    # -- status ----------------------------------------------------------------------------------
    @pyqtSlot()
    def _on_view_changed(self) -> None:
        """A state changed or a command took effect: show it now, not at the next tick."""
        if not self._closed:
            self._show_view()

    def _show_view(self) -> None:
        view = self.engine.view
        for news in self.engine.news():
            self._log_event(news.level, news.text, news.name, news.details, news.at)
            if news.change is None and news.kind != "status":  # not every state change
                self.statusBar().showMessage(news.text, 10000)
        if view.active != self._active:
            self._set_pace(view.active)
        if view.applied >= self._sent:  # older views would undo what the user just clicked
            self.panel.update_rows(view.rows, complete=True)

    @pyqtSlot()
    def _on_status_timer(self) -> None:
        self._show_view()
        if self.engine.store.keys_version != self._series_listed:
            self._series_listed = self.engine.store.keys_version
            self.series_list.refresh()  # series came or went: the list follows
        counters = self.engine.counters
        self.readout.show_latest(counters.latest)
        recorder = self.engine.recorder
        self._check_recording(recorder)
        dropped = counters.total_dropped() + (recorder.dropped_total if recorder else 0)
        self.readout.show_perf(
            counters.total_rate(),
            self.plots.fps(),
            self.lag_meter.percentile(99, seconds=5.0),
            self.engine.store.nbytes,
            dropped,
            self.engine.store.usage_text(),
        )
        self.toolbar.show_recording(self.engine.recorder)

    def _set_pace(self, active: bool) -> None:
        """Fast timers while something runs (or will restart); slow ones when all is idle."""
        self._active = active
        pace = 0 if active else 1
        self.plots.set_live(active)
        self._status_timer.setInterval(STATUS_MS[pace])
        self.lag_meter.set_interval(self.lag_interval_ms or LAG_MS[pace])

    @pyqtSlot(str)
    def _on_consumer_failed(self, trace: str) -> None:
        """The consumer thread died (a bug): no data flows any more. Say so, loudly."""
        self._log_event(logging.ERROR, "consumer thread died: no new data", details=trace)
        self.consumer_status.setText("⚠ data stopped: the consumer thread died (see details)")
        self.consumer_status.setToolTip(trace)
        self.show_error("The consumer thread died: no new data will be shown.", details=trace)

    # -- recording -------------------------------------------------------------------------------
    @pyqtSlot(str)
    def start_recording(self, path: str) -> None:
        """Record every received sample to `path` (opened and written off the GUI thread)."""
        self.stop_recording()
        try:
            recorder = Recorder(path)  # checks the suffix only; the file opens on its thread
        except RecordingError as exc:
            self._log_event(logging.ERROR, f"cannot record: {exc}")
            self.show_error(f"Cannot record: {exc}")
            return
        self.engine.attach_recorder(recorder)
        self.toolbar.set_recording(True)
        self._log_event(logging.INFO, f"recording to {path}")

    @pyqtSlot()
    def stop_recording(self) -> None:
        """Stop recording; the engine finishes the file off this thread and reports how it
        went (status bar, log)."""
        self.engine.stop_recording(RECORDER_CLOSE_S)
        self.toolbar.set_recording(False)

    def _check_recording(self, recorder) -> None:
        if recorder is not None and recorder.error:
            self.stop_recording()
            text = f"Recording stopped: {recorder.error}"
            self._log_event(logging.ERROR, text)
            self.show_error(text)

    # -- details ---------------------------------------------------------------------------------
    @pyqtSlot(str)
    def show_details(self, name: str) -> None:
        info = self.engine.view.entries.get(name)
        if info is None:  # a producer elsewhere: what its subscriber reported
            row = next((r for r in self.engine.view.rows if r.name == name), None)
            if row is not None:
                box = _message_box(QMessageBox.Information, f"{name} — details", self)
                box.setObjectName("detailsDialog")
                box.setText(f"{name} ({row.kind}): {row.state_text}")
                box.setInformativeText(row.error or "no error")
                box.open()
            return
        box = _message_box(QMessageBox.Information, f"{name} — details", self)
        box.setObjectName("detailsDialog")
        box.setText(f"{name} ({info.spec.kind}): {info.state.value}")
        box.setInformativeText(info.last_error or info.exit_description or "no error")
        if info.traceback:
            box.setDetailedText(info.traceback)
        box.open()

    @pyqtSlot(str)
    def show_configure(self, name: str) -> ProducerConfigDialog:
        """Open the Configure dialog (non-blocking); accepting it applies the new spec."""
        dialog = ProducerConfigDialog(self.engine.view.entries[name].spec, parent=self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.applied.connect(self._on_config_applied)
        dialog.open()
        return dialog

    @pyqtSlot(object)
    def _on_config_applied(self, spec) -> None:
        self._specs[spec.name] = spec
        self._set_dirty(True)
        running = self.engine.view.entries[spec.name].state.value in ("STARTING", "RUNNING")
        self._sent = self.engine.reconfigure(spec.name, spec)
        if running:  # it stops to start again: Stop must stay possible meanwhile
            self.panel.mark_pending(spec.name, "start")
        note = "; restarting" if running else ""
        self._log_event(logging.INFO, f"{spec.name}: new parameters {spec.params}{note}", spec.name)
        self.statusBar().showMessage(f"{spec.name}: new parameters{note}", 5000)

    def show_error(self, text: str, details: str = "") -> None:
        """A problem the user must read (e.g. a broken session file); the app keeps running.
        Shown as plain text: a session's values never become links or markup."""
        self.statusBar().showMessage(text)
        box = _message_box(QMessageBox.Critical, "streamscope", self)
        box.setObjectName("errorDialog")
        box.setText(text)
        if details:
            box.setDetailedText(details)
        box.open()

    # -- shutdown --------------------------------------------------------------------------------
    def closeEvent(self, event):
        if self._closed:
            event.accept()
            return
        event.ignore()
        if event.spontaneous() and self._dirty and self._shutdown_started is None:
            self.close_asking()  # the user closed it (window manager): ask first
            return
        self.begin_shutdown()

    def close_asking(self) -> None:
        """A user's close (Quit, the window's close button): with unsaved changes, ask
        Save / Discard / Cancel first. Every other way out (close(), app.quit(), a signal,
        deleteLater) never asks."""
        if self._dirty and self._shutdown_started is None and not self._closed:
            self._ask_unsaved(self.close)
        else:
            self.close()

    def begin_shutdown(self) -> None:
        """Stop producers without blocking; the window closes once they are gone."""
        if self._shutdown_started is not None or self._closed:
            return
        self._shutdown_started = time.monotonic()
        self.statusBar().showMessage("stopping producers…")
        self.engine.shutdown()
        self._shutdown_timer = QTimer(self)
        self._shutdown_timer.timeout.connect(self._on_shutdown_tick)
        self._shutdown_timer.start(50)

    @pyqtSlot()
    def _on_shutdown_tick(self) -> None:
        late = time.monotonic() - self._shutdown_started > SHUTDOWN_DEADLINE_S
        if self.engine.view.drained or late:
            self.finish_shutdown()
            self.close()

    def finish_shutdown(self) -> None:
        """End everything now (kills what is left); safe to call more than once, from any of
        the ways out."""
        if self._closed:
            return
        self._closed = True
        try:  # every way out: the next run opens where this one was
            session_files.save_geometry(self, self.splitter)
        except Exception:  # settings are a nicety; never let them stop a shutdown
            log.exception("cannot save the window geometry")
        for timer in (self._status_timer, getattr(self, "_shutdown_timer", None)):
            if timer is not None:
                timer.stop()
        self.plots.stop()
        self.lag_meter.stop()
        stop_core(self.consumer, self.engine)
        self.shutdown_finished.emit()


_QUITTING = False  # set by aboutToQuit: no window may open in place of a closing one
_KEPT: dict[int, MainWindow] = {}  # windows opened in place of another: nobody else holds them
_KEPT_KEYS = iter(range(1, 1 << 62))


def _on_about_to_quit() -> None:
    global _QUITTING
    _QUITTING = True


def _keep_until_closed(window: MainWindow) -> None:
    """Hold a window opened by File → Open (no caller keeps a reference to it) until it is
    gone: deleted once its shutdown finished, released when destroyed."""
    key = next(_KEPT_KEYS)
    _KEPT[key] = window
    window.shutdown_finished.connect(window.deleteLater)
    window.destroyed.connect(lambda *_: _KEPT.pop(key, None))


def _watch_quit() -> None:
    app = QCoreApplication.instance()
    if app is not None and not getattr(app, "_streamscope_open_hook", False):
        app._streamscope_open_hook = True
        app.aboutToQuit.connect(_on_about_to_quit)


def _same_file(a, b) -> bool:
    try:
        return b is not None and Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


class _ViewBridge(QObject):
    """Carries the engine's "view changed" from its thread to the GUI thread (a queued signal).
    Not the window's own signal: the engine may call it while the window is being destroyed.

    Signals:
    changed(): the engine published a view after a state change or an applied command.
    """

    changed = pyqtSignal()


class _ExportBridge(QObject):
    """Carries an export's outcome from its thread to the GUI thread (a queued signal).

    Signals:
    done(str, str, str): path, the message to show (success), the error text (failure).
    """

    done = pyqtSignal(str, str, str)


def _describe(action: QAction, keys: str, tip: str) -> None:
    if keys:
        action.setShortcut(QKeySequence(keys))
    action.setToolTip(f"{tip} ({keys})" if keys else tip)
    action.setStatusTip(tip)


def _message_box(icon, title: str, parent) -> QMessageBox:
    box = QMessageBox(icon, title, "", parent=parent)
    box.setTextFormat(Qt.PlainText)
    box.setAttribute(Qt.WA_DeleteOnClose)
    return box
