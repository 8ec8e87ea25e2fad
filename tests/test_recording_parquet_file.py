"""app.core.recording.parquet_file: a Parquet file that is valid after every flush and that
`recover` makes readable wherever a kill cut a write short."""

from __future__ import annotations

import math
import struct
import zlib
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.recording.fileio import RecordingError
from app.core.recording.parquet_file import FRAME, FRAME_MAGIC, ParquetRecordingWriter, recover
from producers.wire import Chunk

T_BASE = 1_700_000_000.0
names = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
floats = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)


def flushes_of(n: int) -> list[list[tuple[str, Chunk]]]:
    """n flushes, with a producer and a series that appear late (dictionaries grow)."""
    out = []
    for i in range(n):
        values = np.arange(i * 10, i * 10 + 10, dtype=float)
        chunks = [("a", Chunk("x", values, t0=T_BASE + i, dt=0.1))]
        if i % 3 == 2:
            chunks.append((f"late,{i}", Chunk(f"s\n{i}", np.array([-0.0, math.nan]), T_BASE, 1)))
        out.append(chunks)
    return out


def expected_rows(flushes) -> list[tuple[str, str, float]]:
    return [(p, c.series, v) for chunks in flushes for p, c in chunks for v in c.values.tolist()]


def read_rows(path) -> list[tuple[str, str, float]]:
    table = pq.read_table(path)
    return list(
        zip(
            table.column("producer").to_pylist(),
            table.column("series").to_pylist(),
            table.column("value").to_pylist(),
            strict=True,
        )
    )


def same(rows_a, rows_b) -> bool:
    key = [(p, s, np.float64(v).tobytes()) for p, s, v in rows_a]
    return key == [(p, s, np.float64(v).tobytes()) for p, s, v in rows_b]


def record(path, flushes, *, close: bool = True) -> ParquetRecordingWriter:
    writer = ParquetRecordingWriter(path)
    for chunks in flushes:
        writer.write(chunks)
        writer.flush()
    if close:
        writer.close()
    return writer


def test_schema_and_types_are_what_readers_expect(tmp_path):
    path = tmp_path / "r.parquet"
    record(path, flushes_of(2))
    assert pq.read_schema(path).remove_metadata() == pa.schema(
        [
            ("timestamp", pa.timestamp("ns", tz="UTC")),
            ("producer", pa.dictionary(pa.int32(), pa.string())),
            ("series", pa.dictionary(pa.int32(), pa.string())),
            ("value", pa.float64()),
        ]
    )
    frame = pd.read_parquet(path)
    assert [str(t) for t in frame.dtypes] == [
        "datetime64[ns, UTC]",
        "category",
        "category",
        "float64",
    ]
    exact_ns = round(Fraction(T_BASE + 0.1) * 10**9)  # the float's exact value, to the ns
    assert frame["timestamp"].iloc[1] == pd.Timestamp(exact_ns, tz="UTC")


def test_readable_after_every_flush_with_one_row_group_each(tmp_path):
    path = tmp_path / "r.parquet"
    writer = ParquetRecordingWriter(path)
    assert pq.read_table(path).num_rows == 0  # valid from the moment it exists
    flushes = flushes_of(20)  # > 15 row groups: the footer's long list header
    for i, chunks in enumerate(flushes):
        writer.write(chunks)
        writer.flush()
        assert pq.ParquetFile(path).metadata.num_row_groups == i + 1
        assert same(read_rows(path), expected_rows(flushes[: i + 1]))
    writer.flush()  # nothing new: no empty row group
    writer.close()
    assert pq.ParquetFile(path).metadata.num_row_groups == 20


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(producer=names, series=names, values=st.lists(floats, min_size=1, max_size=20))
def test_names_and_values_read_back_exactly(tmp_path, producer, series, values):
    path = tmp_path / "r.parquet"
    flushes = [[(producer, Chunk(series, np.array(values), t0=T_BASE, dt=1e-3))]] * 2
    record(path, flushes)
    assert same(read_rows(path), expected_rows(flushes))
    assert pd.read_parquet(path)["producer"].astype(str).tolist() == [producer] * 2 * len(values)


def test_undo_last_flush_takes_its_row_group_back_out(tmp_path):
    path = tmp_path / "r.parquet"
    flushes = flushes_of(3)
    writer = record(path, flushes, close=False)
    writer.undo_last_flush()
    writer.close()
    assert same(read_rows(path), expected_rows(flushes[:2]))
    assert "nothing to do" in recover(path)


