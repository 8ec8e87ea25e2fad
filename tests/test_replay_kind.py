"""The `replay` kind through a real engine: recordings made by the real recorder (its thread,
or its writers flush by flush) in CSV, Parquet and Arrow IPC, played back to the store and to an
attached recorder-like sink that sees every chunk the pipeline passes on."""

from __future__ import annotations

import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.core.recording import Recorder, open_writer
from producers.wire import Chunk
from tests.helpers import drain_until, engine_row, producer, session_from

pytestmark = pytest.mark.slow

T0 = 1_700_000_000.0
FORMATS = [".csv", ".parquet", ".arrows"]


class Sink:
    """Takes what the pipeline hands a recorder: every chunk, as the store got it."""

    def __init__(self):
        self.chunks: list[tuple[str, Chunk]] = []
        self.arrived: list[float] = []  # when each chunk was drained

    def submit(self, chunks) -> bool:
        self.chunks.extend(chunks)
        self.arrived.extend([time.time()] * len(chunks))
        return True

    def series(self, producer: str = "r") -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out: dict[str, tuple[list, list]] = {}
        for name, chunk in self.chunks:
            if name == producer:
                times, values = out.setdefault(chunk.series, ([], []))
                times.append(chunk.timestamps)
                values.append(chunk.values)
        return {s: (np.concatenate(t), np.concatenate(v)) for s, (t, v) in out.items()}

    def close(self, timeout: float):
        return None

    @property
    def samples(self) -> int:
        return sum(len(c) for _, c in self.chunks)


def recorded(span: float, rate: float, flushes: int = 10) -> list[list[tuple[str, Chunk]]]:
    """Per flush, chunks of producers a (series value) and b (series x, y): `span` seconds at
    `rate` per series, random values (any float survives the round trip)."""
    rng = np.random.default_rng(7)
    n = round(span * rate / flushes)
    out = []
    for i in range(flushes):
        t0 = T0 + i * n / rate
        out.append(
            [
                ("a", Chunk("value", rng.normal(size=n), t0=t0, dt=1 / rate)),
                ("b", Chunk("x", rng.normal(size=n) * 1e6, t0=t0, dt=1 / rate)),
                ("b", Chunk("y", rng.uniform(-1, 1, n), t0=t0 + 0.5 / rate, dt=1 / rate)),
            ]
        )
    return out


def with_recorder(path, flushes) -> None:
    """The real recorder: its thread, its queue, its file."""
    rec = Recorder(path)
    assert rec.wait_ready(5.0) is None
    for chunks in flushes:
        assert rec.submit(chunks)
    summary = rec.close(timeout=10.0)
    assert summary.finished and summary.error is None


def with_writer(path, flushes) -> None:
    """The recorder's writer, one flush (row group, batch, lines) per element."""
    writer = open_writer(path)
    for chunks in flushes:
        writer.write(chunks)
        writer.flush()
    writer.close()


def expected(flushes, keep=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, tuple[list, list]] = {}
    for chunks in flushes[:keep]:
        for name, chunk in chunks:
            times, values = out.setdefault(f"{name}/{chunk.series}", ([], []))
            times.append(chunk.timestamps)
            values.append(chunk.values)
    return {s: (np.concatenate(t), np.concatenate(v)) for s, (t, v) in out.items()}


def replay(engines, path, **params):
    engine = engines(session_from(producer("r", "replay", path=str(path), **params)))
    sink = Sink()
    engine.attach_recorder(sink)
    engine.start_autostart()
    return engine, sink


def assert_shifted(got, want, tolerance: float) -> float:
    """Same series, same values bit for bit, timestamps moved by one constant. Returns it."""
    assert sorted(got) == sorted(want)
    shifts = []
    for name, (times, values) in want.items():
        got_times, got_values = got[name]
        assert got_values.tobytes() == values.tobytes(), name
        shift = got_times - times
        shifts.append(shift)
    shifts = np.concatenate(shifts)
    assert shifts.max() - shifts.min() < tolerance
    return float(np.median(shifts))


