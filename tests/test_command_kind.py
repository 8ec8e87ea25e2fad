"""The `command` kind with real programs: what they print becomes series, their failures show
in the row, and Stop, a killed producer or a dead app leave nothing they started running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.core.supervisor import State
from tests.helpers import assert_pids_gone, drain_until, engine_row, producer, session_from

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


# The supervisor counts an exit within its `startsecs` (1 s) as a failed start, whatever the
# code; programs that end here first outlive it, as a real data source would.
LINGER = "\nimport time as _t; _t.sleep(1.2)\n"


def script(tmp_path: Path, name: str, body: str, linger: bool = True) -> list[str]:
    """argv running `body` (Python) as a script written to tmp_path, which lingers 1.2 s
    before its end unless told not to."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(body) + (LINGER if linger else ""))
    return [sys.executable, str(path)]


def has_series(engine, key) -> bool:
    return key in engine.store.series_keys()


def count(engine, key) -> int:
    return engine.store.stats(key)[0] if has_series(engine, key) else 0


def test_numbers_kv_and_json_lines_become_series(engines, tmp_path):
    argv = script(tmp_path, "emit.py", """
        import sys
        for i in range(5):
            print(i * 1.5)
        print("temp=21.5 hum=40")
        print('{"imu": {"x": 1.25, "y": [2, 3]}, "ok": true}')
        sys.stdout.flush()
    """)  # fmt: skip
    three = script(tmp_path, "p.py", 'print("1 2 3")')
    session = producer("mix", "command", argv=argv)
    session += producer("pre", "command", argv=three, format="number", prefix="dev/")
    engine = engines(session_from(session))
    engine.start_autostart()
    drain_until(engine, lambda: all(engine_row(engine, n).state is State.EXITED
                                    for n in ("mix", "pre")))  # fmt: skip
    store = engine.store
    assert count(engine, ("mix", "value")) == 5
    assert store.latest(("mix", "value"))[1] == 6.0
    assert store.latest(("mix", "temp"))[1] == 21.5
    assert store.latest(("mix", "hum"))[1] == 40.0
    assert store.latest(("mix", "imu/x"))[1] == 1.25
    assert store.latest(("mix", "imu/y[1]"))[1] == 3.0
    assert store.latest(("mix", "ok"))[1] == 1.0
    assert [store.latest(("pre", f"dev/v{i}"))[1] for i in range(3)] == [1.0, 2.0, 3.0]
    for name in ("mix", "pre"):
        row = engine_row(engine, name)
        assert row.state_text.startswith("EXITED · exited normally"), row.state_text
        assert row.error == ""
    assert time.time() - store.latest(("mix", "value"))[0] < 60  # stamped on receipt


def test_garbage_lines_are_counted_and_shown_good_lines_kept(engines, tmp_path):
    argv = script(tmp_path, "garbage.py", """
        import sys
        print("calibrating", file=sys.stderr, flush=True)
        print(1)
        print("hello there")
        print(2)
        print("%%% 1 2 ~")
        print(3, flush=True)
    """)  # fmt: skip
    engine = engines(session_from(producer("g", "command", argv=argv, format="number")))
    engine.start_autostart()
    drain_until(engine, lambda: engine_row(engine, "g").state is State.EXITED)
    drain_until(engine, lambda: "2 unparsable lines" in engine_row(engine, "g").error)
    row = engine_row(engine, "g")
    assert "%%% 1 2 ~" in row.error  # the latest example
    assert "hello there" in row.traceback  # the details list the last few
    assert "last stderr lines:\ncalibrating" in row.traceback  # and what it said on stderr
    assert count(engine, ("g", "value")) == 3
    assert engine.store.latest(("g", "value"))[1] == 3.0


def test_exit_code_and_stderr_show_in_the_row(engines, tmp_path):
    argv = script(tmp_path, "fails.py", """
        import sys
        print(1, flush=True)
        print("starting up", file=sys.stderr)
        print("sensor unplugged on /dev/ttyUSB0", file=sys.stderr)
        sys.stderr.flush()
        import time; time.sleep(1.2)
        sys.exit(3)
    """, linger=False)  # fmt: skip
    engine = engines(session_from(producer("f", "command", argv=argv)))
    engine.start_autostart()
    drain_until(engine, lambda: engine_row(engine, "f").state is State.EXITED)
    drain_until(engine, lambda: engine_row(engine, "f").error)
    row = engine_row(engine, "f")
    assert "command exited with code 3: sensor unplugged on /dev/ttyUSB0" in row.error
    assert "starting up" in row.traceback and "sensor unplugged" in row.traceback
    assert count(engine, ("f", "value")) == 1  # what it printed before failing is kept


