"""app.core.recording.thrift: the compact-protocol codec that edits Parquet footers."""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.recording import thrift


def parquet_footer_bytes(table: pa.Table, **options) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    data = sink.getvalue()
    (length,) = struct.unpack("<I", data.to_pybytes()[-8:-4])
    return data.slice(len(data) - 8 - length, length)


TABLES = [
    pa.table({"x": np.arange(10.0)}),
    pa.table(
        {
            "t": pa.array(np.arange(5, dtype=np.int64), pa.timestamp("ns", tz="UTC")),
            "name": pa.array(["a", "b", "a", "c", "b"]).dictionary_encode(),
            "v": [1.0, None, 3.0, -0.0, float("nan")],
        }
    ),
]


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("page_index", [False, True])
def test_footers_pyarrow_writes_decode_and_encode_back_byte_for_byte(table, page_index):
    footer = parquet_footer_bytes(table, write_page_index=page_index)
    # from a pa.Buffer (which exports *signed* bytes) and from bytes: the same struct
    decoded, end = thrift.decode_struct(footer)
    assert end == len(footer)
    assert decoded == thrift.decode_struct(footer.to_pybytes())[0]
    assert thrift.encode_struct(decoded) == footer.to_pybytes()


def test_field_ids_that_jump_or_go_down_use_the_long_header():
    fields = {1: (thrift.I32, 7), 40: (thrift.BINARY, b"far"), 41: (thrift.TRUE, True)}
    data = thrift.encode_struct(fields)
    assert thrift.decode_struct(data)[0] == fields
    assert thrift.field_header(thrift.I32, 3, 20) == bytes([thrift.I32]) + thrift.zigzag(3)


@pytest.mark.parametrize("n", [0, 1, -1, 63, -64, 64, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)])
def test_zigzag_varints_cover_the_i64_range(n):
    data = thrift.encode_struct({1: (thrift.I64, n)})
    assert thrift.decode_struct(data)[0] == {1: (thrift.I64, n)}


def test_truncated_or_garbage_input_raises_thrift_error():
    data = thrift.encode_struct({1: (thrift.BINARY, b"x" * 40), 2: (thrift.I64, 5)})
    for cut in range(len(data)):
        with pytest.raises(thrift.ThriftError):
            thrift.decode_struct(data[:cut])
    with pytest.raises(thrift.ThriftError):
        thrift.decode_struct(b"\x1d")  # type 13 does not exist


scalars = st.one_of(
    st.tuples(st.just(thrift.I32), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just(thrift.I64), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just(thrift.BINARY), st.binary(max_size=40)),
    st.tuples(st.just(thrift.TRUE), st.booleans()),
    st.tuples(st.just(thrift.DOUBLE), st.floats(allow_nan=False)),
)


def structs(children):
    return st.dictionaries(st.integers(1, 300), children, max_size=6)


values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        structs(inner).map(lambda s: (thrift.STRUCT, s)),
        st.lists(st.integers(-1000, 1000), max_size=20).map(
            lambda xs: (thrift.LIST, (thrift.I32, xs))
        ),
        st.lists(structs(scalars), max_size=17).map(lambda xs: (thrift.LIST, (thrift.STRUCT, xs))),
        st.lists(st.tuples(st.binary(max_size=5), st.integers(0, 9)), max_size=3).map(
            lambda kv: (thrift.MAP, (thrift.BINARY, thrift.I32, kv) if kv else (0, 0, []))
        ),
    ),
    max_leaves=20,
)


@given(structs(values))
def test_any_struct_round_trips(fields):
    data = thrift.encode_struct(fields)
    assert thrift.decode_struct(data) == (fields, len(data))
