"""`kind = "python"`: the user's own .py file as a producer, run for real through the engine.

Each test writes a script to tmp_path and runs it as a real producer process; what is checked
is what a user sees: samples in the store (values, exact timestamps), the row's state, error
and traceback.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.session import load_session
from app.core.supervisor import Policy
from tests.helpers import drain_until, engine_row, producer, session_from

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# A run that ends within a second is a failed start to the supervisor (startsecs): here a short
# one counts as started, and a failure is final at once (no retries to wait through).
QUICK = Policy(startsecs=0.1, startretries=0, restart_delay=60.0)
ENDED = ("EXITED", "FATAL", "STOPPED")


def script(folder: Path, source: str, name: str = "sensor.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source).lstrip())
    return path


def started(engines, path: Path, policy: Policy = QUICK, **params):
    engine = engines(session_from(producer("p", "python", path=str(path), **params)), policy=policy)
    number = engine.start_autostart()
    drain_until(engine, lambda: engine.view.applied >= number)
    return engine


def has(engine, series: str = "value") -> bool:
    return ("p", series) in engine.store.series_keys()


def raw(engine, series: str = "value") -> tuple[np.ndarray, np.ndarray]:
    """(times, values) the store holds at full resolution for ("p", series)."""
    buf = engine.store.buffer(("p", series))
    return buf.raw.held(0).copy(), buf.raw.held(1).copy()


def ended(engine) -> bool:
    return engine_row(engine, "p").state_text.startswith(ENDED)


def failed_with(engine, *words: str):
    """The row once the run ended with an error, checked to contain `words`."""
    drain_until(engine, lambda: ended(engine) and engine_row(engine, "p").error)
    row = engine_row(engine, "p")
    for word in words:
        assert word in row.error, row.error
    return row


# -- shapes ------------------------------------------------------------------------------------
def test_yielded_numbers_are_series_value_stamped_on_receipt(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        def produce():
            while True:
                yield 1.5
                time.sleep(0.01)
        """,
    )
    before = time.time()
    engine = started(engines, path)
    drain_until(engine, lambda: has(engine) and engine.store.stats(("p", "value"))[0] >= 5)
    stamp, value = engine.store.latest(("p", "value"))
    assert value == 1.5
    assert before <= stamp <= time.time()
    assert engine_row(engine, "p").state_text.startswith(("STARTING", "RUNNING"))


def test_a_dict_of_numbers_is_one_series_per_key(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        def produce():
            while True:
                yield {"temperature": 21.5, "humidity": 40}
                time.sleep(0.01)
        """,
    )
    engine = started(engines, path)
    drain_until(engine, lambda: has(engine, "temperature") and has(engine, "humidity"))
    assert engine.store.latest(("p", "temperature"))[1] == 21.5
    assert engine.store.latest(("p", "humidity"))[1] == 40.0


def test_timestamp_value_tuples_arrive_at_exactly_their_timestamps(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        def produce(start):
            for i in range(5):
                yield (start + i * 0.25, float(i))
            yield (start + 2.0, {"a": 7.0, "b": 8.0})
            time.sleep(60)
        """,
    )
    start = 1_700_000_000.125
    engine = started(engines, path, args={"start": start})
    drain_until(engine, lambda: has(engine, "b") and engine.store.stats(("p", "value"))[0] == 5)
    times, values = raw(engine)
    assert times.tolist() == [start + i * 0.25 for i in range(5)]
    assert values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert raw(engine, "a")[0].tolist() == [start + 2.0]
    assert raw(engine, "b")[1].tolist() == [8.0]


def test_numpy_chunks_with_rate_hz_lie_on_one_regular_grid(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        import numpy as np
        def produce():
            for k in range(3):
                yield np.arange(k * 500, (k + 1) * 500, dtype=float)
                time.sleep(0.05)  # the timing of the yields does not matter with rate_hz
            time.sleep(60)
        """,
    )
    engine = started(engines, path, rate_hz=1000.0)
    drain_until(engine, lambda: has(engine) and engine.store.stats(("p", "value"))[0] == 1500)
    times, values = raw(engine)
    assert values.tolist() == list(range(1500))
    grid = times[0] + np.arange(1500) * 1e-3  # across chunk boundaries too
    assert np.abs(times - grid).max() < 1e-6  # float64 at epoch seconds: ~2e-7 resolution
    assert abs(times[499] - time.time()) < 5  # the first chunk ended at its receipt


def test_a_dict_of_arrays_tiles_time_between_receipts_without_rate(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        import numpy as np
        def produce():
            for k in range(4):
                time.sleep(0.05)
                yield {"x": np.full(100, float(k)), "y": np.arange(10.0), "n": 5}
            time.sleep(60)
        """,
    )
    engine = started(engines, path)
    drain_until(engine, lambda: has(engine, "y") and engine.store.stats(("p", "x"))[0] == 400)
    times, values = raw(engine, "x")
    assert values.tolist() == [float(k) for k in range(4) for _ in range(100)]
    steps = np.diff(times)
    assert np.all(steps > 0)  # consecutive chunks neither overlap nor reorder
    spans = [times[k * 100 + 99] - times[k * 100] for k in range(4)]
    gaps = [times[k * 100 + 100] - times[k * 100 + 99] for k in range(3)]
    for k, gap in enumerate(gaps):  # the join between chunks is one step of the next chunk
        assert gap == pytest.approx(spans[k + 1] / 99, abs=1e-6)
    assert engine.store.stats(("p", "y"))[0] == 40
    assert engine.store.latest(("p", "n"))[1] == 5.0


