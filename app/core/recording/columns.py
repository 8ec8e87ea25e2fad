"""From a drain cycle's chunks to flat columns: the one place every writer gets its rows from.

Why in one place: the three formats must agree on what a row is (same order: chunks in arrival
order, samples in chunk order), on the timestamp of a sample (exactly `Chunk.timestamps`), and
on how a float timestamp becomes integer nanoseconds or microseconds. Doing it vectorised over a
whole flush, rather than per chunk or per row, is what lets a writer keep up with millions of
samples a second.

Exact rounding: `round(t * 1e9)` computed in float64 is wrong by up to ~128 ns for today's
epoch seconds (the product has fewer bits than the answer needs). We split `t` into its integer
part and fraction (both exact), scale the fraction, and round to nearest, ties to even, which
matches Python's `f"{t:.6f}"` digit for digit (see `scaled` for why that is exact, without
falling back to slow Python arithmetic for any row).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from producers.wire import Chunk

TIMESTAMP = pa.timestamp("ns", tz="UTC")
NAMES = pa.dictionary(pa.int32(), pa.string())
SCHEMA = pa.schema(
    [("timestamp", TIMESTAMP), ("producer", NAMES), ("series", NAMES), ("value", pa.float64())]
)
# int64 nanoseconds cover epoch seconds up to year 2262; beyond, a timestamp is stored as null.
_MAX_NS_SECONDS = 9.2e9
_BLOCK = 1 << 14  # rows per cache-sized block in `scaled`

Source = Sequence[tuple[str, Chunk]]


def clean_name(name: str) -> str:
    """A name as it is stored: valid UTF-8 (a lone surrogate, which no file format can hold,
    becomes '?'). Names from the wire or a session file are already valid and stay as they are."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "replace").decode("utf-8")


class NameTable:
    """A stable small integer per key, in order of first appearance. Dictionaries only grow, so
    an Arrow stream can send deltas, and every Parquet row group's dictionary is a prefix-stable
    list of the names seen so far."""

    def __init__(self):
        self._index: dict[Hashable, int] = {}
        self.keys: list[Hashable] = []

    def index(self, key: Hashable) -> int:
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self.keys)
            self.keys.append(key)
        return i

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class Rows:
    """One flush worth of samples, flattened: `seconds[i]`, `values[i]`, and which chunk (by
    position in `producers`/`series`) row i came from: `chunk_of_row[i]`, or when that is
    None, the chunks' rows one after the other (`np.repeat(arange, lengths)`). An export
    (app.core.export) gives rows merged in time order, one "chunk" per series, that way."""

    seconds: np.ndarray  # float64 epoch seconds
    values: np.ndarray  # float64
    lengths: np.ndarray  # int64 samples per chunk
    producers: list[str]
    series: list[str]
    chunk_of_row: np.ndarray | None = None  # int64 per row; None: in chunk order

    def __len__(self) -> int:
        return len(self.values)

    def per_row(self, per_chunk: Iterable[int]) -> np.ndarray:
        """Expand one int32 per chunk (a dictionary index) to one per row."""
        per = np.fromiter(per_chunk, np.int32, len(self.lengths))
        if self.chunk_of_row is not None:
            return per[self.chunk_of_row]
        return np.repeat(per, self.lengths)


def gather(chunks: Source) -> Rows:
    """Concatenate chunks (skipping empty ones) into one set of rows, in arrival order.

    Written into arrays allocated once: a regular chunk's timestamps are computed in place,
    with the same float operations as `Chunk.timestamps` (so the same bits)."""
    kept = [(p, c) for p, c in chunks if len(c)]
    lengths = np.fromiter((len(c) for _, c in kept), np.int64, len(kept))
    total = int(lengths.sum())
    seconds = np.empty(total, np.float64)
    values = np.empty(total, np.float64)
    ramp = np.arange(int(lengths.max()) if len(kept) else 0, dtype=np.float64)
    pos = 0
    for (_, chunk), n in zip(kept, lengths.tolist(), strict=True):
        out = seconds[pos : pos + n]
        if chunk.explicit_times is not None:
            out[:] = chunk.explicit_times
        else:  # t0 + dt * arange(n), as Chunk.timestamps computes it
            np.multiply(ramp[:n], chunk.dt, out=out)
            out += chunk.t0
        values[pos : pos + n] = chunk.values
        pos += n
    return Rows(seconds, values, lengths, [p for p, _ in kept], [c.series for _, c in kept])


