"""Export what the chart shows: the samples of the visible series in the visible time range,
read from the store, as CSV, Parquet or an Arrow IPC stream, chosen by the file's suffix.

Written by the recording writers themselves (app.core.recording, `flush_rows`), so an export
has the columns, types and layout of `streamscope record --out` in the same format (CSV
`timestamp,producer,series,value` formatted by the same code; Parquet and Arrow with the
recording schema): whatever reads a recording (pyarrow, pandas, the `replay` kind) reads an
export. The rows are every series merged in time order, written as one flush (one row group,
one record batch).

Why "what the store holds at full resolution": the store keeps each series' newest samples in
its raw ring and only min/max buckets for older times (app/core/store.py). A bucket is not a
sample, so it is never written as one; the export says instead, per series, from when on it
could write every sample (`SampleExport.note`), and a recording (`streamscope record`, or
Record… in the window) is the way to keep everything.

Gathering copies the samples under each series' lock (quick); writing formats and writes them
and may take a while for millions of rows, so the window runs `write_file` on a thread.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.recording import SUPPORTED, RecordingError, open_writer
from app.core.recording.columns import Rows
from app.core.store import SeriesKey, SeriesStore

# the export dialog's name filters, each with the suffix a name without one gets
DATA_FORMATS = {
    "CSV text (*.csv)": "csv",
    "Parquet (*.parquet)": "parquet",
    "Arrow IPC stream (*.arrows *.arrow)": "arrows",
}


@dataclass
class SeriesSamples:
    key: SeriesKey
    times: np.ndarray
    values: np.ndarray
    full_from: float  # every sample from this time on is here; before it only buckets


@dataclass
class SampleExport:
    """The samples to write: one entry per series, for the range t0..t1 (epoch seconds)."""

    t0: float
    t1: float
    series: list[SeriesSamples]

    @property
    def rows(self) -> int:
        return sum(len(s.times) for s in self.series)

    def cut_short(self) -> list[SeriesSamples]:
        """Series whose samples at the start of the range were forgotten (buckets only)."""
        return [s for s in self.series if s.full_from > self.t0]

    def note(self) -> str:
        """What could not be exported at full resolution, for the user ("" if nothing)."""
        short = self.cut_short()
        if not short:
            return ""
        start = max(s.full_from for s in short)
        when = time.strftime("%H:%M:%S", time.localtime(start)) if math.isfinite(start) else "-"
        names = ", ".join(_label(s.key) for s in short[:3]) + (", …" if len(short) > 3 else "")
        return (
            f"{len(short)} series held at full resolution only from {when} at the latest "
            f"({names}); older samples of the range are kept as min/max only and were not "
            "exported (use Record… to keep every sample)"
        )


def _label(key: SeriesKey) -> str:
    producer, series = key
    return producer if series == "value" else f"{producer}/{series}"


def gather(store: SeriesStore, keys: list[SeriesKey], t0: float, t1: float) -> SampleExport:
    """The samples of `keys` with t0 <= time <= t1 that the store holds at full resolution."""
    known = set(store.series_keys())
    series = [SeriesSamples(key, *store.raw_samples(key, t0, t1)) for key in keys if key in known]
    return SampleExport(t0, t1, series)


def format_of(path: str | Path) -> str:
    """The suffix naming the format `path` is written in (one of recording.SUPPORTED); a
    ValueError saying which names work for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED:
        raise ValueError(f"choose a file named {', '.join(f'*{s}' for s in SUPPORTED)}")
    return suffix


def rows_of(export: SampleExport) -> Rows:
    """All series' samples merged in time order (a stable sort: one series' samples keep their
    order), as the rows a recording writer takes: one "chunk" per series."""
    counts = [len(s.times) for s in export.series]
    times = np.concatenate([s.times for s in export.series] or [np.empty(0)])
    values = np.concatenate([s.values for s in export.series] or [np.empty(0)])
    which = np.repeat(np.arange(len(export.series), dtype=np.int64), counts)
    order = np.argsort(times, kind="stable")
    return Rows(
        times[order],
        values[order],
        np.array(counts, np.int64),
        [s.key[0] for s in export.series],
        [s.key[1] for s in export.series],
        which[order],
    )


def write_file(export: SampleExport, path: str | Path, suffix: str | None = None) -> int:
    """Write the samples to `path` in the format of `suffix` (default: the file's own, see
    `format_of`); returns the rows written. On failure (OSError) no partial file is left."""
    suffix = format_of(path) if suffix is None else suffix
    rows = rows_of(export)
    writer = open_writer(path, suffix)
    try:
        writer.flush_rows(rows)
        writer.close()
    except (OSError, RecordingError) as exc:
        with contextlib.suppress(OSError, RecordingError):
            writer.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        if isinstance(exc, RecordingError):  # the file could not even be put back: gone now
            raise OSError(str(exc)) from exc
        raise
    return len(rows)


def write_csv(export: SampleExport, path: str | Path) -> int:
    """`write_file` as CSV, whatever the file is called."""
    return write_file(export, path, ".csv")
