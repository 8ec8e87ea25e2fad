"""app.core.producer_rows: the words and figures a user reads in the producer panel, computed
without Qt from the supervisor's state (fake processes and clock) and the counters."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.channel import Batch, RunKey
from app.core.counters import CounterBook
from app.core.producer_rows import (
    build_rows,
    format_bytes,
    format_count,
    format_duration,
    format_rate,
    format_value,
)
from app.core.supervisor import State, Supervisor
from producers.wire import Chunk
from tests.test_supervisor import POLICY, FakeClock, FakeLauncher, Spec


@pytest.fixture
def sup():
    clock = FakeClock()
    supervisor = Supervisor(FakeLauncher(), POLICY, clock)
    supervisor.add(Spec("a"))
    return supervisor


def the_row(sup, counters=None, notes=None):
    (row,) = build_rows(sup, counters or CounterBook(sup.clock), sup.clock(), notes)
    return row


def running(sup) -> None:
    sup.start("a")
    sup.clock.advance(1.0)
    sup.tick()


def test_a_running_producer_reads_running_with_its_pid_and_uptime(sup):
    running(sup)
    sup.clock.advance(61)
    row = the_row(sup)
    assert (row.state_text, row.pid) == ("RUNNING · stalled, no data for 62 s", "1000")
    sup.note_data("a", 1)
    row = the_row(sup)
    assert row.state_text == "RUNNING" and row.uptime == "1:02"
    assert not row.can_start and row.can_stop


@pytest.mark.parametrize(
    ("frozen", "mid_message", "text"),
    [
        (True, False, "RUNNING · stalled: process stopped (SIGSTOP?), no data for 2 s"),
        (False, True, "RUNNING · stalled mid-message for 2 s"),
    ],
)
def test_why_a_producer_is_stalled_is_said(sup, frozen, mid_message, text):
    running(sup)
    sup.note_data("a", 1)
    started = sup.clock()
    sup.clock.advance(2.0)
    sup.note_frozen("a", frozen)
    sup.note_stall("a", 1, started if mid_message else None)
    row = the_row(sup)
    assert row.state_text == text and row.stalled


def test_exits_say_how_and_what_comes_next(sup):
    running(sup)
    sup.entries["a"].handle.exitcode = -9
    sup.tick()
    assert the_row(sup).state_text == "EXITED · killed by SIGKILL; restart in 1 s"
    assert the_row(sup).can_stop  # a pending restart can be cancelled


def test_a_failing_start_backs_off_then_gives_up(sup):
    sup.start("a")
    for retry in range(1, 4):
        sup.entries["a"].handle.exitcode = 3
        sup.tick()
        assert the_row(sup).state_text == f"BACKOFF · exit code 3; retry {retry}/3 in {retry} s"
        sup.clock.advance(retry)
        sup.tick()
    sup.entries["a"].handle.exitcode = 3
    sup.tick()
    assert the_row(sup).state_text == "FATAL · exit code 3; gave up after 4 tries"


def test_figures_come_from_the_counters_and_drops_are_flagged(sup):
    running(sup)
    counters = CounterBook(sup.clock)
    chunk = Chunk("temp", np.array([1.0, 2.5]), t0=1.7e9, dt=0.5)
    counters.ingest(Batch(chunks=[("a", chunk)], received={RunKey("a", 1): 2}))
    counters.note_run_drops("a", 1, 1234)
    row = the_row(sup, counters)
    assert (row.total, row.dropped, row.has_drops) == ("2", "1,234", True)
    assert row.last_value == "temp = 2.5"


def test_a_problem_outside_the_process_shows_when_it_has_no_error_of_its_own(sup):
    note = {"a": "series x not kept: memory budget full"}
    assert the_row(sup, notes=note).error == note["a"]
    sup.note_error("a", 0, "ValueError('boom')", "Traceback")
    assert the_row(sup, notes=note).error == "ValueError('boom')"


def test_formats():
    assert [format_rate(r) for r in (0.5, 150, 25_000, 2_500_000)] == [
        "0.5/s", "150/s", "25.0 k/s", "2.50 M/s",
    ]  # fmt: skip
    assert format_count(1234567) == "1,234,567"
    assert [format_duration(s) for s in (59, 61, 3_725)] == ["0:59", "1:01", "1:02:05"]
    assert format_value(float("nan")) == "" and format_value(1 / 3) == "0.333333"
    assert [format_bytes(n) for n in (512, 2048, 3 << 20)] == ["512 B", "2.0 KB", "3.0 MB"]


def test_a_producer_says_what_it_is_doing_and_its_input_problems(sup):
    running(sup)
    sup.note_info("a", 1, {"status": "waiting for /dev/ttyUSB0"})
    sup.note_data("a", 1)
    row = the_row(sup)
    assert row.state_text == "RUNNING · waiting for /dev/ttyUSB0"
    sup.clock.advance(10)  # quiet by its own account: how long is said, it is not "stalled"
    row = the_row(sup)
    assert row.state_text == "RUNNING · waiting for /dev/ttyUSB0 · no data for 10 s"
    assert not row.stalled
    sup.note_info("a", 1, {"problem": "3 unparsable lines; last: x", "details": "latest:\nx"})
    row = the_row(sup)
    assert (row.error, row.traceback) == ("3 unparsable lines; last: x", "latest:\nx")
    sup.note_info("a", 0, {"status": "an older run"})  # another run's note is not this one's
    assert "older" not in the_row(sup).state_text
    sup.stop("a")
    sup.entries["a"].handle.exitcode = 0
    sup.tick()
    assert the_row(sup).state_text == "STOPPED · exited normally"  # the status was the run's


def test_stop_stays_possible_while_a_reconfigure_restarts_the_producer(sup):
    """Configure... stops a running producer to start it again; a Stop clicked meanwhile must
    be taken (the button was disabled, and the producer came back although the user said
    Stop: seen in the chaos storm)."""
    running(sup)
    sup.reconfigure("a", sup.entries["a"].spec)
    row = the_row(sup)
    assert row.state is State.STOPPING and row.can_stop
    sup.stop("a")
    sup.entries["a"].handle.exitcode = 0
    sup.tick()
    sup.clock.advance(5.0)
    sup.tick()
    row = the_row(sup)
    assert row.state is State.STOPPED and not row.can_stop


def test_producers_elsewhere_are_rows_of_their_own_with_their_remote_state(sup):
    running(sup)
    sup.note_data("a", 1)
    sup.note_info("a", 1, {"remote": {
        "lab1/sine": {"state": "RUNNING", "state_text": "RUNNING", "pid": 4242, "rate": 1000.0,
                      "total": 12345, "dropped": 0, "error": "", "kind": "sine"},
        "lab1/walk": {"state": "UNKNOWN", "state_text": "UNKNOWN · publisher lost", "pid": 77,
                      "rate": 5.0, "total": 10, "dropped": 3, "error": "", "kind": "random_walk"},
    }})  # fmt: skip
    rows = {r.name: r for r in build_rows(sup, CounterBook(sup.clock), sup.clock())}
    sine, walk = rows["a:lab1/sine"], rows["a:lab1/walk"]
    assert (sine.state, sine.state_text, sine.pid, sine.rate, sine.total) == (
        State.RUNNING,
        "RUNNING",
        "4242",
        "1000/s",
        "12,345",
    )
    assert sine.remote and not sine.can_start and not sine.can_stop and sine.kind == "sine"
    assert (walk.state, walk.state_text, walk.pid, walk.rate) == (
        State.UNKNOWN,
        "UNKNOWN · publisher lost",
        "",
        "",
    )
    assert walk.dropped == "3" and walk.has_drops
    sup.stop("a")  # nobody here listens any more: nobody can vouch for them
    rows = {r.name: r for r in build_rows(sup, CounterBook(sup.clock), sup.clock())}
    assert rows["a:lab1/sine"].state is State.UNKNOWN
    assert rows["a:lab1/sine"].state_text == "UNKNOWN · not watched (a is not running)"
