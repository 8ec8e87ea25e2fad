"""Which writer a recording gets, from its file name's suffix; and `recover` for any of them.

Why by suffix: the user names the file (`--out run.parquet`, a save dialog), and the name then
says what is in it, for them and for whatever reads it next. An unknown suffix is refused before
anything is opened, naming the ones that work.

Every writer has the same small interface (`Writer`): `write` holds chunks in memory, `flush`
hands them to the OS as whole rows / a whole row group / a whole batch (or raises OSError with
the file put back as it was before that flush), `close` flushes and closes. `flush_rows` writes
rows already flattened (columns.Rows) the same way: what an export of the chart uses
(app.core.export), so an exported file is laid out as a recording is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from app.core.recording import arrow_stream, csv_file, parquet_file
from app.core.recording.columns import Rows, Source
from app.core.recording.fileio import RecordingError

WRITERS = {
    ".csv": csv_file.CsvRecordingWriter,
    ".parquet": parquet_file.ParquetRecordingWriter,
    ".arrows": arrow_stream.ArrowStreamRecordingWriter,
    ".arrow": arrow_stream.ArrowStreamRecordingWriter,  # the same stream format
}
_RECOVER = {
    ".csv": csv_file.recover,
    ".parquet": parquet_file.recover,
    ".arrows": arrow_stream.recover,
    ".arrow": arrow_stream.recover,
}
SUPPORTED = tuple(WRITERS)


class Writer(Protocol):
    path: Path

    def write(self, chunks: Source) -> None: ...

    def flush(self) -> None: ...

    def flush_rows(self, rows: Rows) -> None: ...

    def undo_last_flush(self) -> None: ...

    def discard(self) -> None: ...

    def close(self) -> None: ...


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in WRITERS:
        named = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise RecordingError(
            f"{path}: {named} is not a recording format; use one of {', '.join(SUPPORTED)}"
        )
    return suffix


def check_format(path: str | Path) -> None:
    """Raise RecordingError unless `path` names a supported format (no file access)."""
    _suffix(Path(path))


def open_writer(path: str | Path, suffix: str | None = None) -> Writer:
    """Create (or empty) the recording file and return its writer, in the format of `suffix`
    (one of SUPPORTED) if given, else of the file's name. Raises RecordingError for an
    unsupported suffix, OSError if the file cannot be created."""
    path = Path(path)
    return WRITERS[_suffix(path) if suffix is None else suffix](path)


def recover(path: str | Path) -> str:
    """Make a recording whose writer was killed readable again, and say what was done: cut a
    torn last line / batch, rebuild a Parquet footer. Idempotent; a complete file is left
    untouched. Raises RecordingError (one line) for a file that is not a recording it knows."""
    path = Path(path)
    suffix = _suffix(path)
    try:
        return _RECOVER[suffix](path)
    except OSError as exc:
        raise RecordingError(f"cannot recover {path}: {exc.strerror or exc}") from None