def _product_error(a: np.ndarray, b: float, product: np.ndarray) -> np.ndarray:
    """`a * b - product` exactly (Dekker's two-product with Veltkamp splitting; numpy has no
    fused multiply-add). Exact for the magnitudes used here (no overflow or underflow)."""
    split = 134217729.0  # 2**27 + 1
    t = split * a
    a_hi = t - (t - a)
    a_lo = a - a_hi
    tb = split * b
    b_hi = tb - (tb - b)
    b_lo = b - b_hi
    return ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def scaled(seconds: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """`round(seconds * scale)` exactly, ties to even, as int64; and a mask of the rows where
    that is defined (finite and within int64). Undefined rows hold 0.

    The float product `p` of the (exact) fraction and the scale is within half an ulp of the
    true product `v`. If `v` is a half-integer it is a float, so `p == v` and `rint` rounds the
    tie to even. Otherwise no half-integer lies strictly between `p` and `v` (it would be a
    closer float), so `rint(p)` is right unless `p` itself landed on a half-integer: then the
    sign of the exact error `v - p` says which way `v` lies.

    Done in blocks that stay in the CPU cache: a dozen whole-array passes over millions of
    rows are bound by memory bandwidth (measured 2-3x slower than the blocked loop)."""
    n = len(seconds)
    out = np.empty(n, np.int64)
    ok = np.empty(n, np.bool_)
    block = max(1, min(n, _BLOCK))
    fraction, whole, rounded = (np.empty(block) for _ in range(3))
    integral = np.empty(block, np.int64)
    limit = _MAX_NS_SECONDS * 1e9 / scale
    for start in range(0, n, block):
        src = seconds[start : start + block]
        m = len(src)
        f, w, r, i = fraction[:m], whole[:m], rounded[:m], integral[:m]
        good = ok[start : start + m]
        np.less(np.abs(src, out=f), limit, out=good)  # False for nan and inf
        if not good.all():
            src = np.where(good, src, 0.0)
        np.modf(src, out=(f, w))  # both exact; the fraction has the sign of `src`
        f *= scale
        np.rint(f, out=r)
        landed = np.flatnonzero(np.abs(np.subtract(f, r, out=f), out=f) == 0.5)
        if len(landed):
            exact = src[landed] - w[landed]
            p = exact * scale
            err = _product_error(exact, float(scale), p)
            below = np.floor(p)
            r[landed] = np.where(err > 0, below + 1, np.where(err < 0, below, r[landed]))
        dst = out[start : start + m]
        dst[:] = w  # integral floats below 2**63: converted exactly
        dst *= scale
        i[:] = r
        dst += i
    return out, ok


def timestamp_array(seconds: np.ndarray) -> pa.Array:
    """Epoch seconds as `timestamp[ns, UTC]`; a timestamp no int64 nanosecond can hold (nan,
    inf, beyond year 2262) becomes null rather than a wrong date."""
    ns, ok = scaled(seconds, 1_000_000_000)
    validity = None
    if not ok.all():
        validity = pa.py_buffer(np.packbits(ok, bitorder="little"))
    return pa.Array.from_buffers(TIMESTAMP, len(ns), [validity, pa.py_buffer(ns)])


def dictionary_array(indices: np.ndarray, names: NameTable, cache: list) -> pa.Array:
    """Indices into `names` as a dictionary column. `cache` holds `[len, dictionary]` so the
    same dictionary object is reused while no name was added (an Arrow stream then sends no
    dictionary message at all)."""
    if not cache or cache[0] != len(names):
        cache[:] = [len(names), pa.array(names.keys, pa.string())]
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), cache[1])


class TableBuilder:
    """Rows to an Arrow table of `SCHEMA`, keeping producer and series dictionaries stable
    across calls (shared by the Parquet and the Arrow stream writers)."""

    def __init__(self):
        self.producers, self.series = NameTable(), NameTable()
        self._producer_dict: list = []
        self._series_dict: list = []

    def batch(self, rows: Rows) -> pa.RecordBatch:
        producer_idx = rows.per_row(self.producers.index(clean_name(p)) for p in rows.producers)
        series_idx = rows.per_row(self.series.index(clean_name(s)) for s in rows.series)
        return pa.RecordBatch.from_arrays(
            [
                timestamp_array(rows.seconds),
                dictionary_array(producer_idx, self.producers, self._producer_dict),
                dictionary_array(series_idx, self.series, self._series_dict),
                pa.array(rows.values, pa.float64()),
            ],
            schema=SCHEMA,
        )


def empty_table() -> pa.Table:
    return SCHEMA.empty_table()
