"""The `file` kind on real files: new lines become samples as the file grows, across
truncation and rotation, a file that appears late, and a line written in two pieces."""

from __future__ import annotations

import os

import pytest

from app.core.supervisor import State
from tests.helpers import drain_until, engine_row, producer, session_from

pytestmark = pytest.mark.slow


def append(path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def count(engine, key) -> int:
    return engine.store.stats(key)[0] if key in engine.store.series_keys() else 0


def latest(engine, key) -> float | None:
    return engine.store.latest(key)[1] if key in engine.store.series_keys() else None


def tail(engines, path, **params):
    engine = engines(session_from(producer("f", "file", path=str(path), poll_s=0.02, **params)))
    engine.start_autostart()
    return engine


def status(engine) -> str:
    return engine_row(engine, "f").state_text


def following(engine) -> bool:
    return "following" in status(engine)


@pytest.mark.parametrize("from_start", [False, True])
def test_lines_appended_while_tailing_become_samples(engines, tmp_path, from_start):
    path = tmp_path / "log.txt"
    path.write_text("1\n2\n")
    engine = tail(engines, path, from_start=from_start)
    drain_until(engine, lambda: following(engine))
    append(path, "10\n")
    append(path, "11\n")
    drain_until(engine, lambda: latest(engine, ("f", "value")) == 11.0)
    assert count(engine, ("f", "value")) == (4 if from_start else 2)
    assert f"· following {path}" in status(engine)


def test_starting_at_the_end_skips_a_line_being_written(engines, tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("1\n2")  # "2..." is still being written
    engine = tail(engines, path)
    drain_until(engine, lambda: following(engine))
    append(path, "5\n7\n")
    drain_until(engine, lambda: latest(engine, ("f", "value")) == 7.0)
    assert count(engine, ("f", "value")) == 1  # "25" was skipped whole, not read as "5"
    assert engine_row(engine, "f").error == ""


def test_truncation_reads_again_from_the_start(engines, tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("1\n2\n3\n")
    engine = tail(engines, path, from_start=True)
    drain_until(engine, lambda: count(engine, ("f", "value")) == 3)
    with open(path, "w") as f:  # truncate, as `> log.txt` or copytruncate does
        f.write("7\n")
    drain_until(engine, lambda: latest(engine, ("f", "value")) == 7.0)
    drain_until(engine, lambda: "truncated 1x" in status(engine))
    append(path, "8\n")
    drain_until(engine, lambda: latest(engine, ("f", "value")) == 8.0)
    assert count(engine, ("f", "value")) == 5


def test_rotation_reads_the_old_files_rest_then_the_new_file(engines, tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("1\n")
    engine = tail(engines, path, from_start=True)
    drain_until(engine, lambda: count(engine, ("f", "value")) == 1)
    append(path, "2\n")  # written just before the rename: read before the new file
    os.rename(path, tmp_path / "log.txt.1")
    path.write_text("3\n4")  # the new file, its last line unfinished
    drain_until(engine, lambda: latest(engine, ("f", "value")) == 3.0)
    drain_until(engine, lambda: "replaced 1x" in status(engine))
    append(path, "5\n")
    drain_until(engine, lambda: latest(engine, ("f", "value")) == 45.0)
    assert count(engine, ("f", "value")) == 4  # 1, 2, 3, 45: nothing lost, nothing twice


def test_a_missing_file_is_waited_for(engines, tmp_path):
    path = tmp_path / "later.txt"
    engine = tail(engines, path)
    drain_until(engine, lambda: f"waiting for {path}" in status(engine))
    path.write_text("temp=20.5\n")  # everything in it was written after the start: read it
    drain_until(engine, lambda: latest(engine, ("f", "temp")) == 20.5)
    drain_until(engine, lambda: following(engine))
    path.unlink()  # removed: waiting again, no error
    drain_until(engine, lambda: f"waiting for {path}" in status(engine))
    path.write_text("temp=21.5\n")
    drain_until(engine, lambda: latest(engine, ("f", "temp")) == 21.5)
    row = engine_row(engine, "f")
    assert row.state in (State.STARTING, State.RUNNING) and row.error == ""


def test_a_partial_line_waits_for_its_end(engines, tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("")
    engine = tail(engines, path)
    drain_until(engine, lambda: following(engine))
    append(path, "1\n12")
    drain_until(engine, lambda: latest(engine, ("f", "value")) == 1.0)
    append(path, "3\n")
    drain_until(engine, lambda: latest(engine, ("f", "value")) == 123.0)
    assert count(engine, ("f", "value")) == 2


def test_unparsable_lines_are_counted_and_shown(engines, tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("1\nnot a number\n2\n{broken json\n3\n")
    engine = tail(engines, path, from_start=True, format="number")
    drain_until(engine, lambda: "2 unparsable lines" in engine_row(engine, "f").error)
    assert "{broken json" in engine_row(engine, "f").error
    assert count(engine, ("f", "value")) == 3


def test_a_directory_at_the_path_is_a_state_not_an_error(engines, tmp_path):
    path = tmp_path / "log"
    path.mkdir()
    engine = tail(engines, path)
    drain_until(engine, lambda: "is a directory" in status(engine))
    path.rmdir()
    path.write_text("")
    drain_until(engine, lambda: following(engine))
    append(path, "4\n")
    drain_until(engine, lambda: latest(engine, ("f", "value")) == 4.0)
    assert engine_row(engine, "f").error == ""
