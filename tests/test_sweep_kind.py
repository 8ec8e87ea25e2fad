"""The `sweep` kind: a user's function over a grid, on a real pool, through a real engine."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from app.core.session import SessionError
from app.core.supervisor import State
from producers.sweep_grid import MAX_POINTS, axes, check_grid, points, size
from tests.helpers import (
    assert_pids_gone,
    drain_until,
    engine_row,
    producer,
    session_from,
)

pytestmark = pytest.mark.slow

MODEL = """
import os, time

def both(gain, freq, offset=0.0):
    return {"y": gain * freq + offset, "twice": 2 * gain, "note": "ignored"}

def number(x):
    return x * 10

def picky(x, release):
    if x == 2:
        raise ValueError("two is bad")
    if x == 4:
        return "not a number"
    deadline = time.monotonic() + 20
    while x == 3 and not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.02)
    return x

def dies(x):
    if x == 3:
        os._exit(3)
    return x

def slow(x, pids):
    with open(pids, "a") as f:
        f.write(f"{os.getppid()} {os.getpid()}\\n")
    time.sleep(30)
    return x
"""


@pytest.fixture
def model(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    return tmp_path / "model.py"


def sweep_session(tmp_path, name="scan", **params):
    """A session file in tmp_path, so a relative target is relative to it."""
    session = session_from(producer(name, "sweep", **params))
    for spec in session.producers:
        spec.base_dir = str(tmp_path)
    return session


def samples(engine, name: str, series: str) -> dict[float, float]:
    """{time: value} of every sample the engine stored for a series."""
    raw = engine.store.buffer((name, series)).raw
    return dict(zip(raw.held(0).tolist(), raw.held(1).tolist(), strict=True))


def finished(engine, name):
    return lambda: engine_row(engine, name).state is State.EXITED


def results(engine, name, axes_names, outputs):
    """Each result as a tuple of its inputs and outputs, paired by their shared timestamp."""
    columns = [samples(engine, name, f"in/{a}") for a in axes_names]
    columns += [samples(engine, name, f"out/{o}") for o in outputs]
    stamps = set(columns[0])
    assert all(set(c) == stamps for c in columns), "every series has a sample per result"
    return sorted(tuple(c[t] for c in columns) for t in stamps)


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_a_grid_of_2_by_3_gives_6_results_each_with_its_inputs(engines, tmp_path, model, executor):
    engine = engines(sweep_session(
        tmp_path, target="model.py:both", executor=executor, args={"offset": 0.5},
        grid={"gain": [1, 2], "freq": {"start": 10, "stop": 30, "num": 3}},
    ))  # fmt: skip
    engine.start_autostart()
    drain_until(engine, finished(engine, "scan"), timeout=30)
    drain_until(engine, lambda: engine.view.drained)
    row = engine_row(engine, "scan")
    assert row.state_text == "EXITED · exited normally" and not row.error
    assert sorted(k[1] for k in engine.store.series_keys()) == [
        "in/freq", "in/gain", "out/twice", "out/y"
    ]  # fmt: skip
    assert results(engine, "scan", ["gain", "freq"], ["y", "twice"]) == [
        (g, f, g * f + 0.5, 2 * g) for g in (1, 2) for f in (10.0, 20.0, 30.0)
    ]


def test_a_number_result_is_out_value(engines, tmp_path, model):
    engine = engines(sweep_session(tmp_path, target=str(model) + ":number",
                                   grid={"x": {"start": 1, "stop": 4, "step": 1}}))  # fmt: skip
    engine.start_autostart()
    drain_until(engine, finished(engine, "scan"), timeout=30)
    drain_until(engine, lambda: engine.view.drained)
    assert results(engine, "scan", ["x"], ["value"]) == [(x, 10 * x) for x in (1, 2, 3, 4)]


def test_repeat_runs_the_grid_again_until_stopped(engines, tmp_path, model):
    engine = engines(sweep_session(tmp_path, target="model.py:number", grid={"x": [1, 2]},
                                   repeat=True, executor="thread"))  # fmt: skip
    engine.start_autostart()

    def passes() -> int:
        found = re.search(
            r" · pass (\d+): \d+/2 done, 0 failed", engine_row(engine, "scan").state_text
        )
        return int(found[1]) if found else 0

    drain_until(engine, lambda: passes() >= 3, timeout=30)
    engine.stop("scan")
    drain_until(engine, lambda: engine_row(engine, "scan").state is State.STOPPED, timeout=10)
    assert engine_row(engine, "scan").state_text == "STOPPED · exited normally"
    got = results(engine, "scan", ["x"], ["value"])
    assert len(got) >= 4 and set(got) == {(1, 10), (2, 20)}


def test_failing_inputs_are_counted_and_listed_and_the_rest_completes(engines, tmp_path, model):
    release = tmp_path / "release"
    grid, args = {"x": [1, 2, 4, 3, 5]}, {"release": str(release)}
    engine = engines(
        sweep_session(tmp_path, target="model.py:picky", workers=1, grid=grid, args=args)
    )
    engine.start_autostart()
    # x=3 waits for the release file: the run is still going, with 2 failures behind it
    drain_until(engine, lambda: "2 failed" in engine_row(engine, "scan").state_text, timeout=30)
    row = engine_row(engine, "scan")
    assert row.state in (State.STARTING, State.RUNNING)  # RUNNING once up startsecs
    assert row.state_text.partition(" · ")[2].startswith("3/5 done, 2 failed, ")
    assert "ETA" in row.state_text
    assert row.error.startswith("2 failed inputs; last: x=4: returned 'not a number', expected")
    assert "x=2: ValueError: two is bad" in row.traceback
    release.write_text("")
    drain_until(engine, finished(engine, "scan"), timeout=30)
    drain_until(engine, lambda: engine.view.drained)
    assert engine_row(engine, "scan").state_text == "EXITED · exited normally"
    assert results(engine, "scan", ["x"], ["value"]) == [(1, 1), (3, 3), (5, 5)]


def test_a_worker_that_dies_fails_the_points_in_flight_and_the_pool_is_rebuilt(
    engines, tmp_path, model
):
    engine = engines(sweep_session(tmp_path, target="model.py:dies", workers=1,
                                   grid={"x": list(range(20))}))  # fmt: skip
    engine.start_autostart()
    drain_until(engine, finished(engine, "scan"), timeout=30)
    drain_until(engine, lambda: engine.view.drained)
    row = engine_row(engine, "scan")
    assert row.state_text == "EXITED · exited normally"
    assert "x=3: a worker process died" in row.traceback
    failed = int(row.error.split()[0])
    assert 1 <= failed <= 4  # those in flight with x=3: at most 2 x workers + 2
    got = [x for x, _ in results(engine, "scan", ["x"], ["value"])]
    assert len(got) == 20 - failed and 3 not in got and got[-1] == 19


def worker_pids(pid_file, count: int, timeout: float = 20.0) -> tuple[set[int], set[int]]:
    """(producer pids, worker pids) once `count` calls have started."""
    deadline = time.monotonic() + timeout
    while True:
        lines = pid_file.read_text().splitlines() if pid_file.exists() else []
        if len(lines) >= count:
            pairs = [tuple(map(int, line.split())) for line in lines]
            return {p for p, _ in pairs}, {w for _, w in pairs}
        assert time.monotonic() < deadline, "the calls did not start"
        time.sleep(0.02)  # polling a file another process writes


def test_stop_mid_sweep_ends_the_workers_at_once(engines, tmp_path, model):
    pid_file = tmp_path / "pids"
    grid, args = {"x": list(range(10))}, {"pids": str(pid_file)}
    engine = engines(
        sweep_session(tmp_path, target="model.py:slow", workers=2, grid=grid, args=args)
    )
    engine.start_autostart()
    deadline = time.monotonic() + 20
    while not pid_file.exists() or len(pid_file.read_text().splitlines()) < 2:
        assert time.monotonic() < deadline
        engine.drain(0.05)
    producers, workers = worker_pids(pid_file, 2)
    assert len(workers) == 2 and len(producers) == 1
    stopped_at = time.monotonic()
    engine.stop("scan")
    drain_until(engine, lambda: engine_row(engine, "scan").state is State.STOPPED, timeout=10)
    assert time.monotonic() - stopped_at < 3.0
    assert engine_row(engine, "scan").state_text == "STOPPED · exited normally"  # not killed
    assert_pids_gone(workers | producers, timeout=3.0)


ENGINE_SCRIPT = """
import sys, time
sys.path.insert(0, {root!r})
from app.core.engine import Engine
from app.core.session import parse_session
from tests.helpers import producer
session = parse_session(producer("scan", "sweep", target={target!r}, workers=2,
                                 grid={{"x": list(range(10))}}, args={{"pids": {pids!r}}}))
