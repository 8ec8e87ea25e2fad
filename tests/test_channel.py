"""app.core.channel: one pipe per producer run, drained together without busy-waiting or hanging.

Real `multiprocessing.Pipe(duplex=False)` pairs, in this process: the test thread writes.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import struct
import threading
import time

import hypothesis
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.channel import MAX_MESSAGES_PER_READER, Channel, RunKey
from app.core.framing import DIRECT_BYTES, SCRATCH_BYTES, FrameReader
from producers import wire
from producers.wire import Chunk

A1 = RunKey("a", 1)
B1 = RunKey("b", 1)


@pytest.fixture
def channel():
    ch = Channel()
    yield ch
    ch.close()


@pytest.fixture
def pipes():
    """Makes reader/writer pairs; closes whatever the test left open."""
    made = []

    def make():
        reader, writer = mp.Pipe(duplex=False)
        made.extend([reader, writer])
        return reader, writer

    yield make
    for conn in made:
        conn.close()


def data(series="v", values=(1.0, 2.0), t0=100.0, dropped=0, sent_at=50.0) -> bytes:
    chunk = Chunk(series, np.asarray(values, dtype=float), t0=t0, dt=0.5)
    return wire.encode_data([chunk], sent_at, dropped)


def drain_until(channel, predicate, timeout=5.0):
    """Drain repeatedly until `predicate(batches)` holds; returns all batches."""
    batches = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batches.append(channel.drain(0.05))
        if predicate(batches):
            return batches
    raise AssertionError(f"condition not met within {timeout} s")


def events(batches):
    return [(e.key, e.kind) for b in batches for e in b.events]


def test_drain_returns_everything_available_as_one_batch(channel, pipes):
    ra, wa = pipes()
    rb, wb = pipes()
    channel.add(A1, ra)
    channel.add(B1, rb)
    wa.send_bytes(wire.encode_control(wire.HELLO, pid=1, kind="sine"))
    for i in range(5):
        wa.send_bytes(data(values=[float(i)], t0=float(i)))
    wb.send_bytes(data(series="w", values=[9.0, 8.0, 7.0]))
    batch = channel.drain(1.0)
    assert batch
    assert sorted(name for name, _ in batch.chunks) == ["a"] * 5 + ["b"]
    a_values = [c.values[0] for name, c in batch.chunks if name == "a"]
    assert a_values == [0.0, 1.0, 2.0, 3.0, 4.0]  # in order within a producer
    assert batch.samples == 8
    assert [(e.key, e.kind, e.info) for e in batch.events] == [
        (A1, "hello", {"pid": 1, "kind": "sine"})
    ]
    assert batch.data_runs == {A1, B1}
    assert batch.received_at == pytest.approx(time.time(), abs=5)
    assert not channel.drain(0.01)  # nothing left


def test_sent_at_is_the_oldest_per_producer(channel, pipes):
    r, w = pipes()
    channel.add(A1, r)
    w.send_bytes(data(sent_at=10.0))
    w.send_bytes(data(sent_at=11.0))
    batch = channel.drain(1.0)
    assert batch.sent_at == {"a": 10.0}


def test_empty_drain_respects_timeout_without_busy_waiting(channel, pipes):
    r, _w = pipes()
    channel.add(A1, r)
    channel.drain(0)  # consume the wake-up from add()
    wall, cpu = time.monotonic(), time.process_time()
    batch = channel.drain(0.3)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    assert not batch
    assert 0.25 <= wall < 2.0
    assert cpu < 0.05  # a busy loop would burn ~0.3 s of CPU


def test_drain_with_no_readers_waits_too(channel):
    start = time.monotonic()
    assert not channel.drain(0.1)
    assert time.monotonic() - start >= 0.09


def test_drain_returns_as_soon_as_data_arrives(channel, pipes):
    r, w = pipes()
    channel.add(A1, r)
    channel.drain(0)
    timer = threading.Timer(0.05, w.send_bytes, args=(data(),))
    timer.start()
    try:
        start = time.monotonic()
        batch = channel.drain(10.0)
        assert time.monotonic() - start < 5.0
        assert batch.samples == 2
    finally:
        timer.cancel()
        timer.join()


def test_wake_interrupts_a_wait(channel, pipes):
    r, _w = pipes()
    channel.add(A1, r)
    channel.drain(0)
    timer = threading.Timer(0.05, channel.wake)
    timer.start()
    try:
        start = time.monotonic()
        batch = channel.drain(10.0)
        assert time.monotonic() - start < 5.0
        assert not batch
    finally:
        timer.join()


def test_many_wakes_never_block(channel):
    start = time.monotonic()
    for _ in range(100_000):  # far more than the wake pipe holds
        channel.wake()
    assert time.monotonic() - start < 5.0
    for _ in range(50):  # the backlog of wake-ups is read away, then drain waits again
        start = time.monotonic()
        channel.drain(0.05)
        if time.monotonic() - start >= 0.04:
            break
    else:
        raise AssertionError("drain never waited again after a burst of wake-ups")


def test_adding_a_reader_wakes_a_waiting_drain(channel, pipes):
    channel.drain(0)
    r, w = pipes()
    w.send_bytes(data())
    result = []
    thread = threading.Thread(target=lambda: result.append(channel.drain(10.0)))
    thread.start()
    channel.add(A1, r)
    thread.join(5.0)
    assert not thread.is_alive()
    batches = result + drain_until(channel, lambda bs: True)
    assert sum(b.samples for b in batches) == 2


def test_closed_writer_gives_eof_and_removes_the_reader(channel, pipes):
    r, w = pipes()
    channel.add(A1, r)
    w.send_bytes(data())
    w.send_bytes(wire.encode_control(wire.END, dropped_total=3))
    w.close()
    batches = drain_until(channel, lambda bs: (A1, "eof") in events(bs))
    assert sum(b.samples for b in batches) == 2  # what was sent before the end still arrives
    assert events(batches) == [(A1, "end"), (A1, "eof")]
    assert channel.reader_count == 0
    assert r.closed


def test_torn_message_gives_eof_not_a_hang(channel, pipes):
    r, w = pipes()
    other_r, other_w = pipes()
    channel.add(A1, r)
    channel.add(B1, other_r)
    os.write(w.fileno(), struct.pack("!i", 1000) + b"x" * 10)  # header says 1000, 10 follow
    w.close()  # the producer died mid-write
    other_w.send_bytes(data())
    start = time.monotonic()
    batches = drain_until(channel, lambda bs: (A1, "eof") in events(bs))
    assert time.monotonic() - start < 5.0
    assert (A1, "bad_message") not in events(batches)
    assert channel.reader_count == 1
    other_w.send_bytes(data(values=[5.0]))
    batches += drain_until(channel, lambda bs: sum(b.samples for b in bs) >= 1)
    assert sum(b.samples for b in batches) == 3  # the other producer is unaffected


@pytest.mark.parametrize(
    "garbage",
    [b"hello from a stray print()\n", b"", b"D\x00\x01", b"Hnot json", bytes(range(256))],
)
def test_garbage_is_a_bad_message_and_others_keep_flowing(channel, pipes, garbage):
    r, w = pipes()
    other_r, other_w = pipes()
    channel.add(A1, r)
    channel.add(B1, other_r)
    w.send_bytes(garbage)
    w.send_bytes(data(values=[1.0]))  # the same pipe recovers: messages are framed
    other_w.send_bytes(data(values=[2.0, 3.0]))
    batches = drain_until(channel, lambda bs: sum(b.samples for b in bs) == 3)
    bad = [e for b in batches for e in b.events if e.kind == "bad_message"]
    assert [e.key for e in bad] == [A1]
    assert bad[0].info["error"]
    assert channel.reader_count == 2


def test_drops_are_reported_per_run(channel, pipes):
    r1, w1 = pipes()
    r2, w2 = pipes()
    old, new = RunKey("a", 1), RunKey("a", 2)
    channel.add(old, r1)
    channel.add(new, r2)
    w1.send_bytes(data(dropped=5))
    w1.send_bytes(data(dropped=7))  # cumulative: the latest wins
    w2.send_bytes(data(dropped=1))
    batch = channel.drain(1.0)
    assert batch.drops == {old: 7, new: 1}
    w1.send_bytes(wire.encode_control(wire.END, dropped_total=9))
    batch = channel.drain(1.0)
    assert batch.drops == {old: 9}


def test_error_event_carries_the_traceback(channel, pipes):
    r, w = pipes()
    channel.add(A1, r)
    w.send_bytes(wire.encode_control(wire.ERROR, error="ValueError('x')", traceback="Traceback"))
    (event,) = channel.drain(1.0).events
    assert (event.key, event.kind) == (A1, "error")
    assert event.info == {"error": "ValueError('x')", "traceback": "Traceback"}


def test_a_flooding_producer_cannot_starve_the_others(channel, pipes):
    flood_r, flood_w = pipes()
    r, w = pipes()
    channel.add(A1, flood_r)
    channel.add(B1, r)
    for _ in range(MAX_MESSAGES_PER_READER * 3):
        flood_w.send_bytes(data(values=[0.0]))
    w.send_bytes(data(values=[1.0]))
    batch = channel.drain(1.0)
    names = [name for name, _ in batch.chunks]
    assert names.count("a") <= MAX_MESSAGES_PER_READER
    assert "b" in names
    total = MAX_MESSAGES_PER_READER * 3 + 1
    rest = drain_until(channel, lambda bs: batch.samples + sum(b.samples for b in bs) >= total)
    assert batch.samples + sum(b.samples for b in rest) == total


def test_restarted_run_replaces_nothing_of_the_old_one(channel, pipes):
    """A new generation has its own pipe; the old run's EOF only removes the old reader."""
    r1, w1 = pipes()
    r2, w2 = pipes()
    channel.add(RunKey("a", 1), r1)
    channel.add(RunKey("a", 2), r2)
    w1.close()
    drain_until(channel, lambda bs: (RunKey("a", 1), "eof") in events(bs))
    assert channel.reader_count == 1
    w2.send_bytes(data())
    batches = drain_until(channel, lambda bs: sum(b.samples for b in bs) == 2)
    assert {k for b in batches for k in b.data_runs} == {RunKey("a", 2)}


