"""`udp`: datagrams sent to a port, as PlotJuggler's UDP server takes them, as samples.

A program that already streams to PlotJuggler (`{"timestamp": 1.7e9, "a": {"b": 1.5}}` in a
datagram to port 9870) streams to streamscope unchanged. In the `json` format one datagram is
one JSON value (it may span lines: pretty-printed JSON is fine), flattened as PlotJuggler does
(`a/b`, `arr[0]`), and a top-level array of objects is several messages; in the other formats
a datagram holds one or more text lines. Formats, names and times are the shared line formats'
(`producers.lineformat`): a message without `timestamp`/`time`/`t` is stamped on receipt.

Speed is the point of UDP senders (a control loop at 1 kHz, a simulator at 10 kHz), and a
Python loop per datagram would spend its time in the interpreter: the socket is non-blocking
and each wake reads every waiting datagram (`recv_into`, back to back into one buffer, a
separator byte after each, until EAGAIN or the buffer is full), then decodes the whole batch
with one `str()` and parses it with one `LineParser.parse` call. A datagram that is not UTF-8
sends that batch the slow way (one decode per datagram) and is counted, as is one the parser
refuses: bad input is shown in the row, never fatal.

What the kernel drops when the receive buffer is full is loss no reader can see in its data;
the kind reads the kernel's own counter for its socket (`producers.udp_socket.kernel_drops`)
and reports it as bad input, so the row says what was lost. A port that cannot be bound (in
use, below 1024 without privileges) ends the run with one line, `cannot listen on
0.0.0.0:9870: address already in use`: the row shows it and the restart policy decides what
next (with `restart = "on-failure"` the port is tried again after the backoff). Waiting in a
RUNNING state instead would show a listener that hears nothing as if it were fine.

Waits are `selectors` waits of at most `WAIT_S`: Stop is answered within that.
"""

from __future__ import annotations

import selectors
import time
from collections import deque

from producers.base import Producer
from producers.lineformat import FORMATS, LineParser
from producers.params import Param
from producers.udp_socket import kernel_drops, listen, set_receive_buffer, where

WAIT_S = 0.1  # the longest a wait for datagrams lasts: how late Stop may be noticed
ROOM = 65536  # room for each datagram: more than UDP carries (65,507 bytes over IPv4), so
# a datagram is never cut short
BATCH_BYTES = 1 << 20  # a batch is parsed once this much has been read...
BATCH_DATAGRAMS = 8192  # ...or this many datagrams, or the socket is empty
DROPS_EVERY_S = 0.5  # how often the kernel's drop counter is read
EXAMPLE_BYTES = 60


