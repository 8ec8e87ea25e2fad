"""app.core.supervisor: the state machine, driven with fake launcher, processes and clock."""

from __future__ import annotations

import pickle
import signal
from dataclasses import dataclass, field

import pytest

from app.core.supervisor import Policy, State, StateChange, Supervisor, describe_exit


@dataclass
class Spec:
    name: str
    kind: str = "sine"
    restart: str = "on-failure"
    autostart: bool = True
    params: dict = field(default_factory=dict)


class FakeProcess:
    def __init__(self, pid: int):
        self.pid = pid
        self.exitcode: int | None = None
        self.calls: list[str] = []

    def request_stop(self):
        self.calls.append("request_stop")

    def terminate(self):
        self.calls.append("terminate")

    def kill(self):
        self.calls.append("kill")

    def close(self):
        assert self.exitcode is not None, "closed a process that is still running"
        self.calls.append("close")


class FakeLauncher:
    def __init__(self):
        self.launched: list[tuple[str, int, FakeProcess]] = []
        self.fail_with: Exception | None = None

    def launch(self, spec, generation):
        if self.fail_with is not None:
            raise self.fail_with
        pickle.dumps(spec)  # as the real launcher does: unpicklable parameters fail here
        proc = FakeProcess(1000 + len(self.launched))
        self.launched.append((spec.name, generation, proc))
        return proc

    @property
    def last(self) -> FakeProcess:
        return self.launched[-1][2]


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


POLICY = Policy(
    startsecs=1.0,
    startretries=3,
    backoff_step=1.0,
    restart_delay=1.0,
    stop_grace=1.0,
    term_grace=0.5,
    stall_after=5.0,
)


@pytest.fixture
def rig():
    launcher, clock, changes = FakeLauncher(), FakeClock(), []
    sup = Supervisor(launcher, POLICY, clock, changes.append)
    return sup, launcher, clock, changes


def advance(sup: Supervisor, clock: FakeClock, seconds: float, step: float = 1 / 32) -> None:
    """Let time pass with the supervisor ticking, as the GUI's timer does. Times in the tests are
    binary fractions, so the clock lands exactly on every deadline."""
    end = clock.now + seconds
    while clock.now < end:
        clock.now = min(clock.now + step, end)
        sup.tick()


EPS = 1 / 8  # "just before" a deadline


def running(sup, launcher, clock, name="p", **spec):
    sup.add(Spec(name, **spec))
    sup.start(name)
    advance(sup, clock, POLICY.startsecs)
    assert sup.entries[name].state is State.RUNNING
    return sup.entries[name]


def test_added_producer_is_stopped_until_started(rig):
    sup, launcher, clock, changes = rig
    entry = sup.add(Spec("p"))
    assert entry.state is State.STOPPED
    advance(sup, clock, 10)
    assert entry.state is State.STOPPED
    assert launcher.launched == []
    assert changes == []


def test_duplicate_name_is_refused(rig):
    sup = rig[0]
    sup.add(Spec("p"))
    with pytest.raises(ValueError, match="duplicate"):
        sup.add(Spec("p"))


def test_start_goes_starting_then_running_after_startsecs(rig):
    sup, launcher, clock, changes = rig
    entry = sup.add(Spec("p"))
    sup.start("p")
    assert entry.state is State.STARTING
    assert entry.pid == launcher.last.pid
    assert entry.generation == 1
    advance(sup, clock, POLICY.startsecs - EPS)
    assert entry.state is State.STARTING
    advance(sup, clock, EPS)
    assert entry.state is State.RUNNING
    assert [(c.old, c.new) for c in changes] == [
        (State.STOPPED, State.STARTING),
        (State.STARTING, State.RUNNING),
    ]
    assert all(isinstance(c, StateChange) and c.name == "p" for c in changes)


def test_start_while_alive_is_a_no_op(rig):
    sup, launcher, clock, _changes = rig
    sup.add(Spec("p"))
    sup.start("p")
    sup.start("p")  # STARTING
    advance(sup, clock, 2)
    sup.start("p")  # RUNNING
    sup.stop("p")
    sup.start("p")  # STOPPING
    assert len(launcher.launched) == 1
    assert sup.entries["p"].state is State.STOPPING


