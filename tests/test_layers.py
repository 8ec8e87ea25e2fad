"""The layers hold: Qt stays out of what does not draw, and every import arrow points down.

    app (front ends: cli, headless, gui, main_window, consumer)
      -> widgets (Qt views)  -> app.core (Qt-free)  -> producers (child side, Qt-free)

Modules are discovered, not listed: a new module is checked without anyone remembering to.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QT = ("PyQt5", "pyqtgraph", "sip")


def modules(package: str) -> list[str]:
    base = ROOT / package.replace(".", "/")
    found = []
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def imports_of(module: str) -> set[str]:
    """Every module name an `import` statement in `module` names (at any depth: lazy imports
    inside functions count too)."""
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def in_layer(name: str, layer: str) -> bool:
    return name == layer or name.startswith(layer + ".")


CORE = modules("app.core") + modules("producers")
FRONT_ENDS = [m for m in modules("app") if not in_layer(m, "app.core")]


def test_discovery_finds_the_modules():
    assert "app.core.supervisor" in CORE and "producers.runtime" in CORE
    assert "app.main_window" in FRONT_ENDS and "app.core" not in FRONT_ENDS
    assert "widgets.live_chart" in modules("widgets")


@pytest.mark.parametrize("module", CORE)
def test_core_names_no_qt_and_nothing_above_it(module):
    for name in imports_of(module):
        assert not name.startswith(QT), f"{module} imports {name}"
        assert not in_layer(name, "widgets"), f"{module} imports {name}"
        if in_layer(name, "app"):
            assert in_layer(name, "app.core"), f"{module} imports the front end {name}"
        if in_layer(module, "producers"):
            assert not in_layer(name, "app"), f"the child side {module} imports {name}"


@pytest.mark.parametrize("module", modules("widgets"))
def test_widgets_do_not_import_the_front_ends(module):
    for name in imports_of(module):
        if in_layer(name, "app"):
            assert in_layer(name, "app.core"), f"{module} imports the front end {name}"


SCRIPT = textwrap.dedent(
    """
    import importlib, sys
    sys.modules["PyQt5"] = None  # any `import PyQt5...` now raises ImportError
    sys.modules["pyqtgraph"] = None
    for name in sys.argv[1:]:
        importlib.import_module(name)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("PyQt5", "pyqtgraph", "sip")
                    and sys.modules[m] is not None)
    assert not leaked, leaked
    print("imported", len(sys.argv) - 1)
    """
)


def run_blocked(*names: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *names], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_core_and_headless_front_end_import_with_qt_blocked():
    """The static check above, confirmed at run time, with `record`'s front end too."""
    result = run_blocked(*CORE, "app.headless", "app.cli")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported")


def test_the_block_really_blocks_qt():
    result = run_blocked("app.consumer")
    assert result.returncode != 0
    assert "No module named 'PyQt5" in result.stderr
