"""producers.params: the one declaration that validates user input for every producer kind."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from producers import all_kinds
from producers.params import (
    Param,
    ParamError,
    path,
    resolve_paths,
    strings,
    table,
    target,
    validate_params,
)

RATE = Param("rate_hz", float, 10.0, "samples per second", min=0.5, max=100.0)
COUNT = Param("count", int, 3, "how many", min=0)
FLAG = Param("flag", bool, False, "on or off")
MODE = Param("mode", str, "a", "which one", choices=("a", "b"))
LABEL = Param("label", str, "x", "free text")
DECLARED = (RATE, COUNT, FLAG, MODE, LABEL)


def test_defaults_fill_missing_parameters():
    assert validate_params(DECLARED, {}, "demo") == {
        "rate_hz": 10.0,
        "count": 3,
        "flag": False,
        "mode": "a",
        "label": "x",
    }


def test_given_values_override_defaults_and_keep_their_type():
    got = validate_params(DECLARED, {"count": 7, "flag": True, "mode": "b"}, "demo")
    assert got["count"] == 7 and type(got["count"]) is int
    assert got["flag"] is True
    assert got["mode"] == "b"
    assert got["rate_hz"] == 10.0


def test_int_is_accepted_for_float_and_becomes_float():
    got = validate_params(DECLARED, {"rate_hz": 20}, "demo")
    assert got["rate_hz"] == 20.0
    assert type(got["rate_hz"]) is float


@pytest.mark.parametrize(
    ("param", "value"),
    [
        (RATE, True),  # bool is an int subclass in Python, but not a number in a session file
        (RATE, "20"),
        (RATE, None),
        (COUNT, 2.0),  # no silent truncation of a float into an int parameter
        (COUNT, False),
        (COUNT, "3"),
        (FLAG, 1),
        (FLAG, "true"),
        (MODE, 1),
        (LABEL, 3.5),
    ],
)
def test_wrong_type_is_an_error_naming_the_parameter_and_type(param, value):
    with pytest.raises(ParamError) as info:
        param.coerce(value)
    assert info.value.key == param.name
    message = str(info.value)
    assert param.name in message
    assert param.type_name in message
    assert type(value).__name__ in message


@pytest.mark.parametrize("value", [0.49, 100.01, -1.0, 1e9])
def test_out_of_range_is_an_error_showing_the_range(value):
    with pytest.raises(ParamError) as info:
        RATE.coerce(value)
    assert info.value.key == "rate_hz"
    assert "[0.5, 100]" in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [0.5, 100.0, 42.25])
def test_bounds_are_inclusive(value):
    assert RATE.coerce(value) == value


def test_one_sided_bounds():
    assert COUNT.coerce(0) == 0
    assert COUNT.coerce(10**12) == 10**12
    with pytest.raises(ParamError, match=r"\[0, inf\]"):
        COUNT.coerce(-1)
    upper = Param("level", float, 0.0, "", max=1.0)
    assert upper.coerce(-1e300) == -1e300
    with pytest.raises(ParamError, match=r"\[-inf, 1\]"):
        upper.coerce(1.5)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_refused_even_without_bounds(value):
    unbounded = Param("offset", float, 0.0, "added to every value")
    with pytest.raises(ParamError, match="finite") as info:
        unbounded.coerce(value)
    assert info.value.key == "offset"


def test_choices_are_enforced_and_listed():
    assert MODE.coerce("b") == "b"
    with pytest.raises(ParamError) as info:
        MODE.coerce("c")
    assert info.value.key == "mode"
    assert "one of a, b" in str(info.value)
    assert "'c'" in str(info.value)


def test_unknown_parameter_is_an_error_listing_the_known_ones():
    with pytest.raises(ParamError) as info:
        validate_params(DECLARED, {"rate": 5.0}, "demo")
    assert info.value.key == "rate"
    message = str(info.value)
    assert "'rate'" in message and "'demo'" in message
    for p in DECLARED:
        assert p.name in message


def test_unknown_parameter_for_a_kind_without_parameters():
    with pytest.raises(ParamError, match=r"known: none"):
        validate_params((), {"x": 1}, "bare")


def test_first_bad_value_is_reported_by_key():
    with pytest.raises(ParamError) as info:
        validate_params(DECLARED, {"count": -5}, "demo")
    assert info.value.key == "count"


def test_param_error_is_a_value_error():
    assert issubclass(ParamError, ValueError)


def test_describe_range():
    assert RATE.describe_range() == "[0.5, 100]"
    assert COUNT.describe_range() == "[0, inf]"
    assert MODE.describe_range() == "one of a, b"
    assert FLAG.describe_range() == ""


def test_every_builtin_declaration_is_consistent():
    """Each kind's defaults must pass its own validation, or the kind cannot start as declared."""
    kinds = all_kinds()
    assert {"sine", "noise", "random_walk", "clock", "system", "fail"} <= set(kinds)
    for kind, cls in kinds.items():
        names = [p.name for p in cls.params]
        assert len(names) == len(set(names)), kind
        for p in cls.params:
            assert p.help, f"{kind}.{p.name} has no help text"
            if not p.required:  # a required one's default is a blank, never used
                assert p.coerce(p.default) == p.default, f"{kind}.{p.name} default is invalid"
        required = {p.name: p for p in cls.params if p.required}
        if required:
            with pytest.raises(ParamError, match=" is required for kind "):
                validate_params(cls.params, {}, kind)
            continue
        defaults = validate_params(cls.params, {}, kind)
        assert list(defaults) == names