def test_close_closes_every_reader(pipes):
    ch = Channel()
    r, _w = pipes()
    ch.add(A1, r)
    ch.close()
    assert r.closed
    assert ch.reader_count == 0
    ch.close()  # twice is harmless


def test_a_writer_stopped_mid_message_holds_nobody(channel, pipes):
    """A producer frozen (SIGSTOP, a debugger) between the header and the body of a large
    message, or halfway through the body: the others keep flowing, its message completes when
    it resumes, and until then it is reported as stalled."""
    r, w = pipes()
    other_r, other_w = pipes()
    channel.add(A1, r)
    channel.add(B1, other_r)
    values = np.arange(10_000.0)  # 80 kB: sent as header, then body
    msg = wire.encode_data([Chunk("v", values, t0=0.0, dt=1.0)], 1.0, 0)
    framed = struct.pack("!i", len(msg)) + msg
    os.write(w.fileno(), framed[:4])  # the header only: the writer "stops" here
    other_w.send_bytes(data(values=[7.0]))
    batch = channel.drain(1.0)
    assert [name for name, _ in batch.chunks] == ["b"]
    os.write(w.fileno(), framed[4:30_000])  # resumes for a while, stops mid-body
    other_w.send_bytes(data(values=[8.0]))
    got_b = drain_until(channel, lambda bs: sum(b.samples for b in bs) >= 1)
    assert [c.values[0] for b in got_b for name, c in b.chunks] == [8.0]
    later = time.monotonic() + 10.0
    assert list(channel.stalled(later, after=1.0)) == [A1]
    assert channel.stalled(time.monotonic(), after=5.0) == {}
    os.write(w.fileno(), framed[30_000:])
    got_a = drain_until(channel, lambda bs: sum(b.samples for b in bs) >= 10_000)
    (chunk,) = [c for b in got_a for _, c in b.chunks]
    np.testing.assert_array_equal(chunk.values, values)
    assert channel.stalled(later, after=1.0) == {}


