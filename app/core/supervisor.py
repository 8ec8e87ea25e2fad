"""Producer supervision as a pure state machine (after supervisord), with an injected clock.

Nothing here blocks: `tick()` is called from a timer (the GUI) or a loop (headless record),
looks at each process without waiting, and escalates a stop from event to SIGTERM to SIGKILL
over time. Processes come from an injected launcher, so the whole machine is tested with fake
processes and a fake clock, and the real one (app.core.launcher) is a thin layer.

    STOPPED -> STARTING -> RUNNING -> STOPPING -> STOPPED
    STARTING --exit--> BACKOFF --delay--> STARTING ... --too many--> FATAL
    RUNNING  --exit--> EXITED --restart policy--> STARTING

Producers come and go while others run (`add`, `remove`, `rename`). A run is known by the name
it was launched under and its generation, numbered on across every producer that ever had
that name: a producer given a freed name never shares a run number with the one before it.
"""

from __future__ import annotations

import dataclasses
import enum
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class State(enum.Enum):
    STOPPED = "STOPPED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"
    STOPPING = "STOPPING"
    EXITED = "EXITED"
    FATAL = "FATAL"
    UNKNOWN = "UNKNOWN"  # a remote producer nobody can vouch for (its publisher is gone)


ALIVE = (State.STARTING, State.RUNNING, State.STOPPING)
RESTART_POLICIES = ("never", "on-failure", "always")


class ProcessHandle(Protocol):
    pid: int | None

    @property
    def exitcode(self) -> int | None: ...  # None while running
    def request_stop(self) -> None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def close(self) -> None: ...


class Launcher(Protocol):
    def launch(self, spec, generation: int) -> ProcessHandle: ...


@dataclass(frozen=True)
class Policy:
    startsecs: float = 1.0  # up this long = started (supervisord's startsecs)
    startretries: int = 3  # early exits before FATAL
    backoff_step: float = 1.0  # BACKOFF waits 1, 2, 3 ... s
    restart_delay: float = 1.0  # EXITED waits this long before a policy restart
    stop_grace: float = 1.0  # after the stop event, wait this long before SIGTERM
    term_grace: float = 0.5  # after SIGTERM, wait this long before SIGKILL
    stall_after: float = 5.0  # RUNNING with no data this long = stalled
    stall_mid_message_after: float = 1.0  # a message begun and not finished this long = stalled


@dataclass
class Entry:
    """The supervisor's view of one producer; the status panel renders it."""

    spec: object  # app.core.session.ProducerSpec (name, kind, restart, params)
    state: State = State.STOPPED
    handle: ProcessHandle | None = None
    pid: int | None = None
    generation: int = 0
    since: float = 0.0  # when the state was entered
    started_at: float | None = None  # when the current process was launched
    stop_requested_at: float | None = None
    terminated: bool = False
    killed: bool = False
    retries: int = 0
    restarts: int = 0
    due_at: float | None = None  # BACKOFF / EXITED: when to launch again
    exit_description: str = ""
    last_error: str = ""  # one line
    traceback: str = ""  # the producer's traceback if it raised
    last_data_at: float | None = None
    mid_message_since: float | None = None  # its pipe holds half a message (clock time)
    frozen: bool = False  # its process is stopped (SIGSTOP, a debugger): not running code
    start_after_stop: bool = False  # reconfigured while running: start again once stopped
    status: str = ""  # what the run says it is doing, shown after its state
    problem: str = ""  # the run's latest bad input, shown where an error would be
    problems: int = 0  # bad inputs the run counted
    details: str = ""  # longer text for the details dialog
    remotes: dict = field(default_factory=dict)  # rows it reports of producers elsewhere
    run_name: str = ""  # the name its current (or last) run was launched under

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def run(self) -> tuple[str, int]:
        """(name, generation) of its current or last run, as its pipe and tally know it."""
        return (self.run_name or self.spec.name, self.generation)


@dataclass
class StateChange:
    name: str
    old: State
    new: State
    detail: str = ""


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return "exited normally" if code == 0 else f"exit code {code}"


