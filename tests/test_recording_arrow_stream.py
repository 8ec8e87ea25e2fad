"""app.core.recording.arrow_stream: an IPC stream whose dictionaries grow by deltas, and whose
torn tail costs only the batch being written."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.recording.arrow_stream import ArrowStreamRecordingWriter, recover
from app.core.recording.columns import SCHEMA
from app.core.recording.fileio import RecordingError
from producers.wire import Chunk

T_BASE = 1_700_000_000.0
names = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


def flushes_of(n: int) -> list[list[tuple[str, Chunk]]]:
    """A new producer every flush and a new series every other: dictionaries keep growing."""
    return [
        [
            ("base", Chunk("v", np.arange(5.0) + 5 * i, t0=T_BASE + i, dt=0.1)),
            (f"p{i}", Chunk(f"s{i // 2}", np.array([math.nan, -0.0, i]), t0=T_BASE, dt=1)),
        ]
        for i in range(n)
    ]


def expected_rows(flushes) -> list[tuple]:
    return [
        (p, c.series, np.float64(v).tobytes())
        for chunks in flushes
        for p, c in chunks
        for v in c.values
    ]


def rows_of(table: pa.Table) -> list[tuple]:
    cols = [table.column(n).to_pylist() for n in ("producer", "series", "value")]
    return [(p, s, np.float64(v).tobytes()) for p, s, v in zip(*cols, strict=True)]


def record(path, flushes, *, close: bool = True) -> ArrowStreamRecordingWriter:
    writer = ArrowStreamRecordingWriter(path)
    for chunks in flushes:
        writer.write(chunks)
        writer.flush()
    if close:
        writer.close()
    return writer


def test_a_new_recording_is_already_a_valid_empty_stream(tmp_path):
    path = tmp_path / "r.arrows"
    writer = ArrowStreamRecordingWriter(path)
    table = pa.ipc.open_stream(path).read_all()
    assert table.schema == SCHEMA and table.num_rows == 0
    writer.close()


def test_growing_dictionaries_read_back_with_pyarrow_and_pandas(tmp_path):
    path = tmp_path / "r.arrows"
    flushes = flushes_of(6)
    record(path, flushes)
    table = pa.ipc.open_stream(path).read_all()
    assert table.schema == SCHEMA
    assert rows_of(table) == expected_rows(flushes)
    frame = table.to_pandas()
    assert frame["producer"].astype(str).tolist() == [r[0] for r in expected_rows(flushes)]
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(names, names), min_size=1, max_size=6))
def test_any_names_in_any_order_read_back(tmp_path, pairs):
    path = tmp_path / "r.arrows"
    flushes = [[(p, Chunk(s, np.array([1.5]), t0=T_BASE, dt=1))] for p, s in pairs]
    record(path, flushes)
    assert rows_of(pa.ipc.open_stream(path).read_all()) == expected_rows(flushes)


def test_a_stream_cut_anywhere_gives_its_complete_batches_and_recovers(tmp_path):
    path = tmp_path / "r.arrows"
    flushes = flushes_of(4)
    ends = []
    writer = ArrowStreamRecordingWriter(path)
    for chunks in flushes:
        writer.write(chunks)
        writer.flush()
        ends.append(path.stat().st_size)
    writer.close()
    full = path.read_bytes()
    edges = {c for e in ends for c in range(e - 9, e + 10)}
    for cut in sorted({*range(0, len(full) + 1, 11), *edges} & set(range(len(full) + 1))):
        path.write_bytes(full[:cut])
        whole = sum(1 for end in ends if end <= cut)
        batches = []
        if cut:
            # a reader that goes batch by batch gets every complete one, then an error
            with contextlib.suppress(pa.ArrowInvalid, OSError):
                batches.extend(pa.ipc.open_stream(path))
        expected = expected_rows(flushes[:whole])
        assert rows_of(pa.Table.from_batches(batches, SCHEMA)) == expected, cut
        recover(path)
        assert rows_of(pa.ipc.open_stream(path).read_all()) == expected, cut
        assert "nothing to do" in recover(path)


def test_undo_last_flush_cuts_its_batch_off(tmp_path):
    path = tmp_path / "r.arrows"
    flushes = flushes_of(3)
    writer = record(path, flushes, close=False)
    writer.undo_last_flush()
    writer.close()
    assert rows_of(pa.ipc.open_stream(path).read_all()) == expected_rows(flushes[:2])


def test_recover_leaves_a_complete_file_alone_and_refuses_a_foreign_one(tmp_path):
    path = tmp_path / "r.arrows"
    record(path, flushes_of(2))
    before = path.read_bytes()
    assert recover(path) == f"{path}: complete (2 batches, 16 rows); nothing to do"
    assert path.read_bytes() == before
    other = tmp_path / "other.arrows"
    other.write_bytes(b"certainly not arrow" * 100)
    with pytest.raises(RecordingError, match="not an Arrow IPC stream"):
        recover(other)
    assert other.read_bytes() == b"certainly not arrow" * 100
