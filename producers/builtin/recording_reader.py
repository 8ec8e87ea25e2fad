"""Reading a recording made by `streamscope record` back, in bounded memory, whatever its format.

Why a reader of its own rather than `app.core.recording`: producers run in the child and import
nothing of the app (tests/test_layers.py); the formats are plain files, so reading them needs
only pyarrow. The one thing shared with the writer is the Parquet frame layout below
(app/core/recording/parquet_file.py): walking the frames, each a complete Parquet file of one
row group, reads a recording whose footer a crash left torn or missing, with no repair first.

The format is told by the file's first bytes, not its name: `PAR1` (Parquet), the Arrow IPC
stream's continuation marker or `ARROW1` (the Arrow file format), else a CSV whose header names
timestamp, producer, series and value. Anything else is a `NotARecording` with one line that
says what was expected. A recording cut short (a torn last line, frame or batch; no footer or
end-of-stream marker) is read up to the cut, and `cut_short` says so.

Rows come as `Rows` of a few tens of thousands: epoch seconds and values as float64, and a code
per row naming its (producer, series). A row whose timestamp or value cannot be read is left
out and counted (`on_bad`), never an exception.
"""

from __future__ import annotations

import csv
import os
import stat
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

COLUMNS = ("timestamp", "producer", "series", "value")
BATCH_ROWS = 1 << 16
CSV_BLOCK = 4 << 20  # bytes pyarrow parses at once: ~100k rows
EXPECTED = (
    "expected a recording made by `streamscope record`: CSV with the header "
    "timestamp,producer,series,value, Parquet, or an Arrow IPC stream"
)
# The Parquet layout of app/core/recording/parquet_file.py: "PAR1", then frames of
# "SSRG" | crc32 of the mini file's last 64 KiB | length | a complete Parquet file.
FRAME = struct.Struct("<4sIQ")
FRAME_MAGIC = b"SSRG"
FRAME_CRC_SPAN = 64 * 1024
ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"
ARROW_EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"

BadRows = Callable[[int, list[str]], None]  # (count, examples)


class NotARecording(ValueError):
    """The file cannot be replayed at all; the message is one line naming the file."""


@dataclass
class Rows:
    """One batch: `seconds[i]`, `values[i]` and `codes[i]`, an index into `names` (the
    (producer, series) of the row). Rows whose producer is filtered out are not here."""

    seconds: np.ndarray
    values: np.ndarray
    codes: np.ndarray
    names: list[tuple[str, str]]

    def __len__(self) -> int:
        return len(self.values)


