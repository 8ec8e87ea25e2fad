"""The `streamscope` command as scripts use it: exit codes, one-line errors, CSV output."""

from __future__ import annotations

import csv
import itertools
import os
import signal
import subprocess
import sys
import time

import pytest

from app import __version__, cli
from tests.helpers import producer

RUN_TIMEOUT = 60


def run_cli(*args, env=None, timeout=RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


@pytest.fixture
def session_file(tmp_path):
    path = tmp_path / "session.toml"
    path.write_text(
        producer("wave", "sine", rate_hz=500.0)
        + producer("clock", "clock", period_s=0.2)
        + producer("idle", "noise", autostart=False)
    )
    return path


def test_version_and_help():
    assert run_cli("--version").stdout.strip() == f"streamscope {__version__}"
    out = run_cli("--help").stdout
    assert "record" in out and "producers" in out and "--session" in out


def test_producers_lists_every_kind_with_parameters():
    out = run_cli("producers").stdout
    for kind in ("sine", "noise", "random_walk", "clock", "system", "fail"):
        assert f"{kind}: " in out
    assert "rate_hz (float, default 200.0)" in out
    assert "mode (str, default 'raise') one of raise, raise_init, exit, hang, hang_hard" in out


def test_record_writes_every_sample_and_a_summary(session_file, tmp_path):
    out = tmp_path / "rec.csv"
    result = run_cli("record", "--session", str(session_file), "--duration", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with out.open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["timestamp", "producer", "series", "value"]
    counts = {}
    for stamp, name, series, value in rows[1:]:
        float(stamp), float(value)
        counts[(name, series)] = counts.get((name, series), 0) + 1
    assert set(counts) == {("wave", "value"), ("clock", "second")}  # idle is not autostart
    summary = {line.split()[0]: line.split()[1:3] for line in result.stdout.splitlines()[2:]}
    assert int(summary["wave"][0]) == counts[("wave", "value")] > 500
    assert int(summary["clock"][0]) == counts[("clock", "second")] >= 5
    assert summary["wave"][1] == "0"
    wave = [float(r[0]) for r in rows[1:] if r[1] == "wave"]
    assert all(b > a for a, b in itertools.pairwise(wave))  # in order, no duplicates


def test_record_stops_cleanly_on_sigterm_with_the_file_complete(session_file, tmp_path):
    out = tmp_path / "rec.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "record", "--session", str(session_file),
         "--duration", "60", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while (not out.exists() or out.stat().st_size < 2000) and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting on another process from the test, not in a GUI thread
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    text = out.read_text()
    assert text.endswith("\n")
    last = text.splitlines()[-1].split(",")
    assert len(last) == 4 and float(last[3]) == float(last[3])
    assert "total" in stdout


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('[[producers]]\nname = "a"\nkind = "sinx"\n', 3, "unknown producer kind 'sinx'"),
        ('[[producers]]\nname = "a"\nkind = "sine"\n[producers.params]\nrate_hz = "fast"\n', 5,
         "rate_hz must be float"),
        ("[[producers]\n", 1, "invalid TOML"),
    ],
)  # fmt: skip
def test_broken_session_is_one_line_and_exit_2(tmp_path, content, line, message):
    path = tmp_path / "broken.toml"
    path.write_text(content)
    result = run_cli("record", "--session", str(path), "--duration", "1", "--out", "x.csv")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}:{line}: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_session_file(tmp_path):
    result = run_cli("record", "--session", str(tmp_path / "nope.toml"), "--duration", "1",
                     "--out", str(tmp_path / "x.csv"))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'nope.toml'}: cannot read session file")


def test_without_a_display_says_how_to_run_it(session_file):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    result = run_cli("--session", str(session_file), env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no display" in result.stderr and "xvfb-run" in result.stderr


def test_gui_with_broken_session_opens_with_the_error(tmp_path, monkeypatch):
    path = tmp_path / "broken.toml"
    path.write_text('[[producers]]\nname = "a"\nkind = "sinx"\n')
    seen = {}

    def fake_run(session, error):
        seen["session"], seen["error"] = session, error
        return 0

    import app.gui

    monkeypatch.setattr(app.gui, "run", fake_run)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert cli.main(["--session", str(path)]) == 0
    assert seen["session"].producers == []
    from producers import all_kinds  # every kind that loads: the built-ins and plugins

    known = ", ".join(all_kinds())
    assert {"clock", "fail", "noise", "random_walk", "sine", "system"} <= set(all_kinds())
    assert seen["error"] == f"error: {path}:3: unknown producer kind 'sinx' (known: {known})"