class UdpSource(Producer):
    kind = "udp"
    help = "datagrams on a UDP port: PlotJuggler's JSON (or number, kv, csv lines)"
    params = (
        Param("host", str, "0.0.0.0",
              "address to listen on: 0.0.0.0 all IPv4, :: all IPv6 and IPv4, 127.0.0.1 local"),
        Param("port", int, 9870, "UDP port (PlotJuggler's default is 9870)", min=1, max=65535),
        Param("format", str, "json",
              "json: one JSON message per datagram; else the lines in each datagram",
              choices=FORMATS),
        Param("prefix", str, "", "put in front of every series name, e.g. 'robot1/'"),
        Param("buffer_kb", int, 4096,
              "receive buffer to ask the kernel for (KiB): what a burst or a pause may fill",
              min=64, max=262144),
    )  # fmt: skip

    def run(self, ctx) -> None:
        p = self.p
        self._ctx = ctx
        self._where = where(p["host"], p["port"])
        self._json = p["format"] == "json"
        # json: one datagram one message, which may hold newlines; NUL never occurs in valid
        # JSON text, so it separates datagrams. Other formats: a datagram is lines.
        self._sep = "\x00" if self._json else "\n"
        self._what = "malformed datagrams" if self._json else "malformed datagrams or lines"
        self._parser = LineParser(p["format"], p["prefix"])
        self._received = 0
        self._bad = 0
        self._dropped = 0  # by the kernel
        self._examples: deque[str] = deque(maxlen=5)
        sock = listen(p["host"], p["port"])
        try:
            _, self._buffer_line = set_receive_buffer(sock, p["buffer_kb"])
            ctx.set_status(f"listening on {self._where}")
            self._tell_details()
            self._loop(sock)
        finally:
            self._check_drops(sock)
            sock.close()

    def _loop(self, sock) -> None:
        ctx = self._ctx
        buf = bytearray(BATCH_BYTES + ROOM + 1)
        view = memoryview(buf)
        since: float | None = None
        next_check = time.monotonic() + DROPS_EVERY_S
        shown = 0
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            while ctx.running:
                if selector.select(WAIT_S):
                    ends = self._receive(sock, buf, view)
                    if ends:
                        now = time.time()
                        self._parse(view, ends, now, since)
                        since = now
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + DROPS_EVERY_S
                    self._check_drops(sock)
                    if self._received != shown:
                        shown = self._received
                        self._tell_details()

    def _receive(self, sock, buf: bytearray, view: memoryview) -> list[int]:
        """Read the waiting datagrams back to back into `buf`, each followed by the separator;
        returns where each one's separator ends (empty if none was waiting)."""
        ends: list[int] = []
        append = ends.append
        recv_into = sock.recv_into
        sep = ord(self._sep)
        at = 0
        try:
            while at < BATCH_BYTES and len(ends) < BATCH_DATAGRAMS:
                n = recv_into(view[at:], ROOM)
                buf[at + n] = sep
                at += n + 1
                append(at)
        except BlockingIOError:
            pass
        return ends

    def _parse(self, view: memoryview, ends: list[int], now: float, since: float | None) -> None:
        self._received += len(ends)
        sep = self._sep
        undecodable: list[str] = []
        try:
            pieces = str(view[: ends[-1]], "utf-8").split(sep)
            pieces.pop()  # what follows the last separator: nothing
            if self._json and len(pieces) != len(ends):  # a NUL inside a datagram
                pieces = self._one_by_one(view, ends, undecodable)
        except UnicodeDecodeError:
            pieces = self._one_by_one(view, ends, undecodable)
        parsed = self._parser.parse(pieces, now, since)
        emit = self._ctx.emit
        for name, (times, values) in parsed.series.items():
            emit(name, values, timestamps=times)
        bad = len(undecodable) + parsed.bad
        if bad:
            self._bad += bad
            examples = undecodable[-5:] + parsed.bad_examples
            self._examples.extend(examples)
            self._ctx.report_bad_input(bad, examples, what=self._what)
            self._tell_details()  # report_bad_input wrote the details: put ours back

    def _one_by_one(self, view: memoryview, ends: list[int], undecodable: list[str]) -> list:
        """The batch's text decoded datagram by datagram; those that are not UTF-8 are left out
        and described in `undecodable`."""
        pieces: list[str] = []
        start = 0
        for end in ends:
            raw = view[start : end - 1]
            start = end
            try:
                text = str(raw, "utf-8")
            except UnicodeDecodeError:
                undecodable.append(f"not UTF-8: {bytes(raw[:EXAMPLE_BYTES])!r}")
                continue
            if self._json:
                pieces.append(text)
            else:
                pieces += text.split("\n")
        return pieces

    def _check_drops(self, sock) -> None:
        drops = kernel_drops(sock)
        if drops is None or drops <= self._dropped:
            return
        new, self._dropped = drops - self._dropped, drops
        self._ctx.report_bad_input(
            new,
            [f"the kernel dropped {new:,} datagrams: the receive buffer was full"],
            what="datagrams dropped by the kernel (receive buffer full)",
        )
        self._tell_details()

    def _tell_details(self) -> None:
        p = self.p
        text = [
            f"UDP on {self._where}, {p['format']} format",
            self._buffer_line,
            f"{self._received:,} datagrams received",
        ]
        if self._bad:
            text.append(f"{self._bad:,} {self._what}")
        if self._dropped:
            text.append(
                f"kernel dropped {self._dropped:,} datagrams (receive buffer full: a larger "
                "buffer_kb absorbs longer bursts; a sender faster than the parser loses anyway)"
            )
        if self._examples:
            text += ["latest bad input:", *self._examples]
        self._ctx.set_details("\n".join(text))