def test_early_exits_back_off_1_2_3_seconds_then_fatal(rig):
    sup, launcher, clock, changes = rig
    entry = sup.add(Spec("p"))
    sup.start("p")
    for delay in (1.0, 2.0, 3.0):
        launcher.last.exitcode = 1
        sup.tick()
        assert entry.state is State.BACKOFF
        assert entry.exit_description == "exit code 1"
        launches = len(launcher.launched)
        advance(sup, clock, delay - EPS)
        assert entry.state is State.BACKOFF, f"relaunched before {delay} s"
        assert len(launcher.launched) == launches
        advance(sup, clock, EPS)
        assert entry.state is State.STARTING
        assert len(launcher.launched) == launches + 1
    launcher.last.exitcode = 1
    sup.tick()
    assert entry.state is State.FATAL
    assert "gave up" in changes[-1].detail
    assert "exit code 1" in changes[-1].detail
    advance(sup, clock, 60)
    assert entry.state is State.FATAL
    assert len(launcher.launched) == 4
    assert [g for _, g, _ in launcher.launched] == [1, 2, 3, 4]
    assert all(p.calls == ["close"] for _, _, p in launcher.launched)


def crash_early(sup, launcher, clock, entry) -> float:
    """The current process exits before startsecs; returns the BACKOFF delay chosen."""
    launcher.last.exitcode = 1
    sup.tick()
    assert entry.state is State.BACKOFF
    delay = entry.due_at - clock.now
    advance(sup, clock, delay)
    return delay


def test_reaching_running_resets_the_retry_count(rig):
    sup, launcher, clock, _ = rig
    entry = sup.add(Spec("p", restart="always"))
    sup.start("p")
    assert [crash_early(sup, launcher, clock, entry) for _ in range(2)] == [1.0, 2.0]
    advance(sup, clock, POLICY.startsecs)
    assert entry.state is State.RUNNING
    assert entry.retries == 0
    launcher.last.exitcode = 1
    sup.tick()
    advance(sup, clock, POLICY.restart_delay)
    assert entry.state is State.STARTING
    # a full set of early exits is allowed again, starting from the shortest delay
    assert [crash_early(sup, launcher, clock, entry) for _ in range(3)] == [1.0, 2.0, 3.0]
    launcher.last.exitcode = 1
    sup.tick()
    assert entry.state is State.FATAL


def test_start_from_fatal_tries_again_with_fresh_retries(rig):
    sup, launcher, clock, _ = rig
    entry = sup.add(Spec("p"))
    sup.start("p")
    for _ in range(POLICY.startretries):
        crash_early(sup, launcher, clock, entry)
    launcher.last.exitcode = 2
    sup.tick()
    assert entry.state is State.FATAL
    sup.note_error("p", entry.generation, "boom", "Traceback ...")
    sup.start("p")
    assert entry.state is State.STARTING
    assert entry.retries == 0
    assert entry.last_error == "" and entry.traceback == ""  # old errors were read
    advance(sup, clock, POLICY.startsecs)
    assert entry.state is State.RUNNING


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (-signal.SIGKILL, "killed by SIGKILL"),
        (-signal.SIGTERM, "killed by SIGTERM"),
        (-signal.SIGSEGV, "killed by SIGSEGV"),
        (3, "exit code 3"),
        (0, "exited normally"),
    ],
)
def test_exit_while_running_is_exited_with_a_description(rig, code, description):
    sup, launcher, clock, changes = rig
    entry = running(sup, launcher, clock, restart="never")
    launcher.last.exitcode = code
    sup.tick()
    assert entry.state is State.EXITED
    assert entry.exit_description == description
    assert changes[-1].detail == description
    assert entry.handle is None
    assert launcher.last.calls == ["close"]


def test_describe_exit_unknown_signal():
    assert describe_exit(-200) == "killed by signal 200"


@pytest.mark.parametrize(
    ("policy", "code", "restarts"),
    [
        ("never", 1, False),
        ("never", 0, False),
        ("never", -9, False),
        ("on-failure", 1, True),
        ("on-failure", -9, True),
        ("on-failure", 0, False),
        ("always", 0, True),
        ("always", 1, True),
    ],
)
def test_restart_policy(rig, policy, code, restarts):
    sup, launcher, clock, _ = rig
    entry = running(sup, launcher, clock, restart=policy)
    launcher.last.exitcode = code
    sup.tick()
    assert entry.state is State.EXITED
    advance(sup, clock, POLICY.restart_delay - EPS)
    assert len(launcher.launched) == 1  # never before the delay
    advance(sup, clock, EPS + 10)
    if restarts:
        assert len(launcher.launched) == 2
        assert entry.state is State.RUNNING
        assert entry.restarts == 1
        assert entry.generation == 2
    else:
        assert len(launcher.launched) == 1
        assert entry.state is State.EXITED
        assert entry.restarts == 0


