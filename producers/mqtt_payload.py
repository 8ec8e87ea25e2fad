"""One MQTT message's payload into samples: a number, JSON, or streamscope's binary batches.

The `mqtt` kind calls `PayloadReader.read` from paho's callback for every message; it emits
straight into the producer's context and returns how many samples it gave, or raises
`Malformed` with a short reason that the row shows. Nothing here knows about connections.

Series names:
- number: the topic itself (`lab/temp`);
- json: `<topic>/<key>`, flattened exactly as the json line format does
  (`producers.lineformat`): `{"a": {"b": 1}}` on `lab/x` gives `lab/x/a/b`, a top-level number
  gives `lab/x/value`, and a top-level `t`, `time` or `timestamp` is the sample's time;
- binary: `<topic>/<series>` for each series of the batch, with the batch's own timestamps.
A number or JSON value without a time of its own is stamped on receipt.
"""

from __future__ import annotations

import re
import time

from producers import wire
from producers.lineformat import LineParser
from producers.params import one_line

FORMATS = ("auto", "number", "json", "binary")
SHOWN_BYTES = 60  # of a malformed payload, in the reason
_JSON_NUMBER = re.compile(r"\s*-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?\s*")


class Malformed(ValueError):
    """A payload that does not fit its format; the message is the reason, short and printable."""


def _shown(payload: bytes) -> str:
    text = repr(payload[:SHOWN_BYTES])
    return text + ("…" if len(payload) > SHOWN_BYTES else "")


class PayloadReader:
    """Reads payloads of one format (`FORMATS`) into `ctx` (anything with `emit` and
    `emit_sample`). Not thread-safe: paho calls back on one thread."""

    def __init__(self, ctx, fmt: str = "auto"):
        if fmt not in FORMATS:
            raise ValueError(f"unknown payload format {fmt!r}; expected one of {FORMATS}")
        self.ctx = ctx
        self.fmt = fmt
        self._json = LineParser("json")  # stateless for json: one parser, prefix set per call

    def read(self, topic: str, payload: bytes) -> int:
        """Emit the samples of `payload` (published on `topic`); their count. Raises Malformed."""
        fmt = self.fmt
        if fmt == "auto":
            if payload[:1] == b"D":
                try:
                    return self.binary(f"{topic}/", payload)
                except Malformed as exc:
                    binary_failure = exc
            else:
                binary_failure = None
            start = payload.lstrip()[:1]
            try:
                if start in (b"{", b"["):
                    return self.json(topic, payload)
                return self.number(topic, payload)
            except Malformed:
                if binary_failure is not None:  # "D..." is more likely a broken batch than text
                    raise binary_failure from None
                raise
        if fmt == "binary":
            return self.binary(f"{topic}/", payload)
        if fmt == "json":
            return self.json(topic, payload)
        return self.number(topic, payload)

    def binary(self, prefix: str, payload: bytes) -> int:
        """A streamscope DATA message (`producers.wire`): its series under `prefix`."""
        try:
            msg = wire.decode(payload)
        except wire.WireError as exc:
            why = one_line(str(exc))[:80]
            raise Malformed(f"not a streamscope batch ({why}): {_shown(payload)}") from None
        if not isinstance(msg, wire.DataMessage):
            raise Malformed(f"not a streamscope data batch: {_shown(payload)}")
        emit, n = self.ctx.emit, 0
        for c in msg.chunks:
            if c.explicit_times is None:
                emit(prefix + c.series, c.values, t0=c.t0, dt=c.dt)
            else:
                emit(prefix + c.series, c.values, timestamps=c.explicit_times)
            n += len(c)
        return n

    def json(self, topic: str, payload: bytes) -> int:
        text = _text(payload)
        if _JSON_NUMBER.fullmatch(text):  # a bare number, as most sensors send: 1.7x faster
            self.ctx.emit_sample(f"{topic}/value", float(text))
            return 1
        self._json.prefix = f"{topic}/"
        parsed = self._json.parse([text], time.time())
        if parsed.bad or not parsed.series:
            reason = parsed.bad_examples[-1] if parsed.bad_examples else "no number in it"
            raise Malformed(reason)
        n = 0
        for name, (times, values) in parsed.series.items():
            if len(values) == 1:  # one message, one sample a series: no arrays to send
                self.ctx.emit_sample(name, float(values[0]), float(times[0]))
            else:
                self.ctx.emit(name, values, timestamps=times)
            n += len(values)
        return n

    def number(self, topic: str, payload: bytes) -> int:
        text = _text(payload).strip()
        try:
            if "_" in text:  # float() reads 1_000; the line formats do not, nor do we
                raise ValueError
            value = float(text)
        except ValueError:
            raise Malformed(f"not a number: {_shown(payload)}") from None
        self.ctx.emit_sample(topic, value)
        return 1


def _text(payload: bytes) -> str:
    try:
        return payload.decode()
    except UnicodeDecodeError:
        raise Malformed(f"not UTF-8 text: {_shown(payload)}") from None
