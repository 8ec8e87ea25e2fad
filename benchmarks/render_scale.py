"""`python -m benchmarks.render_scale [--runs N] [--quick] [--ratio R]`: what the strip renderer
costs per frame, before and after keeping each series' columns across frames.

The frame builder alone (StripRenderer.frame), on one SeriesStore fed in simulated
time: a 30 s window at 1258 x 496 pixels, following at 40 fps; between two frames every series
gets the chunks its producer would have sent in those 25 ms (producers.builtin.sampled's wake-up
period), appended outside the timing. Scenarios: 1,000 x 100/s, 100 x 100/s, 8 x 1.25M/s, and
the default session (200/s, 500/s, 20/s, 1/s). Per scenario:
- scroll: per-frame time over a few seconds of following (the rolling refresh included);
- full: a frame that fetches everything (a new renderer: a new width or window does that);
- repaint: the y range changed, nothing else (the new renderer repaints from its columns).
"Before" is StripRenderer as of BASELINE, loaded from git history into a temporary module, fed
the same store: the two renderers take turns on each frame. Times are this thread's CPU time
(the machine is shared), medians and p99 per run; the figures are the medians over --runs
runs. `--ratio 2`: a HiDPI screen at 2x (the image in device pixels: 2516 x 992, both
renderers). Prints a summary, writes benchmarks/out/render_scale.json (render_scale@2x.json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.core.frames import FrameRequest
from app.core.store import SeriesStore
from app.core.strip import StripRenderer
from producers.builtin.sampled import wake_period
from producers.wire import Chunk

BASELINE = "afca0eb"  # the renderer that fetched every series' whole window each frame
OUT = Path(__file__).resolve().parent / "out"
T0 = 1_700_000_000.0
WINDOW_S, WIDTH, HEIGHT, FPS = 30.0, 1258, 496, 40.0
RATIO = {"pixel_ratio": 1.0}  # device pixels per logical pixel (--ratio)
WARMUP = 4  # frames not timed: the first (a full render) and three scrolls
SCENARIOS = {  # name: rates, one per series
    "1000 x 100/s": [100.0] * 1000,
    "100 x 100/s": [100.0] * 100,
    "8 x 1.25M/s": [1.25e6] * 8,
    "default session": [200.0, 500.0, 20.0, 1.0],
}


def load_before(workdir: Path):
    """StripRenderer as of BASELINE (None without git history)."""
    root = Path(__file__).resolve().parent.parent
    try:
        text = subprocess.run(
            ["git", "-C", str(root), "show", f"{BASELINE}:app/core/strip.py"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    path = workdir / "strip_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("strip_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["strip_before"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.StripRenderer


class Sim:
    """A store fed as producers at `rates` would feed it, in simulated time."""

    def __init__(self, rates: list[float], history_s: float):
        self.store = SeriesStore(512 << 20)
        self.rates = rates
        self.periods = [wake_period(r, 0.01) for r in rates]
        rng = np.random.default_rng(0)
        self.noise = rng.normal(size=1 << 20)
        self.sent = [T0] * len(rates)  # each series' next sample time
        self.colors = {
            (f"p{i}", "value"): 0xFF000000 | (i * 2654435761 & 0xFFFFFF) for i in range(len(rates))
        }
        self.y_range = (-4.0, len(rates) + 4.0)
        self.now = T0
        self.advance(history_s, chunk_floor=0.5)  # history in bigger chunks: quicker, same data

    def advance(self, seconds: float, chunk_floor: float = 0.0) -> None:
        self.now += seconds
        for i, rate in enumerate(self.rates):
            period = max(self.periods[i], min(chunk_floor, (1 << 19) / rate))
            while self.sent[i] + period <= self.now:
                n = max(round(rate * period), 1)
                at = (i * 7919 + int(self.sent[i] * 1000)) % (len(self.noise) - n)
                values = self.noise[at : at + n] + i
                self.store.append(f"p{i}", Chunk("value", values, t0=self.sent[i], dt=1 / rate))
                self.sent[i] += n / rate

    def request(self, y_range=None) -> FrameRequest:
        y = y_range or self.y_range
        return FrameRequest(self.now - WINDOW_S, self.now, WIDTH, HEIGHT, y, self.colors, **RATIO)


def timed(store, request, renderer) -> float:
    size = request.image_size()  # device pixels
    started = time.thread_time()  # (render, not frame: the old renderer from git has only it)
    renderer.render(store, request.t0, request.t1, size, request.y_range, request.colors)
    return time.thread_time() - started


def stats(ms: list[float]) -> dict:
    return {"median": statistics.median(ms), "p99": float(np.percentile(ms, 99)), "n": len(ms)}


def run_once(rates, renderers: dict, frames: int, history_s: float) -> dict:
    """One scenario, one run: {renderer: {scroll, full, repaint}} in ms."""
    sim = Sim(rates, history_s)
    clock = {"now": 0.0}
    live = {name: make(clock=lambda: clock["now"]) for name, make in renderers.items()}
    scroll = {name: [] for name in live}
    for k in range(WARMUP + frames):  # warm-up frames: numpy loads some modules on first use
        sim.advance(1 / FPS)
        clock["now"] += 1 / FPS
        names = list(live) if k % 2 else list(live)[::-1]  # take turns going first
        for name in names:
            spent = 1e3 * timed(sim.store, sim.request(), live[name])
            if k >= WARMUP:
                scroll[name].append(spent)
    out = {}
    for name, make in renderers.items():
        full = [1e3 * timed(sim.store, sim.request(), make(clock=lambda: 0.0)) for _ in range(3)]
        repaint = []
        for i in range(3):  # the y range alone changes
            y0, y1 = sim.y_range
            request = sim.request((y0 - 0.5 * (i + 1), y1))
            repaint.append(1e3 * timed(sim.store, request, live[name]))
        out[name] = {"scroll": stats(scroll[name]), "full": stats(full), "repaint": stats(repaint)}
    return out


def measure(runs: int, quick: bool) -> dict:
    renderers = {"after": StripRenderer}
    with tempfile.TemporaryDirectory() as tmp:
        before = load_before(Path(tmp))
        if before is not None:
            renderers = {"before": before, **renderers}
        results = {}
        for name, rates in SCENARIOS.items():
            frames = 40 if quick else 120  # 120: three seconds, the refresh goes round once
            if quick and len(rates) >= 1000:
                frames = 20
            history = 32.0 if quick else 40.0
            per_run = [run_once(rates, renderers, frames, history) for _ in range(runs)]
            results[name] = {
                r: {
                    kind: {
                        key: statistics.median(run[r][kind][key] for run in per_run)
                        for key in ("median", "p99")
                    }
                    for kind in ("scroll", "full", "repaint")
                }
                for r in renderers
            }
            print(summary_line(name, results[name]), flush=True)
    return results


def summary_line(name: str, result: dict) -> str:
    parts = [f"{name:>16}:"]
    for r, kinds in result.items():
        s, f, p = kinds["scroll"], kinds["full"], kinds["repaint"]
        parts.append(
            f"{r} scroll {s['median']:.2f} ms (p99 {s['p99']:.2f}), full {f['median']:.1f},"
            f" repaint {p['median']:.1f}"
        )
    return "  ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer frames and runs")
    parser.add_argument("--ratio", type=float, default=1.0, help="device pixel ratio (2: HiDPI)")
    args = parser.parse_args(argv)
    RATIO["pixel_ratio"] = args.ratio
    runs = 1 if args.quick and args.runs == 3 else args.runs
    results = measure(runs, args.quick)
    OUT.mkdir(exist_ok=True)
    meta = {"baseline": BASELINE, "runs": runs, "quick": args.quick, "unit": "ms CPU"}
    meta |= {"window_s": WINDOW_S, "size": [WIDTH, HEIGHT], "fps": FPS, "ratio": args.ratio}
    name = "render_scale.json" if args.ratio == 1 else f"render_scale@{args.ratio:g}x.json"
    (OUT / name).write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"wrote {OUT / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
