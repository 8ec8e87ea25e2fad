"""producers.runtime and the built-in kinds, in-process: batching, the bounded outbox, stopping.

No process is spawned here: producers run on the test thread with a real ProducerContext over a
fake outbox (or a real Outbox over an in-process Pipe), and a threading.Event as the stop event.
"""

from __future__ import annotations

import datetime
import itertools
import math
import multiprocessing as mp
import threading
import time

import numpy as np
import pytest

from producers import get_kind, wire
from producers.builtin.fail import ProducerFailure
from producers.runtime import LaunchSpec, Outbox, ProducerContext, StopListener, _run_producer
from producers.tally import Tally

FOREVER = 1e9  # a batch interval that never elapses during a test


class FakeOutbox:
    """Records what the context sends; optionally sets `stop` after `stop_after` data batches."""

    def __init__(self, stop: threading.Event | None = None, stop_after: int | None = None):
        self.raw: list[bytes] = []
        self.samples: list[int] = []
        self.forced: list[bool] = []
        self.broken = False
        self.dropped_samples = 0
        self.refuse = False
        self._stop = stop
        self._stop_after = stop_after

    def put(self, msg: bytes, samples: int = 0, force: bool = False) -> bool:
        if self.refuse and not force:
            self.dropped_samples += samples
            return False
        self.raw.append(msg)
        self.samples.append(samples)
        self.forced.append(force)
        if self._stop_after is not None and len(self.data) >= self._stop_after:
            self._stop.set()
        return True

    @property
    def messages(self):
        return [wire.decode(m) for m in self.raw]

    @property
    def data(self) -> list[wire.DataMessage]:
        return [m for m in self.messages if isinstance(m, wire.DataMessage)]

    @property
    def controls(self) -> list[wire.ControlMessage]:
        return [m for m in self.messages if isinstance(m, wire.ControlMessage)]

    def chunks(self, series: str | None = None) -> list[wire.Chunk]:
        return [c for m in self.data for c in m.chunks if series is None or c.series == series]

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        chunks = self.chunks(name)
        return (
            np.concatenate([c.timestamps for c in chunks]),
            np.concatenate([c.values for c in chunks]),
        )


def make_ctx(interval=FOREVER, max_samples=1 << 17, stop_after=None):
    stop = threading.Event()
    outbox = FakeOutbox(stop, stop_after)
    return ProducerContext(outbox, stop, interval, max_samples), outbox, stop


# -- ProducerContext ---------------------------------------------------------------------------


def test_emits_are_batched_until_flush():
    ctx, outbox, _ = make_ctx()
    ctx.emit("a", [1.0, 2.0], t0=10.0, dt=0.5)
    ctx.emit("b", [3.0], timestamps=[11.0])
    ctx.emit_sample("c", 4.0, 12.0)
    ctx.emit_sample("c", 5.0, 13.0)
    assert outbox.raw == []
    ctx.flush()
    (msg,) = outbox.data
    assert outbox.samples == [5]
    got = {c.series: (list(c.timestamps), list(c.values)) for c in msg.chunks}
    assert got == {
        "a": ([10.0, 10.5], [1.0, 2.0]),
        "b": ([11.0], [3.0]),
        "c": ([12.0, 13.0], [4.0, 5.0]),
    }
    assert ctx.batches_sent == 1


def test_regular_emit_travels_as_t0_dt():
    ctx, outbox, _ = make_ctx()
    ctx.emit("a", np.arange(1000.0), t0=5.0, dt=0.001)
    ctx.flush()
    (chunk,) = outbox.chunks()
    assert chunk.explicit_times is None
    assert (chunk.t0, chunk.dt) == (5.0, 0.001)


def test_flush_with_nothing_pending_sends_nothing():
    ctx, outbox, _ = make_ctx()
    ctx.flush()
    ctx.emit("a", [], t0=0.0, dt=1.0)  # an empty emit is not a sample
    ctx.flush()
    assert outbox.raw == []
    assert ctx.batches_sent == 0


