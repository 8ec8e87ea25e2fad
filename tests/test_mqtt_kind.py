"""The `mqtt` kind through real producer processes and a real mosquitto (tests/conftest.py's
`broker` and `make_broker`), with messages published by plain paho clients, as a sensor, a
script or `streamscope publish` on another machine would publish them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from app.core.supervisor import State
from producers import wire
from tests.helpers import drain_until, engine_row, producer, session_from

pytestmark = pytest.mark.slow


class Publisher:
    """A plain paho client that publishes and waits until the broker has each message."""

    def __init__(self, broker, username=None, password=None):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        if username:
            self.client.username_pw_set(username, password)
        connected = threading.Event()
        self.client.on_connect = lambda *_: connected.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert connected.wait(5), "the test's publisher could not connect"

    def send(self, topic: str, payload, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publishers():
    made: list[Publisher] = []

    def make(broker, **kwargs) -> Publisher:
        made.append(Publisher(broker, **kwargs))
        return made[-1]

    yield make
    for p in made:
        p.close()


def start(engines, broker, *producers: tuple[str, dict]):
    toml = "".join(
        producer(
            name,
            "mqtt",
            restart=params.pop("restart", "never"),
            **{"host": broker.host, "port": broker.port, **params},
        )
        for name, params in producers
    )
    engine = engines(session_from(toml))
    engine.start_autostart()
    return engine


def status(engine, name: str = "m") -> str:
    return engine_row(engine, name).state_text


def wait_connected(engine, broker, name: str = "m") -> None:
    drain_until(engine, lambda: status(engine, name) == f"RUNNING · connected to {broker.address}")


def held(engine, series: str, name: str = "m") -> tuple[list[float], list[float]]:
    """(times, values) the store holds of a series."""
    raw = engine.store.buffer((name, series)).raw
    return raw.held(0).tolist(), raw.held(1).tolist()


def samples(engine, name: str = "m") -> int:
    return engine.counters.snapshot(name).samples


def batch(*chunks: wire.Chunk) -> bytes:
    return wire.encode_data(list(chunks), time.time(), 0)


def test_numbers_json_and_batches_arrive_as_their_series(engines, broker, publishers):
    engine = start(engines, broker, ("m", {"topics": ["lab/#"]}))
    wait_connected(engine, broker)
    pub = publishers(broker)
    before = time.time()
    pub.send("lab/temp", b"21.5")
    pub.send("lab/temp", b" -3e2\n")
    pub.send("lab/json", b'{"t": 1700000000.5, "a": {"b": 1.5}, "v": [1, 2], "ok": true}')
    pub.send("lab/json", b'{\n  "t": 1700000001.5,\n  "a": {"b": 2.5}\n}')  # pretty-printed
    t0 = time.time() - 1.0
    pub.send("lab/bin", batch(wire.Chunk("x", np.array([1.0, 2.0, 3.0]), t0, 0.25)))
    pub.send(
        "lab/bin",
        batch(wire.Chunk("y", np.array([7.0, 8.0]), explicit_times=np.array([10.0, 11.5]))),
    )
    drain_until(engine, lambda: samples(engine) == 2 + 4 + 1 + 3 + 2)
    times, values = held(engine, "lab/temp")
    assert values == [21.5, -300.0]
    assert before <= times[0] <= times[1] <= time.time()  # stamped on receipt
    assert held(engine, "lab/json/a/b") == ([1700000000.5, 1700000001.5], [1.5, 2.5])
    assert held(engine, "lab/json/v[1]")[1] == [2.0]
    assert held(engine, "lab/json/ok")[1] == [1.0]
    assert held(engine, "lab/bin/x") == ([t0, t0 + 0.25, t0 + 0.5], [1.0, 2.0, 3.0])
    assert held(engine, "lab/bin/y") == ([10.0, 11.5], [7.0, 8.0])
    assert engine_row(engine, "m").error == ""


def test_malformed_messages_of_every_format_are_counted_and_shown(engines, broker, publishers):
    engine = start(
        engines,
        broker,
        ("a", {"topics": ["a/+"]}),
        ("j", {"topics": ["j/+"], "format": "json"}),
        ("b", {"topics": ["b/+"], "format": "binary"}),
        ("n", {"topics": ["n/+"], "format": "number"}),
    )
    for name in "ajbn":
        wait_connected(engine, broker, name)
    pub = publishers(broker)
    for payload in (b"abc", b"D\x00\x01", b"{oops", b"\xff\xfe", b"", b"5"):  # "" is skipped
        pub.send("a/x", payload)
    for payload in (b'{"s": "text"}', b"3.5"):
        pub.send("j/x", payload)
    pub.send("b/x", b"7")
    pub.send("b/x", batch(wire.Chunk("v", np.array([1.0]), 1.0, 1.0)))
    pub.send("n/x", b"1 2")
    pub.send("n/x", b"1_000")
    pub.send("n/x", b"inf")
    errors = {
        "a": "4 malformed messages; last: a/x: not UTF-8 text: b'\\xff\\xfe'",
        "j": '1 malformed messages; last: j/x: no number in JSON: \'{"s": "text"}\'',
        "b": "1 malformed messages; last: b/x: not a streamscope batch (unknown message type "
        "0x37): b'7'",
        "n": "2 malformed messages; last: n/x: not a number: b'1_000'",
    }
    drain_until(engine, lambda: all(engine_row(engine, n).error == e for n, e in errors.items()))
    drain_until(engine, lambda: all(samples(engine, n) == 1 for n in "ajbn"))
    assert held(engine, "a/x", "a")[1] == [5.0]
    assert held(engine, "j/x/value", "j")[1] == [3.5]  # a top-level number: <topic>/value
    assert held(engine, "b/x/v", "b") == ([1.0], [1.0])
    assert held(engine, "n/x", "n")[1] == [float("inf")]
    assert "a/x: not a number: b'abc'" in engine_row(engine, "a").traceback  # the details
    assert all(engine_row(engine, n).state is State.RUNNING for n in "ajbn")


def test_a_broker_down_at_start_is_waited_for(engines, make_broker, publishers):
    broker = make_broker()  # not started: nothing listens on its port
    engine = start(engines, broker, ("m", {"topics": ["#"]}))
    drain_until(
        engine, lambda: status(engine) == "RUNNING · reconnecting: connection refused (try 2)"
    )
    assert not engine_row(engine, "m").stalled  # waiting by its own account
    broker.start()
    wait_connected(engine, broker)
    publishers(broker).send("x", b"1")
    drain_until(engine, lambda: samples(engine) == 1)


def test_data_resumes_after_a_broker_restart_and_a_crash(engines, broker, publishers):
    engine = start(engines, broker, ("m", {"topics": ["#"]}))
    wait_connected(engine, broker)
    pub = publishers(broker)
    pub.send("x", b"1")
    drain_until(engine, lambda: samples(engine) == 1)
    pub.close()
    for i, end in enumerate((broker.stop, broker.kill), start=2):
        end()
        drain_until(engine, lambda: status(engine).startswith("RUNNING · reconnecting: "))
        broker.start()
        wait_connected(engine, broker)  # subscribed again: the new broker knew nothing of us
        pub = publishers(broker)
        pub.send("x", str(i).encode())
        drain_until(engine, lambda i=i: samples(engine) == i)
        pub.close()
    assert held(engine, "x")[1] == [1.0, 2.0, 3.0]
    drain_until(engine, lambda: "connected 3 times" in engine_row(engine, "m").traceback)
    assert "lost the broker 2 times" in engine_row(engine, "m").traceback  # the details


def test_a_wrong_password_is_a_clear_error_without_a_retry_storm(
    engines, make_broker, publishers, monkeypatch
):
    broker = make_broker(users={"u": "s3cret"})
    with open(broker.folder / "mosquitto.conf", "a") as conf:
        conf.write("log_type notice\n")  # one line per refused client, to count the tries
    broker.start()
    monkeypatch.setenv("MQTT_TEST_WRONG", "guess")
    monkeypatch.setenv("MQTT_TEST_RIGHT", "s3cret")
    monkeypatch.delenv("MQTT_TEST_UNSET", raising=False)
    user = {"topics": ["#"], "username": "u"}
    engine = start(
        engines,
        broker,
        ("wrong", {**user, "password_env": "MQTT_TEST_WRONG", "restart": "on-failure"}),
        ("right", {**user, "password_env": "MQTT_TEST_RIGHT"}),
        ("unset", {**user, "password_env": "MQTT_TEST_UNSET"}),
        ("anonymous", {"topics": ["#"]}),
    )
    wait_connected(engine, broker, "right")
    publishers(broker, username="u", password="s3cret").send("x", b"1")
    drain_until(engine, lambda: samples(engine, "right") == 1)

    drain_until(engine, lambda: engine_row(engine, "wrong").state is State.FATAL, timeout=20)
    row = engine_row(engine, "wrong")
    assert f"not authorized by {broker.address} (check username 'u' and the password in " \
        "$MQTT_TEST_WRONG)" in row.error  # fmt: skip
    # a failed start: the supervisor's 3 retries, 1, 2 and 3 s apart, then FATAL; the broker
    # saw 4 tries of it, and 4 of `anonymous`, which is told that it needs a username
    drain_until(engine, lambda: engine_row(engine, "anonymous").state is State.FATAL)
    assert "it wants a username" in engine_row(engine, "anonymous").error
    assert broker.log().count("disconnected, not authorised") == 4 + 4
    unset = "password_env names $MQTT_TEST_UNSET, which is not set in the app's environment"
    drain_until(engine, lambda: unset in engine_row(engine, "unset").error)


def test_two_dashboards_on_one_broker_both_get_every_message(engines, broker, publishers):
    first = start(engines, broker, ("m", {"topics": ["s/#"]}))
    second = start(engines, broker, ("m", {"topics": ["s/+/v"]}))
    wait_connected(first, broker)
    wait_connected(second, broker)
    pub = publishers(broker)
    for i in range(50):
        pub.send("s/a/v", str(i).encode(), qos=0)
    for engine in (first, second):
        drain_until(engine, lambda e=engine: samples(e) == 50)
        assert held(engine, "s/a/v")[1] == [float(i) for i in range(50)]


# A publisher as `streamscope publish` would be, in a process of its own so that a SIGKILL
# makes the broker send its Last Will. It publishes what the test writes to its stdin.
PUBLISHER = textwrap.dedent("""
    import json, sys
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    port, prefix = int(sys.argv[1]), sys.argv[2]
    c = mqtt.Client(CallbackAPIVersion.VERSION2)
    lost = json.dumps({"online": False, "reason": "publisher lost"})
    c.will_set(prefix + "/_publisher", lost, qos=1, retain=True)
    c.connect("127.0.0.1", port, keepalive=60)
    c.loop_start()
    for line in sys.stdin:
        topic, qos, retain, payload = json.loads(line)
        c.publish(prefix + "/" + topic, bytes.fromhex(payload), qos, retain).wait_for_publish(5)
        print("sent", flush=True)
