"""The byte format between a producer process and the GUI process.

Why not pickle: a batch is a few numpy arrays, and a fixed little-endian layout lets the reader
wrap the received bytes with `np.frombuffer` (no copy, no code execution on untrusted bytes), and
lets a regularly sampled chunk travel as `(t0, dt)` instead of one timestamp per sample, which
halves the bytes at high rates.

Every message is one `Connection.send_bytes` payload; its first byte is the message type.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np

HELLO = ord("H")
DATA = ord("D")
ERROR = ord("E")
END = ord("Z")
NOTE = ord("N")  # what the row shows beside the state: status, bad input, process groups

_DATA_HEAD = struct.Struct("<B7xdQI4x")  # type, sent_at, dropped_total, n_chunks
_CHUNK_HEAD = struct.Struct("<IIB7xdd")  # name_len (padded to 8), n, regular, t0, dt
_F8 = np.dtype("<f8")


class WireError(ValueError):
    """Bytes that are not a message of this format (a producer printing garbage, a torn write)."""


@dataclass
class Chunk:
    """Samples of one series, in time order. Regular chunks keep `(t0, dt)` until asked."""

    series: str
    values: np.ndarray
    t0: float = 0.0
    dt: float = 0.0
    explicit_times: np.ndarray | None = None

    @property
    def timestamps(self) -> np.ndarray:
        if self.explicit_times is not None:
            return self.explicit_times
        return self.t0 + self.dt * np.arange(len(self.values), dtype=np.float64)

    @property
    def last_time(self) -> float:
        if self.explicit_times is not None:
            return float(self.explicit_times[-1])
        return self.t0 + self.dt * (len(self.values) - 1)

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class DataMessage:
    sent_at: float
    dropped_total: int
    chunks: list[Chunk]


@dataclass
class ControlMessage:
    """HELLO / ERROR / END / NOTE: low-rate messages about the producer itself, as a JSON object."""

    type: int
    info: dict


def encode_data(chunks: list[Chunk], sent_at: float, dropped_total: int) -> bytes:
    parts = [_DATA_HEAD.pack(DATA, sent_at, dropped_total, len(chunks))]
    for c in chunks:
        name = c.series.encode()
        padded = name + b"\0" * (-len(name) % 8)
        regular = c.explicit_times is None
        parts.append(_CHUNK_HEAD.pack(len(padded), len(c.values), regular, c.t0, c.dt))
        parts.append(padded)
        if not regular:
            parts.append(np.ascontiguousarray(c.explicit_times, dtype=_F8).tobytes())
        parts.append(np.ascontiguousarray(c.values, dtype=_F8).tobytes())
    return b"".join(parts)


def encode_control(msg_type: int, **info) -> bytes:
    return bytes([msg_type]) + json.dumps(info).encode()


def decode(msg: bytes) -> DataMessage | ControlMessage:
    """Parse one message; raise WireError on anything malformed (never an IndexError etc.)."""
    if not msg:
        raise WireError("empty message")
    kind = msg[0]
    if kind == DATA:
        return _decode_data(msg)
    if kind in (HELLO, ERROR, END, NOTE):
        try:
            info = json.loads(msg[1:].decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WireError(f"bad control message: {exc}") from None
        if not isinstance(info, dict):
            raise WireError("bad control message: not an object")
        return ControlMessage(kind, info)
    raise WireError(f"unknown message type {kind:#x}")


def _decode_data(msg: bytes) -> DataMessage:
    try:
        _, sent_at, dropped, n_chunks = _DATA_HEAD.unpack_from(msg, 0)
        pos = _DATA_HEAD.size
        chunks = []
        for _ in range(n_chunks):
            name_len, n, regular, t0, dt = _CHUNK_HEAD.unpack_from(msg, pos)
            pos += _CHUNK_HEAD.size
            series = msg[pos : pos + name_len].rstrip(b"\0").decode()
            pos += name_len
            times = None
            if not regular:
                times = np.frombuffer(msg, _F8, n, pos)
                pos += 8 * n
            values = np.frombuffer(msg, _F8, n, pos)
            pos += 8 * n
            chunks.append(Chunk(series, values, t0, dt, times))
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"bad data message: {exc}") from None
    if pos != len(msg):
        raise WireError(f"bad data message: {len(msg) - pos} trailing bytes")
    return DataMessage(sent_at, dropped, chunks)