def test_stop_escalates_event_then_terminate_then_kill(rig):
    sup, launcher, clock, changes = rig
    entry = running(sup, launcher, clock)
    proc = launcher.last
    sup.stop("p")
    assert entry.state is State.STOPPING
    assert proc.calls == ["request_stop"]
    advance(sup, clock, POLICY.stop_grace - EPS)
    assert proc.calls == ["request_stop"]
    advance(sup, clock, EPS)
    assert proc.calls == ["request_stop", "terminate"]
    advance(sup, clock, POLICY.term_grace - EPS)
    assert proc.calls == ["request_stop", "terminate"]
    advance(sup, clock, EPS)
    assert proc.calls == ["request_stop", "terminate", "kill"]
    advance(sup, clock, 5)
    assert proc.calls == ["request_stop", "terminate", "kill"]  # each step once
    assert entry.state is State.STOPPING
    proc.exitcode = -signal.SIGKILL
    sup.tick()
    assert entry.state is State.STOPPED
    assert changes[-1].detail == "killed by SIGKILL"
    assert proc.calls[-1] == "close"


def test_stop_that_is_obeyed_needs_no_signal(rig):
    sup, launcher, clock, _ = rig
    entry = running(sup, launcher, clock, restart="always")
    sup.stop("p")
    advance(sup, clock, 0.25)
    launcher.last.exitcode = 0
    sup.tick()
    assert entry.state is State.STOPPED
    assert launcher.last.calls == ["request_stop", "close"]
    advance(sup, clock, 30)
    assert entry.state is State.STOPPED  # a stopped producer is never restarted
    assert len(launcher.launched) == 1


def test_stop_while_starting(rig):
    sup, launcher, _clock, _ = rig
    entry = sup.add(Spec("p"))
    sup.start("p")
    sup.stop("p")
    assert entry.state is State.STOPPING
    launcher.last.exitcode = 0
    sup.tick()
    assert entry.state is State.STOPPED
    assert entry.retries == 0  # a requested stop is not an early crash


def test_a_late_tick_still_escalates_one_step_at_a_time(rig):
    sup, launcher, clock, _ = rig
    running(sup, launcher, clock)
    sup.stop("p")
    clock.advance(10)  # the GUI was busy: one tick long after both deadlines
    sup.tick()
    assert launcher.last.calls == ["request_stop", "terminate"]
    sup.tick()
    assert launcher.last.calls == ["request_stop", "terminate", "kill"]


@pytest.mark.parametrize("state", [State.BACKOFF, State.EXITED])
def test_stop_cancels_a_pending_restart(rig, state):
    sup, launcher, clock, changes = rig
    if state is State.BACKOFF:
        entry = sup.add(Spec("p"))
        sup.start("p")
    else:
        entry = running(sup, launcher, clock, restart="always")
    launcher.last.exitcode = 1
    sup.tick()
    assert entry.state is state
    sup.stop("p")
    assert entry.state is State.STOPPED
    assert changes[-1].old is state
    advance(sup, clock, 30)
    assert entry.state is State.STOPPED
    assert len(launcher.launched) == 1


def test_stop_when_not_alive_does_nothing(rig):
    sup, _launcher, _clock, changes = rig
    sup.add(Spec("p"))
    sup.stop("p")
    assert sup.entries["p"].state is State.STOPPED
    assert changes == []


def test_start_while_exited_launches_now(rig):
    sup, launcher, clock, _ = rig
    entry = running(sup, launcher, clock, restart="always")
    launcher.last.exitcode = 1
    sup.tick()
    sup.start("p")
    assert entry.state is State.STARTING
    assert len(launcher.launched) == 2
    advance(sup, clock, 5)  # the restart that was due does not launch a second process
    assert len(launcher.launched) == 2


def test_launch_failure_is_fatal_with_the_message(rig):
    sup, _launcher, clock, changes = rig
    entry = sup.add(Spec("p", params={"callback": lambda: None}))  # lambdas cannot be pickled
    sup.start("p")
    assert entry.state is State.FATAL
    assert entry.last_error.startswith("could not start:")
    assert "pickle" in entry.last_error
    assert changes[-1].new is State.FATAL and changes[-1].detail == entry.last_error
    assert entry.handle is None and entry.pid is None
    advance(sup, clock, 30)
    assert entry.state is State.FATAL