""")


class RemotePublisher:
    def __init__(self, broker, prefix: str):
        self.process = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(broker.port), prefix],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, topic: str, payload, qos: int = 1, retain: bool = False) -> None:
        if isinstance(payload, dict):
            payload = json.dumps(payload).encode()
        self.process.stdin.write(json.dumps([topic, qos, retain, payload.hex()]) + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline() == "sent\n"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        self.process.stdin.close()
        self.process.stdout.close()


def sine_status(published: int, dropped: int = 0, state: str = "RUNNING") -> dict:
    return {
        "producer": "sine", "kind": "sine", "state": state, "state_text": state, "pid": 4242,
        "rate": 100.0, "total": published + dropped, "published": published,
        "dropped": dropped, "error": "", "host": "hostA", "time": time.time(),
    }  # fmt: skip


def test_remote_producers_arrive_as_series_and_rows(engines, broker):
    engine = start(engines, broker, ("r", {"topics": ["streamscope/+"], "remote": True}))
    wait_connected(engine, broker, "r")
    remote = RemotePublisher(broker, "streamscope/hostA")
    try:
        online = {"online": True, "host": "hostA", "pid": 99, "producers": ["sine"],
                  "control": True, "time": time.time()}  # fmt: skip
        remote.send("_publisher", online, retain=True)
        remote.send("sine/status", sine_status(published=0), retain=True)
        drain_until(engine, lambda: any(r.name == "r:hostA/sine" for r in engine.view.rows))
        drain_until(engine, lambda: engine_row(engine, "r:hostA/sine").state is State.RUNNING)
        row = engine_row(engine, "r:hostA/sine")
        assert (row.state, row.state_text, row.dropped) == (State.RUNNING, "RUNNING", "0")
        t0 = time.time() - 1
        for k in range(2):
            values = np.arange(5.0) + 5 * k
            remote.send("sine/data", batch(wire.Chunk("value", values, t0 + k, 0.2)), qos=0)
        drain_until(engine, lambda: samples(engine, "r") == 10)
        times, values = held(engine, "hostA/sine/value", "r")
        assert values == [float(i) for i in range(10)]
        assert np.allclose(times, [t0 + k + 0.2 * i for k in range(2) for i in range(5)])
        # the publisher published 13 (3 never arrived) and lost 1 itself: 4 dropped, once the
        # next status (its heartbeat) shows that those 3 had time to arrive and did not
        remote.send("sine/status", sine_status(published=13, dropped=1), retain=True)
        drain_until(engine, lambda: engine_row(engine, "r:hostA/sine").dropped == "1")
        remote.send("sine/status", sine_status(published=13, dropped=1), retain=True)
        drain_until(engine, lambda: engine_row(engine, "r:hostA/sine").dropped == "4")
        info = engine.supervisor.entries["r"].remotes["hostA/sine"]
        assert info["received"] == 10 and info["pid"] == 4242 and info["kind"] == "sine"
        assert info["control"] and info["cmd_topic"] == "streamscope/hostA/sine/cmd"
        remote.send("sine/status", b"{not json", retain=False)
        drain_until(engine, lambda: "1 malformed messages" in engine_row(engine, "r").error)
    finally:
        remote.kill()  # no clean exit: the broker publishes the Last Will
    drain_until(engine, lambda: engine_row(engine, "r:hostA/sine").state is State.UNKNOWN)
    assert engine_row(engine, "r:hostA/sine").state_text == "UNKNOWN · publisher lost"
    assert engine_row(engine, "r").state is State.RUNNING
