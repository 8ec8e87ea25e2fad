"""Producers on other machines, end to end: `streamscope publish` processes, a real mosquitto,
and dashboards (the engine the window runs) with an `mqtt` producer in remote mode. Each remote
producer is a row of its own with its real remote state, its series plot as if local, Start and
Stop reach it only if its publisher allows control, and a publisher that dies reads UNKNOWN."""

from __future__ import annotations

import os
import signal

import pytest

from app.core.supervisor import Policy
from tests.helpers import assert_pids_gone, drain_until, engine_row, producer, session_from
from tests.test_publish_command import Publish, session_file

pytestmark = pytest.mark.slow
QUICK = Policy(startsecs=0.3, stall_after=5.0)


@pytest.fixture
def publishers(tmp_path):
    made: list[Publish] = []

    def start(name: str, broker, *extra) -> Publish:
        folder = tmp_path / name
        folder.mkdir()
        session = session_file(
            folder,
            producer("wave", "sine", rate_hz=1000.0, frequency_hz=2.0),
            producer("walk", "random_walk", rate_hz=100.0),
        )
        p = Publish(folder, session, broker.address, "--prefix", f"streamscope/{name}", *extra)
        made.append(p)
        return p

    yield start
    for p in made:
        p.kill()


def dashboard(engines, broker):
    engine = engines(
        session_from(
            producer("fleet", "mqtt", port=broker.port, topics=["streamscope/+"], remote=True)
        ),
        policy=QUICK,
    )
    engine.start_autostart()
    return engine


def rows(engine) -> dict[str, str]:
    return {r.name: r.state_text for r in engine.view.rows}


def test_remote_producers_are_rows_with_their_state_and_series_and_obey_start_stop(
    broker, publishers, engines
):
    publish = publishers("lab1", broker, "--allow-control")
    first, second = dashboard(engines, broker), dashboard(engines, broker)  # two dashboards
    for engine in (first, second):
        drain_until(engine, lambda e=engine: rows(e).get("fleet:lab1/wave") == "RUNNING")
        drain_until(engine, lambda e=engine: rows(e).get("fleet:lab1/walk") == "RUNNING")
    wave = engine_row(first, "fleet:lab1/wave")
    assert wave.pid.isdigit() and wave.kind == "sine" and wave.can_stop
    key = ("fleet", "lab1/wave/value")  # its series, as if it were local
    drain_until(first, lambda: first.store.stats(key)[0] > 500)

    first.stop("fleet:lab1/wave")  # through the broker, to the publisher
    drain_until(first, lambda: rows(first)["fleet:lab1/wave"].startswith("STOPPED"))
    drain_until(second, lambda: rows(second)["fleet:lab1/wave"].startswith("STOPPED"))
    first.start("fleet:lab1/wave")
    drain_until(first, lambda: rows(first)["fleet:lab1/wave"] == "RUNNING")

    walk_pid = int(engine_row(first, "fleet:lab1/walk").pid)
    os.kill(walk_pid, signal.SIGKILL)  # a remote producer dies: its row says how
    drain_until(first, lambda: "killed by SIGKILL" in rows(first)["fleet:lab1/walk"])
    assert rows(first)["fleet:lab1/walk"].startswith("EXITED")

    wave_pid = int(engine_row(first, "fleet:lab1/wave").pid)
    publish.kill()  # the publisher dies: its Last Will says so, every row of it reads UNKNOWN
    for engine in (first, second):
        for name in ("fleet:lab1/wave", "fleet:lab1/walk"):
            drain_until(engine, lambda e=engine, n=name: rows(e)[n] == "UNKNOWN · publisher lost")
    assert_pids_gone([wave_pid])  # and its producers ended with it


def test_without_allow_control_remote_rows_cannot_be_started_or_stopped(
    broker, publishers, engines
):
    publishers("lab2", broker)
    engine = dashboard(engines, broker)
    drain_until(engine, lambda: rows(engine).get("fleet:lab2/wave") == "RUNNING")
    wave = engine_row(engine, "fleet:lab2/wave")
    assert not wave.can_stop and not wave.can_start
    engine.stop("fleet:lab2/wave")  # asked anyway (a script): refused here, said
    news: list = []
    drain_until(engine, lambda: news.extend(engine.news()) or any(
        "without --allow-control" in n.text for n in news))  # fmt: skip
    assert rows(engine)["fleet:lab2/wave"] == "RUNNING"
