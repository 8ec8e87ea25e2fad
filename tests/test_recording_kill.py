"""kill -9 of a real recording process, at random moments: the file reads back (after
`recover` when the kill tore a write) with every sample received more than 0.5 s before the kill.

The child records a counter (producer "seq") plus other producers that come and go, and logs
each submission's first counter value and wall time *before* submitting, so the test knows
when the first sample missing from the file was received. Every other kill is aimed at the
middle of a write (the moment the file starts growing), where `recover` has work to do.
STREAMSCOPE_KILL_RUNS=200 runs more kills per format (a stress run; the suite runs a few), and
STREAMSCOPE_KILL_SCALE=4 sends 4x the samples (bigger writes, more of them torn).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq
import pytest

from app.core.recording import recover

ROOT = Path(__file__).resolve().parent.parent
MAX_LOSS_S = 0.5

CHILD = """
import sys, time
import numpy as np
from app.core.recording import Recorder
from producers.wire import Chunk

path, n = sys.argv[1], int(sys.argv[2])
rec = Recorder(path, flush_interval_s=0.25)
assert rec.wait_ready(10.0) is None
print("ready", flush=True)
counter, seq = np.arange(n, dtype=float), 0
while True:
    now = time.time()
    print(seq, repr(now), flush=True)  # logged before submitting: "received at or after now"
    times = np.full(n, now)
    rec.submit([("seq", Chunk("v", counter + seq, explicit_times=times)),
                (f"other{seq % 5}", Chunk(f"s,{seq % 3}", -counter, explicit_times=times))])
    seq += n
    time.sleep(0.002)
"""


class Child:
    """The recording process, its log read on a thread (a pipe must not fill up)."""

    def __init__(self, path: Path, n: int):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(CHILD), str(path), str(n)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def wait_lines(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.lines) < count:
            assert self.proc.poll() is None, f"the child died: {self.proc.returncode}"
            assert time.monotonic() < deadline, "the child did not get going"
            time.sleep(0.002)

    def kill(self) -> float:
        killed_at = time.time()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10.0)
        self.reader.join(10.0)
        self.proc.stdout.close()
        return killed_at

    def submissions(self) -> dict[int, float]:
        parts = (line.split() for line in self.lines[1:])
        return {int(p[0]): float(p[1]) for p in parts if len(p) == 2}  # the last may be torn


def wait_for_a_write(path: Path, timeout: float = 5.0) -> None:
    """Return the moment the file's size changes: a flush is being written (it takes a few ms
    to copy into the page cache, so a kill now often lands in the middle of it)."""
    size, deadline = path.stat().st_size, time.monotonic() + timeout
    while path.stat().st_size == size and time.monotonic() < deadline:
        pass


def read_counter(path: Path) -> np.ndarray:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    elif path.suffix == ".arrows":
        table = pa.ipc.open_stream(path).read_all()
    else:
        types = {"producer": pa.string(), "value": pa.float64()}
        table = pv.read_csv(path, convert_options=pv.ConvertOptions(column_types=types))
    mask = pa.compute.equal(table["producer"].cast(pa.string()), "seq")
    return table.filter(mask)["value"].to_numpy()


RUNS = int(os.environ.get("STREAMSCOPE_KILL_RUNS", "0"))
SCALE = int(os.environ.get("STREAMSCOPE_KILL_SCALE", "1"))  # samples per submit, times this


@pytest.mark.parametrize(
    ("suffix", "per_submit", "runs"),
    [(".parquet", 1000, RUNS or 6), (".arrows", 1000, RUNS or 2), (".csv", 300, RUNS or 2)],
)
def test_kill_9_loses_at_most_the_last_half_second(tmp_path, suffix, per_submit, runs):
    rng = random.Random()
    repaired = 0
    per_submit *= SCALE
    for run in range(runs):
        path = tmp_path / f"r{run}{suffix}"
        child = Child(path, per_submit)
        try:
            child.wait_lines(1 + rng.randint(20, 200))  # ~0.05-0.6 s into the recording
            if run % 2:
                wait_for_a_write(path)  # aim for the middle of one
        finally:
            killed_at = child.kill()
        message = recover(path)
        repaired += "repaired" in message
        counter = read_counter(path)
        assert (counter == np.arange(len(counter))).all(), "not a prefix of what was sent"
        submissions = child.submissions()
        first_missing = len(counter) - len(counter) % per_submit
        received = submissions.get(first_missing)
        if received is not None:  # it was submitted: it must be recent
            assert received >= killed_at - MAX_LOSS_S, (
                f"run {run}: lost samples received {killed_at - received:.3f} s before the kill "
                f"({message})"
            )
        assert "nothing to do" in recover(path)
    print(f"{suffix}: {runs} kills, {repaired} needed recover")
