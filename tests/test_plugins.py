"""Third-party producer kinds as a user gets them: a plugin package pip-installed next to
streamscope is listed by `streamscope producers` and runs in a session (its producer process,
forked from the fork server, imports the plugin by its `module:Class`); a plugin that fails to
import is listed with its error while every other kind works; two plugins claiming one kind name
are an error for that name, in the listing and for sessions that use it.

The plugins go into a throwaway venv, never into the shared one the tests run from (others use
it at the same time). `venv --system-site-packages` would expose the base interpreter's packages,
not this venv's, so the throwaway venv gets a .pth file instead naming this checkout (its `app`
and `producers`) and the running interpreter's site-packages (numpy, pip, setuptools, and
streamscope's installed metadata, whose entry points declare the built-in kinds).
Plain paths in a .pth are not scanned for .pth files of their own, so the shared venv's editable
finder for streamscope stays out and this checkout's code is what runs.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import psutil
import pytest

from tests.helpers import assert_pids_gone, producer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "streamscope-plugin-demo"
pytestmark = pytest.mark.slow

BROKEN_ERROR = "needs the acme SDK (libacme), which is not installed"


def plugin_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env["STREAMSCOPE_TEST_KINDS"] = "1"
    # pip: nothing from the network, no user configuration, no "new version" check
    env.update(PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")  # fmt: skip
    return env


def make_venv(where: Path) -> Path:
    """A venv of its own that sees this checkout and the running interpreter's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True,
                   timeout=60)  # fmt: skip
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = where / "lib" / version / "site-packages"
    shared = sysconfig.get_paths()["purelib"]
    (site / "streamscope-under-test.pth").write_text(f"{ROOT}\n{shared}\n")
    return where / "bin" / "python"