def test_messages_over_2_gib_framing_is_understood(channel, pipes):
    """The long form of the header (-1, then an 8-byte length), exercised with a small body."""
    r, w = pipes()
    channel.add(A1, r)
    msg = data(values=[1.0, 2.0, 3.0])
    os.write(w.fileno(), struct.pack("!i", -1) + struct.pack("!Q", len(msg)) + msg)
    batch = drain_until(channel, lambda bs: sum(b.samples for b in bs) == 3)
    assert [c.values.tolist() for b in batch for _, c in b.chunks] == [[1.0, 2.0, 3.0]]


def test_an_impossible_length_is_a_bad_message_and_ends_that_pipe_only(channel, pipes):
    r, w = pipes()
    other_r, other_w = pipes()
    channel.add(A1, r)
    channel.add(B1, other_r)
    os.write(w.fileno(), struct.pack("!i", -5) + b"junk")
    other_w.send_bytes(data())
    batches = drain_until(channel, lambda bs: (A1, "eof") in events(bs))
    assert (A1, "bad_message") in events(batches)
    assert channel.reader_count == 1
    assert sum(b.samples for b in batches) == 2


@pytest.mark.parametrize(
    "info",
    [
        {"dropped_total": "many"},
        {"dropped_total": 1.5},
        {"pid": None},
        {"error": ["not", "text"]},
        {"surprise": 1},
        {"pgids": [1]},  # the init process's group: never
        {"pgids": ["12"]},
        {"remote": {"lab1/sine": "RUNNING"}},
        {"remote": {"lab1/sine": {"pid": "12"}}},
        {"remote": {"lab1/sine": {"mystery": 1}}},
        {"remote": {"": {"state": "RUNNING"}}},
    ],
)
def test_a_malformed_control_message_is_that_producers_error(channel, pipes, info):
    """It used to raise out of the channel and kill the consumer thread silently."""
    r, w = pipes()
    channel.add(A1, r)
    w.send_bytes(wire.encode_control(wire.END, **info))
    w.send_bytes(data(values=[4.0]))
    batch = channel.drain(1.0)
    assert [e.kind for e in batch.events] == ["bad_message"]
    assert "bad control message" in batch.events[0].info["error"]
    assert batch.samples == 1  # and the pipe keeps working


