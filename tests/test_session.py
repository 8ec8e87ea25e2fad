"""app.core.session: session files, validated before anything starts; errors read
FILE:LINE: message."""

from __future__ import annotations

import os
import textwrap
import threading
import time

import pytest

from app.core.session import (
    DEFAULT_SESSION,
    MAX_BYTES,
    SessionError,
    load_session,
    parse_session,
)
from producers import all_kinds

PATH = "my-session.toml"


def error_of(text: str) -> SessionError:
    with pytest.raises(SessionError) as info:
        parse_session(textwrap.dedent(text).lstrip("\n"), PATH)
    return info.value


def assert_error(text: str, line: int, *words: str) -> SessionError:
    """The error names the file and the line, in the form editors and terminals link."""
    err = error_of(text)
    assert err.line == line, str(err)
    assert str(err).startswith(f"{PATH}:{line}: "), str(err)
    for word in words:
        assert word in str(err), str(err)
    return err


def test_default_session_loads():
    session = load_session(DEFAULT_SESSION)
    assert session.path == DEFAULT_SESSION
    names = [p.name for p in session.producers]
    assert len(names) == len(set(names)) >= 3
    kinds = all_kinds()
    for spec in session.producers:
        assert spec.kind in kinds
        declared = {p.name for p in kinds[spec.kind].params}
        assert set(spec.params) == declared  # defaults filled in for what the file leaves out
    wave = next(p for p in session.producers if p.name == "wave")
    assert wave.kind == "sine"
    assert wave.params["frequency_hz"] == 0.5
    assert isinstance(wave.params["rate_hz"], float)  # `rate_hz = 200` became a float
    assert wave.autostart and wave.restart == "on-failure"
    assert session.window_s == 30.0 and session.fps == 20.0 and session.budget_mb == 512.0
    assert any(not p.autostart for p in session.producers)  # system: started by hand


def test_a_full_session():
    session = parse_session(
        textwrap.dedent(
            """
            [chart]
            window_s = 120.5
            fps = 25

            [store]
            budget_mb = 64

            [[producers]]
            name = "a.b-c_1"
            kind = "noise"
            autostart = false
            restart = "always"
            params = { std = 2, seed = 5 }

            [[producers]]
            name = "second"
            kind = "fail"
            restart = "never"
            [producers.params]
            mode = "exit"
            """
        ),
        PATH,
    )
    assert (session.window_s, session.fps, session.budget_mb) == (120.5, 25.0, 64.0)
    first, second = session.producers
    assert (first.name, first.kind, first.autostart, first.restart) == (
        "a.b-c_1",
        "noise",
        False,
        "always",
    )
    assert first.params["std"] == 2.0 and first.params["seed"] == 5
    assert second.params["mode"] == "exit" and second.restart == "never"
    assert second.autostart  # the default


def test_empty_session_is_valid():
    session = parse_session("", PATH)
    assert session.producers == []
    assert session.window_s == 30.0


