"""The `serial` kind through real producer processes, reading real ptys.

A pty pair stands in for a device: what the test writes on the master side, the producer reads
from the slave side (`os.ttyname(slave)` is its port). Plugging and unplugging is a symlink in
tmp_path that the test creates (to a pty's slave) and removes (closing that pty), as udev
creates and removes /dev/ttyUSB0.
"""

from __future__ import annotations

import os
import time
import tty

import pytest

from app.core.supervisor import State
from tests.helpers import drain_until, engine_row, producer, session_from

pytestmark = pytest.mark.slow


class Pty:
    """A pretend device: write lines on the master side, the producer reads the slave."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo and no line editing before the producer opens it
        self.path = os.ttyname(self.slave)

    def write(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        """Unplug: the reader's next read fails with EIO, and the slave's node disappears."""
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1


@pytest.fixture
def ptys():
    made: list[Pty] = []

    def make() -> Pty:
        made.append(Pty())
        return made[-1]

    yield make
    for pty in made:
        pty.close()


def start(engines, port: str, name: str = "s", **params):
    engine = engines(session_from(producer(name, "serial", port=port, **params)))
    engine.start_autostart()
    return engine


def status(engine, name: str = "s") -> str:
    return engine_row(engine, name).state_text


def wait_connected(engine, port: str, name: str = "s") -> None:
    drain_until(engine, lambda: f"connected to {port} at " in status(engine, name))


def details(engine, name: str = "s") -> str:
    return engine_row(engine, name).traceback


def values(engine, series: str, name: str = "s") -> list[float]:
    return engine.store.buffer((name, series)).raw.held(1).tolist()


def samples(engine, name: str = "s") -> int:
    return engine.counters.snapshot(name).samples


def test_numbers_written_to_the_port_arrive_with_their_values(engines, ptys):
    pty = ptys()
    engine = start(engines, pty.path)
    drain_until(
        engine, lambda: status(engine) == f"RUNNING · connected to {pty.path} at 115200 baud"
    )
    pty.write("".join(f"{i}\n" for i in range(1, 51)))
    pty.write("51.5\r\n-2e3\r\n")  # what an Arduino's println sends
    drain_until(engine, lambda: samples(engine) == 52)
    assert values(engine, "value") == [*range(1, 51), 51.5, -2000.0]
    assert engine_row(engine, "s").error == ""


def test_opening_a_port_in_the_middle_of_a_line_is_not_an_error(engines, ptys):
    """A device that is already streaming: the first thing read may be the end of a line; it
    is dropped, not shown as bad input (every plug-in would otherwise show an error)."""
    pty = ptys()
    engine = start(engines, pty.path)
    wait_connected(engine, pty.path)
    pty.write(': 21.5, "hum": 40}\n1.5\n2.5\n')  # the end of {"temp": 21.5, "hum": 40}
    drain_until(engine, lambda: samples(engine) == 2)
    assert values(engine, "value") == [1.5, 2.5]
    assert engine_row(engine, "s").error == ""
    pty.write("bad line\n")  # later ones are counted
    drain_until(engine, lambda: "1 unparsable lines" in engine_row(engine, "s").error)


def test_kv_lines_become_series_with_the_prefix(engines, ptys):
    pty = ptys()
    engine = start(engines, pty.path, prefix="board/", baud=9600)
    drain_until(engine, lambda: status(engine) == f"RUNNING · connected to {pty.path} at 9600 baud")
    pty.write("temp=21.5 hum=40\ntemp=21.75 hum=41\n")
    drain_until(engine, lambda: samples(engine) == 4)
    assert sorted(engine.store.series_keys()) == [("s", "board/hum"), ("s", "board/temp")]
    assert values(engine, "board/temp") == [21.5, 21.75]
    assert values(engine, "board/hum") == [40.0, 41.0]


def test_garbage_is_counted_and_shown_while_good_lines_still_arrive(engines, ptys):
    pty = ptys()
    engine = start(engines, pty.path, format="number")
    wait_connected(engine, pty.path)
    pty.write("1\nhello there\n2\n\x00\xff\n3\n")
    drain_until(engine, lambda: "2 unparsable lines" in engine_row(engine, "s").error)
    drain_until(engine, lambda: samples(engine) == 3)
    row = engine_row(engine, "s")
    assert values(engine, "value") == [1.0, 2.0, 3.0]
    assert "hello there" in row.traceback  # the details list the latest bad lines
    drain_until(engine, lambda: engine_row(engine, "s").state is State.RUNNING)  # not an error


def test_a_missing_port_is_waited_for_and_a_device_plugged_in_twice_is_read_both_times(
    engines, ptys, tmp_path
):
    port = str(tmp_path / "ttyUSB0")
    engine = start(engines, port, reconnect_s=0.1)
    drain_until(engine, lambda: status(engine) == f"RUNNING · waiting for {port}")
    assert engine_row(engine, "s").error == ""  # waiting is not a problem

    first = ptys()
    os.symlink(first.path, port)  # plugged in
    wait_connected(engine, port)
    first.write("1\n2\n")
    drain_until(engine, lambda: samples(engine) == 2)

    os.remove(port)  # unplugged mid-stream
    first.close()
    drain_until(engine, lambda: status(engine) == f"RUNNING · waiting for {port}")
    drain_until(engine, lambda: "lost 1 times, reconnected 0 times" in details(engine))

    second = ptys()
    os.symlink(second.path, port)  # plugged back in
    wait_connected(engine, port)
    second.write("3\n4\n")
    drain_until(engine, lambda: samples(engine) == 4)
    assert values(engine, "value") == [1.0, 2.0, 3.0, 4.0]
    drain_until(engine, lambda: "lost 1 times, reconnected 1 times" in details(engine))
    assert engine_row(engine, "s").error == ""


def test_a_port_that_cannot_be_opened_says_why(engines, ptys, tmp_path):
    """A file that is not a serial port, and a port another reader holds: waiting, with the
    reason, instead of an error (the user may fix either without restarting)."""
    not_a_port = tmp_path / "notes.txt"
    not_a_port.write_text("hello\n")
    pty = ptys()
    engine = engines(
        session_from(
            producer("file", "serial", port=str(not_a_port))
            + producer("first", "serial", port=pty.path)
            + producer("second", "serial", autostart=False, port=pty.path)
        )
    )
    engine.start_autostart()
    drain_until(
        engine,
        lambda: status(engine, "file") == f"RUNNING · waiting for {not_a_port}: not a serial port",
    )
    wait_connected(engine, pty.path, "first")
    engine.start("second")  # a second reader of the same port would get every other line
    busy = f"waiting for {pty.path}: in use by another program (it holds the port's lock)"
    drain_until(engine, lambda: status(engine, "second") == f"RUNNING · {busy}")
    pty.write("7\n8\n")
    drain_until(engine, lambda: samples(engine, "first") == 2)
    assert samples(engine, "second") == 0


def test_stop_is_prompt_whether_reading_or_waiting(engines, ptys, tmp_path):
    pty = ptys()
    missing = str(tmp_path / "ttyACM0")
    engine = engines(
        session_from(
            producer("reading", "serial", port=pty.path)
            + producer("waiting", "serial", port=missing, reconnect_s=60.0)
        )
    )
    engine.start_autostart()
    wait_connected(engine, pty.path, "reading")
    drain_until(engine, lambda: status(engine, "waiting") == f"RUNNING · waiting for {missing}")
    for name in ("reading", "waiting"):
        asked = time.monotonic()
        engine.stop(name)
        drain_until(engine, lambda n=name: engine_row(engine, n).state is State.STOPPED)
        took = time.monotonic() - asked
        assert status(engine, name) == "STOPPED · exited normally"  # on its own, not killed
        assert took < 0.9, f"{name} took {took:.2f} s to stop"