def test_batch_is_sent_when_it_reaches_max_samples():
    ctx, outbox, _ = make_ctx(max_samples=100)
    for i in range(99):
        ctx.emit_sample("v", float(i), float(i))
    assert outbox.raw == []
    ctx.emit_sample("v", 99.0, 99.0)
    assert outbox.samples == [100]
    ctx.emit("v", np.arange(250.0), t0=100.0, dt=1.0)  # one big emit goes out whole
    assert outbox.samples == [100, 250]
    times, values = outbox.series("v")
    np.testing.assert_array_equal(times, np.arange(350.0))
    np.testing.assert_array_equal(values, np.concatenate([np.arange(100.0), np.arange(250.0)]))


def test_batch_is_sent_once_the_interval_has_passed():
    ctx, outbox, _ = make_ctx(interval=0.0)
    ctx.emit_sample("v", 1.0, 1.0)
    ctx.emit_sample("v", 2.0, 2.0)
    assert outbox.samples == [1, 1]


def test_emit_sample_stamps_now_when_no_time_given():
    ctx, outbox, _ = make_ctx()
    before = time.time()
    ctx.emit_sample("v", 1.0)
    after = time.time()
    ctx.flush()
    (t,), _ = outbox.series("v")
    assert before <= t <= after


def test_dropped_total_is_reported_in_every_later_batch():
    ctx, outbox, _ = make_ctx()
    ctx.emit_sample("v", 1.0, 1.0)
    ctx.flush()
    outbox.refuse = True
    ctx.emit("v", np.ones(7), t0=2.0, dt=1.0)
    ctx.flush()
    outbox.refuse = False
    ctx.emit_sample("v", 3.0, 9.0)
    ctx.flush()
    assert [m.dropped_total for m in outbox.data] == [0, 7]
    assert outbox.dropped_samples == 7


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((np.ones((2, 2)),), {"t0": 0.0, "dt": 1.0}),
        (([1.0, 2.0], [1.0]), {}),
        (([1.0, 2.0],), {}),
        (([1.0, 2.0],), {"t0": 0.0}),
        (([1.0, 2.0],), {"dt": 1.0}),
    ],
)
def test_emit_rejects_malformed_input(args, kwargs):
    ctx, outbox, _ = make_ctx()
    with pytest.raises(ValueError):
        ctx.emit("v", *args, **kwargs)
    ctx.flush()
    assert outbox.raw == []


def test_running_goes_false_on_stop_and_on_broken_outbox():
    ctx, _outbox, stop = make_ctx()
    assert ctx.running
    stop.set()
    assert not ctx.running
    ctx2, outbox2, _ = make_ctx()
    outbox2.broken = True
    assert not ctx2.running


def test_wait_flushes_then_sleeps_the_given_time():
    ctx, outbox, _ = make_ctx()
    ctx.emit_sample("v", 1.0, 1.0)
    start = time.monotonic()
    assert ctx.wait(0.05) is True
    assert time.monotonic() - start >= 0.05
    assert outbox.samples == [1]


def test_wait_returns_false_at_once_when_stopped():
    ctx, _, stop = make_ctx()
    stop.set()
    start = time.monotonic()
    assert ctx.wait(10.0) is False
    assert time.monotonic() - start < 1.0


def test_wait_wakes_early_when_stop_is_set_meanwhile():
    ctx, _, stop = make_ctx()
    timer = threading.Timer(0.05, stop.set)
    timer.start()
    try:
        start = time.monotonic()
        assert ctx.wait(10.0) is False
        assert time.monotonic() - start < 2.0
    finally:
        timer.cancel()


def test_stop_listener_is_set_when_the_gui_closes_its_end(pipe):
    reader, writer = pipe
    stop = StopListener(reader)
    assert not stop.is_set()
    start = time.monotonic()
    assert stop.wait(0.05) is False
    assert time.monotonic() - start >= 0.04
    timer = threading.Timer(0.05, writer.close)
    timer.start()
    try:
        start = time.monotonic()
        assert stop.wait(10.0) is True  # wakes at once, not after the timeout
        assert time.monotonic() - start < 5.0
    finally:
        timer.join()
    assert stop.is_set() and stop.is_set()  # and stays set


