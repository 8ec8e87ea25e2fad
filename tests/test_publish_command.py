"""`streamscope publish` as a user runs it, through a real mosquitto, read by a plain paho
subscriber: data that decodes, retained statuses, the online message and its Will, signals,
a producer killed, a broker that is down at start or restarts, passwords, and remote control
only with --allow-control."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from producers.wire import DataMessage, decode
from tests.helpers import assert_pids_gone, producer

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
WAIT_S = 15.0


class Watcher:
    """A plain paho subscriber to `<prefix>/#`: every message it got, in order."""

    def __init__(self, broker, prefix: str, username=None, password=None):
        self.prefix = prefix
        self.messages: list[tuple[str, bytes, bool, float]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        assert self._subscribed.wait(5), "the watcher could not subscribe"

    def _on_message(self, _client, _userdata, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain), time.monotonic()))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def got(self) -> list[tuple[str, bytes, bool, float]]:
        with self._lock:
            return list(self.messages)

    def statuses(self, name: str) -> list[dict]:
        topic = f"{self.prefix}/{name}/status"
        return [json.loads(p) for t, p, _, _ in self.got() if t == topic]

    def status(self, name: str) -> dict | None:
        found = self.statuses(name)
        return found[-1] if found else None

    def publisher(self) -> dict | None:
        found = [json.loads(p) for t, p, _, _ in self.got() if t == f"{self.prefix}/_publisher"]
        return found[-1] if found else None

    def data(self, name: str) -> list[DataMessage]:
        topic = f"{self.prefix}/{name}/data"
        return [decode(p) for t, p, _, _ in self.got() if t == topic]

    def wait(self, done, timeout: float = WAIT_S, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what or done}"
            time.sleep(0.02)  # the test thread, polling what paho's thread collected

    def wait_state(self, name: str, state: str, timeout: float = WAIT_S) -> dict:
        self.wait(lambda: (self.status(name) or {}).get("state") == state, timeout,
                  f"{name} {state} (last: {self.status(name)})")  # fmt: skip
        return self.status(name)

    def command(self, name: str, payload: bytes) -> None:
        self.client.publish(f"{self.prefix}/{name}/cmd", payload, qos=1).wait_for_publish(5)


class Publish:
    """A `streamscope publish` subprocess; stdout and stderr go to files we can read while
    it runs."""

    def __init__(self, folder: Path, session: Path, broker: str, *extra, env=None):
        self.out, self.err = folder / "publish.out", folder / "publish.err"
        command = [sys.executable, "-m", "app", "publish", "--session", str(session),
                   "--broker", broker, *extra]  # fmt: skip
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
            )  # fmt: skip

    def stderr(self) -> str:
        return self.err.read_text()

    def stdout(self) -> str:
        return self.out.read_text()

    def end(self, sig=signal.SIGTERM, timeout: float = 10.0) -> float:
        """Send `sig`, wait for the exit; seconds it took."""
        sent = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout)
        return time.monotonic() - sent

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def run_publish(tmp_path):
    made: list[Publish] = []

    def start(session: Path, broker: str, *extra, env=None) -> Publish:
        folder = tmp_path / f"publish{len(made)}"
        folder.mkdir()
        p = Publish(folder, session, broker, *extra, env=env)
        made.append(p)
        return p

    yield start
    for p in made:
        p.kill()


@pytest.fixture
def watchers():
    made: list[Watcher] = []

    def make(broker, prefix="t", **kwargs) -> Watcher:
        w = Watcher(broker, prefix, **kwargs)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def session_file(tmp_path: Path, *producers: str) -> Path:
    path = tmp_path / "session.toml"
    path.write_text("".join(producers))
    return path


@pytest.fixture
def two_sines(tmp_path) -> Path:
    return session_file(
        tmp_path,
        producer("a", "sine", rate_hz=1000.0, channels=2),
        producer("b", "sine", rate_hz=500.0),
        producer("idle", "sine", autostart=False),
    )


def summary_of(stdout: str) -> dict[str, tuple[int, int, str]]:
    """producer -> (published, dropped, state), from the summary table."""
    rows = {}
    for line in stdout.splitlines()[2:]:
        name, published, dropped, *state = line.split()
        rows[name] = (int(published), int(dropped), " ".join(state))
    assert "total" in rows, stdout
    return rows


def test_data_statuses_online_then_sigterm_stops_everything_within_2_s(
    tmp_path, broker, two_sines, run_publish, watchers
):
    prefix = f"streamscope/{socket.gethostname()}"  # the default prefix
    watch = watchers(broker, prefix)
    publish = run_publish(two_sines, broker.address)
    watch.wait(lambda: len(watch.data("a")) >= 20 and len(watch.data("b")) >= 20, what="data")

    online = watch.publisher()
    assert online["online"] is True and online["pid"] == publish.proc.pid
    assert online["producers"] == ["a", "b", "idle"] and online["control"] is False
    for name, series in (("a", {"ch0", "ch1"}), ("b", {"value"})):
        messages = watch.data(name)
        got = {c.series for m in messages for c in m.chunks}
        assert got == series
        for s in series:  # timestamps only grow, from one message to the next
            stamps = np.concatenate([c.timestamps for m in messages for c in m.chunks
                                     if c.series == s])  # fmt: skip
            assert np.all(np.diff(stamps) > 0)
            assert abs(stamps[-1] - time.time()) < 5  # the samples' own epoch times
        # batched: ~20-50 ms of samples a message, not one message per sample
        assert sum(len(c) for m in messages for c in m.chunks) / len(messages) >= 5

    # retained: a subscriber that comes later gets the statuses and the online message
    late = watchers(broker, prefix)
    late.wait(lambda: late.status("a") and late.status("idle") and late.publisher(),
              what="retained statuses")  # fmt: skip
    retained = {t for t, _, r, _ in late.got() if r}
    assert {f"{prefix}/a/status", f"{prefix}/idle/status", f"{prefix}/_publisher"} <= retained
    status = late.wait_state("a", "RUNNING")
    assert isinstance(status["pid"], int) and status["kind"] == "sine"
    assert status["host"] == socket.gethostname() and status["total"] > 0
    assert late.status("idle")["state"] == "STOPPED" and late.status("idle")["pid"] is None
    pids = [late.status(n)["pid"] for n in ("a", "b")]
    # a status that does not change is published again at least every 2 s
    late.wait(lambda: len(late.statuses("idle")) >= 3, timeout=8, what="heartbeats")
    times = [s["time"] for s in late.statuses("idle")]
    assert max(np.diff(times)) <= 2.1, times

    took = publish.end(signal.SIGTERM)
    assert publish.proc.returncode == 0, publish.stderr()
    assert took <= 2.5, f"took {took:.2f} s to exit"
    assert_pids_gone(pids)
    assert "Traceback" not in publish.stderr()
    watch.wait(lambda: watch.publisher()["online"] is False, what="publisher stopped")
    assert watch.publisher() == {"online": False, "reason": "publisher stopped"}
    table = summary_of(publish.stdout())
    for name in ("a", "b"):
        final = watch.status(name)
        assert final["state"] == "STOPPED" and final["pid"] is None
        # every sample the engine received was published or counted as dropped
        assert final["total"] == final["published"] + final["dropped"]
        assert table[name] == (final["published"], final["dropped"], "STOPPED")
        received = sum(len(c) for m in watch.data(name) for c in m.chunks)
        assert received == final["published"]  # a local broker loses nothing
    # the Will was not published: the final word is "stopped"
    assert [json.loads(p) for t, p, _, _ in watch.got() if t.endswith("_publisher")][-1] == (
        {"online": False, "reason": "publisher stopped"}
    )


def test_sigkill_of_publish_makes_the_broker_say_publisher_lost(
    tmp_path, broker, two_sines, run_publish, watchers
):
    watch = watchers(broker)
    publish = run_publish(two_sines, broker.address, "--prefix", "t")
    pids = [watch.wait_state(n, "RUNNING")["pid"] for n in ("a", "b")]
    killed = time.monotonic()
    publish.proc.kill()
    publish.proc.wait(5)
    # the socket closes with the process: the Will comes at once (KEEPALIVE_S = 5 s bounds it
    # when only the network is lost)
    watch.wait(lambda: watch.publisher()["online"] is False, timeout=7.5, what="the Will")
    assert watch.publisher() == {"online": False, "reason": "publisher lost"}
    assert time.monotonic() - killed <= 7.5
    assert_pids_gone(pids)  # orphaned producers notice and exit by themselves


def test_a_producer_killed_shows_exited_killed_by_sigkill(
    tmp_path, broker, two_sines, run_publish, watchers
):
    watch = watchers(broker)
    publish = run_publish(two_sines, broker.address, "--prefix", "t")
    pid = watch.wait_state("b", "RUNNING")["pid"]
    os.kill(pid, signal.SIGKILL)
    status = watch.wait_state("b", "EXITED")
    assert status["state_text"] == "EXITED · killed by SIGKILL" and status["pid"] is None
    assert watch.status("a")["state"] == "RUNNING"  # the others go on
    publish.end()
    assert publish.proc.returncode == 0


def test_a_broker_down_at_start_is_waited_for_said_once(
    tmp_path, make_broker, two_sines, run_publish, watchers
):
    broker = make_broker()  # not started: nothing listens on its port
    publish = run_publish(two_sines, broker.address, "--prefix", "t")
    deadline = time.monotonic() + WAIT_S
    while "waiting for broker" not in publish.stderr():
        assert time.monotonic() < deadline and publish.proc.poll() is None, publish.stderr()
        time.sleep(0.05)  # the test thread, reading the other process's stderr
    time.sleep(2.5)  # several retries (0.5-2 s apart) happen meanwhile: said only once
    broker.start()
    watch = watchers(broker)
    watch.wait(lambda: len(watch.data("a")) >= 5, timeout=10, what="data after the broker came")
    lines = [line for line in publish.stderr().splitlines() if "waiting for broker" in line]
    assert lines == [f"waiting for broker {broker.address}: connection refused"]
    assert publish.proc.poll() is None
    status = watch.wait_state("a", "RUNNING")
    assert status["dropped"] > 0  # the samples of the wait, counted
    publish.end()
    assert publish.proc.returncode == 0


def test_a_broker_restart_mid_stream_resumes_and_counts_what_was_lost(
    tmp_path, broker, two_sines, run_publish, watchers
):
    publish = run_publish(two_sines, broker.address, "--prefix", "t")
    watch = watchers(broker)
    watch.wait(lambda: len(watch.data("a")) >= 10, what="data")
    assert watch.status("a")["dropped"] == 0
    watch.close()
    broker.kill()  # a crash; no persistence: the retained messages are gone too
    time.sleep(1.0)  # the broker stays away for a second: ~1000 samples of `a` cannot go
    broker.start()
    after = watchers(broker)
    after.wait(lambda: len(after.data("a")) >= 10, what="data after the restart")
    after.wait(lambda: (after.status("a") or {}).get("dropped", 0) >= 500,
               what="the lost samples counted in the status")  # fmt: skip
    assert after.publisher()["online"] is True  # republished on reconnect
    assert after.data("a")[-1].dropped_total >= 500  # the data messages say it too
    publish.end()
    final = after.status("a")
    assert final["total"] == final["published"] + final["dropped"]
    assert "lost the connection to broker" in publish.stderr()
    assert summary_of(publish.stdout())["a"][1] == final["dropped"]


def test_passwords_from_the_environment_and_a_wrong_one_is_exit_2_quickly(
    tmp_path, make_broker, two_sines, run_publish, watchers
):
    broker = make_broker(users={"lab": "s3cret"}).start()
    watch = watchers(broker, username="lab", password="s3cret")
    args = (two_sines, broker.address, "--prefix", "t", "--username", "lab",
            "--password-env", "PUB_PASSWORD")  # fmt: skip
    good = run_publish(*args, env={"PUB_PASSWORD": "s3cret"})
    watch.wait_state("a", "RUNNING")
    good.end()
    assert good.proc.returncode == 0
    assert "s3cret" not in good.stderr() + good.stdout()

    started = time.monotonic()
    bad = subprocess.run(
        [sys.executable, "-m", "app", "publish", "--session", str(two_sines),
         "--broker", broker.address, "--username", "lab", "--password-env", "PUB_PASSWORD"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
        env={**os.environ, "PUB_PASSWORD": "wrong"},
    )  # fmt: skip
    assert bad.returncode == 2
    assert time.monotonic() - started < 5
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: broker {broker.address} refused the connection: Not authorized"]
    assert "wrong" not in bad.stderr and "waiting for broker" not in bad.stderr


def test_allow_control_obeys_stop_and_start(tmp_path, broker, two_sines, run_publish, watchers):
    watch = watchers(broker)
    publish = run_publish(two_sines, broker.address, "--prefix", "t", "--allow-control")
    watch.wait_state("a", "RUNNING")
    assert watch.publisher()["control"] is True
    watch.command("a", b'{"command": "stop"}')
    watch.wait_state("a", "STOPPED")
    watch.command("idle", b'{"command": "start"}')
    status = watch.wait_state("idle", "RUNNING")
    assert isinstance(status["pid"], int)
    watch.command("a", b'{"command": "start"}')
    watch.wait_state("a", "RUNNING")
    # garbage and unknown names are logged and ignored
    watch.command("a", b"not json")
    watch.command("nobody", b'{"command": "stop"}')
    watch.command("a", b'{"command": "explode"}')
    deadline = time.monotonic() + WAIT_S
    while publish.stderr().count("ignored command") < 3:
        assert time.monotonic() < deadline, publish.stderr()
        time.sleep(0.05)
    assert watch.status("a")["state"] == "RUNNING" and publish.proc.poll() is None
    publish.end()
    assert publish.proc.returncode == 0


def test_without_allow_control_commands_are_ignored_and_logged(
    tmp_path, broker, two_sines, run_publish, watchers
):
    watch = watchers(broker)
    publish = run_publish(two_sines, broker.address, "--prefix", "t")
    watch.wait_state("a", "RUNNING")
    watch.command("a", b'{"command": "stop"}')
    watch.command("idle", b'{"command": "start"}')
    deadline = time.monotonic() + WAIT_S
    while publish.stderr().count("--allow-control") < 2:
        assert time.monotonic() < deadline, publish.stderr()
        time.sleep(0.05)
    lines = [line for line in publish.stderr().splitlines() if "ignored command" in line]
    assert lines == [
        "ignored command stop for a (publish runs without --allow-control)",
        "ignored command start for idle (publish runs without --allow-control)",
    ]
    time.sleep(0.5)  # had it obeyed, the status would change within this
    assert watch.status("a")["state"] == "RUNNING" and watch.status("idle")["state"] == "STOPPED"
    publish.end()
    assert publish.proc.returncode == 0


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--broker", "localhost"], {}, "expected HOST:PORT"),
        (["--broker", "localhost:99999"], {}, "port must be 1-65535"),
        ([], {}, "required: --broker"),
        (
            ["--broker", "h:1", "--username", "u", "--password-env", "NOPE_X"],
            {},
            "--password-env NOPE_X: that variable is not set",
        ),
        (["--broker", "h:1", "--password-env", "P"], {"P": "x"}, "needs --username"),
        (["--broker", "h:1", "--prefix", "a/#"], {}, "may not contain"),
        (["--broker", "h:1", "--tls", "/nonexistent/ca.pem"], {}, "--tls /nonexistent/ca.pem"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, two_sines, args, env, message):
    result = subprocess.run(
        [sys.executable, "-m", "app", "publish", "--session", str(two_sines), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=30, env={**os.environ, **env},
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], lines


def test_a_bad_session_is_one_line_and_exit_2(tmp_path):
    bad = session_file(tmp_path, "[[producers]]\nname = 'x'\nkind = 'no-such-kind'\n")
    result = subprocess.run(
        [sys.executable, "-m", "app", "--session", str(bad), "publish", "--broker", "h:1"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}"), lines


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_ctrl_c_and_sighup_end_it_too(tmp_path, broker, run_publish, watchers, sig):
    session = session_file(tmp_path, producer("a", "sine", rate_hz=1000.0))
    watch = watchers(broker)
    publish = run_publish(session, broker.address, "--prefix", "t")
    pid = watch.wait_state("a", "RUNNING")["pid"]
    took = publish.end(sig)
    assert publish.proc.returncode == 0 and took <= 2.5, (took, publish.stderr())
    watch.wait(lambda: watch.publisher()["online"] is False, what="publisher stopped")
    assert watch.publisher()["reason"] == "publisher stopped"
    assert watch.status("a")["state"] == "STOPPED"
    assert summary_of(publish.stdout())["a"][0] == watch.status("a")["published"]
    assert_pids_gone([pid])


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    for args in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=test"],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ):  # fmt: skip
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
    for path in (ca, cert, key):
        path.chmod(0o644)  # mosquitto drops to its own user, which must read them
    return ca, cert, key


def test_tls_with_a_ca_file(tmp_path, make_broker, two_sines, run_publish, watchers):
    broker = make_broker()
    ca, cert, key = make_certificates(broker.folder)
    with (broker.folder / "mosquitto.conf").open("a") as conf:  # for the listener above
        conf.write(f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n")
    broker.start()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)  # a subscriber over TLS
    client.tls_set(ca_certs=str(ca))
    got = []
    client.on_connect = lambda c, *_: c.subscribe("t/#", qos=1)
    client.on_message = lambda _c, _u, m: got.append(m.topic)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        publish = run_publish(two_sines, broker.address, "--prefix", "t", "--tls", str(ca))
        deadline = time.monotonic() + WAIT_S
        while "t/a/data" not in got:
            assert time.monotonic() < deadline, publish.stderr()
            time.sleep(0.05)  # paho's thread collects
        publish.end()
        assert publish.proc.returncode == 0
    finally:
        client.disconnect()
        client.loop_stop()
    # a CA that did not sign the broker's certificate: waited for, and said why, once
    other_ca, _, _ = make_certificates(tmp_path)
    wrong = run_publish(two_sines, broker.address, "--prefix", "t", "--tls", str(other_ca))
    deadline = time.monotonic() + WAIT_S
    while "waiting for broker" not in wrong.stderr():
        assert time.monotonic() < deadline, wrong.stderr()
        time.sleep(0.05)
    lines = [line for line in wrong.stderr().splitlines() if "waiting for broker" in line]
    assert lines == [f"waiting for broker {broker.address}: TLS: certificate verify failed: "
                     "self-signed certificate in certificate chain"]  # fmt: skip
    wrong.end()
    assert wrong.proc.returncode == 0