@dataclass
class Supervisor:
    launcher: Launcher
    policy: Policy = field(default_factory=Policy)
    clock: Callable[[], float] = time.monotonic
    on_change: Callable[[StateChange], None] | None = None

    def __post_init__(self):
        self.entries: dict[str, Entry] = {}
        self.leaving: list[Entry] = []  # removed while running: ticked until their process ended
        self._generations: dict[str, int] = {}  # name -> the last generation launched under it
        self._run_owners: dict[tuple[str, int], Entry] = {}  # a run -> its producer

    # -- configuration -------------------------------------------------------------------------
    def add(self, spec, index: int | None = None) -> Entry:
        """A new producer (stopped), at `index` in the order (None: last)."""
        if spec.name in self.entries:
            raise ValueError(f"duplicate producer name {spec.name!r}")
        entry = Entry(spec, since=self.clock())
        self._place(entry, index)
        return entry

    def _place(self, entry: Entry, index: int | None) -> None:
        items = [(n, e) for n, e in self.entries.items() if e is not entry]
        at = len(items) if index is None else max(0, min(index, len(items)))
        items.insert(at, (entry.name, entry))
        self.entries = dict(items)

    def remove(self, name: str) -> Entry:
        """Take a producer out. A live one is stopped (event, SIGTERM, SIGKILL as for Stop) and
        still ticked until its process is gone (`leaving`); it is no longer an entry at once."""
        entry = self.entries.pop(name)
        if entry.state in ALIVE:
            self._stop(entry)
            self.leaving.append(entry)
        else:
            self._run_owners.pop(entry.run, None)
        return entry

    def rename(self, name: str, new_name: str) -> Entry:
        """Give a producer another name, in the same place. A running one is stopped and started
        again under it (as a reconfigure does): its process, its pipe and what it sends carry
        its name, so a run keeps the name it was launched under."""
        if new_name in self.entries and new_name != name:
            raise ValueError(f"duplicate producer name {new_name!r}")
        entry = self.entries[name]
        index = list(self.entries).index(name)
        entry.spec = dataclasses.replace(entry.spec, name=new_name)
        del self.entries[name]
        self._place(entry, index)
        if entry.state in (State.STARTING, State.RUNNING):
            self.stop(new_name)
            entry.start_after_stop = True
        return entry

    def reconfigure(self, name: str, spec) -> None:
        """Use `spec` from now on: at the next start, or, for a running producer, at once (it is
        stopped and started again with it)."""
        entry = self.entries[name]
        entry.spec = spec
        if entry.state in (State.STARTING, State.RUNNING):
            self.stop(name)  # (a user's Stop clears the flag, so set it after)
            entry.start_after_stop = True
        # STOPPING: a restart already under way stays one; a user's Stop stays a stop

    # -- commands ------------------------------------------------------------------------------
    def start(self, name: str) -> None:
        entry = self.entries[name]
        if entry.state in ALIVE:
            return
        entry.retries = 0
        entry.last_error = entry.traceback = ""  # a fresh start by the user: old errors are read
        self._launch(entry)

    def stop(self, name: str) -> None:
        self._stop(self.entries[name])

    def _stop(self, entry: Entry) -> None:
        entry.start_after_stop = False
        if entry.state in (State.STARTING, State.RUNNING):
            entry.stop_requested_at = self.clock()
            entry.handle.request_stop()
            self._set(entry, State.STOPPING)
        elif entry.state in (State.BACKOFF, State.EXITED):
            entry.due_at = None
            self._set(entry, State.STOPPED)

    def start_autostart(self) -> None:
        for entry in list(self.entries.values()):
            if getattr(entry.spec, "autostart", False):
                self.start(entry.name)

    def stop_all(self) -> None:
        for name in list(self.entries):
            self.stop(name)

    @property
    def all_stopped(self) -> bool:
        return not any(e.state in ALIVE for e in (*self.entries.values(), *self.leaving))

    def with_processes(self) -> list[Entry]:
        """Every entry that has a process, those being removed included."""
        return [e for e in (*self.entries.values(), *self.leaving) if e.handle is not None]

    # -- observations --------------------------------------------------------------------------
    # Each names a run (name, generation): it applies to the producer of that run while the
    # run is its current one (a renamed producer's run kept its old name), else to nobody.
    def entry_of_run(self, name: str, generation: int) -> Entry | None:
        entry = self._run_owners.get((name, generation)) or self.entries.get(name)
        return entry if entry is not None and entry.generation == generation else None

    def note_data(self, name: str, generation: int) -> None:
        entry = self.entry_of_run(name, generation)
        if entry is not None:
            entry.last_data_at = self.clock()

    def note_error(self, name: str, generation: int, error: str, tb: str) -> None:
        entry = self.entry_of_run(name, generation)
        if entry is not None:
            entry.last_error, entry.traceback = error, tb

    def note_info(self, name: str, generation: int, info: dict) -> None:
        """A producer's note: its status, its input's problems, the process groups it started
        (handed to the process handle, which ends them with the run however it ends)."""
        entry = self.entry_of_run(name, generation)
        if entry is None:
            return
        for key in ("status", "problem", "problems", "details"):
            if key in info:
                setattr(entry, key, info[key])
        entry.remotes.update(info.get("remote", {}))
        adopt = getattr(entry.handle, "adopt_groups", None)
        if info.get("pgids") and adopt is not None:
            adopt(info["pgids"])

    def note_stall(self, name: str, generation: int, mid_message_since: float | None) -> None:
        """The channel's view: since when the run's pipe has held an incomplete message."""
        entry = self.entry_of_run(name, generation)
        if entry is not None:
            entry.mid_message_since = mid_message_since

    def note_frozen(self, name: str, frozen: bool) -> None:
        entry = self.entries.get(name)
        if entry is not None:
            entry.frozen = frozen

    def quiet_for(self, entry: Entry) -> float:
        """Seconds since the run last delivered data (or started)."""
        last = next(t for t in (entry.last_data_at, entry.started_at, entry.since) if t is not None)
        return self.clock() - last

    def is_stalled(self, entry: Entry) -> bool:
        if entry.state is not State.RUNNING:
            return False
        mid = entry.mid_message_since
        if mid is not None and self.clock() - mid > self.policy.stall_mid_message_after:
            return True
        if entry.frozen:
            return True
        # a producer that says what it is doing ("waiting for /dev/ttyUSB0") is quiet by its
        # own account, not stalled: its row says so, without the alarm colour
        return not entry.status and self.quiet_for(entry) > self.policy.stall_after

    def tick(self) -> None:
        for entry in list(self.entries.values()):
            self._tick_one(entry)
        if self.leaving:
            for entry in self.leaving:
                self._tick_one(entry)
            gone = [e for e in self.leaving if e.state not in ALIVE]
            self.leaving = [e for e in self.leaving if e.state in ALIVE]
            for entry in gone:
                self._run_owners.pop(entry.run, None)

    # -- internals -----------------------------------------------------------------------------
    def _tick_one(self, entry: Entry) -> None:
        now = self.clock()
        if entry.state in ALIVE and entry.handle.exitcode is not None:
            self._reap(entry, now)
        elif entry.state is State.STARTING and now - entry.started_at >= self.policy.startsecs:
            entry.retries = 0
            self._set(entry, State.RUNNING)
        elif entry.state is State.STOPPING:
            self._escalate(entry, now)
        elif entry.due_at is not None and now >= entry.due_at:  # BACKOFF or EXITED
            entry.restarts += 1
            self._launch(entry)

    def _escalate(self, entry: Entry, now: float) -> None:
        waited = now - entry.stop_requested_at
        if not entry.terminated and waited >= self.policy.stop_grace:
            entry.terminated = True
            entry.handle.terminate()
        elif not entry.killed and waited >= self.policy.stop_grace + self.policy.term_grace:
            entry.killed = True
            entry.handle.kill()

    def _reap(self, entry: Entry, now: float) -> None:
        code = entry.handle.exitcode
        entry.exit_description = describe_exit(code)
        entry.handle.close()
        entry.handle = None
        was = entry.state
        if was is State.STOPPING:
            self._set(entry, State.STOPPED, entry.exit_description)
            if entry.start_after_stop:
                entry.start_after_stop = False
                self.start(entry.name)
        elif was is State.STARTING and code != 0:
            # a failed start; a clean exit is not one: a finite source (a small sweep, a short
            # file) may well be done within startsecs, and must not be run again as a retry
            entry.retries += 1
            if entry.retries > self.policy.startretries:
                self._set(entry, State.FATAL, f"{entry.exit_description}; gave up")
            else:
                entry.due_at = now + self.policy.backoff_step * entry.retries
                self._set(entry, State.BACKOFF, entry.exit_description)
        else:
            restart = entry.spec.restart == "always" or (
                entry.spec.restart == "on-failure" and code != 0
            )
            entry.due_at = now + self.policy.restart_delay if restart else None
            self._set(entry, State.EXITED, entry.exit_description)

    def _launch(self, entry: Entry) -> None:
        self._run_owners.pop(entry.run, None)
        entry.generation = max(entry.generation, self._generations.get(entry.name, 0)) + 1
        entry.run_name = entry.name
        self._generations[entry.name] = entry.generation
        self._run_owners[entry.run] = entry
        entry.due_at = None
        entry.terminated = entry.killed = False
        entry.stop_requested_at = None
        entry.last_data_at = entry.mid_message_since = None
        entry.frozen = False
        entry.status = entry.problem = entry.details = ""
        entry.problems = 0
        try:
            entry.handle = self.launcher.launch(entry.spec, entry.generation)
        except Exception as exc:  # e.g. parameters that cannot be pickled: no process started
            entry.handle, entry.pid = None, None
            entry.last_error, entry.traceback = f"could not start: {exc}", ""
            self._set(entry, State.FATAL, entry.last_error)
            return
        entry.pid = entry.handle.pid
        entry.started_at = self.clock()
        entry.exit_description = ""
        self._set(entry, State.STARTING)

    def _set(self, entry: Entry, state: State, detail: str = "") -> None:
        old, entry.state, entry.since = entry.state, state, self.clock()
        if self.on_change is not None:
            self.on_change(StateChange(entry.name, old, state, detail))
