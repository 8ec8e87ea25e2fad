"""streamscope: a desktop dashboard for live data."""

__version__ = "0.1.0"
