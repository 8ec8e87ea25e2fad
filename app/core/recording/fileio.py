"""Raw file I/O for the writers: whole writes or a clear error, and one-line error messages.

Why raw file descriptors instead of Python file objects: a buffered file object hides short
writes and keeps data in our process (lost on kill -9) until it decides to flush; `os.write`
puts bytes in the OS (page cache) when it returns, which is what "flushed" means here. A disk
that fills up mid-write gives a short write first and an error only on the next call: the loops
here turn that into one OSError, and tell the caller where the file was consistent so it can
truncate back to it (no half row, no torn footer left behind).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
_IOV_MAX = 512


class RecordingError(Exception):
    """Recording cannot go on: the message is one line, fit to show a user as is."""


def cannot_record(path: str | Path, exc: BaseException) -> str:
    """'cannot record to PATH: No space left on device' (strerror, not errno numbers)."""
    if isinstance(exc, RecordingError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    else:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"cannot record to {path}: {reason}"


def create(path: Path) -> int:
    """Open `path` for writing, emptied, and check it is a regular file (a FIFO or a device
    would accept writes but could never be truncated back to a consistent state)."""
    fd = os.open(path, _OPEN_FLAGS, 0o666)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def pwrite_all(fd: int, parts: Sequence[bytes | memoryview], offset: int) -> int:
    """Write all of `parts`, in order, at `offset`; return the offset just after them.
    Raises OSError (the disk's own error, or ENOSPC for a write that keeps coming up short)."""
    views = [memoryview(p).cast("B") for p in parts if len(p)]
    while views:
        written = os.pwritev(fd, views[:_IOV_MAX], offset)
        if written == 0:
            raise OSError(28, os.strerror(28))  # ENOSPC: a zero-length write makes no progress
        offset += written
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if written:
            views[0] = views[0][written:]
    return offset


def truncate(fd: int, size: int) -> None:
    """Cut the file back to `size` (best effort: the caller is already handling an error)."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, size)


class Writeback:
    """Starts the kernel writing what a recording has finished with, and drops it from the page
    cache once written, a little at a time, on a thread of its own (starting writeback can
    block on a busy disk; the recording's writer must not). Otherwise dirty pages pile up until
    the kernel (or the memory cgroup) throttles our writes in bursts, and it keeps a long
    recording from pushing the user's other files out of memory."""

    def __init__(self) -> None:
        self._done = 0
        self._upto = 0
        self._fd = -1
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def settle(self, fd: int, upto: int) -> None:
        """Everything before `upto` will not change again (short of an undo)."""
        if not hasattr(os, "posix_fadvise"):
            return
        with self._cv:
            self._fd, self._upto = fd, max(self._upto, upto)
            self._cv.notify()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="writeback", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Before the file is closed: its descriptor must not be advised after that."""
        with self._cv:
            self._fd = -1
            self._cv.notify()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._fd >= 0 and self._upto <= self._done:
                    self._cv.wait()
                if self._fd < 0:
                    return
                fd, start, end = self._fd, self._done, self._upto
                self._done = end
            with contextlib.suppress(OSError):  # the file stays open until stop() joins us
                os.posix_fadvise(fd, start, end - start, os.POSIX_FADV_DONTNEED)


class RecordingFile:
    """What every recording writer shares: the file (opened by `create`, emptied), chunks held
    until the next flush, writeback of what is settled, and closing (a last flush, then any
    end marker the format needs: `_finish`)."""

    def __init__(self, path: str | Path, head: Sequence[bytes | memoryview]):
        """Create the file and write `head` (the format's first bytes) at its start."""
        self.path = Path(path)
        self._fd = create(self.path)
        self._pending: list = []
        self._writeback = Writeback()
        try:
            self._end = pwrite_all(self._fd, head, 0)
        except BaseException:
            os.close(self._fd)
            raise

    def write(self, chunks) -> None:
        """Hold chunks for the next flush (no disk access)."""
        self._pending.extend(chunks)

    def take(self) -> list:
        """The chunks held since the last flush (the writer's flush writes them)."""
        chunks, self._pending = self._pending, []
        return chunks

    def discard(self) -> None:
        """Forget what was written since the last flush (it will be reported as dropped)."""
        self._pending = []

    def flush(self) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """After the last flush, before the file is closed: an end marker, if the format has one."""

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            self.flush()
            self._finish()
        finally:
            self._writeback.stop()
            os.close(self._fd)
            self._fd = -1
