"""Every session under examples/ is one a user can open as it is: it loads and validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.session import load_session

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.toml"))


def test_there_are_examples():
    assert {p.name for p in EXAMPLES} >= {"own_data.toml", "lab.toml", "fleet.toml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_an_example_session_loads(path):
    session = load_session(path)
    assert session.producers
