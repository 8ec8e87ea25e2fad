"""app.core.recording.csv_file: the CSV contract, at Arrow speed, and recovery after a kill."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.recording.csv_file import HEADER, SLICE_ROWS, CsvRecordingWriter, recover
from producers.wire import Chunk

T_BASE = 1_700_000_000.0
names = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12)
floats = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)


def rows_of(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["timestamp", "producer", "series", "value"]
    return rows[1:]


def same_floats(got, expected) -> bool:
    """Bit for bit (so -0.0 is not 0.0), except that text has one nan: a nan's payload bits
    cannot survive CSV (nor Python's repr), so any nan matches any nan."""
    got, expected = np.array(got, dtype=float), np.array(expected, dtype=float)
    both_nan = np.isnan(got) & np.isnan(expected)
    got[both_nan] = expected[both_nan] = math.nan
    return got.tobytes() == expected.tobytes()


def record(path, *flushes) -> None:
    writer = CsvRecordingWriter(path)
    for chunks in flushes:
        writer.write(chunks)
        writer.flush()
    writer.close()


def test_an_empty_recording_is_exactly_the_header(tmp_path):
    record(tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_bytes() == HEADER == b"timestamp,producer,series,value\n"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    producer=names,
    series=names,
    values=st.lists(floats, min_size=1, max_size=30),
)
def test_names_and_values_read_back_exactly_with_csv_and_pandas(tmp_path, producer, series, values):
    path = tmp_path / "r.csv"
    values += [math.nan, math.inf, -math.inf, -0.0, 5e-324, 2.2250738585072014e-308]
    record(path, [(producer, Chunk(series, np.array(values), t0=T_BASE, dt=0.5))])
    rows = rows_of(path)
    assert [(r[1], r[2]) for r in rows] == [(producer, series)] * len(values)
    assert same_floats([float(r[3]) for r in rows], values)  # bit for bit, nan/-0.0 included
    frame = pd.read_csv(
        path,
        dtype={"producer": str, "series": str},
        keep_default_na=False,  # a name "NA" or "" is a name, not a missing value
        na_values={"value": ["nan"]},
    )
    assert frame["producer"].tolist() == [producer] * len(values)
    assert same_floats(frame["value"].to_numpy(), values)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(0, 1e10) | st.floats(T_BASE, T_BASE + 1e5), min_size=1, max_size=40))
def test_timestamps_have_exactly_six_decimals_as_python_prints_them(tmp_path, seconds):
    path = tmp_path / "r.csv"
    record(path, [("p", Chunk("v", np.zeros(len(seconds)), explicit_times=np.array(seconds)))])
    assert [r[0] for r in rows_of(path)] == [f"{t:.6f}" for t in seconds]


def test_odd_timestamps_fall_back_to_python_text(tmp_path):
    odd = [-1.5, -0.0, math.nan, math.inf, 1e20, 1e-7]
    record(tmp_path / "r.csv", [("p", Chunk("v", np.zeros(6), explicit_times=np.array(odd)))])
    assert [r[0] for r in rows_of(tmp_path / "r.csv")] == [f"{t:.6f}" for t in odd]


def test_flushes_append_in_arrival_order_and_big_flushes_are_sliced(tmp_path):
    n = SLICE_ROWS + 1000
    big = np.arange(n, dtype=float)
    record(
        tmp_path / "r.csv",
        [("a", Chunk("x", np.array([1.0]), t0=T_BASE, dt=1)), ("b", Chunk("x", big, T_BASE, 1e-6))],
        [],  # nothing to write: nothing written
        [("a", Chunk("y", np.array([2.5]), t0=T_BASE + 1, dt=1))],
    )
    rows = rows_of(tmp_path / "r.csv")
    assert len(rows) == n + 2
    assert [(r[1], r[2], r[3]) for r in (rows[0], rows[1], rows[-1])] == [
        ("a", "x", "1"),
        ("b", "x", "0"),
        ("a", "y", "2.5"),
    ]
    assert same_floats([float(r[3]) for r in rows[1:-1]], big)


def test_flush_puts_whole_lines_in_the_file_while_recording(tmp_path):
    path = tmp_path / "r.csv"
    writer = CsvRecordingWriter(path)
    writer.write([("p", Chunk("v", np.array([1.0, 2.0]), t0=T_BASE, dt=1))])
    assert rows_of(path) == []  # write() only holds them
    writer.flush()
    assert len(rows_of(path)) == 2 and path.read_bytes().endswith(b"\n")
    writer.close()


def test_recover_cuts_a_torn_last_line_wherever_the_kill_landed(tmp_path):
    path = tmp_path / "r.csv"
    record(
        path,
        [("new\nline", Chunk('say "hi",\r\n', np.array([1.0, 2.0]), t0=T_BASE, dt=1))],
        [("p", Chunk("v", np.array([3.0, math.nan]), t0=T_BASE + 2, dt=1))],
    )
    full = path.read_bytes()
    expected = rows_of(path)
    for cut in range(len(full) + 1):
        path.write_bytes(full[:cut])
        message = recover(path)
        rows = rows_of(path)
        assert rows == expected[: len(rows)], (cut, message)
        assert path.read_bytes() == full[: len(path.read_bytes())]
        assert "nothing to do" in recover(path)  # idempotent


def test_recover_leaves_a_complete_file_alone_and_refuses_a_foreign_one(tmp_path):
    path = tmp_path / "r.csv"
    record(path, [("p", Chunk("v", np.array([1.0]), t0=T_BASE, dt=1))])
    before = path.read_bytes()
    assert recover(path) == f"{path}: complete (1 rows); nothing to do"
    assert path.read_bytes() == before
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2")
    with pytest.raises(Exception, match="not a CSV recording made by streamscope"):
        recover(other)
    assert other.read_text() == "a,b\n1,2"