class RecordingReader:
    """Opens `path` (checks what it is at once) and reads it in batches, as often as asked.
    `producer`: only that recorded producer's rows ("" = all)."""

    def __init__(self, path: str, producer: str = "", on_bad: BadRows | None = None):
        self.path = path
        self.producer = producer
        self._on_bad = on_bad or (lambda n, examples: None)
        self._quiet = False  # bad rows are counted in the first pass over the rows only
        self.cut_short = ""  # why the recording ends early, once known
        self.producers_seen: set[str] = set()
        try:
            st = os.stat(path)
        except OSError as exc:
            raise NotARecording(f"{path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(st.st_mode):
            raise NotARecording(f"{path}: not a regular file; {EXPECTED}")
        self.size = st.st_size
        with open(path, "rb") as f:
            head = f.read(64 << 10)
        if not head:
            raise NotARecording(f"{path}: empty file; {EXPECTED}")
        if head.startswith(b"PAR1"):
            self.format, self._source = "Parquet", _Parquet(self, head)
        elif head.startswith(ARROW_STREAM_MAGIC) or head.startswith(b"ARROW1"):
            self.format, self._source = "Arrow IPC", _Arrow(self, head)
        else:
            self.format, self._source = "CSV", _Csv(self, head)

    def batches(self) -> Iterator[Rows]:
        """Every row from the start, in file order, in batches."""
        for batch in self._source.batches(("timestamp", "producer", "series", "value")):
            rows = self._rows(batch)
            if rows is not None and len(rows):
                yield rows
        self._quiet = True  # a loop's next pass: the same rows, told once

    def bad(self, count: int, examples: list[str]) -> None:
        if not self._quiet:
            self._on_bad(count, examples)

    def known_range(self) -> tuple[float, float] | None:
        """(first, last) timestamp if the file says so without a pass (Parquet statistics, and
        no producer picked), else None."""
        return None if self.producer else self._source.stats_range()

    def time_range(self) -> tuple[float, float] | None:
        """(first, last) timestamp of the rows to replay; None if there are none. From the
        Parquet statistics when there (and no producer is picked), else one pass over the
        timestamps (and the producer column if picking)."""
        known = self.known_range()
        if known is not None:
            return known
        lo, hi = np.inf, -np.inf
        columns = ("timestamp", "producer") if self.producer else ("timestamp",)
        quiet, self._quiet = self._quiet, True
        try:
            for batch in self._source.batches(columns):
                seconds, ok = _seconds(batch.column("timestamp"))
                if self.producer:
                    ok &= self._picked(batch.column("producer"))
                if ok.any():
                    lo, hi = min(lo, seconds[ok].min()), max(hi, seconds[ok].max())
        finally:
            self._quiet = quiet
        return (float(lo), float(hi)) if lo <= hi else None

    # -- one batch to Rows -----------------------------------------------------------------------
    def _picked(self, column) -> np.ndarray:
        import pyarrow.compute as pc

        return np.asarray(pc.fill_null(pc.equal(column, self.producer), False))

    def _rows(self, batch) -> Rows | None:
        n = batch.num_rows
        producers = _as_dictionary(batch.column("producer"))
        series = _as_dictionary(batch.column("series"))
        pnames = producers.dictionary.to_pylist()
        pidx = _indices(producers)
        snames = series.dictionary.to_pylist()
        self.producers_seen.update(pnames[i] for i in np.flatnonzero(np.bincount(pidx)))
        keep = np.ones(n, bool)
        if self.producer:
            if self.producer not in pnames:
                return None
            keep = pidx == pnames.index(self.producer)
        keep &= producers.is_valid().to_numpy(zero_copy_only=False)
        keep &= series.is_valid().to_numpy(zero_copy_only=False)
        seconds, good_t = _seconds(batch.column("timestamp"))
        values, good_v = _values(batch.column("value"))
        bad = keep & ~(good_t & good_v)
        if bad.any():
            self._report_bad(batch, bad)
        keep &= good_t & good_v
        codes = pidx.astype(np.int64) * max(len(snames), 1) + _indices(series)
        if not keep.all():
            seconds, values, codes = seconds[keep], values[keep], codes[keep]
        if not len(codes):
            return None
        used = np.flatnonzero(np.bincount(codes))  # codes are small: no sort needed
        if len(used) == 1:
            codes = np.zeros(len(codes), np.int32)
        else:
            remap = np.zeros(int(used[-1]) + 1, np.int32)
            remap[used] = np.arange(len(used), dtype=np.int32)
            codes = remap[codes]
        names = [(pnames[c // len(snames)], snames[c % len(snames)]) for c in used.tolist()]
        return Rows(seconds, values, codes, names)

    def _report_bad(self, batch, bad: np.ndarray) -> None:
        where = np.flatnonzero(bad)
        examples = []
        for i in where[-3:].tolist():
            t, v = batch.column("timestamp")[i].as_py(), batch.column("value")[i].as_py()
            examples.append(f"timestamp {t!r:.60}, value {v!r:.60}")
        self.bad(len(where), examples)


def _as_dictionary(column):
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        return column
    return column.cast(pa.string()).dictionary_encode()


def _indices(column) -> np.ndarray:
    """The dictionary indices of `column` (nulls as 0: masked by the caller)."""
    indices = column.indices
    if indices.null_count:
        indices = indices.fill_null(0)
    return indices.to_numpy(zero_copy_only=False)


def _floats(column) -> tuple[np.ndarray, np.ndarray]:
    """`column` (numbers or text) as float64, and which rows hold a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            column = pc.cast(column, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # some row is not a number
            texts = column.to_pylist()
            out, ok = np.zeros(len(texts)), np.ones(len(texts), bool)
            for i, text in enumerate(texts):
                try:
                    out[i] = float(text)
                except (TypeError, ValueError):
                    ok[i] = False
            return out, ok
    elif not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
        return np.zeros(len(column)), np.zeros(len(column), bool)
    ok = column.is_valid().to_numpy(zero_copy_only=False)
    out = column.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
    return out, ok


def _seconds(column) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds (float64) of a timestamp column (any unit, or numbers of seconds), and
    which rows have a usable (finite) one."""
    import pyarrow as pa

    if pa.types.is_timestamp(column.type):
        per = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[column.type.unit]
        ok = column.is_valid().to_numpy(zero_copy_only=False)
        ticks = column.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        whole, part = np.divmod(ticks, per)  # exact; then within one ulp of ticks / per
        return whole.astype(np.float64) + part * (1.0 / per), ok
    seconds, ok = _floats(column)
    return seconds, ok & np.isfinite(seconds)


def _values(column) -> tuple[np.ndarray, np.ndarray]:
    return _floats(column)


def _check_columns(path: str, names) -> None:
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        found = ", ".join(list(names)[:8]) or "none"
        raise NotARecording(
            f"{path}: not a recording: expected columns timestamp, producer, series, value; "
            f"found {found}"
        )


# -- the formats ----------------------------------------------------------------------------------
class _Csv:
    def __init__(self, reader: RecordingReader, head: bytes):
        self.r = reader
        line = head.split(b"\n", 1)[0].rstrip(b"\r")
        try:
            names = next(csv.reader([line.decode("utf-8")]))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            raise NotARecording(f"{reader.path}: not a recording; {EXPECTED}") from None
        if len(set(names) & set(COLUMNS)) < 2:
            raise NotARecording(f"{reader.path}: not a recording; {EXPECTED}")
        _check_columns(reader.path, names)
        self.end = reader.size
        with open(reader.path, "rb") as f:
            f.seek(max(0, reader.size - 1))
            last = f.read(1)
            if last != b"\n":
                self.end = _last_newline(f, reader.size)
                reader.cut_short = "its last line is cut short (the recorder stopped mid-write)"

    def batches(self, columns) -> Iterator:
        """Numbers parsed by the CSV reader itself (2.5x faster than as text, then cast); if
        some row holds no number there, that pass stops, and the rest is read as text (same
        blocks, so the rows already given are skipped whole), where a bad row is only counted."""
        import pyarrow as pa

        given = 0
        try:
            for batch in self._reader(columns, numbers=True, quiet_rows=-1):
                given += batch.num_rows
                yield batch
            return
        except pa.ArrowInvalid:
            pass
        seen = 0
        for batch in self._reader(columns, numbers=False, quiet_rows=given):
            seen += batch.num_rows
            if seen <= given:
                continue
            yield batch.slice(max(0, batch.num_rows - (seen - given)))

    def _reader(self, columns, numbers: bool, quiet_rows: int):
        import pyarrow as pa
        import pyarrow.csv as pacsv

        rows = 0  # in the blocks before this one; up to the one that stopped the first pass
        # (included: parsed whole before its numbers failed) that pass told the invalid rows

        def invalid(row) -> str:
            if rows > quiet_rows:
                self.r.bad(1, [f"line {row.number}: {row.text[:80]!r}"])
            return "skip"

        names = pa.dictionary(pa.int32(), pa.string())
        number = pa.float64() if numbers else pa.string()
        types = {"timestamp": number, "value": number, "producer": names, "series": names}
        if self.end == self.r.size:
            source = self.r.path
        else:
            source = pa.BufferReader(pa.memory_map(self.r.path).read_buffer(self.end))
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c: types[c] for c in columns},
                include_columns=list(columns),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            rows += batch.num_rows
            yield batch

    def stats_range(self):
        return None


def _last_newline(f, size: int) -> int:
    """Bytes up to and including the file's last newline (0 if none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - (1 << 16))
        f.seek(start)
        block = f.read(pos - start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        pos = start
    return 0


class _Parquet:
    def __init__(self, reader: RecordingReader, head: bytes):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.r = reader
        path = reader.path
        self._map = pa.memory_map(path).read_buffer(reader.size)  # zero-copy: pages on demand
        self.files: list = []  # one ParquetFile per frame (ours), or the whole file (others)
        try:
            if head[4:8] == FRAME_MAGIC:
                self._frames()
            else:
                self.files = [pq.ParquetFile(pa.BufferReader(self._map))]
        except (pa.ArrowException, OSError, ValueError) as exc:
            reason = _first_line(exc)
            raise NotARecording(f"{path}: not a readable Parquet file ({reason})") from None
        if self.files:
            _check_columns(path, self.files[0].schema_arrow.names)
        elif not reader.cut_short:
            reader.cut_short = "it holds no complete row group"

    def _frames(self) -> None:
        """Walk the frames; stop at the first that is not whole (length past the end, CRC, not
        a Parquet file): a crash cut the recording there."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        view, size, pos = memoryview(self._map), self.r.size, 4
        while pos + FRAME.size <= size:
            magic, crc, length = FRAME.unpack_from(view, pos)
            if magic != FRAME_MAGIC:
                break
            begin = pos + FRAME.size
            end = begin + length
            if end > size or zlib.crc32(view[max(begin, end - FRAME_CRC_SPAN) : end]) != crc:
                self.r.cut_short = "its last row group was cut short (the recorder stopped)"
                return
            try:
                self.files.append(pq.ParquetFile(pa.BufferReader(self._map.slice(begin, length))))
            except (pa.ArrowException, OSError):
                self.r.cut_short = "its last row group is unreadable (the recorder stopped)"
                return
            pos = end
        # after the frames: the footer listing them (`PAR1` last), unless the writer was stopped
        tail = bytes(view[size - 8 :]) if size >= pos + 8 else b""
        footer = struct.unpack("<I", tail[:4])[0] if tail[4:] == b"PAR1" else -1
        if pos + footer + 8 != size:
            self.r.cut_short = "it has no footer (the recorder did not finish)"

    def batches(self, columns) -> Iterator:
        for pf in self.files:
            yield from pf.iter_batches(batch_size=BATCH_ROWS, columns=list(columns))

    def stats_range(self):
        lo, hi = np.inf, -np.inf
        for pf in self.files:
            meta = pf.metadata
            col = meta.schema.names.index("timestamp")
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                if not group.num_rows:
                    continue
                st = group.column(col).statistics
                if st is None or not st.has_min_max:
                    return None
                lo, hi = min(lo, _stat_seconds(st.min)), max(hi, _stat_seconds(st.max))
        return (lo, hi) if lo <= hi else None


def _stat_seconds(value) -> float:
    if hasattr(value, "timestamp"):  # a datetime (pyarrow's statistics of a timestamp column)
        return value.timestamp()
    return float(value)


class _Arrow:
    def __init__(self, reader: RecordingReader, head: bytes):
        import pyarrow as pa

        self.r = reader
        self.is_file = head.startswith(b"ARROW1")
        try:
            schema = self._open().schema
        except (pa.ArrowException, OSError) as exc:
            reason = _first_line(exc)
            raise NotARecording(f"{reader.path}: not a readable Arrow file ({reason})") from None
        _check_columns(reader.path, schema.names)
        if not self.is_file:
            with open(reader.path, "rb") as f:
                f.seek(max(0, reader.size - len(ARROW_EOS)))
                if f.read() != ARROW_EOS:
                    reader.cut_short = "it has no end-of-stream marker (the recorder stopped)"

    def _open(self):
        import pyarrow as pa

        source = pa.memory_map(self.r.path)
        return pa.ipc.open_file(source) if self.is_file else pa.ipc.open_stream(source)

    def batches(self, columns) -> Iterator:
        import pyarrow as pa

        reader = self._open()
        if self.is_file:
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i).select(list(columns))
            return
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowException, OSError):
                self.r.cut_short = "its last batch was cut short (the recorder stopped mid-write)"
                return
            yield batch.select(list(columns))

    def stats_range(self):
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