def test_an_integer_beyond_the_float_range_is_not_finite():
    """10**400 is a valid TOML integer; float() of it raises OverflowError, not a ParamError."""
    with pytest.raises(ParamError, match="offset must be finite") as info:
        Param("offset", float, 0.0, "added to every value").coerce(10**400)
    assert info.value.key == "offset"
    assert len(str(info.value)) < 200


def test_messages_show_long_or_nested_values_short_and_on_one_line():
    with pytest.raises(ParamError) as info:
        LABEL.coerce([[[["deep"]]]] * 1000)
    with pytest.raises(ParamError) as info2:
        MODE.coerce("line\n" * 10_000)
    for err in (info.value, info2.value):
        assert "\n" not in str(err) and len(str(err)) < 200
    assert "'line\\nline\\n" in str(info2.value)
    with pytest.raises(ParamError) as info3:
        validate_params(DECLARED, {"x\ny" * 1000: 1}, "demo")
    assert "\n" not in str(info3.value) and len(str(info3.value)) < 300


def test_every_float_parameter_of_a_builtin_kind_is_bounded():
    """Unbounded floats let a session ask for 1e308, which overflows once multiplied."""
    for kind, cls in all_kinds().items():
        for p in cls.params:
            if p.type is float:
                assert p.min is not None and p.max is not None, f"{kind}.{p.name}"
                assert max(abs(p.min), abs(p.max)) <= 1e100, f"{kind}.{p.name}"


def extreme(kind: str, **params):
    """A producer of `kind` with the given parameters (validated as a session would be)."""
    return all_kinds()[kind](**params)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("sine", dict(amplitude=1e100, offset=1e100, frequency_hz=1e7, rate_hz=0.001)),
        ("sine", dict(amplitude=-1e100, offset=-1e100, phase_deg=-360.0, rate_hz=50e6)),
        ("noise", dict(mean=1e100, std=1e100, seed=1, rate_hz=0.001)),
        ("noise", dict(mean=-1e100, std=1e100, seed=2)),
        ("random_walk", dict(start=1e100, volatility=100.0, seed=3, rate_hz=0.001)),
        ("random_walk", dict(start=1e-9, volatility=100.0, seed=4, rate_hz=0.001)),
    ],
)
def test_the_largest_admitted_parameters_cannot_overflow(kind, params):
    """The bounds are chosen so the built-in kinds stay finite: check it at the bounds, for
    sample numbers as late as a run of years reaches, and over many chunks (the random walk)."""
    producer = extreme(kind, **params)
    dt = 1.0 / producer.p["rate_hz"]
    with np.errstate(over="raise", invalid="raise"):
        for first in range(0, 200 * 4096, 4096):
            values = producer.generate(np.arange(first, first + 4096) + 2**40, dt)
            assert np.all(np.isfinite(values)), values
            assert np.all(np.abs(values) < 1e102)
            span = values.max() - values.min()  # what the chart's range arithmetic does
            assert np.isfinite(span * 1.2) and np.isfinite(values.max() * values.min())
    if kind == "random_walk":
        assert np.all(values > 0)


@pytest.mark.parametrize(
    ("kind", "name", "value"),
    [
        ("sine", "amplitude", 1e308),
        ("sine", "offset", -1.1e100),
        ("noise", "mean", 1e200),
        ("noise", "std", 1e101),
        ("random_walk", "start", 1e308),
        ("random_walk", "volatility", 1e308),
    ],
)
def test_values_beyond_the_bounds_are_refused(kind, name, value):
    cls = all_kinds()[kind]
    with pytest.raises(ParamError, match=f"{name} must be in") as info:
        validate_params(cls.params, {name: value}, kind)
    assert info.value.key == name


# ---- the text a form shows, and the types sources need (path, list of strings, table) ----

ARGV = Param("argv", strings, [], "the command")
ENV = Param("env", table, {}, "environment")
FILE = Param("path", path, "", "a file")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_the_shown_text_of_any_finite_float_reads_back_bit_for_bit(x):
    param = Param("x", float, 0.0, "any float")
    assert np.float64(param.from_text(param.to_text(x))).tobytes() == np.float64(x).tobytes()


