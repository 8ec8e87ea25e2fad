"""app.core.remote_control: Start/Stop of a producer elsewhere is one command message through a
real broker; a broker that refuses or is gone is said, never a hang of the caller."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from app.core.remote_control import RemoteCommand, RemoteControl
from tests.mosquitto_broker import free_port

pytestmark = pytest.mark.slow


def listen(broker, topic: str) -> tuple[mqtt.Client, list]:
    got, ready = [], threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: ready.set()
    client.on_message = lambda _c, _u, msg: got.append((msg.topic, json.loads(msg.payload)))
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert ready.wait(5)
    return client, got


def run(commands: list[RemoteCommand]) -> list[tuple[str, str | None]]:
    outcomes, done = [], threading.Event()

    def on_done(command, error):
        outcomes.append((command.command, error))
        if len(outcomes) == len(commands):
            done.set()

    control = RemoteControl(on_done)
    for command in commands:
        control.send(command)
    assert done.wait(15)
    control.close()
    return outcomes


def test_start_and_stop_reach_the_producers_command_topic(broker):
    client, got = listen(broker, "streamscope/lab1/+/cmd")
    params = {"host": broker.host, "port": broker.port}
    topic = "streamscope/lab1/sine/cmd"
    try:
        outcomes = run([RemoteCommand(params, topic, "stop", "fleet:lab1/sine"),
                        RemoteCommand(params, topic, "start", "fleet:lab1/sine")])  # fmt: skip
        assert outcomes == [("stop", None), ("start", None)]
        deadline = threading.Event()
        for _ in range(100):
            if len(got) == 2:
                break
            deadline.wait(0.02)
        assert got == [(topic, {"command": "stop"}), (topic, {"command": "start"})]
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_broker_that_is_not_there_or_refuses_is_said(make_broker, monkeypatch):
    nowhere = {"host": "127.0.0.1", "port": free_port()}
    [(_, error)] = run([RemoteCommand(nowhere, "x/cmd", "stop", "fleet:x")])
    assert error.startswith(f"cannot reach 127.0.0.1:{nowhere['port']}")
    broker = make_broker(users={"lab": "right"}).start()
    monkeypatch.setenv("LAB_PASSWORD", "wrong")
    params = {"host": broker.host, "port": broker.port, "username": "lab",
              "password_env": "LAB_PASSWORD"}  # fmt: skip
    [(_, error)] = run([RemoteCommand(params, "x/cmd", "stop", "fleet:x")])
    assert "refused" in error and "authorized" in error.lower()
