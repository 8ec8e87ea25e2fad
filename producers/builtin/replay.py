"""Replay a recording made by `streamscope record`, at any speed, optionally looping.

Why the timestamps move: the live chart shows the recent past, so recorded times (hours or
days ago) would be off screen. They keep their spacing, shifted to now: at `speed` s a sample
recorded at t is sent at wall time start + (t - t_first) / s, stamped with that time. At speed 0
(as fast as the app takes it) the whole recording is shifted to END when the replay started:
all of it lies in the recent past and shows at once. A loop continues one median sample interval
after the previous loop's last sample, so time never goes back; at speed 0 each further loop
comes as soon as all of it lies in the past (the chart never shows future samples).

Why the pace is read from the app at speed 0: the outbox drops what the app cannot take, which
is right for a live source and wrong for a file that can simply wait (`ctx.wait_for_room`).

Why it does not exit when done: a row that reads `RUNNING · done: 1,200,000 samples, 60.0 s`
says what happened and stays so until Stop (and, on a supervisor that counts an exit within
its first second as a failed start, a short replay would be retried). An empty recording is
said the same way.

Reading is `recording_reader`'s: any of the three formats, in batches (bounded memory), a crash-
cut recording up to its cut (said in the row's status and details), unreadable rows counted.
"""

from __future__ import annotations

import math
import time

import numpy as np

from producers.base import Producer
from producers.builtin.recording_reader import NotARecording, RecordingReader, Rows
from producers.params import Param, path

MIN_WAIT_S = 0.005  # the shortest sleep between paced emits: a 1 MHz recording wakes ~200x/s
LOOP_GAP_S = 1.0  # between loops when no sample interval is known (one sample per series)


