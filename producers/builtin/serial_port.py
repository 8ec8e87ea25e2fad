"""`serial`: text lines from a serial port (an Arduino, a USB-serial adapter, a pty) as samples.

A serial device comes and goes: it is plugged in after the session starts, unplugged
mid-stream, re-enumerated when its board resets. None of that is an error: while the port
cannot be opened the row reads `RUNNING · waiting for /dev/ttyUSB0` (with the reason when the
port exists but cannot be opened: permission denied, busy, not a serial port), then
`connected to /dev/ttyUSB0 at 115200 baud`; when the device vanishes the producer goes back to
waiting and opens the port again when it returns, trying every `reconnect_s`. What the device
sent while it was away is lost, and how much cannot be known: the details say how many times
that happened.

Lines are split and parsed by the formats every text source shares (`producers.linesplit`,
`producers.lineformat`); each read takes whatever the port has waiting, so a line reaches the
chart within one read of its newline. Reads time out every `READ_TIMEOUT_S`: Stop is answered
within that, with no thread of our own to end.

pyserial is imported inside `run`, not with the module: the fork server preloads the built-in
kinds, and every other producer would pay for an import only this kind needs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections import deque

from producers.base import Producer
from producers.lineformat import FORMATS, LineParser
from producers.linesplit import LineSplitter
from producers.params import Param, one_line

READ_TIMEOUT_S = 0.1  # the longest a read blocks: how late Stop may be noticed

# Why an existing port cannot be opened, in words a user can act on (errno -> reason).
_REASONS = {
    errno.EACCES: "permission denied (is your user in the port's group, e.g. dialout?)",
    errno.EPERM: "permission denied (is your user in the port's group, e.g. dialout?)",
    errno.EBUSY: "busy (another program has it open)",
    errno.EAGAIN: "in use by another program (it holds the port's lock)",
    errno.ENOTTY: "not a serial port",
}
_MISSING = (errno.ENOENT, errno.ENODEV, errno.ENXIO)  # not there (yet): plain waiting


def _errno_of(exc: BaseException) -> int | None:
    """The errno behind an exception, also when pyserial re-raised it without one (it wraps a
    failed tcgetattr, ENOTTY, in a SerialException whose errno is None)."""
    while exc is not None:
        code = getattr(exc, "errno", None)
        if code is None and exc.args and isinstance(exc.args[0], int):
            code = exc.args[0]  # termios.error(25, '...')
        if code is not None:
            return code
        exc = exc.__cause__ or exc.__context__
    return None


def open_failure(exc: BaseException) -> str:
    """Why the port could not be opened; "" when it simply does not exist (yet)."""
    code = _errno_of(exc)
    if code in _MISSING:
        return ""
    if code in _REASONS:
        return _REASONS[code]
    if code is not None:
        return os.strerror(code).lower()
    return one_line(str(exc))[:200]


def _pyserial():
    """pyserial, imported here (see the module docstring), or a message that says what to do."""
    try:
        import serial
    except ImportError:
        serial = None
    if not hasattr(serial, "SerialException"):  # missing, or the unrelated package `serial`
        raise RuntimeError("the serial kind needs pyserial: pip install pyserial") from None
    return serial


class SerialPort(Producer):
    kind = "serial"
    help = "text lines from a serial port (number, kv, csv, json), reconnecting when it returns"
    params = (
        Param("port", str, "/dev/ttyUSB0", "the serial device, e.g. /dev/ttyUSB0 or /dev/ttyACM0"),
        Param("baud", int, 115200, "bits per second", min=50, max=4_000_000),
        Param("format", str, "auto", "how lines are read", choices=FORMATS),
        Param("prefix", str, "", "put in front of every series name, e.g. 'board1/'"),
        Param("reconnect_s", float, 1.0, "seconds between attempts to open the port",
              min=0.1, max=60.0),
    )  # fmt: skip

    def run(self, ctx) -> None:
        serial = _pyserial()
        self._ctx = ctx
        self._parser = LineParser(self.p["format"], self.p["prefix"])
        self._connections = 0
        self._losses = 0  # times the device was lost mid-stream
        self._last_loss = ""  # why, the last time
        self._examples: deque[str] = deque(maxlen=5)
        while ctx.running:
            port = self._open(serial)
            if port is None:
                return  # stopped while waiting
            self._connections += 1
            ctx.set_status(f"connected to {self.p['port']} at {self.p['baud']} baud")
            self._tell_details()
            try:
                lost = self._read(port, serial)
            finally:
                with contextlib.suppress(serial.SerialException, OSError):  # a vanished device
                    port.close()
            if lost is None:
                return  # stopped
            self._losses += 1
            self._last_loss = lost
            ctx.set_status(f"waiting for {self.p['port']}")
            self._tell_details()
            ctx.wait(self.p["reconnect_s"])  # a port that opens and fails at once: no spin

    def _open(self, serial):
        """The open port, trying every reconnect_s until it opens; None if stopped first."""
        name = self.p["port"]
        while self._ctx.running:
            try:
                # exclusive: a second reader of the same port would get every other line
                return serial.Serial(name, self.p["baud"], timeout=READ_TIMEOUT_S, exclusive=True)
            except (serial.SerialException, OSError) as exc:
                why = open_failure(exc)
                self._ctx.set_status(f"waiting for {name}: {why}" if why else f"waiting for {name}")
            self._ctx.wait(self.p["reconnect_s"])
        return None

    def _read(self, port, serial) -> str | None:
        """Read, parse and emit until stopped (None) or the device is lost (why, as text).

        The first line after opening may be the tail of a line the device was in the middle of
        sending: if it does not parse it is dropped, not counted as bad input, so that plugging
        in a streaming device does not show an error."""
        splitter = LineSplitter()
        since: float | None = None
        too_long = 0
        first = True
        while self._ctx.running:
            try:
                data = port.read(port.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                return one_line(str(exc))[:200] or type(exc).__name__
            lines = splitter.feed(data) if data else ()
            if lines:
                now = time.time()
                if first:
                    first = False
                    self._parse(lines[:1], now, since, count_bad=False)
                    lines = lines[1:]
                if lines:
                    self._parse(lines, now, since)
                since = now
            if splitter.too_long > too_long:
                limit = splitter.max_line_bytes
                self._bad(splitter.too_long - too_long, [f"longer than {limit:,} bytes"],
                          "over-long lines")  # fmt: skip
                too_long = splitter.too_long
        return None

    def _parse(self, lines: list[str], now: float, since: float | None, count_bad=True) -> None:
        parsed = self._parser.parse(lines, now, since)
        for name, (times, values) in parsed.series.items():
            self._ctx.emit(name, values, timestamps=times)
        if parsed.bad and count_bad:
            self._bad(parsed.bad, parsed.bad_examples, "unparsable lines")

    def _bad(self, count: int, examples, what: str) -> None:
        self._examples.extend(examples)
        self._ctx.report_bad_input(count, examples, what=what)
        if self._losses:  # report_bad_input wrote the details: put the losses back
            self._tell_details()

    def _tell_details(self) -> None:
        """The details: the port, and how often the device was lost (what it sent meanwhile is
        gone, uncounted), with the latest bad input as report_bad_input would show it."""
        p = self.p
        text = [f"{p['port']} at {p['baud']} baud, {p['format']} format"]
        if self._losses:
            text.append(
                f"lost {self._losses} times, reconnected {self._connections - 1} times: what the "
                "device sent while disconnected is lost, and how much cannot be known"
            )
            text.append(f"last lost: {self._last_loss}")
        if self._examples:
            text += ["latest bad input:", *self._examples]
        self._ctx.set_details("\n".join(text))
