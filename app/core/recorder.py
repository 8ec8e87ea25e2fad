"""Recording every received sample to CSV: `timestamp,producer,series,value`.

timestamp is epoch seconds with microseconds; value is Python's shortest round-trip repr, so a
recording reads back to exactly the floats that arrived. `CsvRecorder` writes synchronously
(the headless `record` command); `BackgroundRecorder` puts it on its own thread behind a bounded
queue for the GUI, where disk stalls must never reach the consumer or the GUI thread: when the
queue is full the batch is dropped and counted.
"""

from __future__ import annotations

import csv
import io
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.core.channel import Batch

HEADER = "timestamp,producer,series,value\n"


def _field(text: str) -> str:
    out = io.StringIO()
    # the line terminator's characters are what the writer quotes: a name with a newline in it
    # must be quoted too, or it would start a new row
    csv.writer(out, lineterminator="\r\n").writerow([text])
    return out.getvalue()[:-2]


class CsvRecorder:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._file.write(HEADER)
        self._prefixes: dict[tuple[str, str], str] = {}
        self.samples: dict[str, int] = {}

    def write(self, batch: Batch) -> None:
        out = []
        for producer, chunk in batch.chunks:
            key = (producer, chunk.series)
            middle = self._prefixes.get(key)
            if middle is None:
                middle = self._prefixes[key] = f",{_field(producer)},{_field(chunk.series)},"
            out.extend(
                f"{t:.6f}{middle}{v!r}\n"
                for t, v in zip(chunk.timestamps.tolist(), chunk.values.tolist(), strict=True)
            )
            self.samples[producer] = self.samples.get(producer, 0) + len(chunk)
        if out:
            self._file.write("".join(out))

    submit = write  # the Pipeline's recorder interface (BackgroundRecorder queues instead)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> CsvRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class BackgroundRecorder:
    """A CsvRecorder on a thread of its own: `submit` never blocks and never touches the disk.

    Even opening the file happens on the writer thread; a failure shows up in `error`."""

    def __init__(self, path: str | Path, max_batches: int = 1024):
        self.path = Path(path)
        self._queue: queue.Queue[Batch | None] = queue.Queue(max_batches)
        self.dropped: dict[str, int] = {}
        self.error: str | None = None
        self._samples = 0
        self._opened: bool | None = None
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    @property
    def samples(self) -> int:
        return self._samples

    samples_written = samples

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def submit(self, batch: Batch) -> None:
        if not batch.chunks:
            return
        try:
            if self.error is not None:
                raise queue.Full
            self._queue.put_nowait(batch)
        except queue.Full:
            for producer, chunk in batch.chunks:
                self.dropped[producer] = self.dropped.get(producer, 0) + len(chunk)

    def close(self, timeout: float = 5.0) -> bool:
        """Ask the writer to finish the file; wait up to `timeout`. True if it finished."""
        try:
            self._queue.put(None, timeout=max(timeout, 0.001))
        except queue.Full:  # the writer is stuck or died: nothing more to do from here
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            recorder = CsvRecorder(self.path)
        except OSError as exc:
            self.error = f"cannot record to {self.path}: {exc.strerror or exc}"
            self._discard()
            return
        self._opened = True
        try:
            while (batch := self._queue.get()) is not None:
                recorder.write(batch)
                self._samples += batch.samples
                written = getattr(self, "written", None)
                if written is not None:
                    for producer, chunk in batch.chunks:
                        written[producer] = written.get(producer, 0) + len(chunk)
        except OSError as exc:  # disk full, removed mount: stop writing, keep counting drops
            self.error = f"recording stopped: {exc.strerror or exc}"
            self._discard()
        finally:
            try:
                recorder.close()
            except OSError as exc:
                self.error = self.error or f"recording stopped: {exc.strerror or exc}"

    def _discard(self) -> None:
        """Count what was queued when writing became impossible, then stop."""
        while True:
            try:
                batch = self._queue.get_nowait()
            except queue.Empty:
                return
            if batch is not None:
                for producer, chunk in batch.chunks:
                    self.dropped[producer] = self.dropped.get(producer, 0) + len(chunk)


@dataclass
class RecordingSummary:
    """What a closed recording wrote and did not write, per producer."""

    path: Path
    written: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class _ChunkRecorder(BackgroundRecorder):
    """Interim adapter to the engine's recorder interface (chunks in, a summary out)."""

    def __init__(self, path):
        super().__init__(path)
        self.written: dict[str, int] = {}

    def submit(self, chunks) -> None:  # type: ignore[override]
        super().submit(Batch(chunks=list(chunks)))

    def wait_ready(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while self._opened is None and self.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.error

    def close(self, timeout: float = 5.0) -> RecordingSummary:  # type: ignore[override]
        super().close(timeout)
        return RecordingSummary(self.path, dict(self.written), dict(self.dropped), self.error)


def open_recorder(path) -> _ChunkRecorder:
    return _ChunkRecorder(path)