def test_killed_by_a_signal_is_said_so(engines, tmp_path):
    argv = script(tmp_path, "segv.py", """
        import os, signal, time
        time.sleep(1.2)
        os.kill(os.getpid(), signal.SIGSEGV)
    """, linger=False)  # fmt: skip
    engine = engines(session_from(producer("s", "command", argv=argv)))
    engine.start_autostart()
    drain_until(engine, lambda: "killed by SIGSEGV" in engine_row(engine, "s").error)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no-such-program-x"], "command not found: no-such-program-x"),
        (["{tmp}/data.txt"], "permission denied: {tmp}/data.txt"),
        (["{tmp}/script.txt"], "could not start {tmp}/script.txt: Exec format error"),
        (["{tmp}"], "permission denied: {tmp}"),
        ([sys.executable], "working directory not found: {tmp}/nowhere"),
        ([], "argv must name a program to run"),
    ],
)  # fmt: skip
def test_a_program_that_cannot_start_is_a_clear_error(engines, tmp_path, argv, message):
    (tmp_path / "data.txt").write_text("1 2 3\n")
    (tmp_path / "script.txt").write_text("print(1)\n")
    (tmp_path / "script.txt").chmod(0o755)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    cwd = str(tmp_path / "nowhere") if "working directory" in message else ""
    engine = engines(session_from(producer("x", "command", argv=argv, cwd=cwd)))
    engine.start_autostart()
    drain_until(engine, lambda: engine_row(engine, "x").error)  # then BACKOFF, retried
    assert message.replace("{tmp}", str(tmp_path)) in engine_row(engine, "x").error


def test_cwd_and_env_reach_the_program(engines, tmp_path):
    (tmp_path / "data").mkdir()
    argv = script(tmp_path, "env.py", "import os; print(os.environ['GAIN'], len(os.listdir('.')))")
    engine = engines(session_from(
        producer("e", "command", argv=argv, cwd=str(tmp_path / "data"), env={"GAIN": 2.5})
    ))  # fmt: skip
    engine.start_autostart()
    drain_until(engine, lambda: engine_row(engine, "e").state is State.EXITED)
    assert engine.store.latest(("e", "v0"))[1] == 2.5
    assert engine.store.latest(("e", "v1"))[1] == 0.0  # the empty folder: cwd applied


# A program that forks a grandchild ignoring SIGTERM, writes both pids, and prints forever.
FAMILY = """
    import os, signal, sys, time
    r, w = os.pipe()
    grandchild = os.fork()
    if grandchild == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(w, b"x")
        while True:
            time.sleep(1)
    os.read(r, 1)  # the grandchild ignores SIGTERM now
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{os.getpid()} {grandchild}")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        print(time.time() % 100, flush=True)
        time.sleep(0.02)
"""


def family_pids(pidfile: Path) -> list[int]:
    """The program's pid and its grandchild's."""
    return [int(p) for p in pidfile.read_text().split()]


def start_family(engines, tmp_path):
    pidfile = tmp_path / "pids"
    argv = [*script(tmp_path, "family.py", FAMILY, linger=False), str(pidfile)]
    engine = engines(session_from(producer("fam", "command", argv=argv)))
    engine.start_autostart()
    drain_until(engine, lambda: pidfile.exists() and "pid " in engine_row(engine, "fam").state_text)
    drain_until(engine, lambda: count(engine, ("fam", "value")) > 0)
    drain_until(engine, lambda: engine_row(engine, "fam").state is State.RUNNING)
    return engine, family_pids(pidfile)


def test_stop_ends_the_program_and_what_it_started(engines, tmp_path):
    engine, pids = start_family(engines, tmp_path)
    started = time.monotonic()
    engine.stop("fam")
    drain_until(engine, lambda: engine_row(engine, "fam").state is State.STOPPED)
    assert time.monotonic() - started < 3.0
    assert "exited normally" in engine_row(engine, "fam").state_text
    assert_pids_gone(pids)


def test_sigkill_of_the_producer_ends_the_program_and_what_it_started(engines, tmp_path):
    engine, pids = start_family(engines, tmp_path)
    os.kill(engine.view.entries["fam"].pid, signal.SIGKILL)
    drain_until(engine, lambda: engine_row(engine, "fam").state is State.EXITED)
    assert "killed by SIGKILL" in engine_row(engine, "fam").state_text
    assert_pids_gone(pids, timeout=3.0)


APP = """
    import sys, time
    from app.core.engine import Engine
    from tests.helpers import producer, session_from
    engine = Engine(session_from(producer("fam", "command", argv=sys.argv[1:])))
    engine.start_autostart()
    while True:
        engine.drain(0.1)
"""


def test_the_apps_death_ends_the_program_and_what_it_started(tmp_path):
    pidfile = tmp_path / "pids"
    argv = [*script(tmp_path, "family.py", FAMILY, linger=False), str(pidfile)]
    app_script = tmp_path / "headless_app.py"
    app_script.write_text(textwrap.dedent(APP))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    app = subprocess.Popen([sys.executable, str(app_script), *argv], env=env, cwd=str(ROOT))
    try:
        deadline = time.monotonic() + 20
        while not pidfile.exists():
            assert app.poll() is None, "the app ended early"
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.05)  # another process: polling its file is all we can do
        pids = family_pids(pidfile)
        app.kill()
        app.wait(10)
        assert_pids_gone(pids, timeout=4.0)
    finally:
        app.kill()
        app.wait(10)