def test_a_function_taking_ctx_has_full_control(engines, tmp_path):
    path = script(
        tmp_path,
        """
        def produce(ctx, gain=1.0):
            ctx.set_status("measuring")
            while ctx.running:
                ctx.emit("volts", [gain, gain * 2], t0=1_700_000_000.0, dt=0.5)
                ctx.emit_sample("amps", gain / 2)
                ctx.wait(0.02)
        """,
    )
    engine = started(engines, path, args={"gain": 3.0})
    drain_until(engine, lambda: has(engine, "volts") and has(engine, "amps"))
    drain_until(engine, lambda: engine_row(engine, "p").state_text == "RUNNING · measuring")
    assert engine.store.latest(("p", "amps"))[1] == 1.5
    assert raw(engine, "volts")[1][:2].tolist() == [3.0, 6.0]


def test_a_generator_whose_first_parameter_is_ctx_gets_the_context(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        def produce(ctx, level):
            ctx.set_status(f"level {level}")
            while True:
                yield level
                time.sleep(0.01)
        """,
    )
    engine = started(engines, path, args={"level": 2})
    drain_until(engine, lambda: engine_row(engine, "p").state_text == "RUNNING · level 2")
    drain_until(engine, lambda: has(engine) and engine.store.latest(("p", "value"))[1] == 2.0)


def test_a_generator_that_returns_ends_the_run_normally(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        def produce(n):
            yield from range(n)
            time.sleep(0.3)  # past the supervisor's startsecs: a run, not a failed start
        """,
    )
    engine = started(engines, path, args={"n": 10})
    drain_until(engine, lambda: ended(engine))
    row = engine_row(engine, "p")
    assert row.state_text == "EXITED · exited normally", row.state_text
    assert row.error == "" and row.total == "10"


def test_bad_yields_are_counted_and_shown_never_fatal(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        import numpy as np
        def produce():
            yield "hello"
            yield np.zeros((2, 3))
            yield {"a": 1.0, "b": "text"}
            yield float("nan")
            yield 4.0
            while True:
                time.sleep(0.05)
                yield 5.0
        """,
    )
    engine = started(engines, path)
    drain_until(engine, lambda: "3 bad yields" in engine_row(engine, "p").error)
    row = engine_row(engine, "p")
    assert "'b' is a str 'text'" in row.error  # the latest example
    assert "a str 'hello'" in row.traceback and "2-D array" in row.traceback  # details
    drain_until(engine, lambda: engine.store.stats(("p", "value"))[0] >= 3)
    assert engine_row(engine, "p").state_text.startswith("RUNNING")
    assert not has(engine, "a")  # a bad dict is skipped whole


# -- errors ------------------------------------------------------------------------------------
def test_a_syntax_error_names_the_file_and_line(engines, tmp_path):
    path = script(tmp_path, "import time\n\ndef produce(:\n    yield 1\n")
    engine = started(engines, path)
    row = failed_with(engine, "sensor.py, line 3", "syntax")
    assert row.state_text.startswith("FATAL")  # the restart policy: no retries left


def test_an_import_error_in_the_file_is_the_rows_error(engines, tmp_path):
    path = script(tmp_path, "import nosuchmodule_streamscope_test\n\ndef produce():\n    yield 1\n")
    engine = started(engines, path)
    row = failed_with(engine, "ModuleNotFoundError", "nosuchmodule_streamscope_test", "line 1")
    assert str(path) in row.traceback


def test_a_missing_function_lists_the_functions_there_are(engines, tmp_path):
    path = script(
        tmp_path,
        """
        from time import sleep
        LIMIT = 3
        def read_sensor():
            yield 1.0
        def calibrate(x):
            return x
        """,
    )
    engine = started(engines, path)
    row = failed_with(engine, "no function 'produce'", "calibrate, read_sensor")
    assert "sleep" not in row.error  # imported, not the file's own


def test_a_name_that_is_not_a_function_says_so(engines, tmp_path):
    path = script(tmp_path, "produce = 42\n")
    failed_with(started(engines, path), "produce in sensor.py is int 42, not a function")


def test_args_the_function_does_not_take_are_named(engines, tmp_path):
    path = script(tmp_path, "def produce(gain=1.0):\n    yield gain\n")
    failed_with(started(engines, path, args={"gian": 2.0}), "produce(gain=1.0)", "gian")


def test_a_missing_file_says_where_it_looked(engines, tmp_path):
    failed_with(started(engines, tmp_path / "nowhere.py"), str(tmp_path / "nowhere.py"), "exist")


def test_an_exception_after_some_yields_shows_the_users_line(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        def produce():
            for i in range(20):
                yield float(i)
                time.sleep(0.01)
            ratio = 1 / 0
            yield ratio
        """,
    )
    engine = started(engines, path)
    row = failed_with(engine, "produce() raised ZeroDivisionError", "sensor.py, line 6")
    assert f'File "{path}", line 6, in produce' in row.traceback
    assert "ratio = 1 / 0" in row.traceback
    assert row.traceback.index(str(path)) < row.traceback.index("python_function.py")
    assert row.total == "20"