def test_missing_file_says_so(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(SessionError) as info:
        load_session(missing)
    message = str(info.value)
    assert message.startswith(f"{missing}: ")
    assert "cannot read session file" in message
    assert "No such file" in message


def test_unreadable_bytes_are_a_clear_error(tmp_path):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[[producers]]\nname = "caf\xe9"\n')
    with pytest.raises(SessionError, match="cannot read session file"):
        load_session(bad)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(SessionError, match="cannot read session file"):
        load_session(tmp_path)


def test_load_reports_the_real_path(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[producers]]\nname = "a"\nkind = "nope"\n', encoding="utf-8")
    with pytest.raises(SessionError) as info:
        load_session(path)
    assert str(info.value).startswith(f"{path}:3: ")


def test_invalid_toml():
    err = assert_error(
        """
        [chart]
        window_s = 30
        fps = = 40
        """,
        3,
        "invalid TOML",
    )
    assert "(at line" not in str(err)  # the line is in front, not repeated


def test_invalid_toml_unclosed_string():
    assert_error(
        """
        [[producers]]
        name = "a
        kind = "sine"
        """,
        2,
        "invalid TOML",
    )


def test_unknown_kind():
    assert_error(
        """
        [[producers]]
        name = "a"
        kind = "sinus"
        """,
        3,
        "'sinus'",
        "sine",  # the known kinds are listed
    )


def test_missing_kind_points_at_the_table():
    assert_error(
        """
        # leading comment

        [[producers]]
        name = "a"
        """,
        3,
        "needs a kind",
    )


def test_bad_param_type_in_params_table():
    assert_error(
        """
        [[producers]]
        name = "w"
        kind = "sine"
        [producers.params]
        rate_hz = 100
        amplitude = "big"
        """,
        6,
        "'w'",
        "amplitude must be float",
    )


def test_out_of_range_param_in_the_second_producer():
    assert_error(
        """
        [[producers]]
        name = "a"
        kind = "noise"
        [producers.params]
        std = 1

        [[producers]]
        name = "b"
        kind = "noise"

        [producers.params]
        mean = 0
        std = -1
        """,
        13,
        "'b'",
        "std must be in [0, 1e+100]",  # bounded: a larger std overflows downstream
    )


def test_unknown_param():
    assert_error(
        """
        [[producers]]
        name = "a"
        kind = "sine"
        [producers.params]
        rate_hz = 10
        frequency = 3
        """,
        6,
        "unknown parameter 'frequency'",
        "frequency_hz",
    )


def test_errors_in_an_inline_params_table_point_at_its_line():
    assert_error(
        """
        [[producers]]
        name = "a"
        kind = "sine"
        params = { rate_hz = 10, amplitude = "big" }
        """,
        4,
        "amplitude must be float",
    )
    assert_error(
        """
        [[producers]]
        name = "a"
        kind = "sine"
        restart = "never"
        params = { bogus = 1 }
        """,
        5,
        "unknown parameter 'bogus'",
    )


def test_params_that_are_not_a_table():
    assert_error(
        """
        [[producers]]
        name = "a"
        kind = "sine"
        params = 5
        """,
        4,
        "params must be a table",
    )


def test_unknown_key_in_a_producer():
    assert_error(
        """
        [[producers]]
        name = "a"
        kind = "sine"
        autostrat = true
        """,
        4,
        "unknown key 'autostrat'",
        "autostart",
    )


def test_unknown_top_level_section():
    assert_error(
        """
        [chart]
        fps = 30

        [charts]
        fps = 30
        """,
        4,
        "unknown section 'charts'",
    )


def test_duplicate_name_points_at_the_second():
    assert_error(
        """
        [[producers]]
        name = "dup"
        kind = "sine"

        [[producers]]
        name = "dup"
        kind = "noise"
        """,
        6,
        "duplicate producer name 'dup'",
    )


@pytest.mark.parametrize(
    "name", ["", "has space", "x" * 65, "slash/name", "ünïcode", "a:b", "abc\\n", "\\nabc", "a\\tb"]
)
def test_bad_name(name):
    assert_error(
        f"""
        [[producers]]
        kind = "sine"
        name = "{name}"
        """,
        3,
        "producer name must be",
    )


def test_name_that_is_not_a_string():
    assert_error(
        """
        [[producers]]
        kind = "sine"
        name = 5
        """,
        3,
        "producer name must be",
    )


def test_missing_name_points_at_the_table():
    assert_error(
        """
        [chart]
        fps = 30

        [[producers]]
        kind = "sine"
        """,
        4,
        "producer name must be",
    )


def test_bad_restart_policy():
    assert_error(
        """
        [[producers]]
        name = "a"
        kind = "sine"
        restart = "sometimes"
        """,
        4,
        "restart must be one of never, on-failure, always",
    )


@pytest.mark.parametrize("key", ["autostart", "visible"])
def test_flags_must_be_bools(key):
    assert_error(
        f"""
        [[producers]]
        name = "a"
        kind = "sine"
        {key} = "yes"
        """,
        4,
        f"{key} must be true or false",
    )


@pytest.mark.parametrize(
    ("section", "key", "value", "words"),
    [
        ("chart", "fps", "500", ("chart.fps", "[1, 120]")),
        ("chart", "fps", "0", ("chart.fps",)),
        ("chart", "fps", "true", ("chart.fps",)),
        ("chart", "window_s", '"30"', ("chart.window_s", "[1, 86400]")),
        ("chart", "window_s", "nan", ("chart.window_s",)),
        ("store", "budget_mb", "1", ("store.budget_mb", "[16, 65536]")),
        ("store", "budget_mb", "inf", ("store.budget_mb",)),
    ],
)
def test_bad_setting_values(section, key, value, words):
    assert_error(
        f"""
        # settings
        [{section}]

        {key} = {value}
        """,
        4,
        *words,
    )


@pytest.mark.parametrize(("section", "key"), [("chart", "window"), ("store", "budget")])
def test_unknown_setting(section, key):
    assert_error(
        f"""
        [{section}]
        {key} = 3
        """,
        2,
        f"unknown key '{key}' in [{section}]",
    )


def test_section_that_is_not_a_table():
    assert_error(
        """
        fps = 3
        chart = 30
        """,
        1,
        "unknown section 'fps'",
    )
    assert_error(
        """
        # nothing
        chart = 30
        """,
        2,
        "[chart] must be a table",
    )


def test_producers_that_are_not_an_array_of_tables():
    assert_error(
        """
        # comment
        producers = "sine"
        """,
        2,
        "producers must be an array of tables",
    )
    assert_error(
        """
        # a comment

        producers = [1, 2]
        [chart]
        fps = 30
        """,
        3,
        "producer #1 must be a table",
    )


def test_first_error_wins_and_later_producers_are_not_needed():
    err = error_of(
        """
        [[producers]]
        name = "bad name"
        kind = "nope"
        """
    )
    assert err.line == 2  # the name is checked before the kind


def test_error_carries_path_message_and_line_separately():
    err = assert_error(
        """
        [[producers]]
        name = "a"
        kind = "sinus"
        """,
        3,
    )
    assert err.path == PATH
    assert err.message.startswith("unknown producer kind")
    assert isinstance(err, ValueError)


# -- hostile input: one clear line, in bounded time ------------------------------------------


def load_error(path) -> str:
    with pytest.raises(SessionError) as info:
        load_session(path)
    return str(info.value)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "session.toml"
    os.mkfifo(fifo)
    outcome: list = []
    reader = threading.Thread(target=lambda: outcome.append(load_error(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # blocked in open(): give it a writer and EOF so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=5)
        pytest.fail("load_session blocked on a FIFO")
    (message,) = outcome
    assert message.startswith(f"{fifo}: cannot read session file: ")
    assert "named pipe (FIFO), not a regular file" in message


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_device_is_refused_before_reading():
    message = load_error("/dev/zero")
    assert (
        message
        == "/dev/zero: cannot read session file: it is a character device, not a regular file"
    )


def test_a_directory_is_named_as_such(tmp_path):
    assert load_error(tmp_path).endswith("it is a directory, not a regular file")


def test_a_file_over_1_mib_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no disk, and reading it would be quick anyway
    assert load_error(big) == f"{big}: session file is larger than 1 MiB"
    with pytest.raises(SessionError, match="larger than 1 MiB"):
        parse_session("#" * (MAX_BYTES + 1), PATH)


def test_a_file_of_exactly_1_mib_is_read(tmp_path):
    full = tmp_path / "full.toml"
    full.write_bytes(b"#" + b"x" * (MAX_BYTES - 2) + b"\n")
    assert load_session(full).producers == []


def test_invalid_utf8_names_the_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[[producers]]\nkind = "sine"\nname = "caf\xe9"\n')
    assert load_error(bad) == f"{bad}:3: cannot read session file: not UTF-8 text (byte 0xe9)"


@pytest.mark.parametrize(
    "value",
    ["[" * 500 + "]" * 500, "{ a = " * 500 + "1" + " }" * 500, "[{ a = [" * 200 + "]}]" * 200],
)
def test_deep_nesting_is_an_error_with_its_line(value):
    err = assert_error(
        f"""
        [chart]
        fps = 30
        deep = {value}
        """,
        3,
        "nested more than",
    )
    assert len(str(err)) < 200


def test_nesting_a_session_needs_is_fine():
    session = parse_session(
        'producers = [{ name = "a", kind = "sine", params = { amplitude = 2 } }]', PATH
    )
    assert session.producers[0].params["amplitude"] == 2.0


@pytest.mark.parametrize("form", ["{key} = 1", "[{key}]", "[[{key}]]", "x = {{ {key} = 1 }}"])
def test_a_key_with_thousands_of_dotted_parts_is_refused_at_once(form):
    key = ".".join(["a"] * 20_000)  # 40 KB: tomllib alone took 7 s over this
    start = time.perf_counter()
    err = error_of("# deep\n" + form.format(key=key))
    assert time.perf_counter() - start < 0.5
    assert err.line == 2 and "more than 10 dotted parts" in str(err)


def test_a_flood_of_values_is_refused_quickly():
    start = time.perf_counter()
    err = error_of("[chart]\nfps = [" + "1, " * 200_000 + "]\n")
    assert time.perf_counter() - start < 0.5
    assert err.line == 2 and "TOML tokens" in str(err)


def test_an_integer_beyond_pythons_digit_limit_is_a_clear_error():
    assert_error(
        f"""
        [[producers]]
        name = "a"
        kind = "noise"
        params = {{ seed = 1{"0" * 5000} }}
        """,
        4,
        "unquoted value longer than 100 characters",
    )


def session_of(count: int, name=lambda i: f"p{i}") -> str:
    return "".join(f'[[producers]]\nname = "{name(i)}"\nkind = "sine"\n' for i in range(count))


def test_a_thousand_producers_with_one_name_are_rejected_quickly():
    start = time.perf_counter()
    assert_error(session_of(1000, name=lambda i: "same"), 5, "duplicate producer name 'same'")
    last_is_a_copy = session_of(999) + session_of(1, name=lambda i: "p0")
    assert_error(last_is_a_copy, 3 * 999 + 2, "duplicate producer name 'p0'")
    assert time.perf_counter() - start < 1.0


def test_a_sane_session_of_a_thousand_producers_loads_quickly():
    text = "".join(
        f"""
        [[producers]]
        name = "p{i}"  # a comment
        kind = "sine"
        autostart = false
        restart = "always"
        visible = true
        [producers.params]
        rate_hz = 10
        frequency_hz = 0.5
        amplitude = 2.0
        phase_deg = 90
        offset = -1
        """
        for i in range(1000)
    )
    start = time.perf_counter()
    session = parse_session(textwrap.dedent(text), PATH)
    assert time.perf_counter() - start < 1.0  # about 0.1 s here
    assert len(session.producers) == 1000
    assert session.producers[-1].params["offset"] == -1.0


def test_long_lines_cost_linear_time():
    """The old line locator's regex took 20 s over one 4 KB line that starts like a header."""
    spaces = " " * 20_000
    start = time.perf_counter()
    assert_error(
        f"""
        [[producers]]
        name = "a"
        kind = "nope"
        [producers.params]
        text = \"\"\"
        [{spaces}"ü"
        \"\"\"
        """,
        3,
        "unknown producer kind 'nope'",
    )
    assert_error(f'[{spaces}chart{spaces}]\n"fps" = 500', 2, "chart.fps must be")
    assert time.perf_counter() - start < 0.5


def test_lines_are_counted_as_toml_counts_them():
    """Only '\\n' ends a line: not the separators str.splitlines() also splits at, not a
    newline inside a multi-line string, and CRLF files count the same."""
    assert_error(
        """
        # a comment with a line separator \u2028 and a next-line \x85 in it
        [chart]
        window_s = 30
        title = \"\"\"one
        [[producers]]
        two\"\"\"
        """,
        4,
        "unknown key 'title' in [chart]",
    )
    text = '# crlf\r\n[[producers]]\r\nname = "a"\r\nkind = "nope"\r\n'
    assert error_of(text).line == 4


def test_strings_with_brackets_dots_and_hashes_are_not_structure():
    session = parse_session(
        textwrap.dedent(
            """
            [[producers]]
            name = "a"
            kind = "fail"
            params = { mode = "exit" }  # "[[[["
            [[producers]]
            name = 'b'
            kind = "fail"
            "restart" = "never"
            [producers.params]
            mode = "hang"
            """
        ),
        PATH,
    )
    assert [p.restart for p in session.producers] == ["on-failure", "never"]
    assert_error(
        """
        [[producers]]
        name = "a"
        kind = "sine"
        "params" = { "amplitude" = "[#]", rate_hz = 10 }
        """,
        4,
        "amplitude must be float",
    )


def test_errors_in_an_inline_array_of_producers_point_at_their_line():
    assert_error(
        """
        producers = [
            { name = "a", kind = "sine" },
            { name = "a", kind = "noise" },
        ]
        """,
        3,
        "duplicate producer name 'a'",
    )
    assert_error(
        """
        producers = [
            { name = "a", kind = "sine" },
            { name = "b", kind = "noise", params = { std = -1 } },
        ]
        """,
        3,
        "std must be in",
    )


def test_an_error_at_the_end_of_the_document_names_the_last_line():
    err = assert_error(
        """
        [chart]
        fps = [1,
        """,
        3,
        "invalid TOML",
    )
    assert "end of document" not in str(err)


def test_errors_stay_on_one_line_and_short():
    kind = "k\\n" * 10_000  # TOML escapes: the kind holds 10,000 real newlines
    err = error_of(f'[[producers]]\nname = "a"\nkind = "{kind}"\n')
    assert err.line == 3
    assert "\n" not in str(err) and len(str(err)) < 300
    assert "unknown producer kind 'k\\nk\\n" in str(err)
    err = error_of('[[producers]]\nname = "a"\nkind = "sine"\nparams = { amplitude = [[[[[1]]]]] }')
    assert len(str(err)) < 200
    with pytest.raises(SessionError) as info:
        parse_session("fps = 1", "bad\nname.toml")
    assert str(info.value) == "bad\\nname.toml:1: unknown section 'fps'"


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ("amplitude = 1e308", "amplitude must be in [-1e+100, 1e+100]"),
        ("offset = -1e101", "offset must be in"),
        ("amplitude = inf", "amplitude must be finite"),
        ("amplitude = nan", "amplitude must be finite"),
    ],
)
def test_values_that_would_overflow_are_refused_at_load(params, word):
    assert_error(
        f"""
        [[producers]]
        name = "a"
        kind = "sine"
        [producers.params]
        rate_hz = 10
        {params}
        """,
        6,
        word,
    )