def test_launch_failure_of_an_automatic_restart_is_fatal(rig):
    sup, launcher, clock, _ = rig
    entry = running(sup, launcher, clock, restart="always")
    launcher.last.exitcode = 1
    sup.tick()
    launcher.fail_with = OSError("too many open files")
    advance(sup, clock, 5)
    assert entry.state is State.FATAL
    assert entry.last_error == "could not start: too many open files"


def test_note_error_only_applies_to_the_current_generation(rig):
    sup, launcher, clock, _ = rig
    entry = running(sup, launcher, clock, restart="always")
    old = entry.generation
    launcher.last.exitcode = 1
    sup.tick()
    advance(sup, clock, 2)
    assert entry.generation == old + 1
    sup.note_error("p", old, "stale error", "stale tb")  # from the previous run's pipe
    assert entry.last_error == ""
    sup.note_error("p", entry.generation, "ValueError('x')", "Traceback: x")
    assert (entry.last_error, entry.traceback) == ("ValueError('x')", "Traceback: x")
    sup.note_error("unknown", 1, "x", "y")  # a producer removed meanwhile: ignored


def test_note_data_only_applies_to_the_current_generation(rig):
    sup, launcher, clock, _ = rig
    entry = running(sup, launcher, clock)
    sup.note_data("p", entry.generation + 5)
    assert entry.last_data_at is None
    sup.note_data("p", entry.generation)
    assert entry.last_data_at == clock.now


def test_is_stalled_when_running_without_data(rig):
    sup, launcher, clock, _ = rig
    entry = running(sup, launcher, clock)
    started = entry.started_at
    assert not sup.is_stalled(entry)
    clock.now = started + POLICY.stall_after + EPS
    assert sup.is_stalled(entry)  # never sent anything since it started
    sup.note_data("p", entry.generation)
    assert not sup.is_stalled(entry)
    clock.advance(POLICY.stall_after - EPS)
    assert not sup.is_stalled(entry)
    clock.advance(2 * EPS)
    assert sup.is_stalled(entry)
    sup.stop("p")
    assert not sup.is_stalled(entry)  # only a RUNNING producer can stall


def test_is_stalled_with_a_clock_starting_at_zero():
    launcher, clock = FakeLauncher(), FakeClock(0.0)
    sup = Supervisor(launcher, POLICY, clock)
    sup.add(Spec("p"))
    sup.start("p")  # launched at t = 0.0
    advance(sup, clock, 1.0)
    entry = sup.entries["p"]
    assert entry.state is State.RUNNING
    clock.now = POLICY.stall_after + 0.5
    assert sup.is_stalled(entry)
    clock.now = 0.0
    sup.note_data("p", entry.generation)  # data at t = 0.0 counts as data
    clock.now = POLICY.stall_after - 0.5
    assert not sup.is_stalled(entry)


def test_new_run_forgets_the_last_runs_data_time(rig):
    sup, launcher, clock, _ = rig
    entry = running(sup, launcher, clock, restart="always")
    sup.note_data("p", entry.generation)
    launcher.last.exitcode = 1
    sup.tick()
    advance(sup, clock, 2)
    assert entry.last_data_at is None


def test_on_change_reports_every_transition_in_order(rig):
    sup, launcher, clock, changes = rig
    running(sup, launcher, clock, restart="on-failure")
    launcher.last.exitcode = -signal.SIGKILL
    sup.tick()
    advance(sup, clock, 1.0)
    sup.stop("p")
    launcher.last.exitcode = 0
    sup.tick()
    assert [(c.old.value, c.new.value) for c in changes] == [
        ("STOPPED", "STARTING"),
        ("STARTING", "RUNNING"),
        ("RUNNING", "EXITED"),
        ("EXITED", "STARTING"),
        ("STARTING", "STOPPING"),
        ("STOPPING", "STOPPED"),
    ]
    assert changes[2].detail == "killed by SIGKILL"


def test_state_since_tracks_the_clock(rig):
    sup, _launcher, clock, _ = rig
    entry = sup.add(Spec("p"))
    assert entry.since == clock.now
    sup.start("p")
    assert entry.since == clock.now
    advance(sup, clock, 1.0)
    assert entry.since == pytest.approx(clock.now)


