"""Series dragged from the series list onto a plot: their labels as MIME data."""

from __future__ import annotations

from PyQt5.QtCore import QMimeData

from app.core.store import SeriesKey
from app.core.view_layout import key_label, label_key

SERIES_MIME = "application/x-streamscope-series"


def series_mime(keys: list[SeriesKey]) -> QMimeData:
    """One label per line (also as text, so a drop into an editor names the series)."""
    data = QMimeData()
    text = "\n".join(key_label(k) for k in keys)
    data.setData(SERIES_MIME, text.encode("utf-8"))
    data.setText(text)
    return data


def series_from_mime(data: QMimeData) -> list[SeriesKey]:
    text = bytes(data.data(SERIES_MIME)).decode("utf-8", "replace")
    return [label_key(line) for line in text.splitlines() if line]
