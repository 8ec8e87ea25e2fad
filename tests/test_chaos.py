"""A seeded storm of what users and the system do to a running window, in random order:
clicks on every button, Start/Stop all, Configure with good and bad values, recording on and off,
window changes, panning, kill -9, SIGTERM, SIGSTOP/SIGCONT of producers.

Afterwards nothing may be broken: no exception (pytest-qt fails the test on one raised in a
slot), the consumer alive, every producer controllable again, no orphan, no zombie, no growth
of file descriptors or threads. The seed is printed; `STREAMSCOPE_CHAOS_SEED=N` replays it."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading

import psutil
import pytest
from PyQt5.QtWidgets import QDialog, QDialogButtonBox, QLineEdit

from app.core.supervisor import Policy
from tests.helpers import WAIT_MS, button, producer, session_from, state_of, wait_state

pytestmark = pytest.mark.slow
OPERATIONS = 520
NAMES = ["wave", "noise", "walk", "clock", "flaky", "hang"]


def session():
    return session_from(
        producer("wave", "sine", rate_hz=50_000.0)
        + producer("noise", "noise", rate_hz=20_000.0)
        + producer("walk", "random_walk", rate_hz=200.0)
        + producer("clock", "clock", period_s=0.1)
        + producer("flaky", "fail", restart="always", mode="raise", after_batches=20)
        + producer("hang", "fail", autostart=False, mode="hang", after_batches=3)
    )


def signal_producer(window, rng, sig) -> None:
    pid = window.engine.view.entries[rng.choice(NAMES)].pid
    if pid is not None:
        try:
            os.kill(pid, sig)
            if sig == signal.SIGSTOP:  # a stop that lasts a little while
                threading.Timer(rng.uniform(0.05, 0.5), _cont, args=(pid,)).start()
        except ProcessLookupError:
            pass


def _cont(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def configure(window, rng) -> None:
    name = rng.choice(["wave", "noise", "walk"])
    dialog = window.show_configure(name)
    edit = dialog.findChild(QLineEdit, "param:rate_hz")
    edit.setText(rng.choice(["fast", "-1", "1e99", "", str(rng.choice([100, 1000, 20000]))]))
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok).click()
    if dialog.isVisible():  # a bad value: the dialog says so and stays open
        dialog.reject()


def operations(window, rng, tmp_path):
    toolbar = window.toolbar
    return [
        lambda: button(window, "start", rng.choice(NAMES)).click(),
        lambda: button(window, "stop", rng.choice(NAMES)).click(),
        lambda: toolbar.findChild(type(toolbar.record), "startAllAction").trigger(),
        lambda: toolbar.findChild(type(toolbar.record), "stopAllAction").trigger(),
        lambda: configure(window, rng),
        lambda: (
            toolbar.start_recording(str(tmp_path / f"rec{rng.randrange(3)}.parquet"))
            if not toolbar.record.isChecked()
            else toolbar.record.setChecked(False)
        ),
        lambda: toolbar.window.setCurrentIndex(rng.randrange(toolbar.window.count())),
        lambda: toolbar.follow.setChecked(not toolbar.follow.isChecked()),
        lambda: window.chart.getPlotItem().getViewBox().translateBy(x=rng.uniform(-5, 5)),
        lambda: signal_producer(window, rng, signal.SIGKILL),
        lambda: signal_producer(window, rng, signal.SIGTERM),
        lambda: signal_producer(window, rng, signal.SIGSTOP),
    ]


def test_chaos_storm_leaves_everything_working(qtbot, open_window, tmp_path):
    seed = int(os.environ.get("STREAMSCOPE_CHAOS_SEED", random.randrange(1 << 30)))
    print(f"chaos seed {seed} (replay: STREAMSCOPE_CHAOS_SEED={seed})")
    rng = random.Random(seed)
    me = psutil.Process()
    quick = Policy(
        startsecs=0.3, backoff_step=0.2, restart_delay=0.2, stop_grace=0.3, term_grace=0.3,
        stall_after=1.0,
    )  # fmt: skip
    window = open_window(session(), quick)
    wait_state(qtbot, window, "wave", "RUNNING")
    fds, threads = me.num_fds(), me.num_threads()
    ops = operations(window, rng, tmp_path)
    for _ in range(OPERATIONS):
        rng.choice(ops)()
        qtbot.wait(rng.choice([0, 1, 5, 20]))  # the event loop runs between operations
    for name in NAMES:  # the end: every producer stops on request...
        button(window, "stop", name).click()
    toolbar = window.toolbar
    if toolbar.record.isChecked():
        toolbar.record.setChecked(False)
    for pid in [p.pid for p in me.children(recursive=True)]:
        _cont(pid)  # (nothing may stay SIGSTOPped)
    for name in NAMES:
        wait_state(qtbot, window, name, "STOPPED", timeout=WAIT_MS)
    assert window.consumer.isRunning() and window.consumer.error is None
    button(window, "start", "wave").click()  # ...and starts again, and data flows
    wait_state(qtbot, window, "wave", "RUNNING")
    total = window.engine.counters.snapshot("wave").samples
    qtbot.waitUntil(
        lambda: window.engine.counters.snapshot("wave").samples > total, timeout=WAIT_MS
    )
    assert "RUNNING" in state_of(window, "wave")
    zombies = [p for p in me.children(recursive=True) if p.status() == psutil.STATUS_ZOMBIE]
    assert not zombies
    assert me.num_fds() <= fds + 8, "file descriptors leaked"
    assert me.num_threads() <= threads + 4, "threads leaked"
    for dialog in window.findChildren(QDialog):
        dialog.close()
