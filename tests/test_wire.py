"""producers.wire: the byte format between producer and GUI; malformed bytes are a WireError."""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest

from producers import wire
from producers.wire import Chunk, ControlMessage, DataMessage, WireError


def roundtrip(chunks, sent_at=1_700_000_000.25, dropped=0) -> DataMessage:
    msg = wire.decode(wire.encode_data(chunks, sent_at, dropped))
    assert isinstance(msg, DataMessage)
    return msg


def test_regular_chunk_keeps_t0_dt_and_values_exactly():
    values = np.array([0.1, -2.5, 1e300, -0.0, 7.0])
    msg = roundtrip([Chunk("v", values, t0=1_700_000_000.123456, dt=0.001)])
    (chunk,) = msg.chunks
    assert chunk.series == "v"
    assert chunk.explicit_times is None
    assert chunk.t0 == 1_700_000_000.123456
    assert chunk.dt == 0.001
    np.testing.assert_array_equal(chunk.values, values)
    assert np.signbit(chunk.values[3])
    np.testing.assert_array_equal(chunk.timestamps, 1_700_000_000.123456 + 0.001 * np.arange(5))
    assert chunk.last_time == pytest.approx(1_700_000_000.127456, abs=1e-9)


def test_explicit_timestamps_roundtrip_bit_exact():
    rng = np.random.default_rng(3)
    times = 1.7e9 + np.sort(rng.uniform(0, 10, 1000))
    values = rng.normal(size=1000)
    values[::7] = np.nan
    (chunk,) = roundtrip([Chunk("irregular", values, explicit_times=times)]).chunks
    assert chunk.explicit_times is not None
    assert chunk.timestamps.tobytes() == times.tobytes()
    assert chunk.values.tobytes() == values.tobytes()  # NaN payloads included
    assert chunk.last_time == times[-1]


def test_regular_chunk_is_smaller_than_explicit():
    values = np.zeros(1000)
    regular = wire.encode_data([Chunk("v", values, 0.0, 0.001)], 0.0, 0)
    explicit = wire.encode_data([Chunk("v", values, explicit_times=np.arange(1000.0))], 0.0, 0)
    assert len(explicit) - len(regular) == 8 * 1000


def test_header_fields_roundtrip():
    msg = roundtrip([Chunk("v", np.ones(2), 0.0, 1.0)], sent_at=123.5, dropped=2**40 + 7)
    assert msg.sent_at == 123.5
    assert msg.dropped_total == 2**40 + 7


def test_many_chunks_keep_their_order_and_contents():
    rng = np.random.default_rng(5)
    chunks = []
    for i in range(12):
        n = int(rng.integers(1, 50))
        if i % 2:
            chunks.append(
                Chunk(f"s{i}", rng.normal(size=n), explicit_times=np.cumsum(rng.random(n)))
            )
        else:
            chunks.append(Chunk(f"s{i}", rng.normal(size=n), t0=float(i), dt=0.5))
    got = roundtrip(chunks).chunks
    assert [c.series for c in got] == [c.series for c in chunks]
    for a, b in zip(got, chunks, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.timestamps, b.timestamps)


def test_same_series_twice_in_one_message_stays_two_chunks():
    chunks = [Chunk("v", np.array([1.0]), 0.0, 1.0), Chunk("v", np.array([2.0, 3.0]), 1.0, 1.0)]
    got = roundtrip(chunks).chunks
    assert [list(c.values) for c in got] == [[1.0], [2.0, 3.0]]


@pytest.mark.parametrize(
    "name",
    ["température", "温度センサー", "🌡️ temp", 'a,b "quoted"', "x" * 8, "y" * 9, "é" * 100],
)
def test_unicode_and_odd_length_series_names(name):
    (chunk,) = roundtrip(
        [Chunk(name, np.array([1.0, 2.0]), explicit_times=np.array([0.0, 1.0]))]
    ).chunks
    assert chunk.series == name