def test_samples_received_are_counted_per_run(channel, pipes):
    r1, w1 = pipes()
    r2, w2 = pipes()
    old, new = RunKey("a", 1), RunKey("a", 2)
    channel.add(old, r1)
    channel.add(new, r2)
    w1.send_bytes(data(values=[1.0, 2.0]))
    w1.send_bytes(data(values=[3.0]))
    w2.send_bytes(data(values=[4.0]))
    batch = drain_until(channel, lambda bs: sum(b.samples for b in bs) == 4)
    totals: dict = {}
    for b in batch:
        for key, n in b.received.items():
            totals[key] = totals.get(key, 0) + n
    assert totals == {old: 3, new: 1}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(junk=st.binary(max_size=600), framed=st.booleans())
def test_whatever_a_producer_writes_the_reader_survives(channel, pipes, junk, framed):
    """Any bytes on a producer's pipe, framed or not: the channel never raises, reports what it
    could not read as that producer's problem, and another producer's data still arrives."""
    r, w = pipes()
    other_r, other_w = pipes()
    key = RunKey("junk", len(junk))
    channel.add(key, r)
    channel.add(B1, other_r)
    payload = (struct.pack("!i", len(junk)) + junk) if framed else junk
    os.write(w.fileno(), payload)
    w.close()
    other_w.send_bytes(data(values=[1.0, 2.0]))
    batches = drain_until(channel, lambda bs: (key, "eof") in events(bs) and any(
        name == "b" for b in bs for name, _ in b.chunks))  # fmt: skip
    kinds = {e.kind for b in batches for e in b.events if e.key == key}
    assert kinds <= {"hello", "error", "end", "eof", "bad_message"}
    assert sum(len(c) for b in batches for name, c in b.chunks if name == "b") == 2
    other_w.close()
    drain_until(channel, lambda bs: (B1, "eof") in events(bs))


def test_messages_read_ahead_past_the_limit_come_at_the_next_drain_without_waiting(channel, pipes):
    """Small messages are read several at once; those past MAX_MESSAGES_PER_READER are held
    by the reader, not the pipe, so the next drain must not wait for the pipe to wake it."""
    r, w = pipes()
    channel.add(A1, r)
    extra = 5
    for i in range(MAX_MESSAGES_PER_READER + extra):  # ~100 bytes each: one read takes all
        w.send_bytes(data(values=[float(i)]))
    first = channel.drain(1.0)
    assert len(first.chunks) == MAX_MESSAGES_PER_READER
    started = time.monotonic()
    second = channel.drain(5.0)
    assert time.monotonic() - started < 1.0
    got = [c.values[0] for b in (first, second) for _, c in b.chunks]
    assert got == [float(i) for i in range(MAX_MESSAGES_PER_READER + extra)]


def framed(body: bytes, long: bool) -> bytes:
    if long:
        return struct.pack("!i", -1) + struct.pack("!Q", len(body)) + body
    return struct.pack("!i", len(body)) + body


@hypothesis.settings(max_examples=40, deadline=None, database=None)
@given(
    sizes=st.lists(
        st.one_of(
            st.integers(0, 200),
            st.sampled_from([DIRECT_BYTES - 1, DIRECT_BYTES, DIRECT_BYTES + 1, SCRATCH_BYTES]),
            st.integers(0, 70_000),
        ),
        min_size=1,
        max_size=25,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_frame_reader_gives_every_message_whole_whatever_the_pieces(sizes, seed):
    """Messages of any size (a few long-form headers), written in arbitrary pieces and read
    with arbitrary limits, come out whole and in order; between messages nothing is held."""
    rng = np.random.default_rng(seed)
    bodies = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for size in sizes]
    stream = b"".join(framed(b, rng.random() < 0.1) for b in bodies)
    r, w = os.pipe()
    try:
        reader, got, pos = FrameReader(r, clock=lambda: 1.0), [], 0
        while pos < len(stream):
            piece = int(rng.choice([1, 3, 100, 5000, 60_000]))
            pos += os.write(w, stream[pos : pos + piece])
            while True:  # as the channel does: read again at once while at a limit
                got += reader.read(int(rng.integers(1, 4)), int(rng.choice([1, 1 << 20])))
                if not reader.more:
                    break
            assert (reader.partial_since is None) == (reader.partial_bytes == 0)
        assert [bytes(m) for m in got] == bodies
        assert reader.partial_bytes == 0 and reader.partial_since is None and not reader.eof
        os.close(w)
        w = -1
        assert reader.read(10, 1 << 20) == [] and reader.eof
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