class Replay(Producer):
    kind = "replay"
    help = "play a recording of `streamscope record` (CSV, Parquet, Arrow) back, shifted to now"
    params = (
        Param("path", path, "", "the recording: .csv, .parquet or .arrows written by record"),
        Param("speed", float, 1.0, "times real time; 0 = as fast as possible", min=0.0, max=1000.0),
        Param("loop", bool, False, "start over at the end (time keeps running on)"),
        Param(
            "producer",
            str,
            "",
            "only this recorded producer, series named <series>; "
            "empty: all, named <producer>/<series>",
        ),
    )
    # the default background flusher: notes (the status) go out while it sleeps in `wait`

    def run(self, ctx) -> None:
        if not self.p["path"]:
            raise NotARecording("path: no recording given")
        picked = self.p["producer"]
        self.reader = reader = RecordingReader(
            self.p["path"], picked,
            on_bad=lambda n, examples: ctx.report_bad_input(n, examples, "unreadable rows"),
        )  # fmt: skip
        self.speed, self.looping = self.p["speed"], self.p["loop"]
        self.scale = 1.0 / self.speed if self.speed else 1.0
        self.names: dict[tuple[str, str], str] = {}
        self.samples = 0
        self.gap: float | None = None
        ctx.set_details(self._details())
        # the range: needed up front at speed 0 (to end at now); else only if it costs nothing
        known = reader.time_range() if self.speed == 0 else reader.known_range()
        if self.speed == 0 and known is None:
            self._nothing_to_replay(ctx)
            return
        self.first, self.last = known if known else (math.nan, math.nan)
        prev_end, loop = -math.inf, 1
        while ctx.running:
            base, origin = self._timeline(ctx, loop, prev_end)
            if base is None:
                return
            lo, hi, end = self._play(ctx, loop, base, origin)
            if loop == 1:
                if lo > hi:  # nothing at all
                    self._nothing_to_replay(ctx)
                    return
                if known is None:
                    self.first, self.last = lo, hi
            if not ctx.running:
                return
            if not self.looping:
                ctx.set_status(self._status(self.last, loop, done=True))
                while ctx.wait(3600.0):  # shown as done until stopped (see the docstring)
                    pass
                return
            prev_end, loop = max(prev_end, end), loop + 1

    # -- the time line of one loop -------------------------------------------------------------
    def _timeline(self, ctx, loop: int, prev_end: float) -> tuple[float | None, float]:
        """(base, origin) of loop `loop`: a sample recorded at t is stamped (and, at speed > 0,
        sent) at base + (t - origin) * scale."""
        now = time.time()
        if loop == 1:
            if self.speed == 0:
                return now, self.last  # the recording ends now
            return now, self.first  # NaN if not known yet: the first batch's earliest
        gap = (self.gap if self.gap else LOOP_GAP_S) * self.scale
        base = prev_end + gap
        if self.speed == 0:  # all of the loop in the past: wait until it is
            span = self.last - self.first
            while ctx.running and time.time() < base + span:
                ctx.set_status(self._status(self.first, loop, waiting=True))
                ctx.wait(min(base + span - time.time(), 1.0))
            if not ctx.running:
                return None, 0.0
            base = max(base, time.time() - span)
        return base, self.first

    def _play(self, ctx, loop: int, base: float, origin: float) -> tuple[float, float, float]:
        """One pass over the recording; returns (earliest, latest) recorded time seen and the
        latest timestamp sent."""
        lo, hi, end = math.inf, -math.inf, -math.inf
        for rows in self.reader.batches():
            if not ctx.running:
                break
            if math.isnan(origin):  # speed > 0, range unknown: start at the first batch
                origin = float(rows.seconds.min())
                self.first = origin  # for the status, until the first loop tells
            lo, hi = min(lo, float(rows.seconds.min())), max(hi, float(rows.seconds.max()))
            if self.gap is None:
                self.gap = _median_interval(rows)
            out = base + (rows.seconds - origin) * self.scale
            end = max(end, float(out.max()))
            if self.speed == 0:
                self._emit(ctx, rows, out, 0, len(rows))
                ctx.set_status(self._status(float(rows.seconds.max()), loop))
                ctx.wait_for_room()
                continue
            due = np.maximum.accumulate(out)  # file order is arrival order: nearly sorted
            pos = 0
            while pos < len(rows) and ctx.running:
                upto = int(np.searchsorted(due, time.time(), side="right"))
                if upto > pos:
                    self._emit(ctx, rows, out, pos, upto)
                    ctx.set_status(self._status(float(rows.seconds[upto - 1]), loop))
                    pos = upto
                if pos < len(rows):
                    ctx.wait(max(float(due[pos]) - time.time(), MIN_WAIT_S))
        ctx.flush()
        return lo, hi, end

    def _emit(self, ctx, rows: Rows, out: np.ndarray, a: int, b: int) -> None:
        """Rows a..b, one emit per series (in file order within each)."""
        self.samples += b - a
        if len(rows.names) == 1:
            ctx.emit(self._name(rows.names[0]), rows.values[a:b], timestamps=out[a:b])
            return
        codes = rows.codes[a:b]
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        values, times = rows.values[a:b], out[a:b]
        for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(order)], strict=True):
            pick = order[lo:hi]
            ctx.emit(self._name(rows.names[ordered[lo]]), values[pick], timestamps=times[pick])

    def _name(self, key: tuple[str, str]) -> str:
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = key[1] if self.p["producer"] else f"{key[0]}/{key[1]}"
        return name

    # -- what the row says -----------------------------------------------------------------------
    def _status(self, t: float, loop: int, done: bool = False, waiting: bool = False) -> str:
        at = t - self.first if not math.isnan(self.first) else 0.0
        span = self.last - self.first
        text = f"{at:.1f} s / {span:.1f} s" if not math.isnan(span) else f"{at:.1f} s"
        if done:
            text = f"done: {self.samples:,} samples, {span:.1f} s"
        if self.looping:
            text += f", loop {loop}" + (" (waiting for it to be past)" if waiting else "")
        if self.reader.cut_short:
            text += " · recording cut short"
        return text

    def _details(self) -> str:
        r = self.reader
        lines = [f"{r.format} recording {r.path} ({r.size:,} bytes)"]
        if r.cut_short:
            lines.append(f"cut short: {r.cut_short}; replaying what could be read")
        return "\n".join(lines)

    def _nothing_to_replay(self, ctx) -> None:
        """Raise if the file or the producer picked is to blame; else say so until stopped."""
        r = self.reader
        if r.producer and r.producers_seen - {r.producer}:
            seen = ", ".join(sorted(r.producers_seen)[:20])
            raise NotARecording(f"{r.path}: no rows of producer {r.producer!r} (it holds: {seen})")
        if r.cut_short:
            raise NotARecording(f"{r.path}: nothing to replay: {r.cut_short}")
        ctx.set_status("empty recording: nothing to replay")
        while ctx.wait(3600.0):
            pass


def _median_interval(rows: Rows) -> float:
    """The median spacing of the busiest series in a batch (0 if it has one sample)."""
    codes = rows.codes
    busiest = np.bincount(codes).argmax() if len(rows.names) > 1 else 0
    times = rows.seconds if len(rows.names) == 1 else rows.seconds[codes == busiest]
    steps = np.diff(np.sort(times))
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else 0.0