def test_empty_message_and_empty_chunk():
    assert roundtrip([]).chunks == []
    (chunk,) = roundtrip([Chunk("v", np.empty(0), 5.0, 1.0)]).chunks
    assert len(chunk) == 0


def test_non_float64_input_is_sent_as_float64():
    (chunk,) = roundtrip([Chunk("v", np.array([1, 2, 3], dtype=np.int32), 0.0, 1.0)]).chunks
    assert chunk.values.dtype == np.float64
    np.testing.assert_array_equal(chunk.values, [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("msg_type", "kind"), [(wire.HELLO, "H"), (wire.ERROR, "E"), (wire.END, "Z")]
)
def test_control_messages_roundtrip(msg_type, kind):
    raw = wire.encode_control(msg_type, pid=1234, text="naïve ✓", nested={"a": [1, 2]})
    assert raw[:1] == kind.encode()
    msg = wire.decode(raw)
    assert isinstance(msg, ControlMessage)
    assert msg.type == msg_type
    assert msg.info == {"pid": 1234, "text": "naïve ✓", "nested": {"a": [1, 2]}}


def _valid_data_message() -> bytes:
    return wire.encode_data(
        [
            Chunk("alpha", np.arange(5.0), 10.0, 0.1),
            Chunk("beta", np.arange(3.0), explicit_times=np.array([1.0, 2.0, 3.0])),
        ],
        99.0,
        4,
    )


def test_every_truncation_of_a_data_message_is_a_wire_error():
    raw = _valid_data_message()
    for cut in range(len(raw)):
        with pytest.raises(WireError):
            wire.decode(raw[:cut])


@pytest.mark.parametrize("extra", [b"\0", b"junk", b"\0" * 8, b"x" * 1000])
def test_trailing_bytes_are_a_wire_error(extra):
    with pytest.raises(WireError, match="trailing"):
        wire.decode(_valid_data_message() + extra)


def test_chunk_count_larger_than_content_is_a_wire_error():
    raw = bytearray(_valid_data_message())
    struct.pack_into("<I", raw, 24, 3)  # n_chunks: 2 -> 3
    with pytest.raises(WireError):
        wire.decode(bytes(raw))


def test_huge_sample_count_is_a_wire_error_not_a_memory_error():
    raw = bytearray(_valid_data_message())
    struct.pack_into("<I", raw, 32 + 4, 2**32 - 1)  # first chunk's n
    with pytest.raises(WireError):
        wire.decode(bytes(raw))


def test_name_that_is_not_utf8_is_a_wire_error():
    raw = bytearray(_valid_data_message())
    name_at = 32 + wire._CHUNK_HEAD.size
    assert raw[name_at : name_at + 5] == b"alpha"
    raw[name_at] = 0xFF
    with pytest.raises(WireError):
        wire.decode(bytes(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"X",
        b"\x00\x01\x02",
        b"Hello, this is a producer printing to the wrong place\n",
        b"H",
        b"Hnot json",
        b"H[1, 2]",
        b'H"a string"',
        b"E\xff\xfe",
        b"Z{",
        b"D",
        b"D" + b"\xff" * 31,
    ],
)
def test_garbage_is_a_wire_error(raw):
    with pytest.raises(WireError):
        wire.decode(raw)


def test_random_garbage_only_ever_raises_wire_error():
    rng = np.random.default_rng(11)
    valid = _valid_data_message()
    for _ in range(2000):
        n = int(rng.integers(0, 120))
        raw = bytes(rng.integers(0, 256, n, dtype=np.uint8))
        if rng.random() < 0.5:
            raw = bytes([wire.DATA]) + raw
        elif rng.random() < 0.5:  # a valid message with a few bytes flipped
            flipped = bytearray(valid)
            for pos in rng.integers(0, len(valid), 3):
                flipped[pos] ^= int(rng.integers(1, 256))
            raw = bytes(flipped)
        with contextlib.suppress(WireError):
            wire.decode(raw)