@pytest.mark.parametrize("suffix", FORMATS)
def test_speed_0_every_sample_arrives_shifted_to_end_now(engines, tmp_path, suffix):
    flushes = recorded(span=2.0, rate=50_000)
    path = tmp_path / f"rec{suffix}"
    with_recorder(path, flushes)
    want = expected(flushes)
    total = sum(len(v) for _, v in want.values())
    started = time.time()
    engine, sink = replay(engines, path, speed=0.0)
    drain_until(engine, lambda: sink.samples >= total, timeout=30)
    drain_until(engine, lambda: "done" in engine_row(engine, "r").state_text)
    got = sink.series()
    assert sink.samples == total
    # CSV keeps microseconds; the others nanoseconds (then within a float's rounding)
    shift = assert_shifted(got, want, tolerance=2e-6 if suffix == ".csv" else 1e-6)
    last = max(t.max() for t, _ in got.values())
    assert started <= last <= time.time()  # the recording ends when the replay started
    assert last - shift == pytest.approx(max(t.max() for t, _ in want.values()), abs=2e-6)
    for key in engine.store.series_keys():
        assert engine.store.stats(key)[1] == 0  # nothing late
    row = engine_row(engine, "r")
    assert row.error == "" and f"done: {total:,} samples, 2.0 s" in row.state_text
    assert engine.counters.snapshot("r").dropped == 0


def test_producer_param_picks_one_recorded_producer(engines, tmp_path):
    flushes = recorded(span=0.5, rate=10_000)
    path = tmp_path / "rec.parquet"
    with_writer(path, flushes)
    want = {k.split("/")[1]: v for k, v in expected(flushes).items() if k.startswith("b/")}
    engine, sink = replay(engines, path, speed=0.0, producer="b")
    drain_until(engine, lambda: "done" in engine_row(engine, "r").state_text)
    assert_shifted(sink.series(), want, tolerance=1e-6)
    assert sorted(engine.store.series_keys()) == [("r", "x"), ("r", "y")]


def test_speed_1_takes_as_long_as_the_recording(engines, tmp_path):
    flushes = recorded(span=1.5, rate=2_000, flushes=15)
    path = tmp_path / "rec.csv"
    with_recorder(path, flushes)
    total = sum(len(c) for chunks in flushes for _, c in chunks)
    engine, sink = replay(engines, path, speed=1.0)
    drain_until(engine, lambda: sink.samples >= total, timeout=30)
    took = sink.arrived[-1] - sink.arrived[0]
    assert 1.0 < took < 3.0  # not instantaneous, not more than 2x
    drain_until(engine, lambda: "done" in engine_row(engine, "r").state_text)
    assert sink.samples == total
    for (_, chunk), arrived in zip(sink.chunks, sink.arrived, strict=True):
        assert chunk.timestamps[-1] <= arrived + 0.01  # sent when due: never ahead of time
    assert_shifted(sink.series(), expected(flushes), tolerance=2e-6)


def test_speed_10_plays_ten_times_faster_timestamps_squeezed(engines, tmp_path):
    flushes = recorded(span=3.0, rate=1_000, flushes=6)
    path = tmp_path / "rec.parquet"
    with_writer(path, flushes)
    total = sum(len(c) for chunks in flushes for _, c in chunks)
    engine, sink = replay(engines, path, speed=10.0)
    drain_until(engine, lambda: sink.samples >= total, timeout=30)
    assert 0.15 < sink.arrived[-1] - sink.arrived[0] < 0.6
    times, _ = sink.series()["a/value"]
    assert np.diff(times) == pytest.approx(1e-4, abs=1e-6)


def test_loop_time_keeps_increasing(engines, tmp_path):
    flushes = recorded(span=0.3, rate=1_000, flushes=3)
    path = tmp_path / "rec.arrows"
    with_writer(path, flushes)
    per_loop = sum(len(c) for chunks in flushes for _, c in chunks)
    engine, sink = replay(engines, path, speed=0.0, loop=True)
    drain_until(engine, lambda: sink.samples >= 3 * per_loop, timeout=30)
    assert "loop" in engine_row(engine, "r").state_text
    for name, (times, values) in sink.series().items():
        assert (np.diff(times) > 0).all(), name  # across loops too: never back
        once = expected(flushes)[name][1]
        assert values[: 3 * len(once)].tobytes() == np.tile(once, 3).tobytes()
    assert max(t.max() for t, _ in sink.series().values()) <= time.time()  # none in the future
    for key in engine.store.series_keys():
        assert engine.store.stats(key)[1] == 0


