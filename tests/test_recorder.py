"""app.core.recorder: CSV recordings that read back to exactly the samples that arrived."""

from __future__ import annotations

import csv
import math
import threading
import time

import numpy as np
import pytest

from app.core.channel import Batch
from app.core.recorder import BackgroundRecorder, CsvRecorder
from producers.wire import Chunk

T_BASE = 1_700_000_000.0


def batch_of(*chunks: tuple[str, Chunk]) -> Batch:
    return Batch(chunks=list(chunks))


def read_rows(path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_header_is_exact(tmp_path):
    path = tmp_path / "r.csv"
    with CsvRecorder(path):
        pass
    assert path.read_bytes() == b"timestamp,producer,series,value\n"


def test_values_read_back_to_the_exact_floats(tmp_path):
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.normal(size=500) * 10.0 ** rng.integers(-300, 300, 500),
            [0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, math.pi, 1e16 + 2],
        ]
    )
    times = T_BASE + np.sort(rng.uniform(0, 100, len(values)))
    path = tmp_path / "r.csv"
    with CsvRecorder(path) as rec:
        rec.write(batch_of(("p", Chunk("v", values, explicit_times=times))))
    header, rows = read_rows(path)
    assert header == ["timestamp", "producer", "series", "value"]
    got = np.array([float(r[3]) for r in rows])
    assert got.tobytes() == values.tobytes()  # bit for bit, -0.0 included
    stamps = np.array([float(r[0]) for r in rows])
    np.testing.assert_allclose(stamps, times, rtol=0, atol=0.51e-6)  # microseconds
    assert all(len(r[0].split(".")[1]) == 6 for r in rows)


def test_nan_and_infinities_read_back(tmp_path):
    path = tmp_path / "r.csv"
    values = np.array([math.nan, math.inf, -math.inf, 1.0])
    with CsvRecorder(path) as rec:
        rec.write(batch_of(("p", Chunk("v", values, t0=T_BASE, dt=1.0))))
    _, rows = read_rows(path)
    got = [float(r[3]) for r in rows]
    assert math.isnan(got[0]) and got[1:] == [math.inf, -math.inf, 1.0]


def test_regular_chunks_are_written_with_their_timestamps(tmp_path):
    path = tmp_path / "r.csv"
    with CsvRecorder(path) as rec:
        rec.write(batch_of(("p", Chunk("v", np.arange(4.0), t0=T_BASE + 0.5, dt=0.25))))
    _, rows = read_rows(path)
    assert [r[0] for r in rows] == [
        "1700000000.500000",
        "1700000000.750000",
        "1700000001.000000",
        "1700000001.250000",
    ]


@pytest.mark.parametrize(
    ("producer", "series"),
    [
        ("sensor,1", "temp, °C"),
        ('quote"d', 'say "hi"'),
        ("new\nline", "carriage\rreturn"),
        (" spaced ", ""),
        ("plain", "ünïcödé ✓"),
    ],
)
def test_names_are_quoted_so_the_csv_reads_back(tmp_path, producer, series):
    path = tmp_path / "r.csv"
    with CsvRecorder(path) as rec:
        rec.write(batch_of((producer, Chunk(series, np.array([1.5, 2.5]), t0=T_BASE, dt=1.0))))
        rec.write(batch_of((producer, Chunk(series, np.array([3.5]), t0=T_BASE + 2, dt=1.0))))
    _, rows = read_rows(path)
    assert [(r[1], r[2], float(r[3])) for r in rows] == [
        (producer, series, 1.5),
        (producer, series, 2.5),
        (producer, series, 3.5),
    ]
    assert all(len(r) == 4 for r in rows)


def test_batches_and_producers_are_written_in_arrival_order(tmp_path):
    path = tmp_path / "r.csv"
    with CsvRecorder(path) as rec:
        rec.write(
            batch_of(
                ("a", Chunk("x", np.array([1.0]), t0=T_BASE, dt=1.0)),
                ("b", Chunk("x", np.array([2.0, 3.0]), t0=T_BASE, dt=1.0)),
            )
        )
        rec.write(Batch())  # nothing in it: nothing written
        rec.write(batch_of(("a", Chunk("y", np.array([4.0]), t0=T_BASE + 1, dt=1.0))))
        assert rec.samples == {"a": 2, "b": 2}
    _, rows = read_rows(path)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("a", "x", "1.0"),
        ("b", "x", "2.0"),
        ("b", "x", "3.0"),
        ("a", "y", "4.0"),
    ]