def test_context_stops_when_its_stop_pipe_closes(pipe):
    reader, writer = pipe
    ctx = ProducerContext(FakeOutbox(), StopListener(reader), FOREVER)
    assert ctx.running
    timer = threading.Timer(0.05, writer.close)
    timer.start()
    try:
        start = time.monotonic()
        assert ctx.wait(10.0) is False
        assert time.monotonic() - start < 5.0
    finally:
        timer.join()
    assert not ctx.running


# -- Outbox over a real pipe ---------------------------------------------------------------------


class PipeReader:
    """Collects everything from the read end on a thread, until EOF."""

    def __init__(self, conn):
        self.conn = conn
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> PipeReader:
        self.thread.start()
        return self

    def _run(self):
        try:
            while True:
                self.received.append(self.conn.recv_bytes())
        except (EOFError, OSError):
            pass

    def join(self, timeout=5.0):
        self.thread.join(timeout)
        assert not self.thread.is_alive()


@pytest.fixture
def pipe():
    reader, writer = mp.Pipe(duplex=False)
    yield reader, writer
    for conn in (reader, writer):
        conn.close()


def test_outbox_sends_everything_in_order_and_close_flushes(pipe):
    reader, writer = pipe
    outbox = Outbox(writer, max_bytes=1 << 20)
    msgs = [f"message {i}".encode() * (i + 1) for i in range(200)]
    for m in msgs:
        assert outbox.put(m, samples=1)
    rd = PipeReader(reader).start()
    assert outbox.close(timeout=5.0) is True
    writer.close()
    rd.join()
    assert rd.received == msgs
    assert outbox.dropped_samples == 0


def test_outbox_is_bounded_by_bytes_and_counts_dropped_samples(pipe):
    reader, writer = pipe
    size = 256 << 10  # larger than a pipe's buffer: the first message stays in flight
    outbox = Outbox(writer, max_bytes=600_000)
    accepted = [outbox.put(bytes([i]) * size, samples=10) for i in range(8)]
    # one in flight plus one queued fit in 600 kB; a third would not
    assert accepted == [True, True] + [False] * 6
    assert outbox.dropped_samples == 60
    assert outbox.put(b"small", samples=1) is True  # a batch that fits still goes in
    assert outbox.put(b"X" * size, samples=3, force=True) is True  # END/ERROR always go in
    assert outbox.dropped_samples == 60
    rd = PipeReader(reader).start()
    assert outbox.close(timeout=5.0)
    writer.close()
    rd.join()
    assert [m[:1] for m in rd.received] == [b"\x00", b"\x01", b"s", b"X"]
    assert [len(m) for m in rd.received] == [size, size, 5, size]