def test_cut_short_recordings_replay_what_can_be_read(engines, tmp_path):
    flushes = recorded(span=0.4, rate=5_000, flushes=4)
    paths = {}
    for suffix in FORMATS:
        path = paths[suffix] = tmp_path / f"cut{suffix}"
        with_writer(path, flushes)
    # as a kill -9 in the middle of the last write leaves them
    data = paths[".csv"].read_bytes()
    paths[".csv"].write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 9])
    whole = paths[".parquet"].stat().st_size
    last_frame = paths[".parquet"].read_bytes().rindex(b"SSRG")
    os.truncate(paths[".parquet"], last_frame + (whole - last_frame) // 2)
    with pa.ipc.open_stream(paths[".arrows"]) as reader:
        sizes = [b.num_rows for b in reader]
    os.truncate(paths[".arrows"], paths[".arrows"].stat().st_size - 200)
    session = "".join(
        producer(f"r{s[1:]}", "replay", path=str(p), speed=0.0) for s, p in paths.items()
    )
    engine = engines(session_from(session))
    sink = Sink()
    engine.attach_recorder(sink)
    engine.start_autostart()
    names = [f"r{s[1:]}" for s in FORMATS]
    drain_until(engine, lambda: all("done" in engine_row(engine, n).state_text for n in names))
    csv_rows = sum(len(c) for chunks in flushes for _, c in chunks) - 1
    three = sum(len(c) for chunks in flushes[:3] for _, c in chunks)
    want = {"rcsv": csv_rows, "rparquet": three, "rarrows": sum(sizes[:-1])}
    for name in names:
        row = engine_row(engine, name)
        assert "recording cut short" in row.state_text, row.state_text
        assert "cut short" in row.traceback and row.error == ""  # the details say why
        assert sum(len(c) for n, c in sink.chunks if n == name) == want[name], name
    assert_shifted(sink.series("rparquet"), expected(flushes, keep=3), tolerance=1e-6)


def test_unreadable_rows_are_counted_not_fatal(engines, tmp_path):
    path = tmp_path / "rec.csv"
    lines = ["timestamp,producer,series,value"]
    lines += [f"{T0 + i * 0.01:.6f},a,value,{i}" for i in range(100)]
    lines[10] = f"{T0 + 0.09:.6f},a,value,oops"
    lines[20] = "not-a-time,a,value,3"
    lines[30] = "1,2"
    path.write_text("\n".join(lines) + "\n")
    engine, sink = replay(engines, path, speed=0.0)
    drain_until(engine, lambda: "done" in engine_row(engine, "r").state_text)
    row = engine_row(engine, "r")
    assert sink.samples == 97
    assert row.error.startswith("3 unreadable rows"), row.error
    assert "oops" in row.traceback and "not-a-time" in row.traceback


HOSTILE = {
    "columns": lambda p: p.write_text("time,name,reading\n1,a,2\n"),
    "binary": lambda p: p.write_bytes(bytes(range(256)) * 64),
    "empty": lambda p: p.write_bytes(b""),
    "parquet_columns": lambda p: pq.write_table(pa.table({"t": [1.0], "v": [2.0]}), p),
    "truncated_parquet": lambda p: (
        pq.write_table(pa.table({"timestamp": [1.0] * 1000, "value": [2.0] * 1000}), p),
        os.truncate(p, p.stat().st_size // 2),
    ),
    "directory": lambda p: p.mkdir(),
}
MESSAGES = {
    "columns": "expected a recording made by `streamscope record`",
    "binary": "expected a recording made by `streamscope record`",
    "empty": "empty file; expected",
    "parquet_columns": "expected columns timestamp, producer, series, value; found t, v",
    "truncated_parquet": "not a readable Parquet file",
    "directory": "not a regular file",
}


def test_hostile_files_are_one_clear_error(engines, tmp_path):
    session = ""
    for name, make in HOSTILE.items():
        make(tmp_path / name)
        session += producer(name, "replay", path=str(tmp_path / name), speed=0.0)
    engine = engines(session_from(session))
    engine.start_autostart()
    drain_until(engine, lambda: all(engine_row(engine, n).error for n in HOSTILE))
    for name, message in MESSAGES.items():
        error = engine_row(engine, name).error
        assert message in error and "\n" not in error, (name, error)


def test_replayed_twice_the_second_run_starts_the_series_afresh_none_late(engines, tmp_path):
    """The second run ends at its own "now" again, before the first run's newest sample: its
    samples would all be late in the old series (all of them were, before)."""
    flushes = recorded(span=30.0, rate=1_000)  # far longer than the pause between runs
    path = tmp_path / "rec.parquet"
    with_writer(path, flushes)
    want = expected(flushes)
    total = sum(len(v) for _, v in want.values())
    engine, sink = replay(engines, path, speed=0.0)
    drain_until(engine, lambda: sink.samples >= total, timeout=30)
    drain_until(engine, lambda: "done" in engine_row(engine, "r").state_text)
    engine.stop("r")
    drain_until(engine, lambda: engine_row(engine, "r").state.value == "STOPPED")
    engine.start("r")
    drain_until(engine, lambda: sink.samples >= 2 * total, timeout=30)
    assert sink.samples == 2 * total
    for name, (_, values) in want.items():
        stored, late = engine.store.stats(("r", name))
        assert (stored, late) == (len(values), 0), name
    assert engine.store.restarted == len(want)
