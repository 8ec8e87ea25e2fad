"""The view in session files (app.core.session_view): `[[plots]]`, `[series."label"]` and
`[chart] theme` read into the ViewLayout the window draws, every mistake named with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from app.core.session import SessionError, parse_session
from app.core.view_layout import AxisView, PlotView, SeriesView, ViewLayout

PATH = "view.toml"
PRODUCERS = """\
[[producers]]
name = "noise"
kind = "noise"

[[producers]]
name = "sweep"
kind = "sine"
"""  # lines 1-7: the view sections below start at line 8


def parse(view: str):
    return parse_session(PRODUCERS + textwrap.dedent(view).lstrip("\n"), PATH)


def parse_first(view: str):
    """`view` before the producers: top-level `key = value` lines must come before tables."""
    return parse_session(textwrap.dedent(view).lstrip("\n") + PRODUCERS, PATH)


def assert_error(view: str, line: int, *words: str) -> SessionError:
    """`view` starts at line 8 of the file (after PRODUCERS)."""
    with pytest.raises(SessionError) as info:
        parse(view)
    err = info.value
    assert err.line == line, str(err)
    assert str(err).startswith(f"{PATH}:{line}: "), str(err)
    for word in words:
        assert word in str(err), str(err)
    return err


def test_the_example_from_the_readme_reads_as_written():
    session = parse(
        """
        [chart]
        theme = "dark"

        [[plots]]              # top to bottom; plot ids are positions (0 = top)
        kind = "time"
        range = "fixed"
        min = -1               # an integer is a number too
        max = 1.0
        log = false
        right_range = "auto"
        right_min = 0.0
        right_max = 100.0
        right_log = true

        [[plots]]
        kind = "xy"
        x = "sweep/in/freq"
        y = "sweep/out/value"
        window_s = 60.0

        [series."noise"]
        plot = 1
        axis = "right"
        color = "#d62728"
        visible = false

        [series."sweep/ch0"]
        color = "#1F77B4"
        """
    )
    assert session.theme == "dark"
    assert session.view == ViewLayout(
        (
            PlotView(
                0,
                "time",
                AxisView("fixed", -1.0, 1.0, False),
                AxisView("auto", 0.0, 100.0, True),
            ),
            PlotView(1, "xy", x_series=("sweep", "in/freq"), y_series=("sweep", "out/value"),
                     xy_window_s=60.0),
        ),
        {
            ("noise", "value"): SeriesView(plot=1, axis="right", visible=False, color="#d62728"),
            ("sweep", "ch0"): SeriesView(color="#1F77B4"),
        },
    )  # fmt: skip
    assert isinstance(session.view.plots[0].left.lo, float)


def test_without_a_view_the_window_shows_one_time_plot():
    session = parse("")
    assert session.view == ViewLayout() and session.theme == ""
    assert [p.kind for p in session.view.plots] == ["time"]


def test_left_out_keys_are_the_defaults():
    session = parse(
        """
        [[plots]]
        [[plots]]
        kind = "xy"
        [series."noise"]
        """
    )
    time, xy = session.view.plots
    assert time == PlotView(0)
    assert xy == PlotView(1, "xy")  # x and y not chosen yet, a 30 s window
    assert session.view.series == {}  # a table that says nothing is no setting


def test_an_empty_x_is_not_chosen_yet():
    session = parse(
        """
        [[plots]]
        [[plots]]
        kind = "xy"
        x = ""
        y = "noise"
        """
    )
    assert session.view.plots[1].x_series is None
    assert session.view.plots[1].y_series == ("noise", "value")


def test_inline_forms_read_the_same():
    inline = parse_first(
        """
        plots = [{ kind = "time", range = "auto" }, { kind = "xy", x = "noise" }]
        series = { "sweep/ch1" = { axis = "right" } }
        """
    )
    tables = parse(
        """
        [[plots]]
        range = "auto"
        [[plots]]
        kind = "xy"
        x = "noise"
        [series."sweep/ch1"]
        axis = "right"
        """
    )
    assert inline.view == tables.view
    assert inline.view.view_of(("sweep", "ch1")).axis == "right"


def test_a_range_kept_while_the_axis_is_not_fixed_is_read():
    """The window keeps a fixed range when the mode changes (switching back restores it), and
    a saved session must give the same view back."""
    view = parse(
        """
        [[plots]]
        range = "steady"
        min = 5.0
        max = -5.0
        """
    ).view
    assert view.plots[0].left == AxisView("steady", 5.0, -5.0)


@pytest.mark.parametrize("theme", ["light", "dark", ""])
def test_a_theme(theme):
    assert parse(f'[chart]\ntheme = "{theme}"\n').theme == theme


# -- mistakes, each with its line -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("key_line", "words"),
    [
        ('kind = "polar"', ("kind must be one of time, xy",)),
        ('range = "manual"', ("range must be one of steady, auto, fixed",)),
        ('right_range = "none"', ("right_range must be one of",)),
        ('min = "0"', ("min must be a number",)),
        ("max = nan", ("max must be a number",)),
        ("right_min = inf", ("right_min must be a number",)),
        ("min = 1e101", ("min must be a number in [-1e+100, 1e+100]",)),
        ("max = true", ("max must be a number",)),
        ('log = "yes"', ("log must be true or false",)),
        ("right_log = 1", ("right_log must be true or false",)),
        ('x = "nois"', ("x: no producer 'nois' in this session",)),
        ('y = "sweep/"', ("y: 'sweep/' names no series after the '/'",)),
        ("x = 3", ("x must be a series label",)),
        ("window_s = 0", ("window_s must be a number of seconds in (0, 86400]",)),
        ("window_s = 1e6", ("window_s",)),
        ('window_s = "60"', ("window_s",)),
        ("colour = 3", ("unknown key 'colour' in [[plots]]", "known: kind, range")),
    ],
)
def test_a_bad_plot_key_names_its_line(key_line, words):
    assert_error(
        f"""
        [[plots]]
        kind = "time"

        [[plots]]   # line 11
        # the one with a mistake
        {key_line}
        """,
        13,
        *words,
    )


def test_an_empty_fixed_range_points_at_min():
    assert_error(
        """
        [[plots]]
        range = "fixed"
        min = 2
        max = 1
        """,
        10,
        "a fixed range needs min < max",
    )
    assert_error(
        """
        [[plots]]
        right_range = "fixed"
        right_log = true
        """,
        9,
        "right axis: a logarithmic axis needs a fixed range above 0",
    )


def test_only_xy_plots_is_an_error_at_the_first_plot():
    assert_error(
        """
        # nothing to plot against time
        [[plots]]
        kind = "xy"
        """,
        9,
        "at least one time plot",
    )


def test_more_than_sixteen_plots_is_an_error_at_the_seventeenth():
    assert_error("[[plots]]\n" * 17, 8 + 16, "at most 16 plots (this file has 17)")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('plots = "two"', 1, ("plots must be an array of tables ([[plots]])",)),
        ("plots = []", 1, ("plots is empty",)),
        ("plots = [\n  {},\n  3,\n]", 3, ("plot #2 must be a table",)),
    ],
)
def test_plots_that_are_not_an_array_of_tables(text, line, words):
    with pytest.raises(SessionError) as info:
        parse_first(text + "\n")
    assert info.value.line == line, str(info.value)
    for word in words:
        assert word in str(info.value)
    assert_error("[plots]\nkind = 'xy'", 8, "plots must be an array of tables")


@pytest.mark.parametrize(
    ("key_line", "words"),
    [
        ("plot = 2", ("plot must be the position of a plot in [[plots]] (0..1, 0 = top)",)),
        ("plot = -1", ("plot must be the position",)),
        ("plot = true", ("plot must be the position",)),
        ("plot = 1.0", ("plot must be the position",)),
        ('axis = "top"', ("axis must be left or right",)),
        ('color = "red"', ('color must be "#rrggbb"',)),
        ('color = "#d6272"', ("color",)),
        ("color = 0xd62728", ("color",)),
        ('visible = "no"', ("visible must be true or false",)),
        ('colour = "#d62728"', ("unknown key 'colour' in [series.\"noise/ch0\"]",)),
    ],
)
def test_a_bad_series_key_names_its_line(key_line, words):
    assert_error(
        f"""
        [[plots]]
        [[plots]]

        [series."noise/ch0"]
        # the one with a mistake
        {key_line}
        """,
        13,
        *words,
    )


def test_a_series_of_a_producer_not_in_the_session_is_an_error():
    """A typo would otherwise be a setting that silently does nothing."""
    assert_error(
        """
        [series."noise"]
        color = "#d62728"

        [series."nosie/ch0"]   # line 11
        color = "#d62728"
        """,
        11,
        "[series.\"nosie/ch0\"]: no producer 'nosie' in this session",
    )


def test_two_names_of_one_series_are_an_error_at_the_second():
    assert_error(
        """
        [series."noise"]
        axis = "right"
        [series."noise/value"]
        axis = "left"
        """,
        10,
        '[series."noise/value"] is the same series as [series."noise"]',
    )


def test_series_that_are_not_tables():
    with pytest.raises(
        SessionError, match=r'^view.toml:1: series must be tables \(\[series."name"\]\)'
    ):
        parse_first("series = 3\n")
    assert_error('[series]\nnoise = "red"', 9, '[series."noise"] must be a table')
    assert_error('[series]\n"noise/" = {}', 9, "names no series after the '/'")


@pytest.mark.parametrize("value", ['"solarized"', "true", '"Dark"'])
def test_a_bad_theme(value):
    assert_error(
        f"""
        [chart]
        fps = 30
        theme = {value}
        """,
        10,
        'chart.theme must be one of light, dark (or "")',
    )


def test_view_sections_are_known_sections():
    """Before this, `[[plots]]` was an unknown section: an older file still loads, and a
    misspelt section is still an error."""
    assert_error("[[plot]]\nkind = 'xy'", 8, "unknown section 'plot'")


def test_the_readmes_example_is_a_valid_session():
    """The example people copy from README.md, "Session files", loads as it says."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("**The view.**", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    session = parse_session(example + PRODUCERS, "README.md")
    assert session.theme == "dark"
    time, xy = session.view.plots
    assert time.left == AxisView("fixed", -1.0, 1.0) and time.right == AxisView("auto", log=True)
    assert (xy.kind, xy.x_series, xy.y_series) == ("xy", ("sweep", "in/freq"), ("sweep", "out"))
    assert session.view.view_of(("noise", "value")) == SeriesView(1, "right", False, "#d62728")
