"""Follow a growing text file (a log, a logger's output) and plot its lines, like `tail -F`.

Why it is built this way:
- Polling, not inotify: every `poll_s` it compares the open file's size with what it read and
  the path's inode with the open file's. One or two `stat` calls per poll cost nothing
  measurable, work on every file system (network mounts, container volumes, where inotify
  stays silent) and need no extra dependency. New lines are seen within `poll_s`.
- Reads of up to 64 KiB, parsed per chunk (`producers.builtin.text_feed`): reading a big file
  `from_start` runs at the parser's speed, not at one line per call.
- Truncation (the size falls below what was read: `> file`, copytruncate): read again from
  offset 0. A truncation followed by more writes than were read before, within one poll, looks
  like growth and is not noticed (as with tail).
- Rotation (the path names another file now: rename + create): the old file's remainder is
  read first, then the new file from its start. A removed file is the same: the rest of it is
  read, then the producer waits for the path again.
- A missing file is a state, not an error: the row reads `waiting for <path>` and the file is
  opened when it appears, from its start (all of it was written after the producer started).
- Starting at the end (`from_start = false`) skips what the file holds, including a last line
  still being written: its rest would otherwise arrive alone, as a bad line.
- An unterminated last line waits for its newline; at a rotation it counts as complete.
"""

from __future__ import annotations

import os
import stat

from producers.base import Producer
from producers.builtin.text_feed import READ_BYTES, TextFeed
from producers.lineformat import FORMATS
from producers.params import Param, ParamError, path


class FileTail(Producer):
    kind = "file"
    help = "follow a growing text file (like tail -F); its lines become samples"
    params = (
        Param("path", path, "", "the file to follow (relative: to the session's folder)"),
        Param("format", str, "auto", "how lines are read", choices=FORMATS),
        Param("from_start", bool, False, "read what the file holds too, not only new lines"),
        Param("poll_s", float, 0.1, "seconds between looks for growth", min=0.01, max=10.0),
        Param("prefix", str, "", "put before every series name, e.g. 'log/'"),
    )

    def __init__(self, **params):
        super().__init__(**params)
        if not self.p["path"]:
            raise ParamError("path", "path must name the file to follow")
        self.truncated = 0
        self.rotated = 0
        self._skip_partial = False

    def run(self, ctx) -> None:
        feed = TextFeed(ctx, self.p["format"], self.p["prefix"])
        name, poll = self.p["path"], self.p["poll_s"]
        at_end = not self.p["from_start"]  # only for the file there at the start
        while ctx.running:
            fd, why = _open(name)
            if fd is None:
                ctx.set_status(why)
                at_end = False  # what appears later was all written after we started
                ctx.wait(poll)
                continue
            try:
                if at_end:
                    self._skip_to_end(fd)
                    at_end = False
                self._show(ctx)
                self._follow(fd, feed, ctx)
            finally:
                os.close(fd)
            self._skip_partial = False
            feed.finish()  # the old file's unterminated last line

    def _follow(self, fd: int, feed: TextFeed, ctx) -> None:
        """Read `fd` as it grows until Stop, or until the path names another file (or none)."""
        name, poll = self.p["path"], self.p["poll_s"]
        offset = os.lseek(fd, 0, os.SEEK_CUR)
        mine = os.fstat(fd)
        while ctx.running:
            offset += self._read_to_end(fd, feed, ctx)
            if os.fstat(fd).st_size < offset:  # truncated: the writer starts again at 0
                self.truncated += 1
                self._skip_partial = False
                feed.finish()
                offset = os.lseek(fd, 0, os.SEEK_SET)
                self._show(ctx)
                continue
            try:
                now = os.stat(name)
            except OSError:
                now = None
            if now is None or (now.st_ino, now.st_dev) != (mine.st_ino, mine.st_dev):
                self._read_to_end(fd, feed, ctx)  # what was written before the rename
                self.rotated += now is not None
                return
            ctx.wait(poll)

    def _read_to_end(self, fd: int, feed: TextFeed, ctx) -> int:
        """Read and parse what the file holds past our offset; returns the bytes read."""
        total = 0
        while ctx.running:
            data = os.read(fd, READ_BYTES)
            if not data:
                break
            total += len(data)
            if self._skip_partial:  # the rest of the line that was unfinished at the start
                newline = data.find(b"\n")
                if newline < 0:
                    continue
                self._skip_partial = False
                data = data[newline + 1 :]
            feed.feed(data)
        return total

    def _skip_to_end(self, fd: int) -> None:
        """Seek past the file's content; an unfinished last line is skipped when it ends."""
        end = os.lseek(fd, 0, os.SEEK_END)
        self._skip_partial = end > 0 and os.pread(fd, 1, end - 1) != b"\n"

    def _show(self, ctx) -> None:
        notes = []
        if self.truncated:
            notes.append(f"truncated {self.truncated}x, read again from the start")
        if self.rotated:
            notes.append(f"replaced {self.rotated}x, new file read from its start")
        text = f"following {self.p['path']}"
        ctx.set_status(text + (f" ({'; '.join(notes)})" if notes else ""))


def _open(name: str) -> tuple[int | None, str]:
    """An fd open for reading on `name`, or None and why not (the row's status)."""
    try:
        mode = os.stat(name).st_mode
        if stat.S_ISDIR(mode):
            return None, f"{name} is a directory; waiting for a file"
        if stat.S_ISFIFO(mode):  # opening it would block until a writer comes
            return None, f"{name} is a named pipe: use kind command with cat"
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, f"waiting for {name}"
    except OSError as exc:
        return None, f"cannot open {name}: {exc.strerror or exc}"
    return fd, ""
