"""The `record` command end to end, as users run it: `python -m benchmarks.record_command`.

- full rate: 8 producers x 1.25 M samples/s (10 M/s) recorded to Parquet for 30 s (5 s with
  --quick): samples written, dropped, and how far the writer fell behind at most (target: 0
  drops, <= 0.5 s).
- CSV: 1 producer x 1 M samples/s to CSV: rows/s written, drops (target >= 1 M rows/s).
- kill -9: 4 x 200 k samples/s to Parquet, `record` killed mid-stream, `streamscope recover`,
  then the age of the newest row on disk at the moment of the kill (target <= 0.5 s).

Files go to benchmarks/out/ (the checkout's disk, as a user's recording would), and are deleted.
Prints one JSON object (the last line) with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"


def session(path: Path, count: int, rate: float) -> Path:
    kinds = ("sine", "noise")
    path.write_text(
        "".join(
            f'[[producers]]\nname = "{kinds[i % 2]}{i}"\nkind = "{kinds[i % 2]}"\n'
            f"[producers.params]\nrate_hz = {rate}\n"
            for i in range(count)
        )
    )
    return path


def record(session_path: Path, out: Path, duration: float) -> dict:
    command = [sys.executable, "-m", "app", "record", "--session", str(session_path),
               "--duration", str(duration), "--out", str(out)]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    lines = done.stdout.splitlines()
    total = next(line for line in lines if line.startswith("total")).split()
    behind = next(line for line in lines if line.startswith("at most")).split()[2]
    return {
        "written": int(total[1]),
        "dropped": int(total[2]),
        "max_behind_s": float(behind),
        "elapsed_s": time.monotonic() - started,
    }


def kill9(session_path: Path, out: Path) -> float:
    command = [sys.executable, "-m", "app", "record", "--session", str(session_path),
               "--duration", "60", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while (not out.exists() or out.stat().st_size < 20_000_000) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    subprocess.run([sys.executable, "-m", "app", "recover", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    newest = pq.read_table(out, columns=["timestamp"]).column(0).to_numpy().max()
    return killed_at - newest.astype("datetime64[ns]").astype("int64") / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    work = OUT / "record-work"
    work.mkdir(exist_ok=True)
    duration = 5.0 if args.quick else 30.0
    result = {"disk": str(OUT)}
    try:
        full = record(session(work / "full.toml", 8, 1_250_000.0), work / "full.parquet", duration)
        (work / "full.parquet").unlink()
        result.update({f"full_rate_{k}": v for k, v in full.items()})
        result["full_rate_samples_per_s"] = full["written"] / duration
        csv = record(session(work / "csv.toml", 1, 1_000_000.0), work / "rate.csv", duration / 2)
        (work / "rate.csv").unlink()
        result["csv_rows_per_s"] = csv["written"] / (duration / 2)
        result["csv_dropped"] = csv["dropped"]
        ages = []
        for i in range(1 if args.quick else 3):
            out = work / f"kill{i}.parquet"
            ages.append(kill9(session(work / "kill.toml", 4, 200_000.0), out))
            out.unlink()
        result["kill9_newest_row_age_s"] = max(ages)
    finally:
        for leftover in work.iterdir():
            leftover.unlink()
        work.rmdir()
    (OUT / "record_command.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
