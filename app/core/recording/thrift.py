"""A generic Thrift *compact protocol* codec, just enough to edit a Parquet footer.

Why we need it: the appendable Parquet writer (parquet_file.py) glues row groups written by
pyarrow into one file, and must rewrite the footer (a Thrift-encoded `FileMetaData`) with the
row groups' byte offsets moved to where they now sit. pyarrow cannot edit `FileMetaData`, so we
decode the footer into plain Python values, change numbers, and encode it back.

Why generic (no parquet.thrift schema here): a struct decodes to `{field_id: (type, value)}`,
so fields we do not know (newer Parquet versions add some) survive a round trip untouched. The
only schema knowledge lives in parquet_footer.py: which field ids are offsets.

Encoding rules (Thrift's compact protocol spec): integers are zigzag varints (i16/i32/i64); a
field header is one byte `delta << 4 | type` when the id grows by 1..15, else the type byte then
the id as a zigzag varint; booleans inside structs live in the header's type (1 true, 2 false);
a list header is `size << 4 | elem_type` for size < 15, else `0xF0 | elem_type` then a varint.
"""

from __future__ import annotations

import struct
from typing import Any

STOP, TRUE, FALSE, I8, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)

Struct = dict[int, tuple[int, Any]]  # field id -> (compact type, value)


class ThriftError(ValueError):
    """Bytes that are not a well-formed compact-protocol struct (a torn or foreign footer)."""


class _Reader:
    def __init__(self, data: bytes | memoryview, pos: int = 0):
        self.data = memoryview(data).cast("B")  # a pa.Buffer exports signed bytes
        self.pos = pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ThriftError("unexpected end of data")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ThriftError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ThriftError("unexpected end of data")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def value(self, ttype: int) -> Any:
        if ttype in (TRUE, FALSE):  # a bool element of a list/set/map: one byte
            return self.byte()
        if ttype == I8:
            return self.byte()
        if ttype in (I16, I32, I64):
            return self.zigzag()
        if ttype == DOUBLE:
            return struct.unpack("<d", self.take(8))[0]
        if ttype == BINARY:
            return self.take(self.varint())
        if ttype in (LIST, SET):
            head = self.byte()
            size, etype = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return (etype, [self.value(etype) for _ in range(size)])
        if ttype == MAP:
            size = self.varint()
            if size == 0:
                return (0, 0, [])
            kv = self.byte()
            kt, vt = kv >> 4, kv & 0x0F
            return (kt, vt, [(self.value(kt), self.value(vt)) for _ in range(size)])
        if ttype == STRUCT:
            return self.struct()
        raise ThriftError(f"unknown compact type {ttype}")

    def struct(self) -> Struct:
        fields: Struct = {}
        last = 0
        while True:
            head = self.byte()
            if head == STOP:
                return fields
            delta, ttype = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            if ttype in (TRUE, FALSE):  # a bool field is (TRUE, value), whatever its value
                fields[fid] = (TRUE, ttype == TRUE)
            else:
                fields[fid] = (ttype, self.value(ttype))
            last = fid


def decode_struct(data: bytes | memoryview, pos: int = 0) -> tuple[Struct, int]:
    """Decode one struct starting at `pos`; return it and the position just after it."""
    reader = _Reader(data, pos)
    try:
        return reader.struct(), reader.pos
    except RecursionError:
        raise ThriftError("nesting too deep") from None


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def zigzag(n: int) -> bytes:
    return varint((n << 1) ^ (n >> 63))


def field_header(ttype: int, fid: int, last: int) -> bytes:
    """The header of field `fid` (of compact type `ttype`) following field `last`."""
    delta = fid - last
    if 0 < delta <= 15:
        return bytes([(delta << 4) | ttype])
    return bytes([ttype]) + zigzag(fid)


def list_header(etype: int, size: int) -> bytes:
    if size < 15:
        return bytes([(size << 4) | etype])
    return bytes([0xF0 | etype]) + varint(size)


def encode_value(ttype: int, value: Any) -> bytes:
    if ttype in (TRUE, FALSE, I8):
        return bytes([value & 0xFF])
    if ttype in (I16, I32, I64):
        return zigzag(value)
    if ttype == DOUBLE:
        return struct.pack("<d", value)
    if ttype == BINARY:
        return varint(len(value)) + bytes(value)
    if ttype in (LIST, SET):
        etype, items = value
        return list_header(etype, len(items)) + b"".join(encode_value(etype, v) for v in items)
    if ttype == MAP:
        kt, vt, items = value
        if not items:
            return b"\0"
        body = b"".join(encode_value(kt, k) + encode_value(vt, v) for k, v in items)
        return varint(len(items)) + bytes([(kt << 4) | vt]) + body
    if ttype == STRUCT:
        return encode_struct(value)
    raise ThriftError(f"unknown compact type {ttype}")


def encode_fields(fields: Struct, last: int = 0) -> bytes:
    """The fields of a struct (in id order, without the stop byte), the first one's header
    relative to field id `last`: lets a caller splice fields it writes itself in between."""
    out = []
    for fid in sorted(fields):
        ttype, value = fields[fid]
        if ttype in (TRUE, FALSE):
            out.append(field_header(TRUE if value else FALSE, fid, last))
        else:
            out.append(field_header(ttype, fid, last) + encode_value(ttype, value))
        last = fid
    return b"".join(out)


def encode_struct(fields: Struct) -> bytes:
    return encode_fields(fields) + b"\0"
