"""`python -m benchmarks.lineparse [--runs N] [--quick]`: text line formats, lines per second.

What a text source (command, file, serial) spends turning its output into samples:
- `LineParser.parse` per format, on typical lines of 1-3 series, in batches of 5,000 lines (a
  read of ~100 KiB), one parser per case as a source has: number with 1 and 3 columns, 3
  columns with one bad line per batch (its rows converted one by one) and with one comment
  line per batch (the line-by-line path), kv (`temp=21.5 hum=40` and the
  spaced `temp: 21.5, hum: 40`), csv (time + 3 columns), json (`{"t": 1.0, "a": {"x": 1.5,
  "y": 2}, "ok": true}`) decoded with orjson and, for comparison, with the stdlib json (the
  same flattening; ratio printed), and auto on kv and on json lines;
- `LineSplitter.feed` on 64 KiB chunks of short lines (lines/s and MB/s).
CPU time of this process, medians (and min, max) of --runs runs (--quick: one run, fewer
lines). Prints a table, writes benchmarks/out/lineparse.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from producers import lineformat
from producers.lineformat import LineParser
from producers.linesplit import LineSplitter

OUT = Path(__file__).resolve().parent / "out"
BATCH = 5_000
T0 = 1_700_000_000.0
# lines/s wanted on a 2-core machine: number and kv >= 500k, json >= 200k
TARGETS = {"number1": 500_000, "number3": 500_000, "number3_bad_line": 500_000,
           "number3_comment": 500_000, "kv": 500_000, "kv_spaced": 500_000,
           "json": 200_000}  # fmt: skip


def lines_for(case: str, n: int) -> list[str]:
    """n typical lines of one case (deterministic)."""
    if case == "number1":
        return [f"{(i % 997) * 0.125 - 40:.3f}" for i in range(n)]
    if case.startswith("number3"):
        rows = [f"{i * 0.01:.2f} {(i % 97) - 48} {(i % 13) * 1.5e-3:.5g}" for i in range(n)]
        for k in range(BATCH // 2, n, BATCH):
            if case == "number3_bad_line":  # one per batch: its rows converted one by one
                rows[k] = "1 2 oops"
            elif case == "number3_comment":  # one per batch: the line-by-line path
                rows[k] = "# restarted"
        return rows
    if case in ("kv", "auto_kv"):
        return [f"temp={20 + (i % 50) * 0.1:.1f} hum={40 + i % 7}" for i in range(n)]
    if case == "kv_spaced":
        return [f"temp: {20 + (i % 50) * 0.1:.1f}, hum: {40 + i % 7}" for i in range(n)]
    if case == "csv":
        rows = [f"{T0 + i * 0.01:.2f},{i * 0.5:.1f},{(i % 11) - 5},{(i % 3) * 0.25}"
                for i in range(n - 1)]  # fmt: skip
        return ["time,a,b,c", *rows]
    if case in ("json", "json_stdlib", "auto_json"):
        return [
            f'{{"t": {T0 + i * 0.01:.2f}, "a": {{"x": {i * 1.5:.1f}, "y": {i % 5}}}, '
            f'"ok": {"true" if i % 2 else "false"}}}'
            for i in range(n)
        ]
    raise ValueError(case)


CASES = {  # case -> format
    "number1": "number",
    "number3": "number",
    "number3_bad_line": "number",
    "number3_comment": "number",
    "kv": "kv",
    "kv_spaced": "kv",
    "csv": "csv",
    "json": "json",
    "json_stdlib": "json",
    "auto_kv": "auto",
    "auto_json": "auto",
}


class _StdlibJson:
    """Stands in for orjson inside producers.lineformat: the stdlib decoder, same flattening."""

    loads = staticmethod(json.loads)


def parse_rate(case: str, n: int) -> float:
    """Lines per second of CPU time parsing n lines of `case` in batches of BATCH."""
    lines = lines_for(case, n)
    batches = [lines[i : i + BATCH] for i in range(0, n, BATCH)]
    parser = LineParser(CASES[case], prefix="bench/")
    parser.parse(batches[0][:100], T0)  # warm: CSV header, caches
    saved = lineformat.orjson
    if case == "json_stdlib":
        lineformat.orjson = SimpleNamespace(loads=_StdlibJson.loads)
    try:
        started = time.process_time()
        now = T0
        for batch in batches:
            got = parser.parse(batch, now, since=now - 0.05)
            now += 0.05
        spent = time.process_time() - started
    finally:
        lineformat.orjson = saved
    expected_bad = 1 if case == "number3_bad_line" else 0
    if got.bad != expected_bad or not got.series:  # the figures are of parsing that worked
        raise RuntimeError(f"{case}: {got.bad} bad lines, {got.bad_examples}")
    return n / spent


def split_rate(n: int) -> tuple[float, float]:
    """LineSplitter: lines/s and MB/s over 64 KiB chunks of short lines."""
    text = "".join(f"{i * 0.01:.2f} {(i % 97) - 48}\r\n" for i in range(n)).encode()
    chunks = [text[i : i + 65536] for i in range(0, len(text), 65536)]
    splitter = LineSplitter()
    count = 0
    started = time.process_time()
    for chunk in chunks:
        count += len(splitter.feed(chunk))
    count += len(splitter.flush())
    spent = time.process_time() - started
    if count != n:
        raise RuntimeError(f"LineSplitter returned {count} lines of {n}")
    return n / spent, len(text) / spent / 1e6


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(runs: int, quick: bool) -> dict:
    n = 50_000 if quick else 200_000
    got: dict[str, list[float]] = {}
    for _ in range(runs):
        for case in CASES:
            got.setdefault(case, []).append(parse_rate(case, n))
        lines_s, mb_s = split_rate(4 * n)
        got.setdefault("linesplit", []).append(lines_s)
        got.setdefault("linesplit_mb", []).append(mb_s)
    result: dict = {"runs": runs, "lines": n, "batch": BATCH, "cases": {}}
    for case, values in got.items():
        result["cases"][case] = spread(values)
        key = "linesplit_mb_per_s" if case == "linesplit_mb" else f"{case}_lines_per_s"
        result[key] = result["cases"][case]["median"]  # flat medians: benchmarks/__main__.py
    result["orjson_over_stdlib"] = result["json_lines_per_s"] / result["json_stdlib_lines_per_s"]
    return result


def report(result: dict) -> None:
    print(f"lines/s, CPU time, medians of {result['runs']} runs "
          f"({result['lines']:,} lines in batches of {result['batch']:,})")  # fmt: skip
    for case, s in result["cases"].items():
        unit = "MB/s" if case == "linesplit_mb" else "lines/s"
        verdict = ""
        if case in TARGETS:
            ok = "ok" if s["median"] >= TARGETS[case] else "MISSED"
            verdict = f"  target >= {TARGETS[case]:,} {ok}"
        print(
            f"  {case:>22}: {s['median']:>12,.0f} {unit:<7} (min {s['min']:,.0f}, "
            f"max {s['max']:,.0f}){verdict}"
        )
    print(f"  json: orjson / stdlib json = {result['orjson_over_stdlib']:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs (default 5)")
    parser.add_argument("--quick", action="store_true", help="fewer lines, one run")
    args = parser.parse_args()
    result = measure(1 if args.quick else max(1, args.runs), args.quick)
    OUT.mkdir(exist_ok=True)
    (OUT / "lineparse.json").write_text(json.dumps(result, indent=2))
    report(result)
    print(f"written to {OUT / 'lineparse.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
