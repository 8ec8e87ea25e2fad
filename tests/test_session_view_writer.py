"""Saving the view (app.core.session_view_writer through write_session): any layout saved and
reopened is the same view, a file from nothing says only what differs from the defaults, and a
person's file keeps its comments when plots and series change."""

from __future__ import annotations

import difflib
import textwrap
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.session import ProducerSpec, Session, load_session, parse_session
from app.core.session_view_writer import savable_view
from app.core.session_writer import render_session, write_session
from app.core.view_layout import (
    AXES,
    MAX_PLOTS,
    RANGE_MODES,
    AxisView,
    PlotView,
    SeriesView,
    ViewLayout,
)
from producers.registry import get_kind

NAMES = ("wave", "noise", "sweep")


def _defaults(kind: str) -> dict:
    return {p.name: p.default for p in get_kind(kind).params}


def _session(view: ViewLayout | None = None, theme: str = "") -> Session:
    producers = [ProducerSpec(name, "sine", _defaults("sine")) for name in NAMES]
    return Session(producers, view=view or ViewLayout(), theme=theme)


# -- random layouts -------------------------------------------------------------------------------
limits = st.floats(-1e100, 1e100, allow_nan=False)
series_names = st.one_of(
    st.sampled_from(["value", "ch0", "in/freq", "out/value", "a b", "é", 'q"uote', "#"]),
    st.text(min_size=1, max_size=6),
)
keys = st.tuples(st.sampled_from(NAMES), series_names)


@st.composite
def axes(draw) -> AxisView:
    mode = draw(st.sampled_from(RANGE_MODES))
    lo, hi, log = draw(limits), draw(limits), draw(st.booleans())
    if mode == "fixed":
        lo, hi = sorted((lo, hi))
        if lo == hi:  # (lo + 1 is lo beyond 2**53; halves stay within the limits)
            lo, hi = (lo / 2, lo) if lo > 0 else (lo, lo / 2) if lo < 0 else (0.0, 1.0)
        if log and lo <= 0:
            lo, hi = draw(st.floats(1e-300, 1e50)), 1e60
    return AxisView(mode, lo, hi, log)


@st.composite
def plots(draw, plot_id: int) -> PlotView:
    kind = draw(st.sampled_from(["time", "xy"]))
    series = st.one_of(st.none(), keys)
    return PlotView(
        plot_id,
        kind,
        draw(axes()),
        draw(axes()),
        draw(series) if kind == "xy" or draw(st.booleans()) else None,
        draw(series) if kind == "xy" else None,
        draw(st.floats(0, 86400, exclude_min=True)),
    )


@st.composite
def layouts(draw) -> ViewLayout:
    """Any layout the window can make: ids that are not positions (plots added, removed and
    moved), series of producers that are gone, entries at their defaults."""
    ids = draw(st.lists(st.integers(0, 99), min_size=1, max_size=6, unique=True))
    drawn = [draw(plots(i)) for i in ids]
    if not any(p.kind == "time" for p in drawn):
        k = draw(st.integers(0, len(drawn) - 1))
        drawn[k] = replace(drawn[k], kind="time")  # (a time plot may keep x/y: they are kept)
    views = st.builds(
        SeriesView,
        st.one_of(st.none(), st.sampled_from([p.id for p in drawn])),
        st.sampled_from(AXES),
        st.booleans(),
        st.one_of(st.none(), st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True)),
    )
    gone = st.tuples(st.just("gone"), series_names)
    series = draw(st.dictionaries(st.one_of(keys, gone), views, max_size=6))
    return ViewLayout(tuple(drawn), series)


ROUND_TRIPS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@ROUND_TRIPS
@given(layouts(), st.sampled_from(["", "light", "dark"]))
def test_any_layout_saved_from_nothing_reads_back_the_same(layout, theme):
    text = render_session(_session(layout, theme), "s.toml")
    back = parse_session(text, "s.toml")
    assert back.view == savable_view(layout, set(NAMES))
    assert back.theme == theme
    # the same view: the plots in the same order, each series where it was
    assert [replace(p, id=0) for p in back.view.plots] == [replace(p, id=0) for p in layout.plots]
    for key in layout.series:
        if key[0] in NAMES:
            position = layout.index_of(layout.plot_of(key))
            assert back.view.index_of(back.view.plot_of(key)) == position
            assert back.view.view_of(key).color == layout.view_of(key).color
    # and saving what was read writes the same text
    assert render_session(back, "s.toml", text) == text
    assert render_session(back, "s.toml") == text