def test_recover_after_a_kill_during_any_byte_of_a_flush(tmp_path):
    """The flush writes frame + new footer over the old footer: a kill leaves a prefix of the
    new bytes over what remains of the old file. Every such state must recover to the rows of
    the complete flushes (the torn one too, if its row group made it whole)."""
    path = tmp_path / "r.parquet"
    flushes = flushes_of(4)
    record(path, flushes[:3])
    before = path.read_bytes()
    record(path, flushes)
    after = path.read_bytes()
    start = next(i for i in range(len(before)) if before[i] != after[i])
    mini_end = start + 16 + struct.unpack_from("<Q", after, start + 8)[0]
    edges = (start, mini_end, len(after))  # every byte near these, every 29th elsewhere
    cuts = {c for e in edges for c in range(e - 20, e + 21)} | set(range(start, len(after), 29))
    outcomes = set()
    for cut in sorted(c for c in cuts if start <= c <= len(after)):
        path.write_bytes(after[:cut] + before[cut:])
        message = recover(path)
        rows = read_rows(path)
        n_flushes = 3 if len(rows) == len(expected_rows(flushes[:3])) else 4
        assert same(rows, expected_rows(flushes[:n_flushes])), (cut, message)
        outcomes.add((n_flushes, "repaired" in message))
        assert "nothing to do" in recover(path)
    assert {(3, True), (4, True), (4, False)} <= outcomes  # (3, False): nothing written yet


def test_recover_after_truncation_anywhere(tmp_path):
    path = tmp_path / "r.parquet"
    flushes = flushes_of(3)
    record(path, flushes)
    full = path.read_bytes()
    for cut in sorted({*range(0, len(full), 41), *range(0, 64), len(full) - 1}):
        path.write_bytes(full[:cut])
        recover(path)
        rows = read_rows(path)
        assert any(same(rows, expected_rows(flushes[:k])) for k in range(4)), cut
        assert "nothing to do" in recover(path)


def test_recover_leaves_complete_and_foreign_files_alone(tmp_path):
    path = tmp_path / "r.parquet"
    record(path, flushes_of(2))
    before = path.read_bytes()
    assert recover(path) == f"{path}: complete (2 row groups, 20 rows); nothing to do"
    assert path.read_bytes() == before
    foreign = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), foreign)
    data = foreign.read_bytes()
    foreign.write_bytes(data[:-3])
    with pytest.raises(RecordingError, match="not a recording made by streamscope"):
        recover(foreign)
    assert foreign.read_bytes() == data[:-3]


def test_recover_stops_at_a_whole_frame_that_holds_no_parquet_file(tmp_path):
    path = tmp_path / "r.parquet"
    flushes = flushes_of(2)
    writer = record(path, flushes, close=False)
    end = writer._end  # where the footer starts: a frame written there replaces it
    writer.close()
    junk = b"PAR1" + b"not parquet at all" * 50 + b"PAR1"
    head = FRAME.pack(FRAME_MAGIC, zlib.crc32(junk[-64 * 1024 :]), len(junk))
    path.write_bytes(path.read_bytes()[:end] + head + junk)
    assert "repaired: kept 2 row groups (20 rows)" in recover(path)
    assert same(read_rows(path), expected_rows(flushes))


def test_a_long_recording_does_not_rewrite_a_large_footer_on_every_flush(tmp_path):
    """The footer grows by ~310 bytes a row group: once large it is written every few seconds
    (and at close), not after each flush. Between footers the file cannot be read as it is
    (an error, never part of the rows), and recover gets every row flushed."""
    now = [0.0]
    path = tmp_path / "long.parquet"
    writer = ParquetRecordingWriter(path, clock=lambda: now[0])
    flushes = flushes_of(400)  # well over the ~200 row groups of an always-written footer
    for chunks in flushes[:100]:
        writer.write(chunks)
        writer.flush()
    assert same(read_rows(path), expected_rows(flushes[:100]))  # small: valid after each flush
    for chunks in flushes[100:]:
        writer.write(chunks)
        writer.flush()
    with pytest.raises(Exception):  # noqa: B017 - any reader error, as long as it is one
        read_rows(path)
    copy = tmp_path / "as-killed.parquet"  # what a kill -9 would leave now
    copy.write_bytes(path.read_bytes())
    recover(copy)
    assert same(read_rows(copy), expected_rows(flushes))
    now[0] += 60.0  # a footer is due again
    writer.write(flushes_of(1)[0])
    writer.flush()
    assert same(read_rows(path), expected_rows([*flushes, flushes_of(1)[0]]))
    writer.write(flushes_of(1)[0])
    writer.flush()  # not due: no footer...
    writer.close()  # ...until the file is closed
    assert same(read_rows(path), expected_rows([*flushes, *[flushes_of(1)[0]] * 2]))
