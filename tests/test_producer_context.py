"""The producer context from a source's side: emits from any thread, batches that leave while
the producer's own code is busy, and the notes a row shows (status, bad input, groups)."""

from __future__ import annotations

import threading
import time

import numpy as np

from producers import wire
from producers.runtime import ProducerContext
from tests.test_runtime import FOREVER, FakeOutbox


def notes(outbox: FakeOutbox) -> list[dict]:
    return [m.info for m in outbox.controls if m.type == wire.NOTE]


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)  # polling a plain object from the test thread


def test_emits_from_many_threads_arrive_exactly_once():
    stop = threading.Event()
    outbox = FakeOutbox()
    ctx = ProducerContext(outbox, stop, batch_interval=0.001, max_batch_samples=97)
    per_thread, threads = 5_000, 8

    def emitter(k: int) -> None:
        for i in range(per_thread):
            if i % 2:
                ctx.emit_sample(f"s{k % 2}", float(k * per_thread + i), timestamp=float(i))
            else:
                ctx.emit(f"s{k % 2}", [float(k * per_thread + i)], timestamps=[float(i)])

    workers = [threading.Thread(target=emitter, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    ctx.close()
    values = np.concatenate([c.values for c in outbox.chunks()])
    assert len(values) == per_thread * threads
    assert set(values.astype(int)) == set(range(per_thread * threads))
    assert sum(outbox.samples) == per_thread * threads


def test_a_pending_sample_leaves_within_the_interval_while_the_producer_is_busy():
    stop = threading.Event()
    outbox = FakeOutbox()
    ctx = ProducerContext(outbox, stop, batch_interval=0.02, background_flush=True)
    try:
        ctx.emit_sample("value", 1.0)  # then the producer's code sleeps, e.g. after a yield
        started = time.monotonic()
        wait_for(lambda: outbox.data, timeout=2.0)
        assert time.monotonic() - started < 0.5
        assert [c.values.tolist() for c in outbox.chunks()] == [[1.0]]
    finally:
        ctx.close()


def test_without_background_flush_the_sample_waits_for_the_next_flush():
    outbox = FakeOutbox()
    ctx = ProducerContext(outbox, threading.Event(), batch_interval=FOREVER)
    ctx.emit_sample("value", 1.0)
    assert not outbox.data
    ctx.close()
    assert len(outbox.data) == 1


def test_status_is_sent_when_it_changes_and_the_latest_always_arrives():
    stop = threading.Event()
    outbox = FakeOutbox()
    ctx = ProducerContext(outbox, stop, batch_interval=0.01, background_flush=True)
    try:
        ctx.set_status("waiting for /dev/ttyUSB0")
        ctx.set_status("waiting for /dev/ttyUSB0")  # no change: nothing sent
        for i in range(50):  # a sweep's progress, faster than a row can show
            ctx.set_status(f"{i + 1}/50 done")
        wait_for(lambda: notes(outbox) and notes(outbox)[-1].get("status") == "50/50 done")
        statuses = [n["status"] for n in notes(outbox) if "status" in n]
        assert statuses[0] == "waiting for /dev/ttyUSB0"
        assert len(statuses) < 10  # at most 5 a second
    finally:
        ctx.close()


def test_bad_input_is_counted_with_the_latest_examples():
    outbox = FakeOutbox()
    ctx = ProducerContext(outbox, threading.Event(), batch_interval=FOREVER)
    ctx.report_bad_input(2, ["not a number: 'abc'", "not a number: 'x'"], what="unparsable lines")
    ctx.report_bad_input(0)
    for i in range(6):
        ctx.report_bad_input(1, [f"line {i}"], what="unparsable lines")
    ctx.close()
    last = {}
    for n in notes(outbox):
        last.update(n)
    assert last["problems"] == 8
    assert last["problem"] == "8 unparsable lines; last: line 5"
    assert last["details"].splitlines()[1:] == [f"line {i}" for i in range(1, 6)]


def test_a_process_group_is_announced_at_once():
    outbox = FakeOutbox()
    ctx = ProducerContext(outbox, threading.Event(), batch_interval=FOREVER)
    ctx.own_process_group(4242)
    assert notes(outbox) == [{"pgids": [4242]}]
    assert outbox.forced[-1]  # sent even with a full outbox
    ctx.own_process_group(4243)
    assert notes(outbox)[-1] == {"pgids": [4242, 4243]}
    ctx.close()


def test_remote_rows_are_reported_when_they_change():
    outbox = FakeOutbox()
    ctx = ProducerContext(outbox, threading.Event(), batch_interval=FOREVER)
    info = {"state": "RUNNING", "state_text": "RUNNING", "pid": 1, "rate": 2.0, "total": 3}
    ctx.report_remote("lab1/sine", info)
    ctx.report_remote("lab1/sine", dict(info))  # the same: nothing new to say
    ctx.close()
    sent = [n["remote"] for n in notes(outbox) if "remote" in n]
    assert sent == [{"lab1/sine": info}]
