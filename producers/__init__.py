"""Producers: the code that runs in supervised child processes and generates samples. No Qt."""

from producers.base import Producer
from producers.params import Param, ParamError
from producers.registry import all_kinds, get_kind

__all__ = ["Param", "ParamError", "Producer", "all_kinds", "get_kind"]