def test_flush_makes_rows_visible_while_recording(tmp_path):
    path = tmp_path / "r.csv"
    with CsvRecorder(path) as rec:
        rec.write(batch_of(("p", Chunk("v", np.array([1.0]), t0=T_BASE, dt=1.0))))
        rec.flush()
        _, rows = read_rows(path)
        assert len(rows) == 1


# -- BackgroundRecorder ----------------------------------------------------------------------


class GatedChunk(Chunk):
    """A chunk whose timestamps block until `gate` is set: the writer thread stalls on it, as it
    would on a slow disk."""

    started: threading.Event
    gate: threading.Event

    @property
    def timestamps(self):
        self.started.set()
        assert self.gate.wait(10.0)
        return super().timestamps


def gated_chunk() -> GatedChunk:
    chunk = GatedChunk("v", np.array([0.0]), t0=T_BASE, dt=1.0)
    chunk.started, chunk.gate = threading.Event(), threading.Event()
    return chunk


def test_background_recorder_writes_everything_and_close_flushes(tmp_path):
    path = tmp_path / "r.csv"
    rec = BackgroundRecorder(path)
    expected = []
    for i in range(200):
        values = np.arange(i * 10, i * 10 + 10, dtype=float)
        rec.submit(batch_of(("p", Chunk("v", values, t0=T_BASE + i, dt=0.1))))
        expected.extend(values)
    assert rec.close(timeout=5.0)
    _, rows = read_rows(path)
    assert [float(r[3]) for r in rows] == expected
    assert rec.samples == 2000
    assert rec.dropped == {}
    assert rec.error is None


def test_background_recorder_counts_drops_when_its_queue_is_full(tmp_path):
    path = tmp_path / "r.csv"
    rec = BackgroundRecorder(path, max_batches=2)
    stalled = gated_chunk()
    try:
        rec.submit(batch_of(("p", stalled)))
        assert stalled.started.wait(5.0)  # the writer is busy with it: the queue is empty
        for i in range(2):  # these fill the queue
            rec.submit(batch_of(("p", Chunk("v", np.array([1.0 + i]), t0=T_BASE + 1 + i, dt=1))))
        start = time.monotonic()
        for _ in range(5):  # these do not fit: dropped, counted, and submit does not block
            rec.submit(
                batch_of(
                    ("p", Chunk("v", np.ones(3), t0=T_BASE, dt=1.0)),
                    ("q", Chunk("w", np.ones(4), t0=T_BASE, dt=1.0)),
                )
            )
        assert time.monotonic() - start < 1.0
        assert rec.dropped == {"p": 15, "q": 20}
    finally:
        stalled.gate.set()
    assert rec.close(timeout=5.0)
    _, rows = read_rows(path)
    assert [float(r[3]) for r in rows] == [0.0, 1.0, 2.0]
    assert rec.samples == 3


def test_background_recorder_ignores_empty_batches(tmp_path):
    rec = BackgroundRecorder(tmp_path / "r.csv", max_batches=1)
    for _ in range(10):
        rec.submit(Batch())
    assert rec.close(timeout=5.0)
    assert rec.dropped == {}


def test_background_recorder_close_gives_up_on_a_stuck_writer(tmp_path):
    rec = BackgroundRecorder(tmp_path / "r.csv", max_batches=1)
    stalled = gated_chunk()
    try:
        rec.submit(batch_of(("p", stalled)))
        assert stalled.started.wait(5.0)
        rec.submit(batch_of(("p", Chunk("v", np.ones(1), t0=T_BASE, dt=1.0))))  # queue full
        start = time.monotonic()
        assert rec.close(timeout=0.2) is False
        assert time.monotonic() - start < 2.0
    finally:
        stalled.gate.set()
    assert rec.close(timeout=5.0)  # unstuck: closing again finishes the file
    _, rows = read_rows(tmp_path / "r.csv")
    assert len(rows) == 2


def test_background_recorder_reports_a_file_it_cannot_open(tmp_path):
    rec = BackgroundRecorder(tmp_path / "no-such-dir" / "r.csv")
    deadline = time.monotonic() + 5.0
    while rec.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rec.error is not None and "cannot record" in rec.error
    rec.submit(batch_of(("p", Chunk("v", np.ones(5), t0=T_BASE, dt=1.0))))
    assert rec.dropped == {"p": 5}  # counted, not silently lost
    assert rec.close(timeout=5.0)