@ROUND_TRIPS
@given(layouts(), layouts())
def test_any_layout_saved_over_a_file_of_another_reads_back_the_same(before, after):
    """Editing: tables matched, updated, removed, appended and reordered."""
    text = render_session(_session(before, "dark"), "s.toml")
    edited = render_session(_session(after), "s.toml", text)
    back = parse_session(edited, "s.toml")
    assert back.view == savable_view(after, set(NAMES))
    assert back.theme == ""
    assert "theme" not in edited


def test_the_default_view_writes_nothing():
    text = render_session(_session(), "s.toml")
    assert "plots" not in text and "series" not in text and "theme" not in text
    view = ViewLayout().with_series(("wave", "value"), color=None)  # at its defaults
    assert render_session(_session(view), "s.toml") == text


def test_a_new_file_says_only_what_differs():
    view, xy = (
        ViewLayout()
        .with_axis(0, "left", mode="fixed", lo=-1.0, hi=1.0)
        .with_axis(0, "right", log=True)
        .adding_plot("xy", x_series=("sweep", "in/freq"), y_series=("sweep", "value"))
    )
    view = view.with_series(("noise", "value"), plot=xy, axis="right", visible=False)
    view = view.with_series(("wave", "ch0"), color="#d62728")
    text = render_session(_session(view, "dark"), "s.toml")
    assert text.endswith(
        textwrap.dedent(
            """
            [[plots]]
            kind = "time"
            range = "fixed"
            min = -1.0
            max = 1.0
            right_log = true

            [[plots]]
            kind = "xy"
            x = "sweep/in/freq"
            y = "sweep"
            window_s = 30.0

            [series."noise"]
            plot = 1
            axis = "right"
            visible = false

            [series."wave/ch0"]
            color = "#d62728"
            """
        )
    )
    assert '[chart]\nwindow_s = 30.0\nfps = 40.0\ntheme = "dark"\n' in text


def test_settings_of_producers_no_longer_in_the_session_are_not_saved():
    """The file may only name its producers (else it would not load)."""
    view, _ = ViewLayout().adding_plot("xy", x_series=("gone", "value"), y_series=("wave", "x"))
    view = view.with_series(("gone", "ch0"), color="#000000")
    back = parse_session(render_session(_session(view), "s.toml"), "s.toml")
    assert back.view.series == {}
    assert back.view.plots[1] == PlotView(1, "xy")  # the pair is not drawable any more


def test_a_session_without_a_view_leaves_the_files_view_alone(tmp_path):
    """Anything with producers and settings can still be saved (`view` and `theme` are read
    with getattr); what the file says about the view is kept."""

    class Plain:
        producers = _session().producers
        window_s, fps, budget_mb = 30.0, 40.0, 512.0

    original = render_session(
        _session(ViewLayout().adding_plot("time")[0].with_series(("wave", "value"), axis="right"),
                 "light"),
        "s.toml",
    )  # fmt: skip
    assert render_session(Plain(), tmp_path / "s.toml", original) == original
    assert "plots" not in render_session(Plain(), tmp_path / "s.toml")


# -- editing a person's file ----------------------------------------------------------------------
ORIGINAL = textwrap.dedent(
    """\
    # My lab view -- keep these notes!
    [chart]
    fps = 30
    theme = "dark"   # the lab is dark

    [[producers]]
    name = "wave"
    kind = "sine"

    [[producers]]
    name = "noise"
    kind = "noise"

    # temperatures, on top
    [[plots]]
    range = "fixed"   # volts
    min = -5          # the rail
    max = 5

    [[plots]]
    kind = "time"
    right_range = "auto"   # pressures
    right_log = true

    [[plots]]
    kind = "xy"
    x = "wave/value"   # as I like to spell it
    y = "noise"
    window_s = 60      # one minute of pairs

    # the noise goes to the second plot
    [series."noise"]
    plot = 1        # pressures
    axis = "right"

    [series."wave/ch0"]   # picked by hand
    color = "#d62728"
    """
)


def _changed_lines(before: str, after: str) -> list[str]:
    return [
        line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"
    ]


@pytest.fixture
def lab(tmp_path):
    file = tmp_path / "lab.toml"
    file.write_text(ORIGINAL)
    return file