engine = Engine(session)
engine.start_autostart()
while True:
    engine.drain(0.05)
"""


def test_sigkill_of_the_app_mid_sweep_leaves_no_producer_or_worker(tmp_path, model):
    pid_file = tmp_path / "pids"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = ENGINE_SCRIPT.format(root=root, target=f"{model}:slow", pids=str(pid_file))
    app = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)])
    try:
        producers, workers = worker_pids(pid_file, 2, timeout=30)
        tree = {p.pid for p in psutil.Process(app.pid).children(recursive=True)}
        assert producers | workers <= tree
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait()
    assert_pids_gone(tree, timeout=5.0)  # fork server, producer and both workers


BARE_PRODUCER = """
import sys, threading
sys.path.insert(0, {root!r})
from producers.builtin.sweep import Sweep

class Context:  # just enough of ProducerContext: nothing here ends the workers
    running = True
    def emit_sample(self, *args): pass
    def set_status(self, text): pass
    def report_bad_input(self, *args, **kwargs): pass

if __name__ == "__main__":
    Sweep(target={target!r}, workers=2, grid={{"x": list(range(10))}},
          args={{"pids": {pids!r}}}).run(Context())
"""


def test_workers_die_with_a_sigkilled_producer_by_themselves(tmp_path, model):
    """No lifeline and no group kill here (the process leads a session of its own and nobody
    kills its group): the workers' PR_SET_PDEATHSIG alone must end them."""
    pid_file = tmp_path / "pids"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = tmp_path / "bare.py"
    script.write_text(BARE_PRODUCER.format(root=root, target=f"{model}:slow", pids=str(pid_file)))
    bare = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    try:
        producers, workers = worker_pids(pid_file, 2, timeout=30)
        assert producers == {bare.pid}
    finally:
        bare.kill()
        bare.wait()
    assert_pids_gone(workers, timeout=3.0)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({}, "the grid is empty"),
        ({"x": []}, "axis x is an empty list"),
        ({"x": [1, "a"]}, "axis x must hold numbers only, got 'a'"),
        ({"x": {"start": 0, "stop": 1}}, "axis x needs either num or step"),
        ({"x": {"start": 0, "stop": 1, "num": 0}}, "num must be a whole number >= 1, got 0"),
        ({"x": {"start": 0, "stop": 1, "step": -1}}, "step -1 never gets from 0 to 1"),
        ({"x": {"start": 0, "num": 3}}, "axis x needs stop"),
        ({"x": {"from": 0}}, "axis x: unknown key 'from'"),
        ({"x": "1..3"}, "axis x must be a list of numbers or { start, stop, num }"),
        ({"a": {"start": 0, "stop": 1, "num": 1000}, "b": {"start": 0, "stop": 1, "num": 1001}},
         f"the grid has more than {MAX_POINTS:,} points"),
    ],
)  # fmt: skip
def test_a_bad_grid_is_a_session_error_naming_the_line(grid, message):
    with pytest.raises(SessionError, match=r"^test-session\.toml:8: producer 'scan': grid: ") as e:
        session_from(producer("scan", "sweep", target="m.py:f", grid=grid))
    assert message in str(e.value)


