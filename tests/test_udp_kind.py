"""The `udp` kind through real producer processes, listening on real loopback sockets.

The test is the sender: it sends datagrams as a PlotJuggler user's program does (one JSON
message per datagram to the port), and reads back what the engine stored and what the row shows.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest

from app.core.supervisor import State
from tests.helpers import drain_until, engine_row, producer, session_from

pytestmark = pytest.mark.slow

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture
def sender():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield s
    s.close()


def start(engines, name: str = "u", host: str = HOST, **params):
    """An engine running one udp producer on a free loopback port, listening; (engine, port)."""
    params.setdefault("port", free_port())
    engine = engines(session_from(producer(name, "udp", host=host, **params)))
    engine.start_autostart()
    shown = f"[{host}]" if ":" in host else host
    listening = f"RUNNING · listening on {shown}:{params['port']}"
    drain_until(engine, lambda: engine_row(engine, name).state_text == listening)
    return engine, params["port"]


def send(sock, port: int, *datagrams) -> None:
    for d in datagrams:
        sock.sendto(d if isinstance(d, bytes) else d.encode(), (HOST, port))


def held(engine, series: str, name: str = "u") -> tuple[list[float], list[float]]:
    """(times, values) of a series as the store holds them."""
    raw = engine.store.buffer((name, series)).raw
    return raw.held(0).tolist(), raw.held(1).tolist()


def samples(engine, name: str = "u") -> int:
    return engine.counters.snapshot(name).samples


def test_plotjuggler_json_datagrams_become_flattened_series_at_their_timestamps(engines, sender):
    engine, port = start(engines)
    send(sender, port,
         json.dumps({"timestamp": 1.7e9, "a": {"b": 1.5}, "arr": [1, 2]}),
         json.dumps({"timestamp": 1.7e9 + 0.5, "a": {"b": -2.0}, "arr": [3, 4]}))  # fmt: skip
    drain_until(engine, lambda: samples(engine) == 6)
    assert sorted(s for _, s in engine.store.series_keys()) == ["a/b", "arr[0]", "arr[1]"]
    assert held(engine, "a/b") == ([1.7e9, 1.7e9 + 0.5], [1.5, -2.0])
    assert held(engine, "arr[0]") == ([1.7e9, 1.7e9 + 0.5], [1.0, 3.0])
    assert held(engine, "arr[1]") == ([1.7e9, 1.7e9 + 0.5], [2.0, 4.0])
    row = engine_row(engine, "u")
    assert row.error == ""
    assert f"UDP on {HOST}:{port}, json format" in row.traceback
    assert "receive buffer" in row.traceback and "granted by the kernel" in row.traceback


def test_a_top_level_array_is_several_messages_and_untimed_ones_are_stamped_on_receipt(
    engines, sender
):
    engine, port = start(engines, prefix="robot/")
    messages = [{"t": 100.0 + i, "x": float(i)} for i in range(3)]
    send(sender, port, json.dumps(messages))
    drain_until(engine, lambda: samples(engine) == 3)
    assert held(engine, "robot/x") == ([100.0, 101.0, 102.0], [0.0, 1.0, 2.0])
    before = time.time()
    send(sender, port, json.dumps({"speed": 7, "ok": True}, indent=2))  # pretty: one message
    drain_until(engine, lambda: samples(engine) == 5)
    times, values = held(engine, "robot/speed")
    assert values == [7.0] and before - 0.2 <= times[0] <= time.time()
    assert held(engine, "robot/ok")[1] == [1.0]
    assert engine_row(engine, "u").error == ""


@pytest.mark.parametrize(
    ("fmt", "datagrams", "expected"),
    [
        ("number", ["1.5", "2.5\n3.5\n", "4\r\n"], {"value": [1.5, 2.5, 3.5, 4.0]}),
        ("kv", ["temp=21.5 hum=40", "t=5 temp=22\ntemp:23"],
         {"temp": [21.5, 22.0, 23.0], "hum": [40.0]}),
    ],
)  # fmt: skip
def test_line_formats_take_every_line_of_every_datagram(engines, sender, fmt, datagrams, expected):
    engine, port = start(engines, format=fmt)
    send(sender, port, *datagrams)
    total = sum(map(len, expected.values()))
    drain_until(engine, lambda: samples(engine) == total)
    for series, values in expected.items():
        assert held(engine, series)[1] == values
    if fmt == "kv":
        assert held(engine, "temp")[0][1] == 5.0  # a line's own time
    assert engine_row(engine, "u").error == ""


def test_ipv6_all_addresses_hears_ipv6_and_ipv4_senders(engines):
    engine, port = start(engines, host="::", format="number")
    for n, (family, address) in enumerate(((socket.AF_INET6, "::1"), (socket.AF_INET, HOST))):
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.sendto(b"1.5", (address, port))
        drain_until(engine, lambda n=n: samples(engine) == n + 1)
    assert held(engine, "value")[1] == [1.5, 1.5]
    assert f"UDP on [::]:{port}, number format" in engine_row(engine, "u").traceback


def test_malformed_datagrams_are_counted_and_shown_while_good_ones_keep_flowing(engines, sender):
    engine, port = start(engines)
    send(sender, port, '{"x": 1}', b"\x00\x01\xfe\xff binary junk", "{oops", b'{"x": "\xff"}',
         '{"x": 2}')  # fmt: skip
    drain_until(engine, lambda: samples(engine) == 2)
    drain_until(engine, lambda: "3 malformed datagrams" in engine_row(engine, "u").error)
    row = engine_row(engine, "u")
    assert row.state is State.RUNNING
    assert "not UTF-8: b'\\x00\\x01\\xfe\\xff binary junk'" in row.traceback
    assert 'not UTF-8: b\'{"x": "\\xff"}\'' in row.traceback
    assert "not valid JSON: '{oops'" in row.traceback
    send(sender, port, '{"x": 3}', "[1, 2")
    drain_until(engine, lambda: samples(engine) == 3)
    drain_until(engine, lambda: "4 malformed datagrams; last: not valid JSON: '[1, 2'" in
                engine_row(engine, "u").error)  # fmt: skip
    assert held(engine, "x")[1] == [1.0, 2.0, 3.0]


def test_a_port_in_use_is_a_clear_error(engines):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((HOST, 0))
        port = taken.getsockname()[1]
        engine = engines(session_from(producer("u", "udp", host=HOST, port=port)))
        engine.start_autostart()
        drain_until(engine, lambda: engine_row(engine, "u").error)  # then BACKOFF, retried
        error = engine_row(engine, "u").error
        assert f"cannot listen on {HOST}:{port}: address already in use" in error


@pytest.mark.skipif(os.geteuid() == 0, reason="root may listen on any port")
def test_a_privileged_port_without_privileges_is_a_clear_error(engines):
    engine = engines(session_from(producer("u", "udp", host=HOST, port=1)))
    engine.start_autostart()
    drain_until(engine, lambda: engine_row(engine, "u").error)
    assert f"cannot listen on {HOST}:1: permission denied" in engine_row(engine, "u").error


def test_datagrams_the_kernel_dropped_are_counted_and_shown(engines, sender):
    """A producer that cannot keep up (here: frozen by SIGSTOP) lets the receive buffer fill;
    what the kernel then drops is loss the row must show."""
    engine, port = start(engines, buffer_kb=64)
    pid = engine.view.entries["u"].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        message = json.dumps({"x": 1.0, "pad": "p" * 400}).encode()
        for _ in range(3000):  # ~1.3 MB: far more than 64-128 KiB can hold
            sender.sendto(message, (HOST, port))
    finally:
        os.kill(pid, signal.SIGCONT)
    what = "datagrams dropped by the kernel (receive buffer full)"
    drain_until(engine, lambda: what in engine_row(engine, "u").error)
    row = engine_row(engine, "u")
    assert row.state is State.RUNNING
    assert "kernel dropped" in row.traceback
    dropped = int(row.error.split()[0].replace(",", ""))
    assert 0 < dropped < 3000
    drain_until(engine, lambda: samples(engine) == 3000 - dropped)  # the rest arrived


def test_stop_is_prompt(engines, sender):
    engine, port = start(engines)
    send(sender, port, '{"x": 1}')
    drain_until(engine, lambda: samples(engine) == 1)
    asked = time.monotonic()
    engine.stop("u")
    drain_until(engine, lambda: engine_row(engine, "u").state is State.STOPPED)
    took = time.monotonic() - asked
    assert engine_row(engine, "u").state_text == "STOPPED · exited normally"
    assert took < 0.9, f"took {took:.2f} s to stop"
    engine.start("u")  # the port is free again at once: no lingering socket
    drain_until(engine, lambda: engine_row(engine, "u").state_text ==
                f"RUNNING · listening on {HOST}:{port}")  # fmt: skip
