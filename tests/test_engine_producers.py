"""Adding, removing, duplicating and renaming producers on a running engine (no Qt), with real
processes: checked as a session file is, applied while others run, nothing left behind."""

from __future__ import annotations

import csv

import psutil
import pytest

from app.core.producer_specs import SpecError
from app.core.recording import Recorder
from app.core.session import ProducerSpec
from tests.helpers import assert_pids_gone, drain_until, engine_row, producer, session_from

pytestmark = pytest.mark.slow


def applied(engine, number: int) -> None:
    drain_until(engine, lambda: engine.view.applied >= number)


def running(engine, name: str) -> None:
    drain_until(engine, lambda: engine_row(engine, name).state_text.startswith("RUNNING"))


def samples(engine, name: str) -> int:
    return engine.counters.snapshot(name).samples


def series_of(engine, name: str) -> list[str]:
    return sorted(s for p, s in engine.store.series_keys() if p == name)


def test_add_checks_as_a_session_file_does_and_a_started_producer_produces(engines):
    engine = engines(session_from(producer("wave", "sine", rate_hz=100.0)))
    with pytest.raises(SpecError, match="duplicate producer name 'wave'"):
        engine.add(ProducerSpec("wave", "noise"))
    with pytest.raises(SpecError, match=r"producer 'n': rate_hz must be in") as caught:
        engine.add(ProducerSpec("n", "noise", {"rate_hz": -5.0}))
    assert caught.value.field == "rate_hz"
    with pytest.raises(SpecError, match=r"unknown parameter 'rate_haz' for kind 'noise'"):
        engine.add(ProducerSpec("n", "noise", {"rate_haz": 5.0}))
    assert engine.names == ["wave"]

    number = engine.add(ProducerSpec("n", "noise", {"rate_hz": 200.0, "channels": 2}), start=True)
    assert engine.names == ["wave", "n"]  # at once, for the next check
    applied(engine, number)
    running(engine, "n")
    drain_until(engine, lambda: samples(engine, "n") > 50)
    drain_until(engine, lambda: series_of(engine, "n") == ["ch0", "ch1"])
    assert engine.spec("n").params["std"] == 1.0  # defaults filled in, as from a file
    assert [row.name for row in engine.view.rows] == ["wave", "n"]


def test_removing_a_running_producer_ends_its_processes_and_forgets_its_series(engines):
    """Its process and the program it started (a process group of its own) end; its series
    leave the store and its counts are gone, while the other producer runs on. A producer
    given the name afterwards starts from nothing."""
    loop = "while true; do echo 1; sleep 0.01; done"
    session = session_from(
        producer("keep", "sine", rate_hz=200.0)
        + producer("cmd", "command", argv=["sh", "-c", loop], format="number")
    )
    engine = engines(session)
    engine.start_autostart()
    running(engine, "cmd")
    drain_until(engine, lambda: samples(engine, "cmd") > 10 and series_of(engine, "cmd"))
    pid = engine.view.entries["cmd"].pid
    tree = [pid, *(p.pid for p in psutil.Process(pid).children(recursive=True))]
    assert len(tree) >= 2  # the producer and its shell
    number = engine.remove("cmd")
    assert engine.names == ["keep"]
    applied(engine, number)
    assert [row.name for row in engine.view.rows] == ["keep"]
    assert_pids_gone(tree)
    # its process reaped, its pipe read to the end: only `keep`'s is read now
    drain_until(engine, lambda: not engine.supervisor.leaving and engine.channel.reader_count == 1)
    assert series_of(engine, "cmd") == [] and samples(engine, "cmd") == 0
    before = samples(engine, "keep")
    drain_until(engine, lambda: samples(engine, "keep") > before + 20)  # the other runs on
    assert series_of(engine, "cmd") == []  # nothing of the old run came back

    number = engine.add(ProducerSpec("cmd", "sine", {"rate_hz": 100.0}), start=True)
    applied(engine, number)
    running(engine, "cmd")
    drain_until(engine, lambda: samples(engine, "cmd") > 5)
    assert series_of(engine, "cmd") == ["value"]
    assert engine.counters.snapshot("cmd").dropped == 0


def test_duplicate_is_a_stopped_copy_of_its_own_right_after_the_original(engines):
    session = session_from(
        producer("a", "sine", autostart=False, rate_hz=50.0)
        + producer("b", "command", autostart=False, argv=["echo", "1"])
    )
    engine = engines(session)
    copy, number = engine.duplicate("b")
    assert copy.name == "b-2" and engine.names == ["a", "b", "b-2"]
    applied(engine, number)
    assert [row.name for row in engine.view.rows] == ["a", "b", "b-2"]
    assert engine_row(engine, "b-2").state_text == "STOPPED"
    assert copy.params == engine.spec("b").params
    assert copy.params["argv"] is not engine.spec("b").params["argv"]  # its own list
    again, _ = engine.duplicate("b-2")
    assert again.name == "b-3"


def test_renaming_a_running_producer_restarts_it_and_its_history_goes_with_it(engines):
    engine = engines(session_from(producer("old", "noise", rate_hz=500.0)))
    engine.start_autostart()
    running(engine, "old")
    drain_until(engine, lambda: samples(engine, "old") > 100)
    first_pid = engine.view.entries["old"].pid
    with pytest.raises(SpecError, match="1-64 letters"):
        engine.rename("old", "new name")
    number = engine.rename("old", "new")
    assert engine.names == ["new"]
    applied(engine, number)
    before = samples(engine, "new")
    assert before > 100 and samples(engine, "old") == 0  # the counts moved with it
    drain_until(engine, lambda: engine.view.entries["new"].pid not in (None, first_pid))
    running(engine, "new")
    assert_pids_gone([first_pid])
    drain_until(engine, lambda: samples(engine, "new") > before + 100)
    assert series_of(engine, "new") == ["value"] and series_of(engine, "old") == []
    oldest = engine.store.history(("new", "value"))[0]
    assert oldest < engine.store.latest(("new", "value"))[0] - 0.2  # the old run's samples


def test_a_recording_keeps_what_a_removed_producer_sent(engines, tmp_path):
    engine = engines(session_from(producer("gone", "sine", rate_hz=1000.0)))
    out = tmp_path / "rec.csv"
    engine.attach_recorder(Recorder(str(out)))
    engine.start_autostart()
    drain_until(engine, lambda: samples(engine, "gone") > 200)
    counted = samples(engine, "gone")
    applied(engine, engine.remove("gone"))
    drain_until(engine, lambda: engine.view.drained)
    summary = engine.detach_recorder().close(5.0)
    with open(out, newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["producer"] == "gone"]
    assert len(rows) == summary.written_total >= counted and summary.dropped_total == 0