def test_a_bad_target_is_a_session_error_and_a_missing_file_the_rows_error(engines, tmp_path):
    with pytest.raises(SessionError, match=r"target: expected 'file\.py:function'"):
        session_from(producer("scan", "sweep", target="model.py", grid={"x": [1]}))
    with pytest.raises(SessionError, match="target is required for kind 'sweep'"):
        session_from(producer("scan", "sweep", grid={"x": [1]}))
    with pytest.raises(SessionError, match="grid is required for kind 'sweep'"):
        session_from(producer("scan", "sweep", target="m.py:f"))
    engine = engines(sweep_session(tmp_path, target="nowhere.py:f", grid={"x": [1]}))
    engine.start_autostart()
    drain_until(engine, lambda: engine_row(engine, "scan").error, timeout=30)
    error = engine_row(engine, "scan").error
    assert f"cannot load {tmp_path / 'nowhere.py'}: no such file" in error


def test_grid_points_are_the_product_with_ranges_expanded():
    grid = {"a": [1, 2], "b": {"start": 0, "stop": 1, "num": 3}, "c": {"start": 0, "stop": 4,
            "step": 2}}  # fmt: skip
    check_grid(grid)
    found = axes(grid)
    assert found == [("a", [1, 2]), ("b", [0.0, 0.5, 1.0]), ("c", [0, 2, 4])]
    assert size(found) == 18 and len(list(points(found))) == 18
    assert next(points(found)) == {"a": 1, "b": 0.0, "c": 0}
    assert axes({"f": {"start": 0.0, "stop": 0.3, "step": 0.1}})[0][1] == pytest.approx(
        [0.0, 0.1, 0.2, 0.3]
    )
    assert axes({"n": {"start": 5, "stop": 5, "num": 1}}) == [("n", [5.0])]
