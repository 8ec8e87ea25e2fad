"""app.core.recording.formats: the file name's suffix picks the writer; `recover` for all."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.recording import SUPPORTED, RecordingError, check_format, open_writer, recover
from app.core.recording.arrow_stream import ArrowStreamRecordingWriter
from app.core.recording.csv_file import CsvRecordingWriter
from app.core.recording.parquet_file import ParquetRecordingWriter
from producers.wire import Chunk


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("r.csv", CsvRecordingWriter),
        ("r.parquet", ParquetRecordingWriter),
        ("r.arrows", ArrowStreamRecordingWriter),
        ("r.arrow", ArrowStreamRecordingWriter),
        ("R.PARQUET", ParquetRecordingWriter),
    ],
)
def test_the_suffix_picks_the_writer_and_every_format_recovers(tmp_path, name, writer):
    path = tmp_path / name
    opened = open_writer(path)
    assert isinstance(opened, writer)
    opened.write([("p", Chunk("v", np.arange(3.0), t0=1.7e9, dt=1.0))])
    opened.close()
    assert recover(path).endswith("nothing to do")


@pytest.mark.parametrize("name", ["r.txt", "r.feather", "recording", "r.csv.gz"])
def test_an_unsupported_suffix_is_refused_naming_the_supported_ones(tmp_path, name):
    with pytest.raises(RecordingError) as raised:
        check_format(tmp_path / name)
    message = str(raised.value)
    assert "not a recording format" in message and "\n" not in message
    assert all(suffix in message for suffix in (".csv", ".parquet", ".arrows", ".arrow"))
    assert SUPPORTED == (".csv", ".parquet", ".arrows", ".arrow")
    with pytest.raises(RecordingError):
        open_writer(tmp_path / name)
    assert not (tmp_path / name).exists()


def test_recover_of_a_missing_file_is_one_clear_line(tmp_path):
    with pytest.raises(RecordingError, match=r"^cannot recover .*: No such file or directory$"):
        recover(tmp_path / "missing.parquet")