@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_integers_are_shown_exactly(n):
    param = Param("n", int, 0, "any int")
    assert param.from_text(param.to_text(n)) == n


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=20), max_size=6))
def test_a_list_of_strings_reads_back_from_its_shell_words(words):
    assert ARGV.from_text(ARGV.to_text(words)) == words


TOML_VALUES = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cs",)), max_size=5), inner, max_size=3
        )
    ),
    max_leaves=8,
)


@given(st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
                       TOML_VALUES, max_size=4))  # fmt: skip
def test_a_table_reads_back_from_its_toml_inline_text(value):
    assert ENV.from_text(ENV.to_text(value)) == value


def test_list_and_table_values_are_checked_and_copied():
    assert validate_params((ARGV,), {"argv": ["echo", "hi"]}, "demo") == {"argv": ["echo", "hi"]}
    with pytest.raises(ParamError, match=r"argv must be a list of strings, got int 3 in it"):
        validate_params((ARGV,), {"argv": ["echo", 3]}, "demo")
    with pytest.raises(ParamError, match="env must be table"):
        validate_params((ENV,), {"env": "A=1"}, "demo")
    first, second = validate_params((ARGV,), {}, "d"), validate_params((ARGV,), {}, "d")
    first["argv"].append("x")
    assert second["argv"] == [] and ARGV.default == []


def test_bad_text_for_a_table_or_a_number_names_the_parameter():
    with pytest.raises(ParamError, match=r"env must be table, got '\{ a ='"):
        ENV.from_text("{ a = ")
    with pytest.raises(ParamError, match="rate_hz must be float"):
        RATE.from_text("fast")


def test_relative_paths_are_relative_to_the_session_folder(tmp_path):
    given = {"path": "scripts/mine.py"}
    resolved = resolve_paths((FILE, LABEL), {**given, "label": "a/b"}, str(tmp_path))
    assert resolved == {"path": str(tmp_path / "scripts" / "mine.py"), "label": "a/b"}
    assert resolve_paths((FILE,), {"path": "/abs/x.py"}, str(tmp_path)) == {"path": "/abs/x.py"}
    assert resolve_paths((FILE,), {"path": ""}, str(tmp_path)) == {"path": ""}


TARGET = Param("target", target, "", "function to call")


def test_a_target_is_a_file_or_a_module_then_a_function():
    for good in ("model.py:f", "sub/model.py:run_one", "~/m.py:f", "pkg.mod:Cls.method", "m:f"):
        assert validate_params((TARGET,), {"target": good}, "demo") == {"target": good}
    for bad, why in (
        ("model.py", "expected 'file.py:function'"),
        ("model.py:", "expected 'file.py:function'"),
        (":f", "expected 'file.py:function'"),
        ("model.py:1f", "is not a function name"),
        ("my module:f", "is neither a .py file nor a module name"),
    ):
        with pytest.raises(ParamError, match=f"^target: .*{why}") as caught:
            validate_params((TARGET,), {"target": bad}, "demo")
        assert caught.value.key == "target"
    with pytest.raises(ParamError, match=r"target must be file\.py:function or module:function"):
        validate_params((TARGET,), {"target": 3}, "demo")
    assert TARGET.from_text("  m.py:f ") == "m.py:f"


def test_a_targets_file_part_is_relative_to_the_session_folder(tmp_path):
    def resolved(value):
        return resolve_paths((TARGET,), {"target": value}, str(tmp_path))["target"]

    assert resolved("lib/model.py:f") == f"{tmp_path / 'lib' / 'model.py'}:f"
    assert resolved("./model.py:Cls.run") == f"{tmp_path / 'model.py'}:Cls.run"
    assert resolved("/abs/model.py:f") == "/abs/model.py:f"
    assert resolved("pkg.mod:f") == "pkg.mod:f"  # a module is found by import, not by path


def test_a_required_parameter_must_be_given():
    declared = (Param("target", target, "", "the function to call", required=True), COUNT)
    with pytest.raises(ParamError, match=r"^target is required for kind 'demo': the function") as e:
        validate_params(declared, {"count": 1}, "demo")
    assert e.value.key == "target"
    assert validate_params(declared, {"target": "m:f"}, "demo") == {"target": "m:f", "count": 3}


def test_a_params_own_check_runs_at_validation_and_names_the_parameter():
    def even(value):
        if value % 2:
            raise ValueError(f"must be even, got {value}")

    declared = (Param("n", int, 2, "an even number", check=even),)
    assert validate_params(declared, {"n": 4}, "demo") == {"n": 4}
    with pytest.raises(ParamError, match=r"^n: must be even, got 3$") as caught:
        validate_params(declared, {"n": 3}, "demo")
    assert caught.value.key == "n"