def test_saving_an_unchanged_view_writes_the_same_bytes(lab):
    write_session(load_session(lab), lab, ORIGINAL)
    assert lab.read_text() == ORIGINAL


def test_a_changed_value_touches_only_its_line(lab):
    session = load_session(lab)
    view = session.view.with_axis(0, "left", lo=-12.0)
    view = view.with_series(("wave", "ch0"), color="#1f77b4")
    view = view.with_plot(replace(view.plot(2), xy_window_s=120.0))
    session.view = view
    session.theme = "light"
    write_session(session, lab, ORIGINAL)
    assert _changed_lines(ORIGINAL, lab.read_text()) == [
        '- theme = "dark"   # the lab is dark',
        '+ theme = "light"   # the lab is dark',
        "- min = -5          # the rail",
        "+ min = -12          # the rail",
        "- window_s = 60      # one minute of pairs",
        "+ window_s = 120      # one minute of pairs",
        '- color = "#d62728"',
        '+ color = "#1f77b4"',
    ]
    assert load_session(lab).view == view


def test_removing_a_plot_keeps_the_others_tables_and_their_comments(lab):
    """Plot tables are matched by what they say: the xy plot's table, comments and
    `x = "wave/value"` spelling stay when the plot above it goes."""
    session = load_session(lab)
    session.view = session.view.removing_plot(1)  # its series go back to the first plot
    write_session(session, lab, ORIGINAL)
    after = lab.read_text()
    assert 'right_range = "auto"   # pressures' not in after
    assert 'x = "wave/value"   # as I like to spell it' in after
    assert "window_s = 60      # one minute of pairs" in after
    assert "min = -5          # the rail" in after
    assert '[series."noise"]\nplot = 1' not in after  # now at its plot's default: None
    assert 'axis = "right"' in after
    assert "# My lab view -- keep these notes!" in after
    assert load_session(lab).view == savable_view(session.view, {"wave", "noise"})


def test_a_series_back_at_its_defaults_loses_its_table_and_a_new_one_is_appended(lab):
    session = load_session(lab)
    view = session.view.with_series(("wave", "ch0"), color=None)
    view = view.with_series(("wave", "ch1"), visible=False)
    view = view.with_series(("noise", "value"), plot=None)
    session.view = view
    write_session(session, lab, ORIGINAL)
    after = lab.read_text()
    assert '[series."wave/ch0"]' not in after and "#d62728" not in after
    assert after.endswith('[series."wave/ch1"]\nvisible = false\n')
    assert "plot = 1        # pressures" not in after
    assert '[series."noise"]\naxis = "right"' in after
    assert "# the noise goes to the second plot" in after
    assert load_session(lab).view == view


def test_moving_plots_keeps_each_tables_lines(lab):
    session = load_session(lab)
    session.view = session.view.moving_plot(2, 0)  # the xy plot on top
    write_session(session, lab, ORIGINAL)
    after = lab.read_text()
    assert after.index('x = "wave/value"   # as I like to spell it') < after.index(
        'range = "fixed"   # volts'
    )
    assert load_session(lab).view == session.view.renumbered()
    assert load_session(lab).view.view_of(("noise", "value")).plot == 2  # it followed its plot


def test_a_theme_set_back_to_the_remembered_one_is_removed(lab):
    session = load_session(lab)
    session.theme = ""
    write_session(session, lab, ORIGINAL)
    assert _changed_lines(ORIGINAL, lab.read_text()) == ['- theme = "dark"   # the lab is dark']


def test_a_view_added_to_a_file_without_one_goes_at_its_end(tmp_path):
    file = tmp_path / "s.toml"
    head = '# mine\n[[producers]]\nname = "wave"\nkind = "sine"   # the only one\n'
    file.write_text(head)
    session = load_session(file)
    session.view = ViewLayout().adding_plot("time")[0].with_series(("wave", "value"), plot=1)
    write_session(session, file, head)
    after = file.read_text()
    assert after.startswith(head + "\n[[plots]]\n")
    assert after.endswith('[series."wave"]\nplot = 1\n')
    assert load_session(file).view == session.view


def test_the_most_plots_a_window_can_have_round_trip():
    view = ViewLayout()
    for _ in range(MAX_PLOTS - 1):
        view = view.adding_plot("time")[0]
    back = parse_session(render_session(_session(view), "s.toml"), "s.toml")
    assert back.view == view