def write_plugin(where: Path, dist: str, module: str, entry_points: dict[str, str], code: str):
    """A plugin package as a third party writes one: pyproject.toml and one module."""
    where.mkdir()
    lines = "\n".join(f'{name} = "{target}"' for name, target in entry_points.items())
    (where / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
            [build-system]
            requires = ["setuptools>=64"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist}"
            version = "1.0"

            [tool.setuptools]
            py-modules = ["{module}"]

            [project.entry-points."streamscope.producers"]
            """)
        + lines
        + "\n"
    )
    (where / f"{module}.py").write_text(textwrap.dedent(code))
    return where


def pip_install(python: Path, *folders: Path) -> None:
    editables = [arg for folder in folders for arg in ("-e", str(folder))]
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         *editables],
        env=plugin_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, (
        "pip install failed (building a wheel needs setuptools>=70.1 or the wheel package, "
        f"both in streamscope's dev extras):\n{result.stderr}"
    )


def session_members(sid: int) -> list[int]:
    """Live processes of session `sid`: the command, its fork server and the producers forked
    from it (each in a process group of its own, but all in the command's session)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except (OSError, psutil.Error):
            pass  # gone meanwhile, or not ours to look at
    return found


def run_in(python: Path, args: list[str], cwd: Path, timeout: float = 40.0):
    """Run `python args` in a session of its own; when it has ended, nothing it started may
    still run (checked by session, as the fork server outlives its parent by a moment)."""
    proc = subprocess.Popen(
        [str(python), *args], cwd=cwd, env=plugin_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in session_members(proc.pid):
            psutil.Process(pid).kill()
        proc.communicate()
        raise
    assert_pids_gone(session_members(proc.pid))
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def listing(python: Path, cwd: Path) -> dict[str, str]:
    """`streamscope producers`: kind -> its line (without the name), exit code checked."""
    result = run_in(python, ["-m", "app", "producers"], cwd)
    assert result.returncode == 0, result.stderr
    kinds = {}
    for line in result.stdout.splitlines():
        if not line.startswith(" "):
            name, _, rest = line.partition(": ")
            kinds[name] = rest
    return kinds


def record(python: Path, cwd: Path, session_text: str) -> subprocess.CompletedProcess:
    session = cwd / "session.toml"
    session.write_text(session_text)
    args = ["-m", "app", "--session", str(session), "record", "--duration", "0.5",
            "--out", str(cwd / "out.csv")]  # fmt: skip
    return run_in(python, args, cwd)


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory) -> Path:
    """The example plugin, copied as a user would have it, and a plugin whose import fails."""
    base = tmp_path_factory.mktemp("plugins")
    demo = shutil.copytree(EXAMPLE, base / "demo", ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build"))  # fmt: skip
    broken = write_plugin(
        base / "broken", "acme-scale", "acme_scale", {"acme_scale": "acme_scale:Scale"},
        f"""\
        raise ImportError({BROKEN_ERROR!r})
        """,
    )  # fmt: skip
    python = make_venv(base / "venv")
    pip_install(python, demo, broken)
    return python


@pytest.fixture(scope="module")
def twin_venv(tmp_path_factory) -> Path:
    """The example plugin and another package that declares `square_wave` too."""
    base = tmp_path_factory.mktemp("twins")
    demo = shutil.copytree(EXAMPLE, base / "demo", ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build"))  # fmt: skip
    twin = write_plugin(
        base / "twin", "other-waves", "other_waves",
        {"square_wave": "other_waves:OtherSquare"},
        """\
        from producers import Producer

        class OtherSquare(Producer):
            kind = "square_wave"

            def run(self, ctx):
                ctx.emit_sample("value", 1.0)
        """,
    )  # fmt: skip
    python = make_venv(base / "venv")
    pip_install(python, demo, twin)
    return python


def test_producers_lists_the_plugin_and_the_broken_one_with_its_error(plugin_venv, tmp_path):
    kinds = listing(plugin_venv, tmp_path)
    assert kinds["square_wave"].startswith("a square wave"), kinds["square_wave"]
    assert not kinds["square_wave"].startswith("unavailable")
    # the broken plugin: listed, with what went wrong and whose it is
    assert kinds["acme_scale"].startswith("unavailable: plugin acme_scale:Scale from acme-scale")
    assert f"ImportError: {BROKEN_ERROR}" in kinds["acme_scale"]
    # and the built-ins are all still there
    for builtin in ("sine", "noise", "clock", "random_walk", "system", "fail"):
        assert not kinds[builtin].startswith("unavailable"), (builtin, kinds[builtin])


def test_producers_lists_the_plugin_parameters(plugin_venv, tmp_path):
    result = run_in(plugin_venv, ["-m", "app", "producers"], tmp_path)
    lines = result.stdout.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("square_wave: ")))
    params = [line.split()[0] for line in lines[at + 1 : at + 4]]
    assert params == ["rate_hz", "frequency_hz", "amplitude"], lines[at : at + 4]


ENGINE_SCRIPT = """\
import json, sys, time
from app.core.engine import Engine
from app.core.session import load_session

engine = Engine(load_session(sys.argv[1]))
key = ("square", "value")
want = int(sys.argv[2])

def row():
    return next(r for r in engine.view.rows if r.name == "square")

def count():
    return engine.store.stats(key)[0] if key in engine.store.series_keys() else 0

try:
    engine.start_autostart()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if count() >= want and row().state_text.startswith("RUNNING "):
            break
        engine.drain(0.05)
    values = engine.store.buffer(key).raw.held(1).tolist() if count() else []
    result = {"values": values, "state": row().state_text, "error": row().error}
finally:
    engine.shutdown()
    deadline = time.monotonic() + 10
    while not engine.view.drained and time.monotonic() < deadline:
        engine.drain(0.05)
    engine.close()
print(json.dumps(result))
"""


def test_a_session_runs_the_plugin_kind_headless(plugin_venv, tmp_path):
    session = tmp_path / "session.toml"
    session.write_text(
        producer("square", "square_wave", rate_hz=400.0, frequency_hz=10.0, amplitude=2.5)
    )
    script = tmp_path / "run_engine.py"
    script.write_text(ENGINE_SCRIPT)
    result = run_in(plugin_venv, [str(script), str(session), "200"], tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["error"] == "", seen["error"]
    assert seen["state"] == "RUNNING · 10 Hz"  # up a second, and the plugin's ctx.set_status
    values = seen["values"]
    assert len(values) >= 200
    assert set(values) == {2.5, -2.5}
    # 400 samples/s at 10 Hz: every half-cycle but the last (still going) is 20 samples long
    runs = [len(list(same)) for _, same in itertools.groupby(values)]
    assert values[0] == 2.5  # it starts with a high half-cycle, a whole one
    assert set(runs[:-1]) == {20}, runs
    assert 1 <= runs[-1] <= 20


def test_a_session_using_the_broken_plugin_gets_its_error(plugin_venv, tmp_path):
    result = record(plugin_venv, tmp_path, producer("scale", "acme_scale"))
    assert result.returncode == 2
    assert "session.toml:3: " in result.stderr  # the line that names the kind
    assert f"plugin acme_scale:Scale from acme-scale failed to load: ImportError: {BROKEN_ERROR}" \
        in result.stderr  # fmt: skip


def test_two_plugins_claiming_one_kind_name_are_an_error_for_it(twin_venv, tmp_path):
    kinds = listing(twin_venv, tmp_path)
    line = kinds["square_wave"]
    assert line.startswith("unavailable: kind 'square_wave' is defined twice: "), line
    assert "streamscope-plugin-demo (streamscope_plugin_demo:SquareWave)" in line
    assert "other-waves (other_waves:OtherSquare)" in line
    assert not kinds["sine"].startswith("unavailable")

    result = record(twin_venv, tmp_path, producer("square", "square_wave"))
    assert result.returncode == 2
    assert "kind 'square_wave' is defined twice" in result.stderr
    assert not (tmp_path / "out.csv").exists()
