"""Export what the chart shows as CSV: the samples of the visible series in the visible time
range, read from the store, `timestamp,producer,series,value` exactly as `streamscope record`
writes them (the same formatting code, app.core.recording.csv_file).

Why "what the store holds at full resolution": the store keeps each series' newest samples in
its raw ring and only min/max buckets for older times (app/core/store.py). A bucket is not a
sample, so it is never written as one; the export says instead, per series, from when on it
could write every sample (`CsvExport.note`), and a recording (`streamscope record`, or Record…
in the window) is the way to keep everything.

Gathering copies the samples under each series' lock (quick); writing formats and writes them
and may take a while for millions of rows, so the window runs `write_csv` on a thread.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from app.core.recording.columns import clean_name
from app.core.recording.csv_file import HEADER, SLICE_ROWS, format_lines, quote, text_of
from app.core.store import SeriesKey, SeriesStore


@dataclass
class SeriesSamples:
    key: SeriesKey
    times: np.ndarray
    values: np.ndarray
    full_from: float  # every sample from this time on is here; before it only buckets


@dataclass
class CsvExport:
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


def gather(store: SeriesStore, keys: list[SeriesKey], t0: float, t1: float) -> CsvExport:
    """The samples of `keys` with t0 <= time <= t1 that the store holds at full resolution."""
    known = set(store.series_keys())
    series = [SeriesSamples(key, *store.raw_samples(key, t0, t1)) for key in keys if key in known]
    return CsvExport(t0, t1, series)


def write_csv(export: CsvExport, path: str | Path) -> int:
    """Write the samples to `path`, all series merged in time order (a stable sort: one series'
    samples keep their order); returns the rows written. On failure (OSError) no partial file
    is left behind."""
    times = np.concatenate([s.times for s in export.series] or [np.empty(0)])
    values = np.concatenate([s.values for s in export.series] or [np.empty(0)])
    which = np.repeat(
        np.arange(len(export.series), dtype=np.int64), [len(s.times) for s in export.series]
    )
    order = np.argsort(times, kind="stable")
    times, values, which = times[order], values[order], which[order]
    middles = pa.array(
        [f",{quote(clean_name(p))},{quote(clean_name(s))}," for (p, s) in _keys(export)],
        pa.string(),
    )
    path = Path(path)
    try:
        with open(path, "wb") as f:
            f.write(HEADER)
            for start in range(0, len(times), SLICE_ROWS):
                part = slice(start, start + SLICE_ROWS)
                middle = middles.take(pa.array(which[part]))
                f.write(text_of(format_lines(times[part], values[part], middle)))
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return len(times)


def _keys(export: CsvExport) -> list[SeriesKey]:
    return [s.key for s in export.series]
