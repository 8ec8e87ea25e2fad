"""Saving sessions (app.core.session_writer): what is saved reads back the same, a person's file
keeps its comments and layout, and a failed save leaves the old file whole."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.core.session import ProducerSpec, Session, load_session
from app.core.session_writer import SessionWriteError, render_session, write_session
from producers.params import path, resolve_paths, strings, table, target
from producers.registry import all_kinds, get_kind

ROOT = Path(__file__).resolve().parent.parent

# values that pass a parameter's own check (the generic ones below would not)
SPECIAL = {
    ("mqtt", "topics"): ["lab/+/temperature", "plant/#"],
    ("sweep", "grid"): {"gain": [1, 2, 3], "offset": [0.5, -0.5]},
}


def _other_value(kind: str, param):
    """A valid value for `param` that is not its default, of every type a kind can declare."""
    if (kind, param.name) in SPECIAL:
        return SPECIAL[kind, param.name]
    if param.choices:
        return next(c for c in param.choices if c != param.default)
    if param.type is bool:
        return not param.default
    if param.type in (int, float):
        lo = param.min if param.min is not None else param.default - 10
        hi = param.max if param.max is not None else param.default + 10
        value = param.type(lo + (hi - lo) * 0.375)
        return value if value != param.default else param.type(lo + (hi - lo) * 0.625)
    if param.type is path:
        return "data/in put ü.csv"  # relative, with a space and a non-ASCII letter
    if param.type is target:
        return "scripts/model.py:Model.run"
    if param.type is strings:
        return ["python3", "-c", 'print("a b")', "ü"]
    if param.type is table:
        return {"gain": 2.5, "names": ["a", "b"], "nested": {"on": True, "n": 3}, "x y": "z"}
    return 'text with "quotes", \\ and ü'


def _every_kind_session(folder: Path) -> Session:
    producers = []
    for i, (kind, cls) in enumerate(sorted(all_kinds().items())):
        params = {p.name: p.coerce(_other_value(kind, p)) for p in cls.params}
        producers.append(
            ProducerSpec(
                f"{kind}-{i}",
                kind,
                params,
                autostart=i % 2 == 0,
                restart=("never", "on-failure", "always")[i % 3],
                visible=i % 3 != 0,
                base_dir=str(folder),
            )
        )
    return Session(producers, None, window_s=120.0, fps=25.0, budget_mb=1024.0)


def _settings(session: Session) -> tuple:
    return session.window_s, session.fps, session.budget_mb


def test_every_builtin_kinds_parameters_round_trip(tmp_path):
    """Every parameter of every kind, non-default (lists, tables, paths, targets included),
    and every producer setting, read back the same from a file written from nothing."""
    session = _every_kind_session(tmp_path)
    assert {"command", "file", "python", "sweep", "mqtt"} <= {s.kind for s in session.producers}
    file = tmp_path / "all.toml"
    write_session(session, file)
    back = load_session(file)
    assert back.producers == session.producers
    assert _settings(back) == _settings(session)


def test_a_new_file_is_short_and_says_only_what_differs_from_defaults(tmp_path):
    session = Session(
        [
            ProducerSpec("wave", "sine", get_kind_defaults("sine", rate_hz=50.0)),
            ProducerSpec("plain", "noise", get_kind_defaults("noise"), autostart=False),
        ]
    )
    text = write_session(session, tmp_path / "s.toml")
    assert "rate_hz = 50.0" in text
    assert "amplitude" not in text  # a default is not spelled out
    assert text.count("[producers.params]") == 1  # `plain` has no parameter to say
    assert "autostart = false" in text
    assert text.startswith("# ")  # it says what it is
    back = load_session(tmp_path / "s.toml")
    assert back.producers == session.producers


def get_kind_defaults(kind: str, **given) -> dict:
    return {p.name: given.get(p.name, p.default) for p in get_kind(kind).params}


ORIGINAL = textwrap.dedent(
    """\
    # My lab session -- keep these notes!

    [chart]
    window_s = 60   # one minute is enough
    fps = 30

    [store]
    budget_mb = 256

    # the signal generator
    [[producers]]
    name = "wave"
    kind = "sine"
    [producers.params]
    rate_hz = 100      # the scope's rate
    frequency_hz = 2   # Hz

    # to be removed
    [[producers]]
    name = "old"
    kind = "noise"
    params = { std = 3.0 }   # an inline table

    [[producers]]
    name = "tail"
    kind = "file"
    autostart = false
    [producers.params]
    path = "../logs/x.log"   # relative to this file
    """
)


def _changed_lines(before: str, after: str) -> list[str]:
    return [
        line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"
    ]


def test_saving_an_unchanged_session_writes_the_same_bytes(tmp_path):
    file = tmp_path / "lab.toml"
    file.write_text(ORIGINAL)
    write_session(load_session(file), file, ORIGINAL)
    assert file.read_text() == ORIGINAL


def test_a_change_touches_only_its_line_and_keeps_the_comments(tmp_path):
    file = tmp_path / "lab.toml"
    file.write_text(ORIGINAL)
    session = load_session(file)
    session.fps = 20.0
    session.producers[0].params["rate_hz"] = 250.0
    session.producers[2].autostart = True
    write_session(session, file, ORIGINAL)
    after = file.read_text()
    assert _changed_lines(ORIGINAL, after) == [
        "- fps = 30",
        "+ fps = 20",
        "- rate_hz = 100      # the scope's rate",
        "+ rate_hz = 250      # the scope's rate",
        "- autostart = false",
        "+ autostart = true",
    ]
    back = load_session(file)
    assert back.producers == session.producers
    assert _settings(back) == _settings(session)


def test_a_removed_producers_table_goes_and_a_new_one_is_appended(tmp_path):
    file = tmp_path / "lab.toml"
    file.write_text(ORIGINAL)
    session = load_session(file)
    session.producers = [p for p in session.producers if p.name != "old"]
    session.producers.append(
        ProducerSpec(
            "cmd",
            "command",
            get_kind_defaults("command", argv=["echo", "1 2"]),
            base_dir=str(tmp_path),
        )
    )
    write_session(session, file, ORIGINAL)
    after = file.read_text()
    assert 'name = "old"' not in after
    assert "std = 3.0" not in after
    assert "# My lab session -- keep these notes!" in after
    assert "# the signal generator" in after
    assert 'path = "../logs/x.log"   # relative to this file' in after
    assert after.index('name = "tail"') < after.index('name = "cmd"')
    assert load_session(file).producers == session.producers


def test_a_renamed_producer_keeps_its_table_and_its_comments(tmp_path):
    """Session.origins says which table each producer came from: a rename changes one line;
    a copy placed after its original gets a table there; a new producer given a removed
    one's name gets a new table, not the old one's."""
    import dataclasses

    file = tmp_path / "lab.toml"
    file.write_text(ORIGINAL)
    session = load_session(file)
    wave, old, tail = session.producers
    copy = dataclasses.replace(wave, name="wave-2")
    fresh = ProducerSpec("wave", "noise", get_kind_defaults("noise"), base_dir=str(tmp_path))
    session.producers = [dataclasses.replace(wave, name="scope"), copy, old, tail, fresh]
    session.origins = {"scope": "wave", "old": "old", "tail": "tail"}
    write_session(session, file, ORIGINAL)
    after = file.read_text()
    assert _changed_lines(ORIGINAL, after)[:2] == ['- name = "wave"', '+ name = "scope"']
    assert "rate_hz = 100      # the scope's rate" in after and "# the signal generator" in after
    names = [p.name for p in load_session(file).producers]
    assert names == ["scope", "wave-2", "old", "tail", "wave"]
    assert load_session(file).producers == session.producers


def test_an_inline_params_table_is_edited_in_place(tmp_path):
    file = tmp_path / "lab.toml"
    file.write_text(ORIGINAL)
    session = load_session(file)
    session.producers[1].params["std"] = 0.5
    session.producers[1].params["seed"] = 7
    write_session(session, file, ORIGINAL)
    line = next(line for line in file.read_text().splitlines() if "std =" in line)
    assert line.startswith("params = { std = 0.5, seed = 7")  # still one inline table
    assert line.endswith("}   # an inline table")
    assert load_session(file).producers == session.producers


def test_relative_paths_stay_relative_and_name_the_same_file_from_another_folder(tmp_path):
    file = tmp_path / "a" / "lab.toml"
    file.parent.mkdir()
    file.write_text(ORIGINAL)
    session = load_session(file)
    write_session(session, file, ORIGINAL)
    assert 'path = "../logs/x.log"' in file.read_text()  # as written, not made absolute

    elsewhere = tmp_path / "b" / "deeper" / "copy.toml"
    elsewhere.parent.mkdir(parents=True)
    write_session(session, elsewhere, ORIGINAL)  # Save as: the comments come along
    copy = load_session(elsewhere)
    tail = get_kind("file").params
    assert copy.producers[2].params["path"] == "../../logs/x.log"
    assert resolve_paths(tail, copy.producers[2].params, copy.producers[2].base_dir) == (
        resolve_paths(tail, session.producers[2].params, session.producers[2].base_dir)
    )
    assert "# relative to this file" in elsewhere.read_text()


def test_absolute_and_home_paths_are_kept_as_written(tmp_path):
    spec = ProducerSpec("t", "file", get_kind_defaults("file", path="/var/log/x.log"))
    home = ProducerSpec("h", "replay", get_kind_defaults("replay", path="~/rec.parquet"))
    file = tmp_path / "s.toml"
    write_session(Session([spec, home]), file)
    back = load_session(file)
    assert [p.params["path"] for p in back.producers] == ["/var/log/x.log", "~/rec.parquet"]


def test_a_file_that_is_not_toml_is_not_overwritten(tmp_path):
    file = tmp_path / "broken.toml"
    file.write_text("[chart\nfps = 3\n")
    with pytest.raises(SessionWriteError, match="not valid TOML"):
        write_session(Session([]), file, file.read_text())
    assert file.read_text() == "[chart\nfps = 3\n"


def test_the_file_keeps_its_permissions_and_a_symlink_stays_a_link(tmp_path):
    real = tmp_path / "real.toml"
    real.write_text(ORIGINAL)
    real.chmod(0o640)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    session = load_session(link)
    session.fps = 12.0
    write_session(session, link, ORIGINAL)
    assert link.is_symlink()
    assert load_session(real).fps == 12.0
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.toml", "real.toml"]


def _run(code: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    """The disk fills up mid-write (a real file size limit, RLIMIT_FSIZE): the old file is
    untouched and no temporary file is left behind."""
    file = tmp_path / "lab.toml"
    file.write_text(ORIGINAL)
    result = _run(
        f"""
        import resource, signal
        from app.core.session import ProducerSpec, load_session
        from app.core.session_writer import SessionWriteError, write_session
        session = load_session({str(file)!r})
        from producers.registry import get_kind
        for i in range(100):
            params = {{p.name: p.default for p in get_kind("sine").params}}
            session.producers.append(ProducerSpec(f"p{{i}}", "sine", params))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not death
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
        try:
            write_session(session, {str(file)!r}, open({str(file)!r}).read())
        except SessionWriteError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "cannot save" in result.stdout and "too large" in result.stdout, result.stdout
    assert file.read_text() == ORIGINAL
    assert [p.name for p in tmp_path.iterdir()] == ["lab.toml"]


