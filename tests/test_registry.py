"""producers.registry: which kinds exist. A plugin that cannot be used (fails to import, is not
a Producer, says another kind name, or claims a name another package claims) is kept with its
error: listed with it, given to a session that uses it, and every other kind still works.

What is declared comes from `_declared()` (the installed entry points); these tests replace
that one function to declare plugins without installing any (tests/test_plugins.py installs
real ones). Everything past it is the registry's real code, real imports of real modules.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.core.session import SessionError, parse_session
from producers import registry
from producers.base import Producer
from producers.registry import KindError, all_kinds, entries, get_kind, target_of
from tests.helpers import drain_until, engine_row, producer, session_from

ROOT = Path(__file__).resolve().parent.parent
SINE = ("sine", "producers.builtin.sine:Sine", "streamscope")
NOISE = ("noise", "producers.builtin.noise:Noise", "streamscope")


class Tick(Producer):
    """A kind only this test process declares (see test_the_child_imports_the_kind_by_target)."""

    kind = "registry_only_tick"
    help = "a counter, once per 10 ms"

    def run(self, ctx) -> None:
        n = 0
        while ctx.wait(0.01):
            ctx.emit_sample("value", float(n))
            n += 1


@pytest.fixture
def declare(monkeypatch):
    """declare(*triples): the entry points the registry finds are exactly these."""

    def set_declared(*triples):
        monkeypatch.setattr(registry, "_declared", lambda: list(triples))
        registry.rescan()

    yield set_declared
    monkeypatch.undo()
    registry.rescan()  # the real kinds again, for the tests that follow


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """plugin_module(name, code): a module on sys.path, as an installed plugin's would be."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, code: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(code))
        return name

    yield write
    for name in [m for m in sys.modules if m.startswith("acme_")]:
        del sys.modules[name]


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("raise ImportError('needs libacme')", "ImportError: needs libacme"),
        ("import acme_sdk_that_is_not_installed", "ModuleNotFoundError: No module named"),
        ("def broken(:\n", "SyntaxError"),
        ("import sys\nsys.exit(3)", "SystemExit: 3"),  # not the end of the app
        ("raise RuntimeError('no licence')", "RuntimeError: no licence"),
    ],
)
def test_a_plugin_that_fails_to_import_is_listed_with_its_error(declare, plugin_module, code, says):
    module = plugin_module("acme_scale", code)
    declare(SINE, ("acme", f"{module}:Scale", "acme-scale"), NOISE)
    entry = entries()["acme"]
    assert entry.cls is None
    assert entry.error.startswith("plugin acme_scale:Scale from acme-scale failed to load: ")
    assert says in entry.error
    assert "\n" not in entry.error  # one line: the listing and the session's message
    # the other kinds are untouched
    assert set(all_kinds()) == {"sine", "noise"}
    assert get_kind("sine").kind == "sine"
    with pytest.raises(KindError) as info:
        get_kind("acme")
    assert str(info.value) == entry.error
    with pytest.raises(KindError):
        target_of("acme")


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("producers.builtin.sine:Nope", "AttributeError"),
        ("producers.builtin.sine", "is not of the form module:Class"),
        ("producers.params:Param", "producers.params:Param is not a streamscope Producer subclass"),
        ("os:getcwd", "os:getcwd is not a streamscope Producer subclass"),
    ],
)
def test_a_target_that_is_not_a_producer_class_is_an_error(declare, target, says):
    declare(SINE, ("acme", target, "acme-scale"))
    assert says in entries()["acme"].error
    assert entries()["acme"].cls is None
    assert list(all_kinds()) == ["sine"]


def test_a_class_that_says_another_kind_name_is_an_error(declare):
    declare(SINE, ("wave", "producers.builtin.sine:Sine", "acme-waves"))
    assert entries()["wave"].error == (
        "producers.builtin.sine:Sine says its kind is 'sine', but is registered as 'wave'"
    )
    assert list(all_kinds()) == ["sine"]


def test_one_kind_declared_twice_with_the_same_target_is_one_kind(declare):
    declare(SINE, ("sine", "producers.builtin.sine:Sine", "streamscope-copy"))
    assert entries()["sine"].error == ""
    assert get_kind("sine").kind == "sine"


def test_two_targets_for_one_kind_name_are_an_error_naming_both(declare, plugin_module):
    module = plugin_module(
        "acme_waves",
        """\
        from producers import Producer

        class Sine(Producer):
            kind = "sine"
        """,
    )
    declare(SINE, ("sine", f"{module}:Sine", "acme-waves"), NOISE)
    error = entries()["sine"].error
    assert error == (
        "kind 'sine' is defined twice: by streamscope (producers.builtin.sine:Sine) and by "
        "acme-waves (acme_waves:Sine); uninstall one"
    )
    assert entries()["sine"].cls is None  # neither wins silently
    with pytest.raises(KindError, match="defined twice"):
        get_kind("sine")
    assert list(all_kinds()) == ["noise"]


