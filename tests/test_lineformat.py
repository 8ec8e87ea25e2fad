"""producers.lineformat: text lines into samples, per format; bad lines counted, never raised."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers.lineformat import FORMATS, TIME_KEYS, LineParser, Parsed

NOW = 1_700_000_100.0
T = 1_700_000_000.0


def parse(fmt: str, lines: list[str], now: float = NOW, since: float | None = None, **kw):
    return LineParser(fmt, **kw).parse(lines, now, since)


def values(result: Parsed) -> dict[str, list[float]]:
    return {name: v.tolist() for name, (_, v) in result.series.items()}


def times(result: Parsed) -> dict[str, list[float]]:
    return {name: t.tolist() for name, (t, _) in result.series.items()}


def same(a: list[float], b: list[float]) -> bool:
    """Equal lists of floats, NaN equal to NaN."""
    return np.array_equal(np.array(a, dtype=float), np.array(b, dtype=float), equal_nan=True)


# -- the API ------------------------------------------------------------------------------


def test_public_names():
    assert FORMATS == ("auto", "number", "kv", "csv", "json")
    assert TIME_KEYS == ("timestamp", "time", "t")


def test_unknown_format_is_a_value_error():
    with pytest.raises(ValueError, match="xml"):
        LineParser("xml")


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_lines_give_an_empty_result(fmt):
    got = parse(fmt, [])
    assert (got.series, got.lines, got.bad, got.bad_examples, got.headers) == ({}, 0, 0, [], 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_blank_and_comment_lines_are_skipped_not_bad(fmt):
    got = parse(fmt, ["", "   ", "\t", "# a comment", "  #another", "#1,2"])
    assert (got.lines, got.bad, got.series) == (0, 0, {})


def test_series_arrays_are_float64_of_equal_length():
    got = parse("kv", ["a=1 b=2", "a=3"])
    for t, v in got.series.values():
        assert t.dtype == np.float64 and v.dtype == np.float64
        assert t.shape == v.shape
    assert values(got) == {"a": [1.0, 3.0], "b": [2.0]}


def test_prefix_goes_before_every_series_name():
    assert values(parse("number", ["1 2"], prefix="host/")) == {"host/v0": [1.0], "host/v1": [2.0]}
    assert values(parse("json", ['{"a": {"b": 1}}'], prefix="p.")) == {"p.a/b": [1.0]}


# -- receipt times -------------------------------------------------------------------------


def test_untimed_lines_all_get_now_when_since_is_none():
    got = parse("number", ["1", "2", "3"], now=NOW)
    assert times(got) == {"value": [NOW, NOW, NOW]}


def test_untimed_lines_are_spread_evenly_up_to_now_after_since():
    got = parse("number", ["1", "2", "3", "4"], now=NOW, since=NOW - 0.04)
    t = times(got)["value"]
    assert t[-1] == NOW
    assert t == pytest.approx([NOW - 0.03, NOW - 0.02, NOW - 0.01, NOW], abs=1e-6)


def test_a_burst_after_a_long_silence_is_spread_over_at_most_a_tenth_of_a_second():
    got = parse("number", ["1", "2"], now=NOW, since=NOW - 60)
    assert times(got)["value"] == pytest.approx([NOW - 0.05, NOW], abs=1e-6)


def test_since_at_or_after_now_stamps_everything_now():
    assert times(parse("number", ["1", "2"], now=NOW, since=NOW))["value"] == [NOW, NOW]
    assert times(parse("number", ["1", "2"], now=NOW, since=NOW + 5))["value"] == [NOW, NOW]


def test_the_values_of_one_line_share_its_time():
    got = parse("number", ["1 2", "3 4"], now=NOW, since=NOW - 1)
    assert times(got)["v0"] == times(got)["v1"] == pytest.approx([NOW - 0.05, NOW], abs=1e-6)


def test_only_untimed_lines_are_spread_timed_ones_keep_their_time():
    got = parse("kv", ["a=1", f"t={T} a=2", "a=3"], now=NOW, since=NOW - 1)
    assert times(got)["a"] == pytest.approx([NOW - 0.05, T, NOW], abs=1e-6)
    assert values(got)["a"] == [1.0, 2.0, 3.0]


def test_untimed_lines_are_spread_across_series_in_line_order():
    got = parse("kv", ["a=1", "b=1", "a=2", "b=2"], now=NOW, since=NOW - 1)
    assert times(got)["a"] == pytest.approx([NOW - 0.075, NOW - 0.025], abs=1e-6)
    assert times(got)["b"] == pytest.approx([NOW - 0.05, NOW], abs=1e-6)


# -- bad lines and their examples ------------------------------------------------------------


def test_bad_examples_are_the_last_five_with_a_reason():
    got = parse("number", ["1", "abc", "2", "x1", "x2", "x3", "x4", "x5", "3"])
    assert got.bad == 6
    assert got.bad_examples == [f"not a number: 'x{i}'" for i in range(1, 6)]
    assert values(got) == {"value": [1.0, 2.0, 3.0]}


def test_bad_examples_are_short_and_printable():
    nasty = ["\x00\x01 nul", "\udc80 surrogate", "é" * 10_000, "a\u2028b", "z" * 1_000_000]
    got = parse("number", nasty)
    assert got.bad == 5
    for example in got.bad_examples:
        assert len(example) <= 120
        assert example.isprintable()
        assert example.startswith("not a number: ")
    assert "\\x00" in got.bad_examples[0]
    assert "\\udc80" in got.bad_examples[1]


# -- number --------------------------------------------------------------------------------


def test_number_one_per_line_is_value():
    assert values(parse("number", ["21.5", "-3", "+4e2"])) == {"value": [21.5, -3.0, 400.0]}


@pytest.mark.parametrize(
    "line",
    ["1 2 3", "1,2,3", "1;2;3", "1\t2\t3", "1, 2; 3", " 1 ,\t2 ;  3 ", "1,2,3,", "1 2 3;", "1,2 3"],
)
def test_number_separators(line):
    assert values(parse("number", [line])) == {"v0": [1.0], "v1": [2.0], "v2": [3.0]}


@pytest.mark.parametrize("line", ["1,,2", ",1,2", "1, ,2", "1;;2", "1,2,,", ",", "1;,2"])
def test_number_empty_field_is_bad(line):
    got = parse("number", [line])
    assert (got.bad, got.series) == (1, {})
    assert got.bad_examples[0].startswith("empty field: ")


def test_number_nan_inf_and_huge_exponents_are_numbers():
    got = parse("number", ["nan", "inf", "-Infinity", "1e999", "NaN"])
    assert got.bad == 0
    assert same(values(got)["value"], [math.nan, math.inf, -math.inf, math.inf, math.nan])


@pytest.mark.parametrize("line", ["1_000", "1 2_0", "abc", "1 2 x", "0x10", "1.5.2", "1e", "[1]"])
def test_number_non_numbers_make_the_line_bad(line):
    got = parse("number", ["7", line, "8"])
    assert got.bad == 1
    assert got.lines == 3
    assert values(got) == {"value": [7.0, 8.0]}
    assert got.bad_examples == [f"not a number: {line!r}"]


def test_number_lines_of_different_widths_give_separate_series():
    got = parse("number", ["1", "2 3", "4", "5 6 7"])
    assert values(got) == {"value": [1.0, 4.0], "v0": [2.0, 5.0], "v1": [3.0, 6.0], "v2": [7.0]}
    assert times(got)["value"] == [NOW, NOW]


def test_number_more_than_1024_values_is_bad():
    ok, too_many = " ".join(["1"] * 1024), " ".join(["1"] * 1025)
    got = parse("number", [ok, too_many])
    assert (got.bad, len(got.series)) == (1, 1024)
    assert got.bad_examples[0].startswith("more than 1024 values")


def test_number_batch_path_and_line_path_agree():
    lines = ["1 2", "3,4", "", "5;6;", "  7\t8 "]
    batch = LineParser("number")
    single = LineParser("number")
    single._batch = False
    a, b = batch.parse(lines, NOW), single.parse(lines, NOW)
    assert values(a) == values(b) == {"v0": [1.0, 3.0, 5.0, 7.0], "v1": [2.0, 4.0, 6.0, 8.0]}
    assert (a.lines, a.bad) == (b.lines, b.bad) == (4, 0)


def test_number_batch_with_bad_lines_of_the_same_width_matches_the_line_path():
    lines = ["1 2", "3 x", "", "5 6", "y 8", "9,10", "nan inf"]
    batch = LineParser("number")
    single = LineParser("number")
    single._batch = False
    a, b = batch.parse(lines, NOW, since=NOW - 1), single.parse(lines, NOW, since=NOW - 1)
    assert_same_series(a.series, b.series)
    assert same(values(a)["v0"], [1.0, 5.0, 9.0, math.nan])
    assert values(a)["v1"] == [2.0, 6.0, 10.0, math.inf]
    assert (a.lines, a.bad, a.bad_examples) == (b.lines, b.bad, b.bad_examples)
    assert a.bad_examples == ["not a number: '3 x'", "not a number: 'y 8'"]


# -- kv ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "temp=21.5 hum=40",
        "temp:21.5, hum:40",
        "temp: 21.5, hum: 40",
        "temp = 21.5; hum = 40",
        "temp=21.5\thum=40",
        "temp=21.5,hum=40",
        "sensor1 temp=21.5 hum=40 ok",
        "[INFO] temp: 21.5  hum:40",
    ],
)
def test_kv_pairs(line):
    assert values(parse("kv", [line])) == {"temp": [21.5], "hum": [40.0]}


def test_kv_a_pair_that_is_not_a_number_is_skipped_without_counting():
    got = parse("kv", ["temp=abc hum=40", "state=ok temp=1", "x=1_000 y=2"])
    assert got.bad == 0
    assert values(got) == {"hum": [40.0], "temp": [1.0], "y": [2.0]}


@pytest.mark.parametrize("line", ["temp=abc", "hello world", "=5", "a= b=", "x=1_0"])
def test_kv_a_line_where_no_pair_parses_is_bad(line):
    got = parse("kv", [line])
    assert (got.lines, got.bad, got.series) == (1, 1, {})
    assert got.bad_examples == [f"no key=value pair with a number: {line!r}"]


@pytest.mark.parametrize("key", TIME_KEYS)
def test_kv_time_key_is_the_time_not_a_series(key):
    got = parse("kv", [f"{key}={T + 0.5} temp=3 hum=4", f"temp=5 {key}:{T + 1.5}"])
    assert values(got) == {"temp": [3.0, 5.0], "hum": [4.0]}
    assert times(got) == {"temp": [T + 0.5, T + 1.5], "hum": [T + 0.5]}


def test_kv_times_are_kept_in_input_order_even_if_not_ascending():
    got = parse("kv", [f"t={T + 2} a=1", f"t={T + 1} a=2"])
    assert times(got)["a"] == [T + 2, T + 1]


def test_kv_the_first_finite_time_key_is_the_time_the_others_are_dropped():
    got = parse("kv", [f"t=nan time={T} timestamp={T + 1} a=1"])
    assert values(got) == {"a": [1.0]}
    assert times(got) == {"a": [T]}


def test_json_the_first_finite_time_key_is_the_time_the_others_are_dropped():
    got = parse("json", [f'{{"time": {T}, "t": {T + 1}, "a": 1}}'])
    assert times(got) == {"a": [T]}


def test_kv_a_line_with_only_a_time_is_bad():
    got = parse("kv", [f"t={T}"])
    assert (got.bad, got.series) == (1, {})


def test_kv_a_time_that_is_not_a_finite_number_is_ignored():
    got = parse("kv", ["t=abc a=1", "t=nan b=2", "t=inf c=3"], now=NOW)
    assert got.bad == 0
    assert times(got) == {"a": [NOW], "b": [NOW], "c": [NOW]}


def test_kv_a_key_given_twice_keeps_the_last_value():
    assert values(parse("kv", ["a=1 a=2 b=3"])) == {"a": [2.0], "b": [3.0]}


def test_kv_nan_and_inf_values_are_numbers():
    got = parse("kv", ["a=nan b=-inf"])
    assert same(values(got)["a"], [math.nan]) and values(got)["b"] == [-math.inf]


# -- csv -----------------------------------------------------------------------------------


def test_csv_header_then_rows():
    got = parse("csv", [" temp , hum ", "21.5,40", "22, 41 "])
    assert values(got) == {"temp": [21.5, 22.0], "hum": [40.0, 41.0]}
    assert (got.lines, got.headers, got.bad) == (3, 1, 0)


def test_csv_quoted_names_and_cells():
    got = parse("csv", ['"temp, C", "hum"', '"21.5",40'])
    assert values(got) == {"temp, C": [21.5], "hum": [40.0]}


def test_csv_single_column():
    assert values(parse("csv", ["temp", "1", "2"])) == {"temp": [1.0, 2.0]}


def test_csv_rows_before_a_header_are_bad():
    got = parse("csv", ["1,2", "a,b", "3,4"])
    assert got.bad == 1
    assert got.bad_examples == ["row before any CSV header: '1,2'"]
    assert values(got) == {"a": [3.0], "b": [4.0]}


def test_csv_wrong_field_count_is_bad():
    got = parse("csv", ["a,b,c", "1,2", "1,2,3,4", "5,6,7"])
    assert got.bad == 2
    assert got.bad_examples == [
        "expected 3 fields, got 2: '1,2'",
        "expected 3 fields, got 4: '1,2,3,4'",
    ]
    assert values(got) == {"a": [5.0], "b": [6.0], "c": [7.0]}


def test_csv_empty_cell_gives_that_column_no_sample():
    got = parse("csv", ["a,b,c", "1,,3", ",2, ", "4,5,6"], now=NOW)
    assert got.bad == 0
    assert values(got) == {"a": [1.0, 4.0], "b": [2.0, 5.0], "c": [3.0, 6.0]}


def test_csv_a_row_of_empty_cells_is_bad():
    got = parse("csv", ["a,b", " , "])
    assert (got.bad, got.series) == (1, {})


def test_csv_a_non_numeric_cell_makes_the_row_bad():
    got = parse("csv", ["a,b", "1,x", "1,1_0", "2,3"])
    assert got.bad == 2
    assert got.bad_examples[0] == "not a number: '1,x'"
    assert values(got) == {"a": [2.0], "b": [3.0]}


@pytest.mark.parametrize("key", TIME_KEYS)
def test_csv_time_column(key):
    got = parse("csv", [f"a,{key},b", f"1,{T},2", f"3,{T + 1},", "5,,6"], now=NOW)
    assert values(got) == {"a": [1.0, 3.0, 5.0], "b": [2.0, 6.0]}
    assert times(got) == {"a": [T, T + 1, NOW], "b": [T, NOW]}


def test_csv_a_time_that_is_not_finite_makes_the_row_bad():
    got = parse("csv", ["t,a", "inf,1", "nan,2", f"{T},3"])
    assert got.bad == 2
    assert values(got) == {"a": [3.0]}


def test_csv_a_row_with_only_a_time_is_bad():
    got = parse("csv", ["t,a", f"{T},"])
    assert (got.bad, got.series) == (1, {})


def test_csv_a_repeated_header_is_a_new_header_not_bad():
    got = parse("csv", ["a,b", "1,2", "a,b", "3,4", "c,d", "5,6"])
    assert (got.bad, got.headers, got.lines) == (0, 3, 6)
    assert values(got) == {"a": [1.0, 3.0], "b": [2.0, 4.0], "c": [5.0], "d": [6.0]}


def test_csv_a_header_like_line_of_another_width_is_bad():
    got = parse("csv", ["a,b", "x,y,z", "1,2"])
    assert (got.bad, got.headers) == (1, 1)
    assert values(got) == {"a": [1.0], "b": [2.0]}


def test_csv_header_is_kept_between_calls():
    parser = LineParser("csv")
    assert parser.parse(["a,b"], NOW).headers == 1
    assert values(parser.parse(["1,2"], NOW)) == {"a": [1.0], "b": [2.0]}


def test_csv_header_with_an_empty_name_is_bad():
    got = parse("csv", ["a,,b", "1,2,3"])
    assert got.bad == 2
    assert got.bad_examples[0] == "empty column name: 'a,,b'"


def test_csv_malformed_quoting_is_bad():
    got = parse("csv", ["a,b", '"1\x00",2'])
    assert got.bad == 1


# -- json ----------------------------------------------------------------------------------


def test_json_the_typical_line():
    got = parse("json", ['{"t": 1700000000.5, "a": {"x": 1.5, "y": 2}, "ok": true}'])
    assert values(got) == {"a/x": [1.5], "a/y": [2.0], "ok": [1.0]}
    assert times(got) == {"a/x": [T + 0.5], "a/y": [T + 0.5], "ok": [T + 0.5]}


def test_json_flattening_like_plotjuggler():
    line = (
        '{"a": {"b": {"c": 1}}, "v": [1, 2], "p": [{"x": 3}, {"x": 4}], "m": [[5, 6]], "f": false}'
    )
    assert values(parse("json", [line])) == {
        "a/b/c": [1.0],
        "v[0]": [1.0],
        "v[1]": [2.0],
        "p[0]/x": [3.0],
        "p[1]/x": [4.0],
        "m[0][0]": [5.0],
        "m[0][1]": [6.0],
        "f": [0.0],
    }


def test_json_null_and_strings_are_skipped_even_numeric_strings():
    got = parse("json", ['{"a": 1, "n": null, "s": "text", "q": "1.5", "l": ["2", null, 3]}'])
    assert values(got) == {"a": [1.0], "l[2]": [3.0]}
    assert got.bad == 0


@pytest.mark.parametrize("key", TIME_KEYS)
def test_json_top_level_time_key(key):
    got = parse("json", [f'{{"{key}": {T}, "a": 1, "sub": {{"{key}": 7}}}}'])
    assert values(got) == {"a": [1.0], f"sub/{key}": [7.0]}
    assert times(got)["a"] == [T]


def test_json_a_time_that_is_not_a_number_is_ignored():
    got = parse("json", ['{"time": "2024-01-01T00:00:00", "a": 1}', '{"t": NaN, "b": 2}'], now=NOW)
    assert got.bad == 0
    assert times(got) == {"a": [NOW], "b": [NOW]}


@pytest.mark.parametrize(("line", "expected"), [("5", 5.0), ("-2.5e3", -2500.0), ("true", 1.0)])
def test_json_top_level_scalar_is_value(line, expected):
    assert values(parse("json", [line])) == {"value": [expected]}


def test_json_top_level_array_of_objects_is_several_messages():
    line = f'[{{"t": {T}, "a": 1}}, {{"t": {T + 1}, "a": 2, "b": 3}}]'
    got = parse("json", [line])
    assert values(got) == {"a": [1.0, 2.0], "b": [3.0]}
    assert times(got) == {"a": [T, T + 1], "b": [T + 1]}
    assert (got.lines, got.bad) == (1, 0)


def test_json_untimed_messages_of_one_array_are_stamped_apart():
    got = parse("json", ['[{"a": 1}, {"a": 2}]'], now=NOW, since=NOW - 1)
    assert times(got)["a"] == pytest.approx([NOW - 0.05, NOW], abs=1e-6)


def test_json_top_level_array_of_numbers_is_flattened_under_value():
    assert values(parse("json", ["[1, 2]"])) == {"value[0]": [1.0], "value[1]": [2.0]}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{bad", "not valid JSON"),
        ("", None),  # blank: skipped
        ('"text"', "no number in JSON"),
        ("null", "no number in JSON"),
        ("{}", "no number in JSON"),
        ("[]", "no number in JSON"),
        ('{"a": "x", "b": null}', "no number in JSON"),
        (f'{{"t": {T}}}', "no number in JSON"),
        ('{"": 1}', "empty name in JSON"),
        ('{"a": {"  ": 1}}', "empty name in JSON"),
        ('{"a": 1} {"b": 2}', "not valid JSON"),
    ],
)
def test_json_bad_lines(line, reason):
    got = parse("json", [line])
    if reason is None:
        assert (got.lines, got.bad) == (0, 0)
        return
    assert (got.lines, got.bad, got.series) == (1, 1, {})
    assert got.bad_examples[0].startswith(reason + ": ")


def test_json_names_are_stripped():
    assert values(parse("json", ['{" a ": {" b": 1}}'])) == {"a/b": [1.0]}


def test_json_nesting_up_to_32_levels_and_no_deeper():
    def nested(levels: int) -> str:
        return '{"a":' * levels + "1" + "}" * levels

    got = parse("json", [nested(32), nested(33), "[" * 32 + "1" + "]" * 32, "[" * 33 + "]" * 33])
    assert got.bad == 2
    assert list(values(got)) == ["/".join(["a"] * 32), "value" + "[0]" * 32]
    assert got.bad_examples[0].startswith("JSON nested deeper than 32 levels")


def test_json_very_deep_nesting_is_bad_not_a_recursion_error():
    got = parse("json", ["[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000])
    assert (got.lines, got.bad) == (2, 2)


def test_json_more_than_1024_values_is_bad():
    ok = "{" + ", ".join(f'"k{i}": {i}' for i in range(1024)) + "}"
    too_many = "[" + ",".join(["1"] * 1025) + "]"
    nested_too_many = '{"a": [' + ",".join(["1"] * 600) + '], "b": [' + ",".join(["1"] * 600) + "]}"
    got = parse("json", [ok, too_many, nested_too_many])
    assert (got.bad, len(got.series)) == (2, 1024)
    assert all(e.startswith("more than 1024 values") for e in got.bad_examples)


def test_json_nan_infinity_and_huge_numbers_are_accepted():
    got = parse("json", ['{"a": NaN, "b": Infinity, "c": 1e999, "d": 1' + "0" * 400 + "}"])
    assert got.bad == 0
    assert same([v[0] for v in values(got).values()], [math.nan, math.inf, math.inf, math.inf])


def test_json_lone_surrogates_do_not_break_a_line():
    assert values(parse("json", ['{"a": 1, "s": "\udc80"}'])) == {"a": [1.0]}


def test_json_duplicate_key_keeps_the_last_value():
    assert values(parse("json", ['{"a": 1, "a": 2}'])) == {"a": [2.0]}


# -- auto ----------------------------------------------------------------------------------


def test_auto_decides_per_line():
    lines = ["1.5", "1 2", "temp=3", "hum: 4", '{"j": {"k": 5}}', "[6]", "junk"]
    got = parse("auto", lines)
    assert values(got) == {
        "value": [1.5],
        "v0": [1.0],
        "v1": [2.0],
        "temp": [3.0],
        "hum": [4.0],
        "j/k": [5.0],
        "value[0]": [6.0],
    }
    assert got.bad == 1
    assert got.bad_examples == ["not a number, key=value, JSON or CSV: 'junk'"]


def test_auto_comma_numbers_are_number_until_a_header_arrives():
    got = parse("auto", ["1,2,3", "x, y, z", "4,5,6", "7,,9", "1,2"])
    assert values(got) == {
        "v0": [1.0, 1.0],
        "v1": [2.0, 2.0],
        "v2": [3.0],
        "x": [4.0, 7.0],
        "y": [5.0],
        "z": [6.0, 9.0],
    }
    assert (got.headers, got.bad) == (1, 0)


def test_auto_header_with_a_time_column():
    got = parse("auto", ["time,a", f"{T},1"])
    assert times(got) == {"a": [T]}


def test_auto_a_header_of_the_same_width_replaces_the_header():
    got = parse("auto", ["a,b", "1,2", "c,d", "3,4"])
    assert values(got) == {"a": [1.0], "b": [2.0], "c": [3.0], "d": [4.0]}
    assert got.headers == 2


def test_auto_a_header_of_another_width_while_one_is_in_use_is_bad():
    got = parse("auto", ["a,b", "x,y,z", "1,2"])
    assert (got.headers, got.bad) == (1, 1)
    assert values(got) == {"a": [1.0], "b": [2.0]}


def test_auto_a_single_word_is_not_a_header():
    got = parse("auto", ["hello", "1,2"])
    assert got.bad == 1
    assert values(got) == {"v0": [1.0], "v1": [2.0]}


def test_auto_a_bracketed_log_prefix_is_not_json():
    got = parse("auto", ["[12:00:01] temp=21.5", "[INFO] hum: 40", "[oops"])
    assert values(got) == {"temp": [21.5], "hum": [40.0]}
    assert got.bad == 1
    assert got.bad_examples[0].startswith("not valid JSON")


def test_auto_an_invalid_object_stays_bad_json():
    got = parse("auto", ['{"a": 1, "b": 2'])
    assert (got.bad, got.series) == (1, {})
    assert got.bad_examples[0].startswith("not valid JSON")


# -- nothing escapes -----------------------------------------------------------------------

NASTY = [
    "\x00",
    "1\x002",
    "\udc80\udfff",
    "\ud800",
    "{" * 200_000,
    "[" * 200_000,
    '{"a":' * 2000,
    "1e999",
    "-1e999 1e-999",
    "9" * 5000,
    "x" * 1_000_000,
    "1 " * 300_000,
    "a=1 " * 2000,
    ",".join(["n"] * 5000),
    "=" * 100,
    ":::",
    '"',
    '"a',
    "\r\n",
    "\n1\n",
    "t=1e999 a=1",
    '{"t": 1e999, "a": 1}',
    "\u2028\u2029\x85",
    "#",
    "[[[]]]",
    '{"a": [' + "[" * 40 + "]" * 40 + "]}",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_nasty_input_is_parsed_or_counted_never_raised(fmt):
    parser = LineParser(fmt)
    for lines in (NASTY, ["a,b", *NASTY], [*NASTY, "1"]):
        got = parser.parse(lines, NOW, since=NOW - 1)
        assert got.lines == sum(1 for s in map(str.strip, lines) if s and s[0] != "#")
        assert 0 <= got.bad + got.headers <= got.lines
        assert len(got.bad_examples) <= 5
        for t, v in got.series.values():
            assert np.isfinite(t).all()
            assert len(t) == len(v)


# -- properties ----------------------------------------------------------------------------

TOKENS = st.sampled_from(
    [
        "1", "-2.5", "3e2", "nan", "inf", "1e999", "1_0", "abc", "x", "t", "time",
        "=", ":", ",", ";", " ", "\t", "{", "}", "[", "]", '"', "#", "\x00", "\udc80", "é",
        "a=1", "b:2", f"t={T}", "k = 3", "x,y", "1,2", "1,,2", ",", "\r", "\n",
        '{"a": 1}', '{"t": 5, "v": [1, true, null, {"w": 2}]}', '[{"a":1},{"b":2}]',
        '{"": 1}', "[1, [2]]", '"s"', "null", "true", "NaN",
    ]
)  # fmt: skip
LINES = st.lists(
    st.one_of(
        st.lists(TOKENS, max_size=8).map("".join),
        st.text(alphabet=st.characters(exclude_categories=()), max_size=20),
    ),
    max_size=25,
)


def assert_same_series(a: dict, b: dict) -> None:
    assert list(a) == list(b) or sorted(a) == sorted(b)
    for name in a:
        assert same(a[name][0].tolist(), b[name][0].tolist()), name
        assert same(a[name][1].tolist(), b[name][1].tolist()), name


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(fmt=st.sampled_from(FORMATS), lines=LINES)
def test_every_line_gives_samples_or_is_bad_or_a_header_and_batching_does_not_matter(fmt, lines):
    whole, one_by_one, no_batch = LineParser(fmt), LineParser(fmt), LineParser(fmt)
    no_batch._batch = False
    got = whole.parse(lines, NOW)
    assert_same_series(got.series, no_batch.parse(lines, NOW).series)

    expected_lines = sum(1 for s in map(str.strip, lines) if s and s[0] != "#")
    assert got.lines == expected_lines
    good = bad = headers = 0
    merged: dict[str, list[list[float]]] = {}
    for line in lines:
        alone = one_by_one.parse([line], NOW)
        outcomes = [alone.bad == 1, alone.headers == 1, bool(alone.series)]
        if alone.lines == 0:
            assert outcomes == [False, False, False]
            continue
        assert alone.lines == 1
        assert outcomes.count(True) == 1, (line, alone)
        good += outcomes[2]
        bad += alone.bad
        headers += alone.headers
        for name, (t, v) in alone.series.items():
            merged.setdefault(name, [[], []])
            merged[name][0] += t.tolist()
            merged[name][1] += v.tolist()
    assert (got.bad, got.headers) == (bad, headers)
    assert got.bad + got.headers + good == got.lines
    assert sorted(got.series) == sorted(merged)
    for name, (t, v) in got.series.items():
        assert same(t.tolist(), merged[name][0])
        assert same(v.tolist(), merged[name][1])
        assert np.isfinite(t).all()
    assert len(got.bad_examples) == min(5, got.bad)
    assert all(len(e) <= 120 and e.isprintable() for e in got.bad_examples)


@settings(max_examples=100, deadline=None, database=None)
@given(
    rows=st.lists(st.lists(st.one_of(st.floats(width=64), st.none()), min_size=3, max_size=3)),
    with_time=st.booleans(),
)
def test_csv_rows_round_trip(rows, with_time):
    header = ["time", "a", "b"] if with_time else ["x", "a", "b"]
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join("" if v is None else repr(v) for v in row))
    got = parse("csv", lines, now=NOW)
    expect: dict[str, list[float]] = {}
    for row in rows:
        time_ok = not with_time or row[0] is None or math.isfinite(row[0])
        cells = dict(zip(header, row, strict=True))
        if with_time:
            cells.pop("time")
        present = {k: v for k, v in cells.items() if v is not None}
        if time_ok and present:
            for k, v in present.items():
                expect.setdefault(k, []).append(v)
    assert sorted(values(got)) == sorted(expect)
    for name, v in expect.items():
        assert same(values(got)[name], v)


@settings(max_examples=100, deadline=None, database=None)
@given(
    rows=st.lists(st.lists(st.floats(width=64), min_size=1, max_size=4), min_size=1, max_size=30),
    sep=st.sampled_from([" ", ",", ";", "\t", ", "]),
)
def test_number_rows_round_trip(rows, sep):
    got = parse("number", [sep.join(repr(v) for v in row) for row in rows])
    assert got.bad == 0
    expect: dict[str, list[float]] = {}
    for row in rows:
        names = ["value"] if len(row) == 1 else [f"v{i}" for i in range(len(row))]
        for name, v in zip(names, row, strict=True):
            expect.setdefault(name, []).append(v)
    assert sorted(values(got)) == sorted(expect)
    for name, v in expect.items():
        assert same(values(got)[name], v)
