"""Producers: the code that runs in supervised child processes and generates samples. No Qt."""

from producers.base import Producer, all_kinds, get_kind
from producers.params import Param, ParamError

__all__ = ["Param", "ParamError", "Producer", "all_kinds", "get_kind"]
