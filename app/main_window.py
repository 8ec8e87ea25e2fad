"""The main window: live chart above, producer panel below, readouts in the status bar.

It wires the Qt-free core together (channel, supervisor, store, stats, pipeline) and owns
the only Qt pieces that touch them: the consumer thread and three timers (supervisor tick,
status refresh, chart frame). Nothing here blocks: a Stop escalates over supervisor ticks, and
closing the window first stops everything, then closes (within ~2.5 s, whatever producers do).
"""

from __future__ import annotations

import gc
import logging
import time

from PyQt5.QtCore import Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QMainWindow, QMessageBox, QSplitter

from app.consumer import ConsumerThread
from app.core.channel import Batch, Channel
from app.core.counters import CounterBook
from app.core.launcher import SpawnLauncher
from app.core.pipeline import Pipeline, forward_events
from app.core.producer_rows import build_rows
from app.core.session import Session
from app.core.store import SeriesStore
from app.core.supervisor import ALIVE, State, StateChange, Supervisor
from app.core.tuning import tune_gui_process
from widgets.lag_meter import EventLoopLagMeter
from widgets.live_chart import LiveChart
from widgets.main_toolbar import MainToolbar
from widgets.producer_config import ProducerConfigDialog
from widgets.producer_panel import ProducerPanel
from widgets.status_readout import StatusReadout

log = logging.getLogger("streamscope")

# Timer periods while producers run / while everything is stopped (idle must cost < 2 %).
TICK_MS = (100, 1000)
STATUS_MS = (250, 1000)
LAG_MS = (20, 250)
SHUTDOWN_DEADLINE_S = 2.5


