"""app.core.producer_specs: the window's Add / Rename follow the session file's rules, in the
session file's words."""

from __future__ import annotations

import pytest

from app.core.producer_specs import SpecError, check_name, checked_spec, unique_name
from app.core.session import ProducerSpec, SessionError, parse_session
from tests.helpers import producer


def loader_says(toml: str) -> str:
    """What the session loader says about a file, without its `FILE:LINE: ` prefix."""
    with pytest.raises(SessionError) as caught:
        parse_session(toml, "s.toml")
    return caught.value.message


@pytest.mark.parametrize(
    ("spec", "toml", "field"),
    [
        (ProducerSpec("bad name", "sine"), producer("bad name", "sine"), "name"),
        (ProducerSpec("x" * 65, "sine"), producer("x" * 65, "sine"), "name"),
        (ProducerSpec("p", "no-such-kind"), producer("p", "no-such-kind"), "kind"),
        (
            ProducerSpec("p", "sine", {"rate_hz": -1.0}),
            producer("p", "sine", rate_hz=-1.0),
            "rate_hz",
        ),
        (
            ProducerSpec("p", "sine", {"bogus": 1}),
            producer("p", "sine", bogus=1),
            "bogus",
        ),
        (
            ProducerSpec("p", "sine", restart="sometimes"),
            producer("p", "sine", restart="sometimes"),
            "restart",
        ),
    ],
)
def test_a_broken_spec_reads_as_the_session_loader_says_it(spec, toml, field):
    with pytest.raises(SpecError) as caught:
        checked_spec(spec)
    assert str(caught.value) == loader_says(toml)
    assert caught.value.field == field


def test_a_taken_name_is_a_duplicate_as_in_a_file():
    with pytest.raises(SpecError) as caught:
        checked_spec(ProducerSpec("wave", "sine"), taken={"wave"})
    twice = producer("wave", "sine") + producer("wave", "noise")
    assert str(caught.value) == loader_says(twice) == "duplicate producer name 'wave'"


def test_a_good_spec_gets_its_defaults_as_from_a_file():
    spec = checked_spec(ProducerSpec("w", "sine", {"rate_hz": 5}), taken={"other"})
    from_file = parse_session(producer("w", "sine", restart="on-failure", rate_hz=5)).producers[0]
    assert spec.params == from_file.params and isinstance(spec.params["rate_hz"], float)


def test_check_name():
    assert check_name("a-b.c_9", taken={"x"}) == "a-b.c_9"
    for bad in ("", "a b", "a\n", "é", 7, None):
        with pytest.raises(SpecError, match="1-64 letters"):
            check_name(bad)


@pytest.mark.parametrize(
    ("wanted", "taken", "expected"),
    [
        ("sine", set(), "sine"),
        ("noise", {"noise"}, "noise-2"),
        ("noise", {"noise", "noise-2"}, "noise-3"),
        ("noise-2", {"noise", "noise-2"}, "noise-3"),  # not noise-2-2
        ("my kind!", set(), "my_kind_"),  # (a plugin's kind name may hold any character)
        ("my kind!", {"my_kind_"}, "my_kind_-2"),
        ("x" * 64, {"x" * 64}, "x" * 62 + "-2"),
        ("-5", {"-5"}, "producer-2"),
    ],
)
def test_unique_name(wanted, taken, expected):
    name = unique_name(wanted, taken)
    assert name == expected
    check_name(name, taken)
