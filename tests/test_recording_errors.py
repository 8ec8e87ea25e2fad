"""When the disk says no: a full disk, a file size limit, a read-only file system, a /proc path.
The recorder stops, says why in one line, counts every sample it could not write, never raises
into the caller, and leaves a file that reads back with exactly the samples it says it wrote.

Full and read-only file systems are real: a small tmpfs mounted for the test (root only; the
tests skip where mounting is not allowed). The file size limit runs in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.core.recording import Recorder, recover
from producers.wire import Chunk

ROOT = Path(__file__).resolve().parent.parent
T_BASE = 1_700_000_000.0


def mount_tmpfs(where: Path, options: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "small"
    mount_tmpfs(where, "size=256k")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=True)


@pytest.fixture
def read_only_disk(tmp_path):
    where = tmp_path / "ro"
    mount_tmpfs(where, "ro,size=64k")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=True)


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.002)


def rows_in(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.read_table(path).num_rows
    if path.suffix == ".arrows":
        return pa.ipc.open_stream(path).read_all().num_rows
    data = path.read_bytes()
    assert data.endswith(b"\n"), "a half line at the end"
    return data.count(b"\n") - 1


def fill_until_it_fails(rec: Recorder) -> int:
    """Submit a flush's worth at a time, each written before the next, until writing fails."""
    submitted = 0
    rng = np.random.default_rng(1)
    for i in range(10_000):
        values = rng.normal(size=1000)
        assert rec.submit([("p", Chunk("v", values, t0=T_BASE + i, dt=1e-3))])
        submitted += 1000
        wait_for(lambda n=submitted: rec.samples_written_total == n or rec.error is not None)
        if rec.error is not None:
            return submitted
    raise AssertionError("the disk never filled up")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".arrows"])
def test_a_full_disk_stops_recording_with_one_line_and_exact_counts(small_disk, suffix):
    path = small_disk / f"r{suffix}"
    rec = Recorder(path, flush_interval_s=0.0)
    submitted = fill_until_it_fails(rec)
    assert rec.error == f"cannot record to {path}: No space left on device"
    assert not rec.submit([("p", Chunk("v", np.ones(7), t0=T_BASE, dt=1))])  # counted, no raise
    summary = rec.close(timeout=10.0)
    assert summary.finished and summary.error == rec.error
    written = summary.written.get("p", 0)
    assert written > 0 and written + summary.dropped["p"] == submitted + 7
    assert rows_in(path) == written  # whole lines / a valid footer / whole batches
    assert "nothing to do" in recover(path)


CHILD = """
import json, resource, sys, time
import numpy as np
from app.core.recording import Recorder
from producers.wire import Chunk

resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # Python ignores SIGXFSZ: EFBIG
rec = Recorder(sys.argv[1], flush_interval_s=0.0)
submitted = 0
while rec.error is None and submitted < 10_000_000:
    rec.submit([("p", Chunk("v", np.arange(1000.0), t0=1.7e9 + submitted, dt=1e-3))])
    submitted += 1000
    deadline = time.monotonic() + 10
    while rec.samples_written_total < submitted and rec.error is None:
        assert time.monotonic() < deadline
        time.sleep(0.001)
s = rec.close(10.0)
print(json.dumps({"submitted": submitted, "written": s.written, "dropped": s.dropped,
                  "error": s.error}))
"""


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_file_size_limit_is_reported_and_the_file_stays_readable(tmp_path, suffix):
    path = tmp_path / f"r{suffix}"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["error"] == f"cannot record to {path}: File too large"
    assert result["written"]["p"] + result["dropped"]["p"] == result["submitted"]
    assert rows_in(path) == result["written"]["p"] > 0
    assert path.stat().st_size <= 200_000


def test_a_read_only_file_system_is_reported_when_opening(read_only_disk):
    path = read_only_disk / "r.parquet"
    rec = Recorder(path)
    assert rec.wait_ready(5.0) == f"cannot record to {path}: Read-only file system"
    rec.submit([("p", Chunk("v", np.ones(3), t0=T_BASE, dt=1))])
    assert rec.close().dropped == {"p": 3}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/proc/streamscope-recording.csv", "No such file or directory"),
        ("/proc/self/streamscope.parquet", "No such file or directory"),
        ("/etc/hostname/r.arrows", "Not a directory"),
    ],
)
def test_places_that_are_not_for_files_are_reported_in_one_line(path, reason):
    if not Path(path).parent.exists() and reason == "Not a directory":
        pytest.skip("no /etc/hostname here")
    rec = Recorder(path)
    error = rec.wait_ready(5.0)
    assert error == f"cannot record to {path}: {reason}"
    assert rec.close().error == error