def test_a_kind_both_declare_is_an_error_even_when_the_other_one_is_broken(declare):
    declare(SINE, ("sine", "acme_not_installed:Sine", "acme-waves"))
    assert "defined twice" in entries()["sine"].error


def test_kinds_are_listed_by_name(declare):
    declare(SINE, NOISE, ("clock", "producers.builtin.clock:Clock", "streamscope"))
    assert list(entries()) == ["clock", "noise", "sine"]


def test_fail_is_a_kind_only_with_the_test_variable(monkeypatch):
    try:
        monkeypatch.setenv("STREAMSCOPE_TEST_KINDS", "1")
        registry.rescan()
        assert entries()["fail"].source == "test aids"
        assert get_kind("fail").kind == "fail"

        monkeypatch.delenv("STREAMSCOPE_TEST_KINDS")
        registry.rescan()
        assert "fail" not in entries()
        with pytest.raises(KindError, match="unknown producer kind 'fail'"):
            get_kind("fail")

        monkeypatch.setenv("STREAMSCOPE_TEST_KINDS", "yes")  # only "1" counts
        registry.rescan()
        assert "fail" not in entries()
    finally:
        monkeypatch.undo()
        registry.rescan()
    assert "fail" in entries()  # the suite's own setting is back


def test_an_unknown_kind_names_the_kinds_that_work(declare):
    declare(SINE, NOISE, ("acme", "acme_not_installed:Scale", "acme-scale"))
    with pytest.raises(KindError) as info:
        get_kind("sinus")
    assert str(info.value) == "unknown producer kind 'sinus' (known: noise, sine)"
    with pytest.raises(KindError) as info:
        get_kind("x\n" * 100)  # from a user's file: one short line whatever it holds
    message = str(info.value)
    assert "\n" not in message
    assert len(message) < 150
    assert isinstance(info.value, KeyError)  # callers that caught KeyError still do


def test_target_of_is_the_declared_module_and_class(declare):
    declare(SINE, ("registry_only_tick", "tests.test_registry:Tick", "acme"))
    assert target_of("sine") == "producers.builtin.sine:Sine"
    assert target_of("registry_only_tick") == "tests.test_registry:Tick"
    with pytest.raises(KindError, match="unknown producer kind 'nope'"):
        target_of("nope")


def test_a_session_using_a_broken_plugin_gets_its_error_at_the_kind_line(declare):
    declare(SINE, ("acme", "acme_not_installed:Scale", "acme-scale"))
    text = producer("one", "sine") + producer("two", "acme")
    with pytest.raises(SessionError) as info:
        parse_session(text, "lab.toml")
    assert str(info.value) == (
        "lab.toml:9: plugin acme_not_installed:Scale from acme-scale failed to load: "
        "ModuleNotFoundError: No module named 'acme_not_installed'"
    )


def test_a_session_using_a_kind_declared_twice_gets_that_error(declare):
    declare(SINE, ("sine", "producers.builtin.noise:Noise", "acme-waves"))
    with pytest.raises(SessionError, match=r"^lab\.toml:3: kind 'sine' is defined twice"):
        parse_session(producer("one", "sine"), "lab.toml")


@pytest.mark.slow
def test_the_child_imports_the_kind_by_target(declare, engines):
    """The producer process is forked from a server that never saw this test's declarations:
    it runs the kind because the launcher hands it the `module:Class`, not the name."""
    declare(SINE, ("registry_only_tick", "tests.test_registry:Tick", "acme"))
    engine = engines(session_from(producer("t", "registry_only_tick")))
    engine.start_autostart()

    def count() -> int:
        return engine.counters.snapshot("t").samples

    drain_until(engine, lambda: count() >= 5 or any(r.error for r in engine.view.rows))
    assert engine_row(engine, "t").error == ""
    assert count() >= 5


def run_cli(*args: str, test_kinds: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "STREAMSCOPE_TEST_KINDS"}
    if test_kinds:
        env["STREAMSCOPE_TEST_KINDS"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.mark.slow
def test_the_user_never_sees_the_fail_kind():
    users = run_cli("producers", test_kinds=False)
    assert users.returncode == 0, users.stderr
    assert users.stdout.startswith("clock: ")
    assert "\nsine: " in users.stdout
    assert not [line for line in users.stdout.splitlines() if line.startswith("fail")]
    ours = run_cli("producers", test_kinds=True)
    assert "\nfail: a test aid" in ours.stdout  # the same command does see it where tests ask


def test_a_kinds_summary_is_its_help_or_its_docstrings_first_line():
    """What Add producer… lists beside each kind."""

    class Documented(Producer):
        """Reads the lab's thermometer.

        More about it, not shown in a list."""

    class Bare(Producer):
        pass

    assert registry.summary(Tick) == "a counter, once per 10 ms"
    assert registry.summary(Documented) == "Reads the lab's thermometer."
    assert registry.summary(Bare) == ""  # not object's docstring
    assert all(registry.summary(cls) for cls in all_kinds().values())  # every built-in says