def test_outbox_accepts_again_once_the_reader_catches_up(pipe):
    reader, writer = pipe
    size = 256 << 10
    outbox = Outbox(writer, max_bytes=600_000)
    for _ in range(3):
        outbox.put(b"a" * size, samples=1)
    assert outbox.dropped_samples == 1
    rd = PipeReader(reader).start()
    deadline = time.monotonic() + 5.0
    while len(rd.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(rd.received) == 2
    assert outbox.put(b"b" * size, samples=1)
    assert outbox.close(timeout=5.0)
    writer.close()
    rd.join()
    assert len(rd.received) == 3
    assert outbox.dropped_samples == 1


def test_outbox_breaks_when_the_reader_is_gone(pipe):
    reader, writer = pipe
    outbox = Outbox(writer, max_bytes=1 << 20)
    reader.close()
    outbox.put(b"first", samples=1)
    deadline = time.monotonic() + 5.0
    while not outbox.broken and time.monotonic() < deadline:
        time.sleep(0.005)
    assert outbox.broken
    assert outbox.put(b"second", samples=5) is False
    assert outbox.dropped_samples == 6  # the one that failed to send, and the one refused
    assert outbox.tally.generated == 6 and outbox.tally.sent == 0
    assert outbox.close(timeout=1.0) is False  # not everything went out
    ctx = ProducerContext(outbox, threading.Event())
    assert not ctx.running  # a producer whose GUI is gone stops


def test_context_over_real_outbox_delivers_decodable_batches(pipe):
    reader, writer = pipe
    stop = threading.Event()
    outbox = Outbox(writer, max_bytes=1 << 20)
    ctx = ProducerContext(outbox, stop, batch_interval=FOREVER, max_batch_samples=50)
    for i in range(500):
        ctx.emit_sample("v", float(i), 1000.0 + i)
    ctx.flush()
    rd = PipeReader(reader).start()
    assert outbox.close(timeout=5.0)
    writer.close()
    rd.join()
    msgs = [wire.decode(m) for m in rd.received]
    assert len(msgs) == 10
    values = np.concatenate([c.values for m in msgs for c in m.chunks])
    np.testing.assert_array_equal(values, np.arange(500.0))


def test_tally_accounts_for_every_sample_even_those_left_unsent_at_close(pipe):
    """What the app reads from shared memory: generated = sent + dropped once the run is over,
    including what was still queued when the process had to exit (the count used to travel in
    a message queued behind that very backlog, and never arrived)."""
    reader, writer = pipe
    size = 256 << 10  # larger than the pipe: nothing drains it, so the first send blocks
    outbox = Outbox(writer, max_bytes=4 * size, tally=Tally())
    accepted = [outbox.put(b"x" * size, samples=100) for _ in range(6)]
    assert accepted.count(True) == 4 and outbox.dropped_samples == 200
    assert outbox.close(timeout=0.2) is False  # nobody reads: it gives up
    reader.close()  # the blocked send now fails: that message is lost too
    outbox._thread.join(5.0)
    tally = outbox.tally
    assert tally.generated == 600
    assert tally.sent + tally.dropped == 600
    assert tally.sent == 0 and tally.dropped == 600


# -- the built-in producer kinds, run in-process -------------------------------------------------


def run_kind(kind: str, batches: int, interval: float = 0.01, **params) -> FakeOutbox:
    ctx, outbox, _ = make_ctx(interval=interval, stop_after=batches)
    get_kind(kind)(**params).run(ctx)
    return outbox


def assert_regular_grid(outbox: FakeOutbox, series: str, rate: float) -> np.ndarray:
    """All chunks regular at 1/rate, and consecutive across batches: no gap, no overlap."""
    chunks = outbox.chunks(series)
    assert chunks
    dt = 1.0 / rate
    assert all(c.explicit_times is None and c.dt == dt for c in chunks)
    start = chunks[0].t0
    n = 0
    for c in chunks:
        assert c.t0 == pytest.approx(start + n * dt, abs=1e-6)
        n += len(c)
    return start + dt * np.arange(n)


def test_sine_values_and_grid():
    params = dict(rate_hz=2000.0, frequency_hz=3.0, amplitude=2.5, phase_deg=30.0, offset=-1.0)
    outbox = run_kind("sine", 5, **params)
    assert len(outbox.data) >= 5
    times = assert_regular_grid(outbox, "value", 2000.0)
    _, values = outbox.series("value")
    assert len(values) >= 5
    since = np.arange(len(values)) / 2000.0  # time since start, without epoch rounding
    expected = 2.5 * np.sin(2 * np.pi * 3.0 * since + np.deg2rad(30.0)) - 1.0
    np.testing.assert_allclose(values, expected, atol=1e-9)
    assert abs(times[0] - time.time()) < 60


def test_high_rate_producer_sends_about_one_batch_per_interval():
    """At 100 kHz a 10 ms batch holds ~1000 samples: not a message per handful of samples."""
    outbox = run_kind("sine", 6, rate_hz=100_000.0)
    per_batch = [sum(len(c) for c in m.chunks) for m in outbox.data]
    assert len(per_batch) >= 6
    assert np.median(per_batch) >= 500


def test_sampled_producer_catches_up_after_a_stall():
    """A producer that could not run for a while emits every due sample, still on the grid."""
    ctx, outbox, stop = make_ctx(interval=0.0, stop_after=4)
    sine = get_kind("sine")(rate_hz=1000.0)
    real_wait = ctx.wait
    stalled = []

    def slow_wait(seconds):
        if not stalled:
            stalled.append(True)
            time.sleep(0.05)  # a scheduling stall: ~50 samples come due at once
        return real_wait(seconds)

    ctx.wait = slow_wait
    sine.run(ctx)
    assert stop.is_set()
    assert_regular_grid(outbox, "value", 1000.0)
    assert max(len(c) for c in outbox.chunks()) >= 40


def test_low_rate_producer_sleeps_until_the_next_sample():
    start = time.monotonic()
    outbox = run_kind("sine", 3, rate_hz=20.0)
    elapsed = time.monotonic() - start
    assert elapsed >= 0.09  # the third sample is due 100 ms after the first
    assert_regular_grid(outbox, "value", 20.0)
    for msg in outbox.data:  # no sample is sent before its time has come
        assert all(c.last_time <= msg.sent_at for c in msg.chunks)


def test_noise_mean_and_std():
    outbox = run_kind("noise", 4, rate_hz=200_000.0, mean=5.0, std=0.5, seed=1)
    _, values = outbox.series("value")
    assert len(values) >= 2000
    assert abs(values.mean() - 5.0) < 0.1
    assert values.std() == pytest.approx(0.5, rel=0.1)
    assert_regular_grid(outbox, "value", 200_000.0)


def test_noise_seed_makes_runs_repeatable():
    a = run_kind("noise", 2, rate_hz=50_000.0, seed=42).series("value")[1]
    b = run_kind("noise", 2, rate_hz=50_000.0, seed=42).series("value")[1]
    c = run_kind("noise", 2, rate_hz=50_000.0, seed=43).series("value")[1]
    n = min(len(a), len(b), len(c))
    assert n > 10
    np.testing.assert_array_equal(a[:n], b[:n])
    assert not np.array_equal(a[:n], c[:n])


def test_noise_with_zero_std_is_constant():
    _, values = run_kind("noise", 2, rate_hz=10_000.0, mean=3.0, std=0.0).series("value")
    assert np.all(values == 3.0)


def test_random_walk_is_positive_and_starts_near_start():
    outbox = run_kind("random_walk", 4, rate_hz=50_000.0, start=3.0, volatility=2.0, seed=7)
    _, values = outbox.series("value")
    assert len(values) > 100
    assert np.all(values > 0)
    assert values[0] == pytest.approx(3.0, rel=0.1)
    steps = np.diff(np.log(values))
    assert steps.std() == pytest.approx(2.0 * math.sqrt(1 / 50_000.0), rel=0.2)
    assert_regular_grid(outbox, "value", 50_000.0)


def test_random_walk_continues_across_batches():
    outbox = run_kind("random_walk", 5, rate_hz=5000.0, volatility=0.01, seed=3)
    chunks = outbox.chunks("value")
    assert len(chunks) >= 3
    for a, b in itertools.pairwise(chunks):
        # the next batch starts where the last one ended, not back at `start`
        assert abs(math.log(b.values[0] / a.values[-1])) < 0.01


def test_clock_emits_second_of_minute():
    outbox = run_kind("clock", 3, interval=0.0, period_s=0.01)
    times, values = outbox.series("second")
    assert len(values) >= 3
    for t, v in zip(times, values, strict=True):
        now = datetime.datetime.fromtimestamp(t)
        assert v == pytest.approx(now.second + now.microsecond / 1e6, abs=1e-5)
    assert np.all(np.diff(times) >= 0.009)


def test_system_emits_percentages():
    outbox = run_kind("system", 1, interval=0.0, interval_s=0.05, per_core=True)
    names = {c.series for c in outbox.chunks()}
    assert {"cpu", "memory", "cpu0"} <= names
    for name in names:
        _, values = outbox.series(name)
        assert np.all((values >= 0) & (values <= 100)), name


def test_system_without_per_core():
    outbox = run_kind("system", 1, interval=0.0, interval_s=0.05, per_core=False)
    assert {c.series for c in outbox.chunks()} == {"cpu", "memory"}


def test_fail_raise_after_n_batches():
    ctx, outbox, _ = make_ctx(interval=FOREVER)
    producer = get_kind("fail")(mode="raise", after_batches=3, rate_hz=500.0)
    with pytest.raises(ProducerFailure, match="after 3 batches"):
        producer.run(ctx)
    assert len(outbox.data) == 3
    _, values = outbox.series("value")
    assert sorted(set(values.tolist())) == [0.0, 1.0, 2.0]


def test_fail_exit_with_code():
    ctx, outbox, _ = make_ctx(interval=FOREVER)
    producer = get_kind("fail")(mode="exit", after_batches=1, exit_code=7)
    with pytest.raises(SystemExit) as info:
        producer.run(ctx)
    assert info.value.code == 7
    assert len(outbox.data) == 1


def test_fail_raise_init():
    with pytest.raises(ProducerFailure):
        get_kind("fail")(mode="raise_init")


def test_fail_stops_quietly_when_stopped_before_failing():
    ctx, outbox, stop = make_ctx(interval=FOREVER, stop_after=1)
    get_kind("fail")(mode="raise", after_batches=10).run(ctx)  # returns: no raise
    assert stop.is_set()
    assert len(outbox.data) == 1


# -- what the child process does around the producer ----------------------------------------------


def test_run_producer_reports_a_raise_as_error_message(capsys):
    stop = threading.Event()
    outbox = FakeOutbox()
    spec = LaunchSpec("f", "fail", {"mode": "raise", "after_batches": 2}, batch_interval=FOREVER)
    code = _run_producer(spec, outbox, stop)
    assert code == 1
    msgs = outbox.messages
    assert isinstance(msgs[0], wire.ControlMessage) and msgs[0].type == wire.HELLO
    assert msgs[0].info["kind"] == "fail"
    assert sum(isinstance(m, wire.DataMessage) for m in msgs) == 2
    last = msgs[-1]
    assert isinstance(last, wire.ControlMessage) and last.type == wire.ERROR
    assert "ProducerFailure" in last.info["error"]
    assert "Traceback" in last.info["traceback"]
    assert outbox.forced[0] and outbox.forced[-1]  # never dropped for lack of room
    assert "ProducerFailure" in capsys.readouterr().err


def test_run_producer_returns_the_exit_code():
    spec = LaunchSpec("f", "fail", {"mode": "exit", "after_batches": 0, "exit_code": 9})
    outbox = FakeOutbox()
    assert _run_producer(spec, outbox, threading.Event()) == 9
    assert not any(m.type == wire.ERROR for m in outbox.controls)


def test_run_producer_reports_bad_kind_and_bad_params(capsys):
    for spec in (LaunchSpec("x", "no_such_kind"), LaunchSpec("x", "sine", {"rate_hz": -1.0})):
        outbox = FakeOutbox()
        assert _run_producer(spec, outbox, threading.Event()) == 1
        assert outbox.controls[-1].type == wire.ERROR
    assert "no_such_kind" in capsys.readouterr().err


def test_run_producer_flushes_on_normal_stop():
    stop = threading.Event()
    stop.set()  # already stopped: the producer's loop does not even start
    outbox = FakeOutbox()
    assert _run_producer(LaunchSpec("s", "sine"), outbox, stop) == 0
    assert [m.type for m in outbox.controls] == [wire.HELLO]


@pytest.mark.parametrize("kind", ["sine", "noise", "random_walk"])
def test_channels_are_separate_series_on_the_same_grid(kind):
    outbox = run_kind(kind, 3, rate_hz=1000.0, channels=3)
    names = {c.series for c in outbox.chunks()}
    assert names == {"ch0", "ch1", "ch2"}
    grids = [assert_regular_grid(outbox, name, 1000.0) for name in sorted(names)]
    assert all(len(g) == len(grids[0]) and g[0] == grids[0][0] for g in grids)
    values = [outbox.series(name)[1] for name in sorted(names)]
    assert not np.array_equal(values[0], values[1])  # not copies of one another