def test_several_producers_are_independent(rig):
    sup, launcher, clock, _ = rig
    for name in ("a", "b", "c"):
        sup.add(Spec(name, restart="never"))
        sup.start(name)
    advance(sup, clock, 1.0)
    procs = {name: p for name, _, p in launcher.launched}
    procs["b"].exitcode = 1
    sup.stop("c")
    sup.tick()
    assert sup.entries["a"].state is State.RUNNING
    assert sup.entries["b"].state is State.EXITED
    assert sup.entries["c"].state is State.STOPPING
    assert procs["a"].calls == []


def test_autostart_stop_all_and_all_stopped(rig):
    sup, launcher, _clock, _ = rig
    sup.add(Spec("on1"))
    sup.add(Spec("off", autostart=False))
    sup.add(Spec("on2"))
    assert sup.all_stopped
    sup.start_autostart()
    assert [name for name, _, _ in launcher.launched] == ["on1", "on2"]
    assert sup.entries["off"].state is State.STOPPED
    assert not sup.all_stopped
    sup.stop_all()
    assert not sup.all_stopped  # STOPPING is still alive
    for _, _, proc in launcher.launched:
        proc.exitcode = 0
    sup.tick()
    assert sup.all_stopped


# -- add, remove, rename while others run ------------------------------------------------------
def test_add_at_an_index_keeps_the_order(rig):
    sup, _launcher, _clock, _ = rig
    for name in ("a", "c"):
        sup.add(Spec(name))
    sup.add(Spec("b"), index=1)
    assert list(sup.entries) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="duplicate producer name 'b'"):
        sup.add(Spec("b"))


def test_removing_a_stopped_producer_takes_it_out_at_once(rig):
    sup, _launcher, _clock, _ = rig
    sup.add(Spec("p"))
    sup.remove("p")
    assert "p" not in sup.entries and sup.leaving == [] and sup.all_stopped


def test_removing_a_running_producer_stops_it_as_stop_does_until_it_is_gone(rig):
    """The row goes at once; the process gets the stop request, then SIGTERM, then SIGKILL,
    and is reaped (its handle closed, which ends its process group)."""
    sup, launcher, clock, changes = rig
    running(sup, launcher, clock)
    proc = launcher.last
    entry = sup.remove("p")
    assert "p" not in sup.entries and sup.leaving == [entry]
    assert entry.state is State.STOPPING and proc.calls == ["request_stop"]
    assert not sup.all_stopped  # (a shutdown waits for it)
    advance(sup, clock, POLICY.stop_grace + POLICY.term_grace)
    assert proc.calls == ["request_stop", "terminate", "kill"]
    proc.exitcode = -9
    sup.tick()
    assert proc.calls[-1] == "close" and sup.leaving == [] and sup.all_stopped
    assert changes[-1].new is State.STOPPED


def test_a_name_given_again_numbers_its_runs_on(rig):
    """A new producer with a removed one's name must not share run numbers with it: the old
    run's last data, still in its pipe, would be taken for the new one's."""
    sup, launcher, clock, _ = rig
    old = running(sup, launcher, clock)
    sup.remove("p")
    new = running(sup, launcher, clock)
    assert new.generation == old.generation + 1
    sup.note_error("p", old.generation, "the old run's error", "")
    assert new.last_error == ""
    sup.note_error("p", new.generation, "its own", "")
    assert new.last_error == "its own"


def test_renaming_a_stopped_producer_keeps_its_place_and_settings(rig):
    sup, launcher, _clock, _ = rig
    for name in ("a", "b", "c"):
        sup.add(Spec(name, params={"rate_hz": 5.0}))
    entry = sup.rename("b", "bee")
    assert list(sup.entries) == ["a", "bee", "c"] and entry.spec.params == {"rate_hz": 5.0}
    assert entry.state is State.STOPPED and launcher.launched == []
    sup.start("bee")
    assert launcher.launched[-1][:2] == ("bee", 1)
    with pytest.raises(ValueError, match="duplicate producer name 'a'"):
        sup.rename("c", "a")


def test_renaming_a_running_producer_restarts_it_under_the_new_name(rig):
    sup, launcher, clock, _ = rig
    entry = running(sup, launcher, clock)
    first = launcher.last
    sup.rename("p", "q")
    assert entry.state is State.STOPPING and first.calls == ["request_stop"]
    # the old run's notes still reach it while it stops (the run kept its name)
    sup.note_error("p", 1, "said while stopping", "tb")
    assert entry.last_error == "said while stopping"
    first.exitcode = 0
    sup.tick()
    assert entry.state is State.STARTING and launcher.launched[-1][:2] == ("q", 2)
    assert entry.run == ("q", 2)


