"""Failure modes a supervisor must survive, each with real processes: kill -9 mid-stream, hang,
close at full load, SIGKILL of the whole GUI process, parameters that cannot be pickled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from app.core.supervisor import Policy
from tests.helpers import (
    WAIT_MS,
    button,
    cell,
    producer,
    producer_processes,
    session_from,
    state_of,
    wait_state,
)

pytestmark = pytest.mark.slow


def total(window, name: str) -> int:
    return int(cell(window, name, "Total").replace(",", ""))


def test_kill9_at_full_rate_does_not_wedge_the_others(qtbot, open_window):
    session = session_from(
        producer("victim", "noise", rate_hz=100_000.0)
        + producer("other1", "noise", rate_hz=100_000.0)
        + producer("other2", "sine", rate_hz=100_000.0)
    )
    window = open_window(session)
    for name in ("victim", "other1", "other2"):
        wait_state(qtbot, window, name, "RUNNING")
    for _ in range(3):  # kill it repeatedly, mid-stream, restarting it each time
        pid = window.engine.supervisor.entries["victim"].pid
        os.kill(pid, signal.SIGKILL)
        wait_state(qtbot, window, "victim", "EXITED")
        assert "killed by SIGKILL" in state_of(window, "victim")
        before = {n: total(window, n) for n in ("other1", "other2")}
        qtbot.waitUntil(
            lambda b=before: all(total(window, n) > b[n] + 50_000 for n in b), timeout=WAIT_MS
        )
        button(window, "start", "victim").click()
        wait_state(qtbot, window, "victim", "RUNNING")
        assert window.engine.supervisor.entries["victim"].pid != pid
    assert cell(window, "other1", "Dropped") == "0"


def test_hanging_producer_is_shown_stalled_and_stop_kills_it(qtbot, open_window):
    policy = Policy(stall_after=1.0, stop_grace=0.5, term_grace=0.5)
    window = open_window(
        session_from(producer("stuck", "fail", mode="hang_hard", after_batches=2)), policy
    )
    qtbot.waitUntil(lambda: "stalled" in state_of(window, "stuck"), timeout=WAIT_MS)
    pid = window.engine.supervisor.entries["stuck"].pid
    button(window, "stop", "stuck").click()
    wait_state(qtbot, window, "stuck", "STOPPED")
    assert "killed by SIGKILL" in state_of(window, "stuck")  # it ignored the event and SIGTERM
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_close_at_full_load_finishes_within_3_s(qtbot, open_window):
    session = session_from(
        "".join(producer(f"p{i}", "noise", rate_hz=500_000.0) for i in range(4))
        + producer("stuck", "fail", mode="hang", after_batches=1)
    )
    window = open_window(session)
    for i in range(4):
        wait_state(qtbot, window, f"p{i}", "RUNNING")
    started = time.monotonic()
    with qtbot.waitSignal(window.shutdown_finished, timeout=3000):
        window.close()
    assert time.monotonic() - started < 3.0
    assert not window.consumer.isRunning()


def test_unpicklable_parameters_fail_before_any_process_starts(qtbot, open_window):
    window = open_window(session_from(producer("a", "sine", autostart=False)))
    window.engine.supervisor.entries["a"].spec.params["rate_hz"] = lambda: 1  # not from a TOML file
    button(window, "start", "a").click()
    wait_state(qtbot, window, "a", "FATAL")
    assert "could not start" in cell(window, "a", "Last error")
    assert window.engine.supervisor.entries["a"].pid is None


def _app_process(session_file, extra_env=None) -> subprocess.Popen:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(extra_env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--session", str(session_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as from a terminal
    )


def _wait_for_producers(gui: psutil.Process, count: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kids = producer_processes(gui)
        if len(kids) >= count:
            return kids
        time.sleep(0.1)  # polling another process from the test thread, not a GUI thread
    raise AssertionError(f"{count} producers did not start")


def _gone(p: psutil.Process) -> bool:
    try:
        return p.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def busy_session(tmp_path):
    path = tmp_path / "busy.toml"
    path.write_text(
        producer("a", "noise", rate_hz=200_000.0)
        + producer("b", "sine", rate_hz=200_000.0)
        + producer("c", "clock")
    )
    return path


def test_sigkill_of_the_gui_leaves_no_producer_behind(busy_session):
    gui = _app_process(busy_session)
    try:
        kids = _wait_for_producers(psutil.Process(gui.pid), 3)
        gui.kill()
        gui.wait(10)
        deadline = time.monotonic() + 3.0
        while not all(_gone(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [k.pid for k in kids if not _gone(k)]
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        assert not survivors, f"producers outlived the GUI by 3 s: {survivors}"
    finally:
        gui.kill()
        gui.communicate()


@pytest.mark.parametrize(
    ("sig", "group"),
    [(signal.SIGTERM, False), (signal.SIGTERM, True), (signal.SIGHUP, True), (signal.SIGINT, True)],
    ids=["SIGTERM", "SIGTERM-to-group", "SIGHUP-terminal-closed", "Ctrl-C"],
)
def test_a_signal_closes_the_app_cleanly_within_3_s(busy_session, sig, group):
    """To the app, or to its whole process group as a terminal sends it: the app stops its
    producers the orderly way (they were not killed by the signal) and exits 0."""
    gui = _app_process(busy_session)
    try:
        kids = _wait_for_producers(psutil.Process(gui.pid), 3)
        started = time.monotonic()
        if group:
            os.killpg(gui.pid, sig)
        else:
            gui.send_signal(sig)
        _, err = gui.communicate(timeout=10)
        elapsed = time.monotonic() - started
        assert gui.returncode == 0, err
        assert elapsed < 3.0
        assert "Destroyed while thread" not in err
        assert all(_gone(k) for k in kids)
        stopped = [line for line in err.splitlines() if "STOPPING -> STOPPED" in line]
        assert len(stopped) == 3 and all("exited normally" in line for line in stopped), err
    finally:
        if gui.poll() is None:
            gui.kill()
            gui.communicate()
