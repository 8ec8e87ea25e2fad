"""The core must run without Qt: producer processes never load it, `record` needs no display."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

QT_FREE = [
    "app.supervisor",
    "app.channel",
    "app.store",
    "app.pyramid",
    "app.sliding",
    "app.session",
    "app.recorder",
    "app.stats",
    "app.pipeline",
    "app.headless",
    "app.launcher",
    "app.frames",
    "app.strip",
    "widgets.stable_range",
    "producers",
    "producers.base",
    "producers.params",
    "producers.runtime",
    "producers.wire",
    "producers.builtin",
]

SCRIPT = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    sys.modules["PyQt5"] = None  # any `import PyQt5...` now raises ImportError
    sys.modules["pyqtgraph"] = None
    names = sys.argv[1:]
    import producers.builtin
    builtin = pkgutil.iter_modules(producers.builtin.__path__)
    names += [f"producers.builtin.{m.name}" for m in builtin]
    for name in names:
        importlib.import_module(name)
    from producers import all_kinds
    assert {"sine", "noise", "random_walk", "clock", "system", "fail"} <= set(all_kinds())
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("PyQt5", "pyqtgraph", "sip")
                    and sys.modules[m] is not None)
    assert not leaked, leaked
    print("imported", len(names))
    """
)


def run(*modules: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_core_modules_import_with_qt_blocked():
    result = run(*QT_FREE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported")


def test_the_block_really_blocks_qt():
    """The check above can fail: the GUI's consumer thread, a QThread, does not import under
    the same block."""
    result = run("app.consumer")
    assert result.returncode != 0
    assert "No module named 'PyQt5" in result.stderr
