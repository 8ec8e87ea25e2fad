"""The engine: the one Qt-free core behind every front end (the window, `record`, and later
`publish`): channel, launcher, supervisor, pipeline (store, counters, recorder) and shutdown.

Two threads do the work, and neither waits on the other:

- the *draining* thread belongs to the front end (the window's consumer QThread, `record`'s main
  loop) and calls `drain()`: read every pipe, store, hand chunks to the recorder's queue, count.
  It never waits on a disk, a process start or the supervisor.
- the *control* thread is the engine's own. It applies commands (start, stop, reconfigure),
  ticks the supervisor (reap, escalate a stop, restart), turns each run's shared tally into drop
  counts, and publishes a `view` (the panel's rows, details per producer) that front ends read
  without a lock. Process starts happen here: never on the GUI thread.

Front ends send non-blocking commands, read `view`, and take `news()` (state changes, errors,
recording summaries) for their log and status bar.

Producers can be added, removed, duplicated and renamed while others run. The engine keeps the
list of producers as the front end last set it (`names`, `spec`): a command is checked against
it at once, in the caller's thread and with the session loader's rules and words (SpecError),
and applied on the control thread in order with every other command. A removed producer's
series leave the store and its counts are forgotten; a renamed one's move to its new name
(app.core.run_routes says how data still on its way is sent after them).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable

import psutil

from app.core.channel import Batch, Channel, RunKey
from app.core.counters import CounterBook
from app.core.engine_view import EngineView, News, make_view
from app.core.launcher import ProcessLauncher
from app.core.pipeline import Pipeline, forward_events
from app.core.producer_rows import REMOTE_SEP
from app.core.producer_specs import SpecError, check_name, checked_spec, unique_name
from app.core.remote_control import RemoteCommand, RemoteControl
from app.core.run_routes import RunRoutes
from app.core.runs import RunLedger
from app.core.session import ProducerSpec, Session, resolved_params
from app.core.source_watch import SourceWatch
from app.core.store import SeriesStore
from app.core.supervisor import Policy, State, StateChange, Supervisor

log = logging.getLogger("streamscope")

TICK_S = (0.1, 1.0)  # control thread period while something runs / when all is idle
STALL_CHECK_S = 0.25
FROZEN_CHECK_AFTER_S = 1.0  # a run quiet this long: look whether its process is stopped
COALESCE_S = 0.004  # at most one drain cycle per this: 100 producers need not mean 2,000 wake-ups


class Engine:
    def __init__(
        self,
        session: Session,
        *,
        keep_store: bool = True,
        policy: Policy | None = None,
        launcher=None,
        on_view: Callable[[], None] | None = None,
        source_news: bool = False,
    ):
        """`on_view` is called (from the engine's thread) after a publish that follows applied
        commands or state changes: a front end may refresh at once instead of at its next tick.
        `source_news`: news also tells sources' status changes and new drops (app.core.
        source_watch; at most one line per source a second), for the window's event log."""
        self.session = session
        self._on_view = on_view
        self.channel = Channel()
        self._launcher = launcher or ProcessLauncher(self.channel)
        self.counters = CounterBook()
        budget = int(session.budget_mb * (1 << 20))
        self.store = SeriesStore(budget_bytes=budget) if keep_store else None
        self.routes = RunRoutes()
        self.pipeline = Pipeline(self.store, self.counters, routes=self.routes)
        self.supervisor = Supervisor(self, policy or Policy(), on_change=self._on_change)
        for spec in session.producers:
            self.supervisor.add(spec)
        # the producers as the front end set them last (the supervisor's follow as commands
        # apply); replaced whole, so other threads read it without a lock
        self._specs: dict[str, ProducerSpec] = {spec.name: spec for spec in session.producers}
        self._specs_lock = threading.Lock()
        self.view = EngineView()
        self._runs = RunLedger(self.counters, self.channel, self.routes)
        self._hello: set[RunKey] = set()
        self._refused: dict[tuple[str, str], str] = {}  # series the store turned away, told
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._notes: deque = deque()  # draining thread -> control thread
        self._news: deque[News] = deque()  # control thread -> front end
        self._closing = False
        self._closed = False
        self._sent = 0  # commands queued (front-end threads)
        self._sent_lock = threading.Lock()
        self._applied = 0  # commands run (control thread)
        self._changed = False
        self._last_drain_end = 0.0
        self._last_stall_check = 0.0
        self._stop_control = threading.Event()
        self._finishing: list[threading.Thread] = []  # recordings being closed
        self._remote_control: RemoteControl | None = None  # made at the first remote command
        self._source_watch = SourceWatch() if source_news else None
        self._publish()
        self._control = threading.Thread(target=self._control_loop, name="engine", daemon=True)
        self._control.start()

    # -- commands (any thread; they run on the control thread) --------------------------------
    # Each returns the command's number: once `view.applied` reaches it, the view shows its
    # effect (a front end can hold back a stale view meanwhile).
    def start(self, name: str) -> int:
        if REMOTE_SEP in name:
            return self._command(lambda: self._unless_closing(self._remote, name, "start"))
        return self._command(lambda: self._unless_closing(self.supervisor.start, name))

    def stop(self, name: str) -> int:
        if REMOTE_SEP in name:
            return self._command(lambda: self._remote(name, "stop"))
        return self._command(lambda: self.supervisor.stop(name))

    def _remote(self, name: str, command: str) -> None:
        """Start/Stop of a producer elsewhere (a row `<subscriber>:<remote>`): a command sent
        through the subscriber's broker, if the remote's publisher allows control."""
        local, _, remote = name.partition(REMOTE_SEP)
        entry = self.supervisor.entries.get(local)
        info = entry.remotes.get(remote) if entry is not None else None
        if not info or not info.get("control") or not info.get("cmd_topic"):
            self._tell(logging.WARNING, f"{name}: cannot be controlled from here (its "
                       "publisher runs without --allow-control)", local)  # fmt: skip
            return
        if self._remote_control is None:
            self._remote_control = RemoteControl(self._remote_done)
        params = resolved_params(entry.spec)
        self._remote_control.send(RemoteCommand(params, info["cmd_topic"], command, name))
        self._tell(logging.INFO, f"{name}: {command} sent to {info['cmd_topic']}", local)

    def _remote_done(self, command: RemoteCommand, error: str | None) -> None:
        if error is not None:
            local = command.label.partition(REMOTE_SEP)[0]
            self._tell(logging.WARNING, f"{command.label}: {command.command} failed: {error}",
                       local)  # fmt: skip

    def start_all(self) -> int:
        return self._command(
            lambda: [
                self._unless_closing(self.supervisor.start, n) for n in self.supervisor.entries
            ]
        )

    def stop_all(self) -> int:
        return self._command(self.supervisor.stop_all)

    def start_autostart(self) -> int:
        return self._command(lambda: self._unless_closing(self.supervisor.start_autostart))

    def reconfigure(self, name: str, spec) -> int:
        with self._specs_lock:
            if name in self._specs:
                self._specs = {n: spec if n == name else s for n, s in self._specs.items()}
        return self._command(lambda: self.supervisor.reconfigure(name, spec))

    # -- adding and removing producers --------------------------------------------------------
    # Checked here, at once (SpecError, in the session loader's words); applied in order.
    def add(self, spec: ProducerSpec, *, start: bool = False, index: int | None = None) -> int:
        """A new producer, at `index` in the list (None: last); started if `start`.
        SpecError if `spec` breaks a session file's rules (its name taken, say)."""
        with self._specs_lock:
            spec = checked_spec(spec, self._specs)
            items = list(self._specs.items())
            items.insert(len(items) if index is None else index, (spec.name, spec))
            self._specs = dict(items)

        def apply() -> None:
            self.supervisor.add(spec, index)
            self._tell(logging.INFO, f"{spec.name}: added ({spec.kind})", spec.name)
            if start:
                self._unless_closing(self.supervisor.start, spec.name)

        return self._command(apply)

    def remove(self, name: str) -> int:
        """Take a producer out: a running one is stopped (its process, and the processes it
        started, end as with Stop); its series leave the store and its counts are forgotten.
        A recording keeps what it wrote. SpecError if there is no such producer."""
        with self._specs_lock:
            self._known(name)
            self._specs = {n: s for n, s in self._specs.items() if n != name}

        def apply() -> None:
            entry = self.supervisor.remove(name)
            self.routes.add(name, entry.generation, None)
            self._forget_refused(name, None)
            self.channel.wake()  # the draining thread forgets its series now
            self._tell(logging.INFO, f"{name}: removed", name)

        return self._command(apply)

    def duplicate(self, name: str) -> tuple[ProducerSpec, int]:
        """A stopped copy of a producer right after it, named like it with a number (`noise`
        -> `noise-2`). Returns the copy's spec and the command's number."""
        with self._specs_lock:
            original = self._known(name)
            new_name = unique_name(name, self._specs)
        twin = dataclasses.replace(original, name=new_name, params=copy_params(original.params))
        return twin, self.add(twin, index=self.names.index(name) + 1)

    def rename(self, name: str, new_name: str) -> int:
        """Give a producer another name (same place, same settings). A running one stops and
        starts again under it: a run keeps the name it was launched under. Its series and
        counts move to the new name, so its history and colours stay. SpecError if the name is
        not one a session allows or is taken."""
        with self._specs_lock:
            spec = self._known(name)
            check_name(new_name, set(self._specs) - {name})
            renamed = dataclasses.replace(spec, name=new_name)
            self._specs = {(new_name if n == name else n): (renamed if n == name else s)
                           for n, s in self._specs.items()}  # fmt: skip
        if new_name == name:
            return self._command(lambda: None)

        def apply() -> None:
            entry = self.supervisor.rename(name, new_name)
            self.routes.add(name, entry.generation, new_name)
            self._forget_refused(name, new_name)
            self.channel.wake()
            self._tell(logging.INFO, f"{name}: renamed to {new_name}", new_name)

        return self._command(apply)

    def spec(self, name: str) -> ProducerSpec:
        """A producer's spec as last set (KeyError if there is none)."""
        return self._specs[name]

    @property
    def specs(self) -> list[ProducerSpec]:
        """Every producer's spec as last set, in order."""
        return list(self._specs.values())

    def _known(self, name: str) -> ProducerSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise SpecError("name", f"there is no producer named {name!r}")
        return spec

    def _forget_refused(self, name: str, target: str | None) -> None:
        for producer, series in [k for k in self._refused if k[0] == name]:
            reason = self._refused.pop((producer, series))
            if target is not None:
                self._refused[(target, series)] = reason

    def shutdown(self) -> int:
        """Stop every producer (escalating as the policy says) and refuse new starts; `view`
        says `drained` once they are gone and their pipes read to the end."""
        self._closing = True
        return self._command(self.supervisor.stop_all)

    @property
    def names(self) -> list[str]:
        """The producers' names as the front end last set them, in order."""
        return list(self._specs)

    def _command(self, action: Callable[[], None]) -> int:
        with self._sent_lock:
            self._sent += 1
            number = self._sent
            self._commands.put(action)
        return number

    def _unless_closing(self, action, *args) -> None:
        if not self._closing:
            action(*args)

    # -- recording ----------------------------------------------------------------------------
    @property
    def recorder(self):
        return self.pipeline.recorder

    def attach_recorder(self, recorder) -> None:
        """Start handing every received chunk to `recorder` (anything with `submit(chunks)`)."""
        self.pipeline.recorder = recorder

    def detach_recorder(self):
        """Stop feeding the recorder; returns it (the caller closes it)."""
        recorder, self.pipeline.recorder = self.pipeline.recorder, None
        return recorder

    def stop_recording(self, timeout: float = 5.0):
        """Stop feeding the recorder and finish its file on a thread of its own (never the
        caller's: a slow disk may take a while); `news()` then says what was written and what
        could not be. Returns the recorder, or None if none was attached."""
        recorder = self.detach_recorder()
        if recorder is not None:
            thread = threading.Thread(
                target=self._finish_recording, args=(recorder, timeout), daemon=True
            )
            self._finishing.append(thread)
            thread.start()
        return recorder

    def _finish_recording(self, recorder, timeout: float) -> None:
        summary = recorder.close(timeout)
        lost = f", {summary.dropped_total:,} NOT recorded" if summary.dropped_total else ""
        error = f" ({summary.error})" if summary.error else ""
        level = logging.WARNING if lost or error else logging.INFO
        text = f"recording finished: {summary.written_total:,} samples in {summary.path}"
        self._tell(level, f"{text}{lost}{error}")

    # -- the draining thread ------------------------------------------------------------------
    def drain(self, timeout: float) -> Batch:
        """One cycle: wait up to `timeout` for data, read all pipes, store, record, count.
        Cycles are at least COALESCE_S apart, so many producers cost few wake-ups."""
        pause = COALESCE_S - (time.monotonic() - self._last_drain_end)
        if pause > 0:
            time.sleep(pause)  # the draining thread, never the GUI's: lets messages gather
        self.pipeline.sync()  # a removed producer's series go now, even with no data coming
        batch = self.channel.drain(timeout)
        if batch:
            self.pipeline.process(batch)
            self._runs.count(batch)
            self._notes.append(batch)
        now = time.monotonic()
        if now - self._last_stall_check > STALL_CHECK_S:
            self._last_stall_check = now
            self._notes.append(self.channel.stalled(now, 0.0))
        self._last_drain_end = time.monotonic()
        return batch

    # -- the supervisor's launcher ------------------------------------------------------------
    def launch(self, spec, generation: int):
        key = RunKey(spec.name, generation)
        record = self._runs.open(key)
        try:
            handle = self._launcher.launch(spec, generation)
        except BaseException:
            self._runs.cancel(key)
            raise
        record.tally = handle.tally
        return handle

    # -- the control thread -------------------------------------------------------------------
    def _control_loop(self) -> None:
        while not self._stop_control.is_set():
            period = TICK_S[0] if self.view.active or self._closing else TICK_S[1]
            with contextlib.suppress(queue.Empty):
                self._run_command(self._commands.get(timeout=period))
                while True:
                    self._run_command(self._commands.get_nowait())
            try:
                self._step()
            except Exception:  # the engine must outlive a bug in one step
                log.exception("engine step failed")
                self._tell(logging.ERROR, "internal error in the engine (see the log)")

    def _run_command(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:  # e.g. a name that no longer exists
            log.exception("command failed")
            self._tell(logging.ERROR, f"command failed: {exc}")
        self._applied += 1
        self._changed = True

    def _step(self) -> None:
        self._apply_notes()
        self.supervisor.tick()
        now = time.monotonic()
        self._account_runs(now)
        self._check_frozen()
        self._check_refused()
        if self._source_watch is not None:
            self._news.extend(self._source_watch.look(self.supervisor.entries, self.counters))
        self._publish()

    def _apply_notes(self) -> None:
        while self._notes:
            note = self._notes.popleft()
            if isinstance(note, dict):  # runs holding half a message -> since when
                self._apply_stalls(note)
                continue
            forward_events(note, self.supervisor)
            for event in note.events:
                self._on_event(event)

    def _apply_stalls(self, stalled: dict[RunKey, float]) -> None:
        for entry in self.supervisor.entries.values():
            key = RunKey(*entry.run)
            self.supervisor.note_stall(key.name, key.generation, stalled.get(key))

    def _on_event(self, event) -> None:
        key, name = event.key, event.key.name
        if event.kind == "hello":
            self._hello.add(key)
        elif event.kind == "eof":
            self._runs.ended(key)
            lost = event.info.get("partial_bytes", 0)
            if lost:
                self._tell(logging.WARNING, f"{name}: ended mid-message ({lost} bytes)", name)
        elif event.kind == "error":
            text = f"{name}: {event.info.get('error', 'raised')}"
            self._news.append(
                News(logging.WARNING, text, name, details=event.info.get("traceback", ""))
            )
        elif event.kind == "bad_message":
            self._tell(logging.WARNING, f"{name}: unreadable message: {event.info['error']}", name)

    def _account_runs(self, now: float) -> None:
        alive = {RunKey(*e.run) for e in self.supervisor.with_processes()}
        for key in self._runs.settle(alive, now):
            self._hello.discard(key)

    def _check_frozen(self) -> None:
        """A RUNNING producer that went quiet: is its process stopped (SIGSTOP, a debugger)?"""
        for entry in self.supervisor.entries.values():
            frozen = (
                entry.state is State.RUNNING
                and entry.pid is not None
                and self.supervisor.quiet_for(entry) > FROZEN_CHECK_AFTER_S
                and _is_stopped(entry.pid)
            )
            if frozen != entry.frozen:
                self.supervisor.note_frozen(entry.name, frozen)

    def _check_refused(self) -> None:
        """A series the store turned away (memory budget full) is said once, with what to do;
        its producer's row shows it too, and its samples count as that producer's drops."""
        if self.store is None or len(self.store.refused) == len(self._refused):
            return
        for (producer, series), reason in list(self.store.refused.items()):
            if (producer, series) in self._refused:
                continue
            self._refused[(producer, series)] = reason
            text = f"{producer}/{series} is not kept: {reason}; raise [store] budget_mb"
            self._tell(logging.WARNING, text, producer)

    def _on_change(self, change: StateChange) -> None:
        self._changed = True
        detail = f" ({change.detail})" if change.detail else ""
        level = logging.WARNING if change.new in (State.BACKOFF, State.FATAL) else logging.INFO
        text = f"{change.name}: {change.old.value} -> {change.new.value}{detail}"
        self._news.append(News(level, text, change.name, change))

    def _tell(self, level: int, text: str, name: str = "") -> None:
        self._news.append(News(level, text, name))

    def news(self) -> list[News]:
        """What happened since the last call (state changes, errors), oldest first."""
        out = []
        while self._news:
            out.append(self._news.popleft())
        return out

    def _notes_by_producer(self) -> dict[str, str]:
        notes: dict[str, str] = {}
        for (producer, series), reason in self._refused.items():
            notes.setdefault(producer, f"series {series} not kept: {reason}")
        return notes

    def _publish(self) -> None:
        sup = self.supervisor
        up = frozenset(name for name, e in sup.entries.items() if RunKey(*e.run) in self._hello)
        settled = not self._runs and self.channel.reader_count == 0
        self.view = make_view(
            sup, self.counters, up=up, settled=settled, applied=self._applied,
            notes=self._notes_by_producer(),
        )  # fmt: skip
        changed, self._changed = self._changed, False
        notify = self._on_view
        if changed and notify is not None:
            notify()

    # -- the end ------------------------------------------------------------------------------
    def close(self, recorder_timeout: float = 2.0, grace: float = 0.5):
        """End everything now: ask what still runs to stop, kill it after `grace` seconds,
        finish the recording (returns its summary, or None), release every resource. Call after
        the draining thread has stopped; safe to call more than once."""
        if self._closed:
            return None
        self._closed = self._closing = True
        self._on_view = None
        self._stop_control.set()
        self._commands.put(lambda: None)
        self._control.join(2.0)
        if self._remote_control is not None:
            self._remote_control.close()
        self._end_processes(grace)
        summary = None
        recorder = self.detach_recorder()
        if recorder is not None:
            summary = recorder.close(recorder_timeout)
        for thread in self._finishing:
            thread.join(recorder_timeout)
        self.channel.close()
        self._launcher.close()
        return summary

    def _end_processes(self, grace: float) -> None:
        handles = {e.name: e.handle for e in self.supervisor.entries.values() if e.handle}
        for entry in self.supervisor.leaving:  # removed, not yet gone
            if entry.handle is not None:
                handles[f"{entry.name} (removed)"] = entry.handle
        for handle in handles.values():
            if handle.exitcode is None:
                handle.request_stop()
        deadline = time.monotonic() + grace
        while any(h.exitcode is None for h in handles.values()) and time.monotonic() < deadline:
            time.sleep(0.01)  # the last moments of the app: nothing else to serve
        for name, handle in handles.items():
            if handle.exitcode is None:
                log.warning("%s did not stop in time: killing it", name)
                handle.kill()
                handle.join(1.0)
            handle.close()


def copy_params(params: dict) -> dict:
    """A deep copy: a duplicate's lists and tables are its own (Configure… of one must not
    change the other)."""
    return copy.deepcopy(params)


def _is_stopped(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
    except psutil.Error:
        return False