def test_renamed_to_a_name_used_before_its_runs_number_past_it(rig):
    sup, launcher, clock, _ = rig
    for _ in range(3):
        running(sup, launcher, clock, name="x")
        sup.stop("x")
        launcher.last.exitcode = 0
        sup.tick()
        sup.remove("x")
    sup.add(Spec("y"))
    sup.rename("y", "x")
    sup.start("x")
    assert launcher.launched[-1][:2] == ("x", 4)


def test_reconfigure_while_stopping_takes_effect_at_the_next_start(rig):
    sup, launcher, clock, _ = rig
    running(sup, launcher, clock, params={"rate_hz": 1.0})
    sup.stop("p")
    sup.reconfigure("p", Spec("p", params={"rate_hz": 2.0}))
    assert len(launcher.launched) == 1
    launcher.last.exitcode = 0
    sup.tick()
    assert sup.entries["p"].state is State.STOPPED  # the user's Stop is not undone
    sup.start("p")
    assert sup.entries["p"].spec.params == {"rate_hz": 2.0}
    assert sup.entries["p"].generation == 2


# -- reconfigure: new parameters, and a running producer restarts with them -------------------
def _reconfig_setup():
    clock = [0.0]
    launched = []

    class Handle:
        def __init__(self):
            self.pid, self._code, self.stopped = 100 + len(launched), None, False

        @property
        def exitcode(self):
            return self._code

        def request_stop(self):
            self.stopped = True

        def terminate(self):
            self._code = -15

        def kill(self):
            self._code = -9

        def close(self):
            pass

    class Launcher:
        def launch(self, spec, generation):
            launched.append((spec, generation))
            return Handle()

    from app.core.session import ProducerSpec
    from app.core.supervisor import Supervisor

    sup = Supervisor(Launcher(), clock=lambda: clock[0])
    sup.add(ProducerSpec("p", "sine", {"rate_hz": 10.0}))
    return sup, clock, launched, ProducerSpec


def test_reconfigure_restarts_a_running_producer_with_the_new_spec():
    from app.core.supervisor import State

    sup, clock, launched, ProducerSpec = _reconfig_setup()
    sup.start("p")
    clock[0] = 2.0
    sup.tick()
    assert sup.entries["p"].state is State.RUNNING
    new = ProducerSpec("p", "sine", {"rate_hz": 99.0})
    sup.reconfigure("p", new)
    assert sup.entries["p"].state is State.STOPPING
    sup.entries["p"].handle._code = 0  # it obeyed the stop request
    sup.tick()
    assert sup.entries["p"].state is State.STARTING
    assert launched[-1] == (new, 2)


def test_reconfigure_a_stopped_producer_only_changes_its_spec():
    from app.core.supervisor import State

    sup, _clock, launched, ProducerSpec = _reconfig_setup()
    sup.reconfigure("p", ProducerSpec("p", "sine", {"rate_hz": 5.0}))
    assert sup.entries["p"].state is State.STOPPED and launched == []
    sup.start("p")
    assert launched[-1][0].params == {"rate_hz": 5.0}


def test_stop_after_reconfigure_cancels_the_restart():
    from app.core.supervisor import State

    sup, _clock, launched, ProducerSpec = _reconfig_setup()
    sup.start("p")
    sup.reconfigure("p", ProducerSpec("p", "sine", {"rate_hz": 7.0}))
    sup.stop("p")  # the user changes their mind
    sup.entries["p"].handle._code = 0
    sup.tick()
    assert sup.entries["p"].state is State.STOPPED
    assert len(launched) == 1


@pytest.mark.parametrize(
    ("restart", "relaunched"), [("never", 1), ("on-failure", 1), ("always", 2)]
)
def test_a_clean_exit_while_starting_is_a_finished_run_not_a_failed_start(rig, restart, relaunched):
    """A one-shot command (`cat data.txt`) ends within startsecs: it ran, once."""
    sup, launcher, clock, _ = rig
    entry = sup.add(Spec("p", restart=restart))
    sup.start("p")
    launcher.last.exitcode = 0
    sup.tick()
    assert entry.state is State.EXITED and entry.retries == 0
    assert entry.exit_description == "exited normally"
    advance(sup, clock, POLICY.restart_delay + 1.0)
    assert len(launcher.launched) == relaunched
