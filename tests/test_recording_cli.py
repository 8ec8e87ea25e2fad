"""`streamscope recover FILE`: the command a user runs on a recording a crash cut short."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from app.cli import main
from app.core.recording import open_writer
from producers.wire import Chunk

ROOT = Path(__file__).resolve().parent.parent


def test_recover_repairs_a_torn_recording_then_finds_nothing_to_do(tmp_path, capsys):
    path = tmp_path / "run.parquet"
    writer = open_writer(path)
    for i in range(3):
        writer.write([("p", Chunk("v", np.arange(10.0), t0=1.7e9 + i, dt=0.1))])
        writer.flush()
    writer.close()
    path.write_bytes(path.read_bytes()[:-5])  # the footer torn, as by a kill mid-flush
    assert main(["recover", str(path)]) == 0
    assert "repaired: kept 3 row groups (30 rows)" in capsys.readouterr().out
    assert pq.read_table(path).num_rows == 30
    assert main(["recover", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("nothing to do")


def test_recover_of_something_else_is_an_error_line_and_exit_1(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "app", "recover", str(tmp_path / "missing.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        done.stderr
        == f"error: cannot recover {tmp_path / 'missing.csv'}: No such file or directory\n"
    )