class MainWindow(QMainWindow):
    """Signals:
    state_changed(str, str): a producer changed state (name, new state word).
    shutdown_finished(): producers ended and the consumer thread joined; the window closes.
    """

    state_changed = pyqtSignal(str, str)
    shutdown_finished = pyqtSignal()

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.session = session
        title = session.path.name if session.path else "untitled"
        self.setWindowTitle(f"streamscope — {title}")
        tune_gui_process()
        self._shutdown_started: float | None = None
        self.lag_interval_ms: int | None = None  # fixed lag-meter period (benchmarks)
        self._build_core(session)
        self._build_ui(session)
        self._closed = False
        self.consumer.start()
        self.lag_meter.start()
        QTimer.singleShot(0, self._on_started)

    # -- construction ----------------------------------------------------------------------------
    def _build_core(self, session: Session) -> None:
        self.channel = Channel()
        self.store = SeriesStore(budget_bytes=int(session.budget_mb * (1 << 20)))
        self.stats = CounterBook()
        self.pipeline = Pipeline(self.store, self.stats)
        self.supervisor = Supervisor(SpawnLauncher(self.channel), on_change=self._on_change)
        for spec in session.producers:
            self.supervisor.add(spec)
        self.consumer = ConsumerThread(self.channel, self.pipeline, self)
        self.consumer.batch_received.connect(self._on_batch_received)
        self.lag_meter = EventLoopLagMeter(LAG_MS[1], parent=self)

    def _build_ui(self, session: Session) -> None:
        self.chart = LiveChart(self.store, session.window_s, session.fps)
        self.chart.build_frames_elsewhere()
        self.chart.frame_requested.connect(self.consumer.request_frame, Qt.DirectConnection)
        self.consumer.frame_ready.connect(self.chart.show_frame)
        self.chart.set_producers(
            [s.name for s in session.producers],
            {s.name for s in session.producers if not s.visible},
        )
        self.panel = ProducerPanel()
        self.panel.set_producers([(s.name, s.kind) for s in session.producers])
        self.panel.start_requested.connect(self._on_start_requested)
        self.panel.stop_requested.connect(self._on_stop_requested)
        self.panel.details_requested.connect(self.show_details)
        self.panel.configure_requested.connect(self.show_configure)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.chart)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        rows = min(max(len(session.producers), 3), 10)
        panel_height = self.panel.horizontalHeader().sizeHint().height() + 32 * rows + 8
        splitter.setSizes([600, panel_height])
        self.setCentralWidget(splitter)
        self.toolbar = MainToolbar(self, self.chart, session.window_s)
        self.toolbar.start_all.connect(self._on_start_all)
        self.toolbar.stop_all.connect(self._on_stop_all)
        self.toolbar.recording_toggled.connect(self._on_recording_toggled)
        self.addToolBar(self.toolbar)
        self.readout = StatusReadout(self.statusBar())
        self._tick_timer = self._timer(TICK_MS[1], self._on_tick)
        self._status_timer = self._timer(STATUS_MS[1], self._on_status_timer)
        self._on_status_timer()

    def _timer(self, ms: int, slot) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        return timer

    @pyqtSlot()
    def _on_started(self) -> None:
        # Everything built so far (Qt wrappers, modules, pyqtgraph items) lives as long as the
        # window: keep it out of the cyclic GC's full collections, which otherwise scan it all
        # and were measured pausing the GUI thread for ~20 ms.
        gc.freeze()
        self.supervisor.start_autostart()

    # -- producer control ------------------------------------------------------------------------
    @pyqtSlot(str)
    def _on_start_requested(self, name: str) -> None:
        if self._shutdown_started is None:
            self.supervisor.start(name)
            self._on_status_timer()

    @pyqtSlot(str)
    def _on_stop_requested(self, name: str) -> None:
        self.supervisor.stop(name)
        self._on_status_timer()

    @pyqtSlot()
    def _on_start_all(self) -> None:
        for name in self.supervisor.entries:
            self._on_start_requested(name)

    @pyqtSlot()
    def _on_stop_all(self) -> None:
        self.supervisor.stop_all()
        self._on_status_timer()

    def _on_change(self, change: StateChange) -> None:
        detail = f" ({change.detail})" if change.detail else ""
        level = logging.WARNING if change.new in (State.BACKOFF, State.FATAL) else logging.INFO
        log.log(level, "%s: %s -> %s%s", change.name, change.old.value, change.new.value, detail)
        self._set_pace(any(e.state in ALIVE or e.due_at for e in self.supervisor.entries.values()))
        self.state_changed.emit(change.name, change.new.value)

    def _set_pace(self, active: bool) -> None:
        """Fast timers while something runs (or will restart); slow ones when all is idle."""
        pace = 0 if active else 1
        self.chart.set_live(active)
        self._tick_timer.setInterval(TICK_MS[pace])
        self._status_timer.setInterval(STATUS_MS[pace])
        self.lag_meter.set_interval(self.lag_interval_ms or LAG_MS[pace])

    # -- data and timers -------------------------------------------------------------------------
    @pyqtSlot(object)
    def _on_batch_received(self, batch: Batch) -> None:
        forward_events(batch, self.supervisor)
        for event in batch.events:
            if event.kind in ("error", "bad_message"):
                error = event.info.get("error", "")
                log.warning("%s: %s", event.key.name, error)
                self.statusBar().showMessage(f"{event.key.name}: {error}", 10000)

    @pyqtSlot()
    def _on_tick(self) -> None:
        self.supervisor.tick()

    @pyqtSlot()
    def _on_status_timer(self) -> None:
        self.panel.update_rows(build_rows(self.supervisor, self.stats, self.supervisor.clock()))
        self.readout.show_latest(self.stats.latest)
        recorder = self.pipeline.recorder
        dropped = self.stats.total_dropped() + (recorder.dropped_total if recorder else 0)
        self.readout.show_perf(
            self.stats.total_rate(),
            self.chart.fps(),
            self.lag_meter.percentile(99, seconds=5.0),
            self.store.nbytes,
            dropped,
        )
        self.toolbar.show_recording(recorder)

    # -- recording -------------------------------------------------------------------------------
    @pyqtSlot(object)
    def _on_recording_toggled(self, recorder) -> None:
        """The toolbar opened (recorder) or asked to close (None) a recording."""
        old, self.pipeline.recorder = self.pipeline.recorder, recorder
        if old is not None:
            old.close(timeout=0)  # the writer thread finishes the file on its own
            log.info("recording stopped: %s (%d samples)", old.path, old.samples)
        if recorder is not None:
            log.info("recording to %s", recorder.path)

    # -- details ---------------------------------------------------------------------------------
    @pyqtSlot(str)
    def show_details(self, name: str) -> None:
        entry = self.supervisor.entries[name]
        box = QMessageBox(QMessageBox.Information, f"{name} — details", "", parent=self)
        box.setObjectName("detailsDialog")
        box.setText(f"{name} ({entry.spec.kind}): {entry.state.value}")
        box.setInformativeText(entry.last_error or entry.exit_description or "no error")
        if entry.traceback:
            box.setDetailedText(entry.traceback)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    @pyqtSlot(str)
    def show_configure(self, name: str) -> ProducerConfigDialog:
        """Open the Configure dialog (non-blocking); accepting it applies the new spec."""
        dialog = ProducerConfigDialog(self.supervisor.entries[name].spec, parent=self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.applied.connect(self._on_config_applied)
        dialog.open()
        return dialog

    @pyqtSlot(object)
    def _on_config_applied(self, spec) -> None:
        running = self.supervisor.entries[spec.name].state in ALIVE
        self.supervisor.reconfigure(spec.name, spec)
        log.info(
            "%s: new parameters %s%s", spec.name, spec.params, "; restarting" if running else ""
        )
        self.statusBar().showMessage(
            f"{spec.name}: new parameters" + ("; restarting" if running else ""), 5000
        )

    def show_error(self, text: str) -> None:
        """A problem the user must read (e.g. a broken session file); the app keeps running."""
        self.statusBar().showMessage(text)
        box = QMessageBox(QMessageBox.Critical, "streamscope", text, parent=self)
        box.setObjectName("errorDialog")
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    # -- shutdown --------------------------------------------------------------------------------
    def closeEvent(self, event):
        if self._closed:
            event.accept()
            return
        event.ignore()
        self.begin_shutdown()

    def begin_shutdown(self) -> None:
        """Stop producers without blocking; the window closes once they are gone."""
        if self._shutdown_started is not None:
            return
        self._shutdown_started = time.monotonic()
        self.statusBar().showMessage("stopping producers…")
        self.supervisor.stop_all()
        self._tick_timer.stop()
        self._shutdown_timer = self._timer(50, self._on_shutdown_tick)

    @pyqtSlot()
    def _on_shutdown_tick(self) -> None:
        self.supervisor.tick()
        late = time.monotonic() - self._shutdown_started > SHUTDOWN_DEADLINE_S
        if self.supervisor.all_stopped or late:
            self.finish_shutdown()
            self.close()

    def finish_shutdown(self) -> None:
        """End everything now (kills what is left); safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        for timer in (self._tick_timer, self._status_timer, getattr(self, "_shutdown_timer", None)):
            if timer is not None:
                timer.stop()
        self.chart.stop()
        self.lag_meter.stop()
        for entry in self.supervisor.entries.values():
            if entry.handle is not None and entry.handle.exitcode is None:
                log.warning("%s did not stop in time: killing it", entry.name)
                entry.handle.kill()
                entry.handle.join(1.0)
        if not self.consumer.stop(2000):
            log.error("consumer thread did not stop")
        if self.pipeline.recorder is not None:
            self.pipeline.recorder.close()
        self.channel.close()
        self.shutdown_finished.emit()
