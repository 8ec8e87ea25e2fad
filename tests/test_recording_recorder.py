"""app.core.recording.recorder: submit never waits, every sample is written or counted as
dropped, and close says exactly which."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.core.recording import Recorder, RecordingError
from app.core.recording.csv_file import HEADER
from producers.wire import Chunk

T_BASE = 1_700_000_000.0
MiB = 1 << 20


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.002)


def read_values(path) -> np.ndarray:
    if path.suffix == ".parquet":
        return pq.read_table(path).column("value").to_numpy()
    if path.suffix == ".arrows":
        return pa.ipc.open_stream(path).read_all().column("value").to_numpy()
    lines = path.read_bytes().decode().splitlines()[1:]
    return np.array([float(line.rsplit(",", 1)[1]) for line in lines])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".arrows"])
def test_everything_submitted_is_written_in_order(tmp_path, suffix):
    path = tmp_path / f"r{suffix}"
    rec = Recorder(path)
    assert rec.wait_ready(5.0) is None
    expected = []
    for i in range(300):
        values = np.arange(i * 7, i * 7 + 7, dtype=float)
        chunks = [("a", Chunk("x", values, t0=T_BASE + i, dt=0.1))]
        if i % 2:
            chunks.append(("b", Chunk("y", -values, t0=T_BASE + i, dt=0.1)))
        assert rec.submit(chunks)
        expected.extend(c.values for _, c in chunks)
    summary = rec.close(timeout=10.0)
    assert summary.finished and summary.error is None
    assert summary.written == {"a": 2100, "b": 1050} == rec.samples_written
    assert summary.written_total == rec.samples_written_total == 3150
    assert summary.dropped == {} and rec.dropped_total == 0
    assert read_values(path).tobytes() == np.concatenate(expected).tobytes()
    assert rec.behind_s == 0.0
    assert not rec.submit([("a", Chunk("x", np.ones(2), t0=T_BASE, dt=1))])  # closed
    assert rec.dropped == {"a": 2}


def test_empty_submissions_are_ignored(tmp_path):
    rec = Recorder(tmp_path / "r.csv", queue_bytes=1)
    assert rec.submit([]) and rec.submit([("p", Chunk("v", np.array([]), t0=T_BASE, dt=1))])
    summary = rec.close()
    assert summary.written == {} and summary.dropped == {}
    assert (tmp_path / "r.csv").read_bytes() == HEADER


def test_a_full_queue_drops_and_counts_exactly_without_blocking(tmp_path):
    path = tmp_path / "r.parquet"
    rec = Recorder(path, queue_bytes=48 * MiB)
    huge = Chunk("v", np.full(4_000_000, -1.0), t0=T_BASE, dt=1e-6)  # 32 MB: a busy writer
    small_values = np.arange(100_000, dtype=float)  # 0.8 MB a submission, shared memory
    assert rec.submit([("big", huge)])
    accepted, rejected, slowest = [], [], 0.0
    for i in range(60):
        chunks = [("p", Chunk("v", small_values, t0=T_BASE + i, dt=1e-6))]
        start = time.perf_counter()
        ok = rec.submit(chunks)
        slowest = max(slowest, time.perf_counter() - start)
        (accepted if ok else rejected).append(i)
    assert rejected, "the queue never filled"
    assert slowest < 0.2  # submit never waits for the writer
    summary = rec.close(timeout=30.0)
    assert summary.finished and summary.error is None
    assert summary.written == {"big": 4_000_000, "p": 100_000 * len(accepted)}
    assert summary.dropped == {"p": 100_000 * len(rejected)}
    table = pq.read_table(path)
    first_of_each = table.filter(pa.compute.equal(table["value"], 0.0))["timestamp"]
    t0s = first_of_each.cast(pa.int64()).to_numpy()[-len(accepted) :]
    assert (t0s == [round((T_BASE + i) * 1e9) for i in accepted]).all()  # exactly those, in order


def test_close_gives_up_on_a_writer_that_cannot_finish_in_time_and_says_so(tmp_path):
    path = tmp_path / "r.csv"
    rec = Recorder(path, flush_interval_s=0.0)
    assert rec.wait_ready(5.0) is None
    huge = Chunk("v", np.random.default_rng(0).normal(size=4_000_000), t0=T_BASE, dt=1e-6)
    assert rec.submit([("p", huge)])
    wait_for(lambda: rec.behind_s > 0.0)
    start = time.monotonic()
    summary = rec.close(timeout=0.05)
    assert time.monotonic() - start < 1.0
    assert not summary.finished
    assert summary.written == {} and summary.dropped == {"p": 4_000_000}
    later = rec.close(timeout=30.0)  # the writer got there eventually: it took its rows back
    assert later.finished and later.written == {} and later.dropped == {"p": 4_000_000}
    assert path.read_bytes() == HEADER


def test_rows_reach_the_file_within_the_flush_interval_while_recording(tmp_path):
    path = tmp_path / "r.parquet"
    rec = Recorder(path, flush_interval_s=0.05)
    rec.submit([("p", Chunk("v", np.arange(10.0), t0=T_BASE, dt=0.1))])
    wait_for(lambda: rec.samples_written == {"p": 10}, timeout=5.0)
    assert pq.read_table(path).num_rows == 10  # readable while the recording goes on
    rec.submit([("p", Chunk("v", np.arange(5.0), t0=T_BASE + 1, dt=0.1))])
    wait_for(lambda: rec.samples_written_total == 15, timeout=5.0)
    assert pq.read_table(path).num_rows == 15
    rec.close()


def test_behind_s_is_the_age_of_the_oldest_unwritten_sample(tmp_path):
    rec = Recorder(tmp_path / "r.arrows", flush_interval_s=30.0)
    assert rec.behind_s == 0.0
    rec.submit([("p", Chunk("v", np.arange(3.0), t0=T_BASE, dt=1))])
    submitted = time.monotonic()
    wait_for(lambda: rec.behind_s >= 0.05)
    assert rec.behind_s <= time.monotonic() - submitted + 0.01
    assert rec.samples_written == {}  # not flushed yet: not counted as written
    summary = rec.close()
    assert summary.written == {"p": 3} and rec.behind_s == 0.0


def test_a_file_that_cannot_be_opened_is_reported_before_anything_is_written(tmp_path):
    (tmp_path / "taken.csv").mkdir()
    rec = Recorder(tmp_path / "taken.csv")
    error = rec.wait_ready(5.0)
    assert error == f"cannot record to {tmp_path / 'taken.csv'}: Is a directory"
    assert not rec.submit([("p", Chunk("v", np.ones(5), t0=T_BASE, dt=1))])
    summary = rec.close()
    assert summary.error == error and summary.dropped == {"p": 5} and summary.written == {}
    assert "NOT recorded: 5 samples" in summary.describe()


def test_an_unsupported_suffix_is_refused_at_once(tmp_path):
    with pytest.raises(RecordingError, match="not a recording format"):
        Recorder(tmp_path / "r.xlsx")
