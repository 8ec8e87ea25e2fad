"""`python -m benchmarks [--quick] [--runs N]`: every performance figure of the README.

Each scenario runs in a fresh process (see benchmarks/scenarios.py and naive.py), several
times; figures are reported as min / median / max over runs. Results go to
benchmarks/out/results.json (every run) and benchmarks/out/summary.json (medians, the keys
tracked from run to run). The original design is swept upward in rate in the same invocation,
so the ratio compares both on the same machine at the same moment.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from benchmarks.naive import keeps_up

OUT = Path(__file__).resolve().parent / "out"
NAIVE_RATES = (1, 2, 5, 10, 20, 50, 100, 200, 400, 800, 1600, 3200, 6400, 12800)
NAIVE_RATES_QUICK = (1, 10, 100, 1000, 3200, 12800)
SCENARIO_TIMEOUT_S = 900


def run_json(args: list[str]) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    done = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=env,
        timeout=SCENARIO_TIMEOUT_S,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def scenario(name: str, quick: bool) -> dict:
    print(f"  {name} ...", end="", flush=True)
    started = time.monotonic()
    result = run_json(["benchmarks.scenarios", name, *(["--quick"] if quick else [])])
    print(f" {time.monotonic() - started:.0f} s", flush=True)
    return result


def naive_sweep(quick: bool) -> dict:
    """The original design at rising rates: the highest rate at which it keeps up (lag p99 <=
    100 ms, delivering >= 90 %), and the most it ever delivered, lag or not."""
    steps, best = [], 0.0
    print("  naive sweep:", end="", flush=True)
    for rate in NAIVE_RATES_QUICK if quick else NAIVE_RATES:
        result = run_json(["benchmarks.naive", "--rate", str(rate),
                           "--duration", "3" if quick else "5"])  # fmt: skip
        steps.append(result)
        ok = keeps_up(result)
        print(f" {rate}{'' if ok else '(x)'}", end="", flush=True)
        best = max(best, float(rate)) if ok else best
        if result["delivered_per_s"] < 0.5 * rate:
            break  # saturated: higher rates only deliver less
    print(flush=True)
    return {
        "ceiling": best,
        "max_delivered": max(r["delivered_per_s"] for r in steps),
        "lowest_rate": float(steps[0]["rate"]),
        "steps": steps,
    }


def spread(values: list) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"min": None, "median": None, "max": None, "runs": 0}
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "runs": len(values),
    }


def machine() -> dict:
    versions = {}
    for package in ("numpy", "pyqtgraph", "PyQt5", "PyQt5-Qt5", "psutil", "pyarrow", "orjson",
                    "streamscope"):  # fmt: skip
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


REPEATED = (
    "load",
    "load20",
    "dense",
    "default",
    "scale100",
    "series1000",
    "fleet",
    "plots8",
    "plots1",
)
ONCE = ("idle", "slow1hz")
# benchmarks of one part each, in their own modules; each writes benchmarks/out/NAME.json
MODULES = (
    "record_command",
    "recording",
    "store_scale",
    "render_scale",
    "drain",
    "lineparse",
    "serial_pty",
    "python_kind",
    "text_sources",
    "sweep",
    "replay",
    "udp",
    "mqtt_source",
    "publish",
)


def module(name: str, quick: bool) -> dict:
    """Run `python -m benchmarks.NAME`; its figures are what it wrote to out/NAME.json."""
    print(f"  {name} ...", end="", flush=True)
    started = time.monotonic()
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if quick else [])],
        capture_output=True, text=True, env=env, timeout=SCENARIO_TIMEOUT_S,
    )  # fmt: skip
    print(f" {time.monotonic() - started:.0f} s", flush=True)
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.{name} failed:\n{done.stderr[-2000:]}")
    return json.loads((OUT / f"{name}.json").read_text())


def collect(quick: bool, runs: int, only: set[str] | None) -> dict:
    want = lambda name: only is None or name in only  # noqa: E731
    raw: dict[str, list] = {name: [] for name in (*REPEATED, *ONCE, "soak", "naive", *MODULES)}
    for _ in range(runs):
        for name in filter(want, REPEATED):
            raw[name].append(scenario(name, quick))
    for name in filter(want, ONCE):
        raw[name].append(scenario(name, quick))
    if not quick and want("soak"):
        raw["soak"].append(scenario("soak", quick))
    for _ in range(1 if quick else runs):
        if want("naive"):
            raw["naive"].append(naive_sweep(quick))
    for name in filter(want, MODULES):
        if (importlib.util.find_spec(f"benchmarks.{name}")) is not None:
            raw[name].append(module(name, quick))
    return raw


def figures(raw: dict) -> dict:
    load, dense = raw["load"], raw["dense"]
    pick = lambda runs, key: spread([r.get(key) for r in runs])  # noqa: E731
    ours = pick(load, "throughput_samples_per_s")
    naive = spread([n["ceiling"] for n in raw["naive"]])
    naive_max = spread([n["max_delivered"] for n in raw["naive"]])
    lag_ok = (pick(load, "lag_p99_ms")["median"] or 1e9) <= 100
    # If the original design misses the lag criterion even at the lowest rate tried, its
    # sustained rate is below that rate: the ratio against that rate is then a lower bound.
    lowest = min((n["lowest_rate"] for n in raw["naive"]), default=None)
    floor = naive["median"] or lowest
    ratio = ours["median"] / floor if lag_ok and ours["median"] and floor else None
    raw_ratio = ours["median"] / naive_max["median"] if naive_max["median"] else None
    drift_source = raw["soak"] or load
    scale, series, default = raw["scale100"], raw["series1000"], raw["default"]
    record, lines = raw["record_command"], raw["lineparse"]
    out = {
        "throughput_samples_per_s": ours,
        "drops": pick(load, "drops"),
        "fps_under_load": pick(load, "fps"),
        "lag_p99_ms": pick(load, "lag_p99_ms"),
        "lag_max_ms": pick(load, "lag_max_ms"),
        "click_latency_ms": pick(load, "click_latency_ms"),
        "latency_store_p99_ms": pick(load, "latency_store_p99_ms"),
        "latency_frame_p99_ms": pick(load, "latency_frame_p99_ms"),
        "render_fps_8x1M": pick(dense, "fps"),
        "render_lag_p99_ms_8x1M": pick(dense, "lag_p99_ms"),
        "rss_drift_pct": pick(drift_source, "rss_drift_pct"),
        "soak_buffer_growth_mb": pick(drift_source, "buffer_growth_mb"),
        "rss_mb": pick(load, "rss_mb"),
        "buffer_mb": pick(load, "buffer_mb"),
        "idle_cpu_pct": pick(raw["idle"], "cpu_pct"),
        "naive_throughput_samples_per_s": naive,
        "naive_ratio": spread([ratio]),
        "naive_ratio_is_lower_bound": spread([float(not naive["median"])] if raw["naive"] else []),
        "naive_max_delivered_per_s": naive_max,
        "naive_raw_throughput_ratio": spread([raw_ratio]),
        "fps_20M": pick(raw["load20"], "fps"),
        "lag_p99_ms_20M": pick(raw["load20"], "lag_p99_ms"),
        "drops_20M": pick(raw["load20"], "drops"),
        "default_window_cpu_pct": pick(default, "gui_cpu_pct"),
        "default_window_cpu_ms_per_frame": pick(default, "gui_cpu_ms_per_frame"),
        "default_fps": pick(default, "fps"),
        "scale100_all_running_s": pick(scale, "running_s"),
        "scale100_startup_stall_ms": pick(scale, "startup_stall_ms"),
        "scale100_lag_p99_ms": pick(scale, "lag_p99_ms"),
        "scale100_total_cpu_pct": pick(scale, "cpu_pct"),
        "scale100_producer_cpu_pct": pick(scale, "producer_cpu_pct"),
        "scale100_producer_uss_mb": pick(scale, "producer_uss_mb"),
        "series1000_fps": pick(series, "fps"),
        "series1000_lag_p99_ms": pick(series, "lag_p99_ms"),
        "series1000_refused": pick(series, "series_refused"),
        "series1000_buffer_mb": pick(series, "buffer_mb"),
        "slow1hz_producer_cpu_pct": pick(raw["slow1hz"], "producer_cpu_pct"),
        "record_10M_samples_per_s": pick(record, "full_rate_samples_per_s"),
        "record_10M_dropped": pick(record, "full_rate_dropped"),
        "record_10M_max_behind_s": pick(record, "full_rate_max_behind_s"),
        "record_csv_rows_per_s": pick(record, "csv_rows_per_s"),
        "record_kill9_newest_row_age_s": pick(record, "kill9_newest_row_age_s"),
        "lines_number_per_s": pick(lines, "number3_comment_lines_per_s"),  # the slowest path
        "lines_kv_per_s": pick(lines, "kv_lines_per_s"),
        "lines_json_per_s": pick(lines, "json_lines_per_s"),
        "lines_csv_per_s": pick(lines, "csv_lines_per_s"),
        **source_figures(raw),
        "fleet_samples_per_s": pick(raw["fleet"], "throughput_samples_per_s"),
        "fleet_drops": pick(raw["fleet"], "drops"),
        "fleet_remote_drops": pick(raw["fleet"], "remote_drops"),
        "fleet_fps": pick(raw["fleet"], "fps"),
        "fleet_lag_p99_ms": pick(raw["fleet"], "lag_p99_ms"),
        "fleet_frame_latency_p99_ms": pick(raw["fleet"], "latency_frame_p99_ms"),
        "plots8_fps": pick(raw["plots8"], "fps"),
        "plots8_lag_p99_ms": pick(raw["plots8"], "lag_p99_ms"),
        "plots8_drops": pick(raw["plots8"], "drops"),
        "plots8_gui_cpu_ms_per_frame": pick(raw["plots8"], "gui_cpu_ms_per_frame"),
        "plots1_fps": pick(raw["plots1"], "fps"),
        "plots1_gui_cpu_ms_per_frame": pick(raw["plots1"], "gui_cpu_ms_per_frame"),
        # the same 32 series on 8 plots vs on 1: what the plots cost, as ratios in one run
        "plots8_over_plots1_fps": spread(_ratios(raw["plots8"], raw["plots1"], "fps")),
        "plots8_over_plots1_cpu_per_frame": spread(
            _ratios(raw["plots8"], raw["plots1"], "gui_cpu_ms_per_frame")
        ),
    }
    return {key: value for key, value in out.items() if value["runs"]}


def _ratios(runs_a: list, runs_b: list, key: str) -> list:
    """a / b of `key` run by run (each pair measured in the same round)."""
    return [
        a[key] / b[key] for a, b in zip(runs_a, runs_b, strict=False) if a.get(key) and b.get(key)
    ]


# figures of the source kinds' own modules: name -> (module, path in its JSON)
SOURCE_FIGURES = {
    "python_chunks_samples_per_s": ("python_kind", "summary.chunks.samples_per_s"),
    "python_floats_samples_per_s": ("python_kind", "summary.floats.samples_per_s"),
    "command_number_lines_per_s": ("text_sources", "figures.command_number_lines_per_s.median"),
    "command_kv_lines_per_s": ("text_sources", "figures.command_kv_lines_per_s.median"),
    "command_json_lines_per_s": ("text_sources", "figures.command_json_lines_per_s.median"),
    "file_number_lines_per_s": ("text_sources", "figures.file_number_lines_per_s.median"),
    "file_kv_lines_per_s": ("text_sources", "figures.file_kv_lines_per_s.median"),
    "file_json_lines_per_s": ("text_sources", "figures.file_json_lines_per_s.median"),
    "replay_csv_samples_per_s": ("replay", "csv.samples_per_s.median"),
    "replay_parquet_samples_per_s": ("replay", "parquet.samples_per_s.median"),
    "sweep_speedup_2w_over_1w": ("sweep", "figures.speedup_2w_over_1w.median"),
    "sweep_dispatch_us_per_task": ("sweep", "figures.noop_us_per_task_1w.median"),
    "serial_pty_number_lines_per_s": ("serial_pty", "number.lines_s"),
    "udp_blast_datagrams_per_s": ("udp", "blast.datagrams_s"),
    "udp_paced_100k_datagrams_per_s": ("udp", "paced.datagrams_s"),
    "udp_paced_100k_kernel_drops": ("udp", "paced.kernel_drops"),
    "udp_paced_100k_source_drops": ("udp", "paced.outbox_dropped_samples"),
    "mqtt_binary_samples_per_s": ("mqtt_source", "binary.samples_s"),
    "mqtt_binary_messages_per_s": ("mqtt_source", "binary.messages_s"),
    "mqtt_json_number_messages_per_s": ("mqtt_source", "json_number.messages_s"),
    "publish_samples_per_s": ("publish", "delivered_samples_per_s.median"),
    "publish_dropped": ("publish", "dropped.median"),
    "publish_batch_age_p99_ms": ("publish", "age_p99_ms.median"),
}


def source_figures(raw: dict) -> dict:
    out = {}
    for name, (module, path) in SOURCE_FIGURES.items():
        values = []
        for run in raw.get(module, []):
            value = run
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            values.append(value)
        out[name] = spread(values)
    return out


TARGETS = {
    "throughput_samples_per_s": (">=", 10_000_000),
    "drops": ("<=", 0),
    "fps_under_load": (">=", 33),
    "lag_p99_ms": ("<=", 25),
    "lag_max_ms": ("<=", 150),
    "click_latency_ms": ("<=", 100),
    "latency_frame_p99_ms": ("<=", 100),
    "render_fps_8x1M": (">=", 30),
    "render_lag_p99_ms_8x1M": ("<=", 30),
    "rss_drift_pct": ("<=", 5),
    "idle_cpu_pct": ("<", 2),
    "naive_ratio": (">=", 10_000),
    "fps_20M": (">=", 30),
    "drops_20M": ("<=", 0),
    "default_window_cpu_pct": ("<=", 15),
    "scale100_all_running_s": ("<=", 10),
    "scale100_startup_stall_ms": ("<=", 100),
    "scale100_lag_p99_ms": ("<=", 50),
    "scale100_total_cpu_pct": ("<=", 100),
    "series1000_fps": (">=", 30),
    "plots8_fps": (">=", 30),
    "plots8_drops": ("<=", 0),
    "series1000_refused": ("<=", 0),
    "slow1hz_producer_cpu_pct": ("<=", 0.5),
    "record_10M_dropped": ("<=", 0),
    "record_10M_max_behind_s": ("<=", 0.5),
    "record_csv_rows_per_s": (">=", 1_000_000),
    "record_kill9_newest_row_age_s": ("<=", 0.5),
    "lines_number_per_s": (">=", 500_000),
    "lines_kv_per_s": (">=", 500_000),
    "lines_json_per_s": (">=", 200_000),
    "python_chunks_samples_per_s": (">=", 10_000_000),
    "python_floats_samples_per_s": (">=", 300_000),
    "command_number_lines_per_s": (">=", 500_000),
    "command_kv_lines_per_s": (">=", 500_000),
    "command_json_lines_per_s": (">=", 200_000),
    "file_number_lines_per_s": (">=", 500_000),
    "file_kv_lines_per_s": (">=", 500_000),
    "file_json_lines_per_s": (">=", 200_000),
    "replay_csv_samples_per_s": (">=", 2_000_000),
    "sweep_speedup_2w_over_1w": (">=", 1.8),
    "udp_paced_100k_datagrams_per_s": (">=", 99_000),
    "udp_paced_100k_source_drops": ("<=", 0),
    "fleet_samples_per_s": (">=", 2_000_000),
    "fleet_drops": ("<=", 0),
    "fleet_remote_drops": ("<=", 0),
    "fleet_lag_p99_ms": ("<=", 30),
}


def meets(key: str, value) -> str:
    if key not in TARGETS or value is None:
        return ""
    op, target = TARGETS[key]
    ok = {"<=": value <= target, ">=": value >= target, "<": value < target}[op]
    return f"{op} {target:,g}  {'ok' if ok else 'MISSED'}"


def fmt(value) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1e5:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 or value == 0 else f"{value:,.2f}"


def table(figs: dict, info: dict, quick: bool) -> str:
    lines = [
        f"streamscope benchmarks ({'quick' if quick else 'full'}) — {info['cores']} cores, "
        f"Python {info['python']}, " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"{'figure':<32} {'min':>14} {'median':>14} {'max':>14} {'runs':>4}  target",
    ]
    for key, s in figs.items():
        lines.append(
            f"{key:<32} {fmt(s['min']):>14} {fmt(s['median']):>14} {fmt(s['max']):>14} "
            f"{s['runs']:>4}  {meets(key, s['median'])}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs, under 3 minutes")
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (default 3)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these scenarios/modules")
    args = parser.parse_args()
    info = machine()
    print(f"running benchmarks ({'quick' if args.quick else 'full'}, {args.runs} runs)")
    raw = collect(args.quick, args.runs, set(args.only) if args.only else None)
    figs = figures(raw)
    text = table(figs, info, args.quick)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(
        json.dumps({"machine": info, "quick": args.quick, "figures": figs, "runs": raw}, indent=1)
    )
    summary = {"cores": info["cores"], **{k: v["median"] for k, v in figs.items()}}
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1))
    (OUT / "table.txt").write_text(text + "\n")
    print(f"wrote {OUT / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
