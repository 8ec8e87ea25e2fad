"""app.core.export without a window: the samples of a time range written as CSV, Parquet or an
Arrow stream (by the suffix) by the recording writers, so that they read back as recordings do:
with pyarrow, and with the `replay` kind."""

from __future__ import annotations

import csv
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.core import export
from app.core.recording.columns import SCHEMA
from app.core.store import SeriesStore
from producers.builtin.recording_reader import RecordingReader
from producers.wire import Chunk
from tests.helpers import drain_until, engine_row
from tests.test_replay_kind import assert_shifted, replay

T1 = 1_700_000_000.0
A, B = ("a", "value"), ("b", "x")
BINARY = [".parquet", ".arrows", ".arrow"]


@pytest.fixture
def fed():
    """A store holding two series, one regular and one at irregular times that interleave with
    it (and share some of its timestamps), every sample still in the raw ring; and what was fed,
    per series: (times, values)."""
    store = SeriesStore(raw_capacity=1 << 14, bucket_capacity=1024)
    rng = np.random.default_rng(3)
    a = Chunk(A[1], rng.normal(size=1000), t0=T1 - 10, dt=0.01)
    b_times = np.sort(np.concatenate([T1 - 10 + rng.uniform(0, 10, 600), a.timestamps[::10]]))
    b = Chunk(B[1], rng.normal(size=len(b_times)) * 1e6, explicit_times=b_times)
    assert store.append(A[0], a) and store.append(B[0], b)
    return store, {A: (a.timestamps, a.values), B: (b_times, b.values)}


def wanted(fed_series, keys, t0, t1):
    """The rows an export of `keys` over [t0, t1] holds: every sample in range, merged in time
    order, a tie in the order of `keys`."""
    rows = []
    for rank, key in enumerate(keys):
        times, values = fed_series[key]
        inside = (times >= t0) & (times <= t1)
        rows += [
            (t, rank, i, key, v)
            for i, (t, v) in enumerate(zip(times[inside], values[inside], strict=True))
        ]
    rows.sort(key=lambda r: r[:3])
    return [(t, key, v) for t, _, _, key, v in rows]


def read_table(path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    with pa.ipc.open_stream(path) as reader:
        return reader.read_all()


def exact_ns(t: float) -> int:
    return round(Fraction(t) * 10**9)  # exact, ties to even


@pytest.mark.parametrize("suffix", BINARY)
def test_binary_exports_hold_the_samples_in_range_as_a_recording_does(fed, tmp_path, suffix):
    store, series = fed
    t0, t1 = T1 - 6.5, T1 - 1.25
    path = tmp_path / f"visible{suffix}"
    written = export.write_file(export.gather(store, [A, B], t0, t1), path)
    want = wanted(series, [A, B], t0, t1)
    assert written == len(want) > 500
    table = read_table(path)
    assert table.schema == SCHEMA  # the recording's columns and types
    assert table.num_rows == len(want)
    ns = table.column("timestamp").cast(pa.int64()).to_pylist()
    assert ns == [exact_ns(t) for t, _, _ in want]
    assert table.column("producer").to_pylist() == [k[0] for _, k, _ in want]
    assert table.column("series").to_pylist() == [k[1] for _, k, _ in want]
    assert np.array_equal(table.column("value").to_numpy(), [v for _, _, v in want])
    reader = RecordingReader(str(path))  # what the replay kind reads with: whole, not cut short
    assert reader.cut_short == "" and sum(len(rows) for rows in reader.batches()) == len(want)


def test_csv_parquet_and_arrow_exports_hold_the_same_rows(fed, tmp_path):
    store, _ = fed
    gathered = export.gather(store, [B, A], T1 - 8, T1)
    for suffix in [".csv", *BINARY]:
        export.write_file(gathered, tmp_path / f"x{suffix}")
    parquet = read_table(tmp_path / "x.parquet")
    assert parquet.equals(read_table(tmp_path / "x.arrows"))
    assert parquet.equals(read_table(tmp_path / "x.arrow"))
    with open(tmp_path / "x.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["timestamp", "producer", "series", "value"]
    seconds = [
        Fraction(ns, 10**9) for ns in parquet.column("timestamp").cast(pa.int64()).to_pylist()
    ]
    assert [r[0] for r in rows[1:]] == [f"{float(s):.6f}" for s in seconds]
    assert [(r[1], r[2]) for r in rows[1:]] == list(
        zip(
            parquet.column("producer").to_pylist(),
            parquet.column("series").to_pylist(),
            strict=True,
        )
    )
    assert [float(r[3]) for r in rows[1:]] == parquet.column("value").to_pylist()


def test_export_csv_writes_csv_whatever_the_name(fed, tmp_path):
    store, _ = fed
    path = tmp_path / "samples.txt"
    export.write_csv(export.gather(store, [A], T1 - 1, T1), path)
    assert path.read_text().startswith("timestamp,producer,series,value\n")


@pytest.mark.parametrize("suffix", BINARY)
def test_nothing_visible_is_a_readable_empty_file(fed, tmp_path, suffix):
    store, _ = fed
    path = tmp_path / f"empty{suffix}"
    assert export.write_file(export.gather(store, [], T1 - 5, T1), path) == 0
    table = read_table(path)
    assert table.num_rows == 0 and table.schema == SCHEMA


def test_an_unknown_suffix_is_refused_naming_the_formats(fed, tmp_path):
    store, _ = fed
    path = tmp_path / "samples.xlsx"
    with pytest.raises(ValueError, match=r"\*\.csv, \*\.parquet, \*\.arrows, \*\.arrow"):
        export.write_file(export.gather(store, [A], T1 - 5, T1), path)
    assert not path.exists()
    assert export.format_of(tmp_path / "X.PARQUET") == ".parquet"


@pytest.mark.parametrize("suffix", [".csv", *BINARY])
def test_a_failed_export_says_why_and_leaves_no_file(fed, tmp_path, suffix):
    store, _ = fed
    path = tmp_path / "no such folder" / f"x{suffix}"
    with pytest.raises(OSError, match="No such file or directory"):
        export.write_file(export.gather(store, [A], T1 - 5, T1), path)
    assert not path.exists()


@pytest.mark.slow
def test_an_exported_parquet_file_replays(fed, engines, tmp_path):
    store, series = fed
    path = tmp_path / "visible.parquet"
    t0, t1 = T1 - 7, T1 - 2
    total = export.write_file(export.gather(store, [A, B], t0, t1), path)
    engine, sink = replay(engines, path, speed=0.0)
    drain_until(engine, lambda: "done" in engine_row(engine, "r").state_text, timeout=30)
    assert sink.samples == total
    want = {}
    for key in (A, B):
        times, values = series[key]
        inside = (times >= t0) & (times <= t1)
        want[f"{key[0]}/{key[1]}"] = (times[inside], values[inside])
    assert_shifted(sink.series(), want, tolerance=1e-6)  # each value as exported, times moved
    assert engine_row(engine, "r").error == ""