def test_a_read_only_folder_gives_a_clear_error(tmp_path):
    """A folder the user may not write: chmod 555 for a user; root may write anywhere, so for
    root the folder is bind-mounted read-only in a private mount namespace (unshare -m)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    file = folder / "lab.toml"
    file.write_text(ORIGINAL)
    code = f"""
        from app.core.session import load_session
        from app.core.session_writer import SessionWriteError, write_session
        try:
            write_session(load_session({str(file)!r}), {str(file)!r}, {ORIGINAL!r})
        except SessionWriteError as exc:
            print(exc)
        """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        reason = "Permission denied"
        result = _run(code)
        folder.chmod(0o755)
    elif shutil.which("unshare") and shutil.which("mount"):
        reason = "Read-only file system"
        mount_ro = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" -c "$3"'
        result = subprocess.run(
            ["unshare", "-m", "sh", "-c", mount_ro, "sh", folder, sys.executable,
             textwrap.dedent(code)],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        if "mount" in result.stderr or "unshare" in result.stderr:
            pytest.skip(f"cannot make a read-only folder as root here: {result.stderr}")
    else:
        pytest.skip("root, and no unshare/mount to make a read-only folder")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"{file}: cannot save: cannot create a file in {folder} ({reason})"
    )
    assert file.read_text() == ORIGINAL
    assert [p.name for p in folder.iterdir()] == ["lab.toml"]


def test_render_refuses_what_would_not_read_back(tmp_path):
    """A spec the loader would refuse (a bad name) is an error, not a broken file."""
    bad = ProducerSpec("no spaces allowed", "sine", get_kind_defaults("sine"))
    with pytest.raises(SessionWriteError, match="broken session"):
        render_session(Session([bad]), tmp_path / "s.toml")
    assert not (tmp_path / "s.toml").exists()


def test_settings_a_file_leaves_out_stay_out_while_at_their_defaults(tmp_path):
    """A person's file without [store] or `window_s` does not gain them on save (a missing key
    reads as its default); a setting changed away from its default is added."""
    text = '# short\n[chart]\nfps = 30\n\n[[producers]]\nname = "wave"\nkind = "sine"\n'
    file = tmp_path / "short.toml"
    file.write_text(text)
    session = load_session(file)
    write_session(session, file, text)
    assert file.read_text() == text
    session.budget_mb = 1024.0
    write_session(session, file, text)
    assert file.read_text().endswith("\n[store]\nbudget_mb = 1024.0\n")
    assert load_session(file).budget_mb == 1024.0
