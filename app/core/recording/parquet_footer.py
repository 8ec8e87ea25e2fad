"""The Parquet footer of an appendable recording: row groups of many small Parquet files, moved.

Why: pyarrow writes a row group only as part of a whole file (its `ParquetWriter` refuses a
non-zero start position and cannot be told to write its footer and go on). So each flush is a
complete in-memory Parquet file (a "mini file") appended to the recording, and this module
builds the recording's footer: the mini files' row groups, their byte offsets shifted from
"relative to the mini file" to "absolute in the recording".

The only Parquet schema knowledge is here: which Thrift field ids (parquet.thrift) hold file
offsets. A zero offset means "not set" (Arrow writes ColumnChunk.file_offset as 0) and stays 0.
Page indexes are turned off in the writer: their OffsetIndex lives in the file body with
absolute offsets inside it, which this footer-only shift would not reach.

Cost: each row group is encoded once, when added; a footer is the concatenation of the cached
encodings plus a few header bytes, so a flush costs O(new data) to encode and one memcpy of the
footer (hundreds of bytes per row group) to write.
"""

from __future__ import annotations

import struct

import pyarrow as pa

from app.core.recording import thrift

MAGIC = b"PAR1"
_TAIL = struct.Struct("<I4s")  # footer length, magic

# FileMetaData
_NUM_ROWS, _ROW_GROUPS = 3, 4
# RowGroup: columns(1), file_offset(5)
_RG_COLUMNS, _RG_OFFSETS = 1, (5,)
# ColumnChunk: file_offset(2), meta_data(3), offset_index_offset(4), column_index_offset(6)
_CC_META, _CC_OFFSETS = 3, (2, 4, 6)
# ColumnMetaData: data_page(9), index_page(10), dictionary_page(11), bloom_filter(14) offsets
_CMD_OFFSETS = (9, 10, 11, 14)


class FooterError(ValueError):
    """Bytes that are not a complete Parquet file / footer."""


def read_footer(data: bytes | pa.Buffer, head: bool = True) -> thrift.Struct:
    """The FileMetaData at the end of `data`: a complete Parquet file (magic at both ends), or
    with `head=False` a file's tail (footer, length, magic) and maybe bytes before it."""
    view = memoryview(data).cast("B")
    if head and (len(view) < 12 or bytes(view[:4]) != MAGIC):
        raise FooterError("no Parquet magic at the start")
    if len(view) < 8:
        raise FooterError("no Parquet footer at the end")
    length, magic = _TAIL.unpack(view[-8:])
    if magic != MAGIC or length > len(view) - (12 if head else 8):
        raise FooterError("no Parquet footer at the end")
    try:
        footer, end = thrift.decode_struct(view[-8 - length : -8])
    except thrift.ThriftError as exc:
        raise FooterError(f"unreadable footer: {exc}") from None
    if end != length or _ROW_GROUPS not in footer:
        raise FooterError("unreadable footer")
    return footer


def row_groups(footer: thrift.Struct) -> list[thrift.Struct]:
    return footer[_ROW_GROUPS][1][1]


def num_rows(footer: thrift.Struct) -> int:
    return footer[_NUM_ROWS][1]


def _shift(fields: thrift.Struct, ids: tuple[int, ...], by: int) -> None:
    for fid in ids:
        if fid in fields and fields[fid][1]:
            ttype, value = fields[fid]
            fields[fid] = (ttype, value + by)


def shifted(row_group: thrift.Struct, by: int) -> thrift.Struct:
    """A copy of `row_group` with every file offset in it moved by `by` bytes."""
    rg = dict(row_group)
    _shift(rg, _RG_OFFSETS, by)
    etype, columns = rg[_RG_COLUMNS][1]
    moved = []
    for column in columns:
        cc = dict(column)
        _shift(cc, _CC_OFFSETS, by)
        if _CC_META in cc:
            meta = dict(cc[_CC_META][1])
            _shift(meta, _CMD_OFFSETS, by)
            cc[_CC_META] = (thrift.STRUCT, meta)
        moved.append(cc)
    rg[_RG_COLUMNS] = (thrift.LIST, (etype, moved))
    return rg


def chunk_extents(row_group: thrift.Struct) -> list[tuple[int, int]]:
    """(start, end) byte ranges of the row group's column chunks (for consistency checks)."""
    out = []
    for cc in row_group[_RG_COLUMNS][1][1]:
        meta = cc[_CC_META][1]
        start = meta.get(11, (0, 0))[1] or meta[9][1]
        out.append((start, start + meta[7][1]))
    return out


class FooterBuilder:
    """The recording's footer: the template's schema and metadata, plus every row group added
    so far (encoded once each), with the total row count."""

    def __init__(self, template: thrift.Struct):
        self.set_template(template)
        self._encoded: list[bytes] = []
        self._rows = 0

    def set_template(self, template: thrift.Struct) -> None:
        """Everything but the row count and row groups comes from `template` (a mini file's
        footer): version, schema, key/value metadata (pyarrow's ARROW:schema), created_by."""
        head = {k: v for k, v in template.items() if k < _NUM_ROWS}
        tail = {k: v for k, v in template.items() if k > _ROW_GROUPS}
        self._head = thrift.encode_fields(head)
        self._head_last = max(head, default=0)
        self._tail = thrift.encode_fields(tail, last=_ROW_GROUPS) + b"\0"

    def add(self, mini_footer: thrift.Struct, at: int) -> None:
        """Add the row groups of a mini file that starts at byte `at` of the recording."""
        for rg in row_groups(mini_footer):
            self._encoded.append(thrift.encode_struct(shifted(rg, at)))
        self._rows += num_rows(mini_footer)

    def mark(self) -> tuple[int, int]:
        return len(self._encoded), self._rows

    def rewind(self, mark: tuple[int, int]) -> None:
        """Forget row groups added after `mark` (a flush that did not reach the disk)."""
        del self._encoded[mark[0] :]
        self._rows = mark[1]

    @property
    def row_group_count(self) -> int:
        return len(self._encoded)

    @property
    def rows(self) -> int:
        return self._rows

    def footer(self) -> bytes:
        """The complete tail of the file: FileMetaData, its length, and the magic."""
        body = b"".join(
            [
                self._head,
                thrift.field_header(thrift.I64, _NUM_ROWS, self._head_last),
                thrift.zigzag(self._rows),
                thrift.field_header(thrift.LIST, _ROW_GROUPS, _NUM_ROWS),
                thrift.list_header(thrift.STRUCT, len(self._encoded)),
                *self._encoded,
                self._tail,
            ]
        )
        return body + _TAIL.pack(len(body), MAGIC)