def test_an_exception_in_a_ctx_function_shows_the_users_line(engines, tmp_path):
    path = script(
        tmp_path,
        """
        def produce(ctx):
            ctx.emit_sample("value", 1.0)
            ctx.flush()
            raise RuntimeError("sensor unplugged")
        """,
    )
    row = failed_with(started(engines, path), "RuntimeError: sensor unplugged", "line 4")
    assert f'File "{path}", line 4, in produce' in row.traceback


# -- stop, edit, paths ---------------------------------------------------------------------------
def test_stop_ends_a_generator_sleeping_between_yields_promptly(engines, tmp_path):
    path = script(
        tmp_path,
        """
        import time
        def produce():
            while True:
                yield 1.0
                time.sleep(10)
        """,
    )
    engine = started(engines, path)
    drain_until(engine, lambda: has(engine))
    drain_until(engine, lambda: engine_row(engine, "p").state_text.startswith("RUNNING"))
    asked = time.monotonic()
    engine.stop("p")
    drain_until(engine, lambda: engine_row(engine, "p").state_text.startswith("STOPPED"))
    took = time.monotonic() - asked
    assert took < engine.supervisor.policy.stop_grace, took  # before any SIGTERM
    assert engine_row(engine, "p").state_text == "STOPPED · exited normally"


def test_stop_closes_the_generator_so_its_finally_runs(engines, tmp_path):
    marker = tmp_path / "closed.txt"
    path = script(
        tmp_path,
        f"""
        import time
        def produce():
            try:
                while True:
                    yield 1.0
                    time.sleep(0.05)
            finally:
                open({str(marker)!r}, "w").write("closed")
        """,
    )
    engine = started(engines, path)
    drain_until(engine, lambda: has(engine))
    engine.stop("p")
    drain_until(engine, lambda: engine_row(engine, "p").state_text.startswith("STOPPED"))
    assert marker.read_text() == "closed"


def test_editing_the_file_and_starting_again_runs_the_new_code(engines, tmp_path):
    source = """
        import time
        def produce():
            while True:
                yield {value}
                time.sleep(0.01)
        """
    path = script(tmp_path, source.format(value="1.0"))
    engine = started(engines, path)
    drain_until(engine, lambda: has(engine))
    assert engine.store.latest(("p", "value"))[1] == 1.0
    engine.stop("p")
    drain_until(engine, lambda: ended(engine))
    script(tmp_path, source.format(value="2.0"))  # same size, same second: no stale bytecode
    engine.start("p")
    drain_until(engine, lambda: engine.store.latest(("p", "value"))[1] == 2.0)


def test_a_relative_path_is_relative_to_the_session_files_folder(engines, tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    script(folder, "LEVEL = 4.25\n", name="calibration.py")  # a sibling the script imports
    script(
        folder,
        """
        import time
        from calibration import LEVEL
        def produce():
            while True:
                yield LEVEL
                time.sleep(0.01)
        if __name__ == "__main__":
            raise SystemExit("ran as a script")
        """,
        name="sensor.py",
    )
    session_file = folder / "session.toml"
    session_file.write_text(producer("p", "python", path="sensor.py"))
    monkeypatch.chdir(tmp_path)  # not the session's folder
    engine = engines(load_session(session_file), policy=QUICK)
    engine.start_autostart()
    drain_until(engine, lambda: has(engine))
    assert engine.store.latest(("p", "value"))[1] == 4.25


def test_the_example_session_runs_the_original_producer(engines):
    session = load_session(ROOT / "examples" / "own_data.toml")
    engine = engines(session)
    engine.start_autostart()
    name = session.producers[0].name
    drain_until(engine, lambda: (name, "value") in engine.store.series_keys())
    drain_until(engine, lambda: engine.store.stats((name, "value"))[0] >= 3)
    assert 0.0 <= engine.store.latest((name, "value"))[1] < 1.0
