"""The menu bar, export and the chart's own auto range, driven in a real window with real
producers: every action where automation finds it, exports that hold what the chart shows."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QImage, QKeySequence
from PyQt5.QtWidgets import QAction, QApplication, QFileDialog, QMessageBox, QTableWidget

from app.core.export import DATA_FORMATS
from app.core.recording.columns import SCHEMA
from tests.helpers import WAIT_MS, points_in_chart, producer, session_from, wait_state
from widgets.help_dialogs import menu_actions
from widgets.live_chart import PALETTE

pytestmark = pytest.mark.slow

SHORTCUTS = {
    "openSessionAction": "Ctrl+O",
    "saveSessionAction": "Ctrl+S",
    "saveSessionAsAction": "Ctrl+Shift+S",
    "exportImageAction": "Ctrl+E",
    "exportCsvAction": "Ctrl+Shift+E",
    "recordAction": "Ctrl+R",
    "quitAction": "Ctrl+Q",
    "followAction": "F",
    "autoRangeAction": "A",
    "pauseAction": "Space",
    "dropCursorAction": "C",
    "clearCursorsAction": "Esc",
    "fullScreenAction": "F11",
    "darkThemeAction": "",
    "eventLogAction": "Ctrl+L",
    "addPlotAction": "Ctrl+Shift+P",
    "addXYPlotAction": "Ctrl+Shift+X",
    "seriesListAction": "Ctrl+Shift+L",
    "addProducerAction": "Ctrl+Shift+N",
    "duplicateProducerAction": "Ctrl+D",
    "renameProducerAction": "F2",
    "removeProducerAction": "Delete",
    "statsAction": "Ctrl+T",
    "startAllAction": "",
    "stopAllAction": "",
    "shortcutsAction": "F1",
    "aboutAction": "",
}


def _idle_window(open_window):
    return open_window(session_from(producer("a", "sine", autostart=False)))


def _streamed(qtbot, open_window, **rates):
    """A window whose producers ran and stopped: the chart holds still for exports."""
    toml = "".join(producer(n, "sine", rate_hz=r, frequency_hz=1.3) for n, r in rates.items())
    window = open_window(session_from(toml))
    for name in rates:
        wait_state(qtbot, window, name, "RUNNING")
    qtbot.waitUntil(lambda: all(points_in_chart(window, n) > 50 for n in rates), timeout=WAIT_MS)
    window.findChild(QAction, "stopAllAction").trigger()
    for name in rates:
        wait_state(qtbot, window, name, "STOPPED")
    window.chart.redraw()
    return window


def _export(qtbot, window, method, path):
    with qtbot.waitSignal(window.export_finished, timeout=WAIT_MS) as blocker:
        method(str(path))
    assert blocker.args == [str(path), ""]


def test_every_action_is_in_the_menu_bar_with_its_shortcut(qtbot, open_window):
    window = _idle_window(open_window)
    in_menus = {a.objectName(): menu for menu, a in menu_actions(window.menuBar())}
    for name, keys in SHORTCUTS.items():
        action = window.findChild(QAction, name)
        assert action is not None, name
        assert name in in_menus, name
        assert action.shortcut() == QKeySequence(keys), (name, action.shortcut().toString())
        assert action.toolTip() and action.statusTip(), name
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "View", "Producers", "Help"]
    # the toolbar's actions are the same objects as the menu's: one state, one shortcut
    follow = window.findChild(QAction, "followAction")
    assert follow in window.toolbar.actions()
    assert in_menus["followAction"] == "View" and in_menus["recordAction"] == "File"
    assert in_menus["startAllAction"] == in_menus["stopAllAction"] == "Producers"


def test_full_screen_toggles(qtbot, open_window):
    window = _idle_window(open_window)
    action = window.findChild(QAction, "fullScreenAction")
    action.trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=WAIT_MS)
    assert action.isChecked()
    action.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=WAIT_MS)
    assert not action.isChecked()


def test_quit_stops_producers_and_closes(qtbot, open_window):
    window = open_window(session_from(producer("a", "sine", rate_hz=200.0)))
    wait_state(qtbot, window, "a", "RUNNING")
    with qtbot.waitSignal(window.shutdown_finished, timeout=WAIT_MS):
        window.findChild(QAction, "quitAction").trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert window.engine.view.drained  # the conftest guard: no producer process left


def test_help_dialogs_list_shortcuts_and_versions(qtbot, open_window):
    import numpy
    import pyqtgraph
    from PyQt5.QtCore import PYQT_VERSION_STR, QT_VERSION_STR

    window = _idle_window(open_window)
    window.findChild(QAction, "shortcutsAction").trigger()
    table = window.findChild(QTableWidget, "shortcutsTable")
    qtbot.waitUntil(lambda: table.isVisible(), timeout=WAIT_MS)
    rows = {table.item(r, 1).text(): table.item(r, 2).text() for r in range(table.rowCount())}
    assert rows["Quit"] == "Ctrl+Q" and rows["Full screen"] == "F11" and rows["Follow"] == "F"
    assert len(rows) == len(SHORTCUTS)
    table.window().close()
    window.findChild(QAction, "aboutAction").trigger()
    about = window.findChild(QMessageBox, "aboutDialog")
    text = about.text()
    assert about.textFormat() == Qt.PlainText
    for version in (QT_VERSION_STR, PYQT_VERSION_STR, pyqtgraph.__version__, numpy.__version__):
        assert version in text
    assert text.startswith("streamscope ")
    about.close()


def test_export_image_png_and_svg(qtbot, open_window, tmp_path):
    window = _streamed(qtbot, open_window, dense=20000.0)
    assert window.chart._strip.boundingRect().width() > 0  # the series is in the strip image
    png = tmp_path / "chart.png"
    _export(qtbot, window, window.export_image, png)
    image = QImage(str(png))
    ratio = window.chart.devicePixelRatioF()
    assert (image.width(), image.height()) == (
        round(window.chart.width() * ratio),
        round(window.chart.height() * ratio),
    )
    # the dense series is drawn by the strip image: its colour fills many pixels of the file
    rgb = image.convertToFormat(QImage.Format_RGB32)  # kept: constBits points into it
    pixels = np.frombuffer(rgb.constBits().asstring(rgb.sizeInBytes()), np.uint32) & 0xFFFFFF
    assert np.count_nonzero(pixels == int(PALETTE[0].lstrip("#"), 16)) > 200
    assert "exported the chart" in window.statusBar().currentMessage()

    svg = tmp_path / "chart.svg"
    _export(qtbot, window, window.export_image, svg)
    root = ET.parse(svg).getroot()
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert {"svg", "image", "path"} <= tags, tags  # the strip as an image, axes and grid as paths
    texts = [el.text for el in root.iter() if el.text and el.text.strip()]
    assert texts  # tick labels


def test_export_csv_holds_the_visible_samples_of_visible_series(qtbot, open_window, tmp_path):
    window = _streamed(qtbot, open_window, a=300.0, hidden=300.0)
    window.chart.curve(("hidden", "value")).setVisible(False)  # unticked in the legend
    t0, t1 = window.chart.visible_range()
    path = tmp_path / "visible.csv"
    _export(qtbot, window, window.export_csv, path)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["timestamp", "producer", "series", "value"]
    assert {r[1] for r in rows[1:]} == {"a"}
    raw = window.engine.store.buffer(("a", "value")).raw
    times, values = raw.held(0), raw.held(1)
    inside = (times >= t0) & (times <= t1)
    assert not raw.wrapped and inside.all()  # a short slow run: the whole run is in view
    assert len(rows) - 1 == inside.sum() == window.engine.counters.snapshot("a").samples
    assert [r[0] for r in rows[1:]] == [f"{t:.6f}" for t in times[inside]]
    assert np.array_equal(np.array([float(r[3]) for r in rows[1:]]), values[inside])
    message = window.statusBar().currentMessage()
    assert message == f"exported {len(rows) - 1:,} samples to {path}"


def _read_recording(path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    with pa.ipc.open_stream(path) as reader:
        return reader.read_all()


def test_export_data_writes_parquet_and_arrow_as_a_recording(qtbot, open_window, tmp_path):
    window = _streamed(qtbot, open_window, a=300.0, hidden=300.0)
    window.chart.curve(("hidden", "value")).setVisible(False)  # unticked in the legend
    t0, t1 = window.chart.visible_range()
    raw = window.engine.store.buffer(("a", "value")).raw
    times, values = raw.held(0), raw.held(1)
    inside = (times >= t0) & (times <= t1)
    assert not raw.wrapped and inside.all()  # a short slow run: the whole run is in view
    for name in ("visible.parquet", "visible.arrow"):
        path = tmp_path / name
        _export(qtbot, window, window.export_data, path)
        table = _read_recording(path)
        assert table.schema == SCHEMA  # what Record… writes, read back by pyarrow
        assert set(table.column("producer").to_pylist()) == {"a"}
        assert set(table.column("series").to_pylist()) == {"value"}
        assert table.num_rows == inside.sum() == window.engine.counters.snapshot("a").samples
        ns = table.column("timestamp").cast(pa.int64()).to_pylist()
        assert ns == [round(Fraction(t) * 10**9) for t in times[inside].tolist()]
        assert np.array_equal(table.column("value").to_numpy(), values[inside])
        assert window.statusBar().currentMessage() == (
            f"exported {table.num_rows:,} samples to {path}"
        )
    # export_csv keeps writing CSV, whatever the name
    path = tmp_path / "named.parquet"
    _export(qtbot, window, window.export_csv, path)
    assert path.read_bytes().startswith(b"timestamp,producer,series,value\n")


def test_the_export_dialog_offers_csv_parquet_and_arrow(qtbot, open_window, tmp_path):
    window = _idle_window(open_window)
    window.findChild(QAction, "exportCsvAction").trigger()
    dialog = window.findChild(QFileDialog, "exportCsvDialog")
    assert dialog.nameFilters() == list(DATA_FORMATS)
    assert any("*.parquet" in f for f in DATA_FORMATS) and any("*.arrow" in f for f in DATA_FORMATS)
    parquet = next(f for f in DATA_FORMATS if "*.parquet" in f)
    dialog.selectNameFilter(parquet)
    dialog.filterSelected.emit(parquet)
    assert dialog.defaultSuffix() == "parquet"
    path = tmp_path / "picked.parquet"
    with qtbot.waitSignal(window.export_finished, timeout=WAIT_MS) as blocker:
        dialog.fileSelected.emit(str(path))  # what choosing the file does
    assert blocker.args == [str(path), ""]
    assert pq.read_table(path).schema == SCHEMA  # nothing streamed yet: no rows, the columns
    dialog.close()


def test_export_data_refuses_a_name_of_no_known_format(qtbot, open_window, tmp_path):
    window = _idle_window(open_window)
    path = tmp_path / "samples.xlsx"
    with qtbot.waitSignal(window.export_finished, timeout=WAIT_MS) as blocker:
        window.export_data(str(path))
    assert "*.csv, *.parquet, *.arrows, *.arrow" in blocker.args[1]
    box = window.findChild(QMessageBox, "errorDialog")
    assert str(path) in box.text()
    assert not path.exists()
    box.close()


def test_export_csv_says_what_only_buckets_hold(qtbot, open_window, tmp_path):
    window = _streamed(qtbot, open_window, fast=20000.0)
    path = tmp_path / "fast.csv"
    _export(qtbot, window, window.export_csv, path)
    raw = window.engine.store.buffer(("fast", "value")).raw
    assert raw.wrapped  # the raw ring kept only the newest samples
    with open(path, newline="") as f:
        exported = sum(1 for _ in f) - 1
    t0, t1 = window.chart.visible_range()
    assert exported == np.count_nonzero((raw.held(0) >= t0) & (raw.held(0) <= t1)) > 0
    message = window.statusBar().currentMessage()
    assert message.startswith(f"exported {exported:,} samples to {path}; ")
    assert "full resolution only from" in message and "Record" in message


def test_export_to_a_missing_folder_shows_an_error(qtbot, open_window, tmp_path):
    window = _idle_window(open_window)
    path = tmp_path / "no such folder" / "x.csv"
    with qtbot.waitSignal(window.export_finished, timeout=WAIT_MS) as blocker:
        window.export_csv(str(path))
    assert "No such file or directory" in blocker.args[1]
    box = window.findChild(QMessageBox, "errorDialog")
    assert box.textFormat() == Qt.PlainText and str(path) in box.text()
    assert not path.exists()
    box.close()


@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")
def test_stock_auto_range_and_export_are_replaced_by_follow(qtbot, open_window):
    window = _idle_window(open_window)
    chart, item = window.chart, window.chart.getPlotItem()
    view = item.getViewBox()
    assert not item.autoBtn.isVisible() and item.buttonsHidden
    centre = chart.mapFromScene(view.sceneBoundingRect().center())
    qtbot.mouseClick(chart.viewport(), Qt.RightButton, pos=centre)  # the user's right click
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=WAIT_MS)
    menu = QApplication.activePopupWidget()
    texts = [a.text() for a in menu.actions()]
    menu.close()
    assert "Export..." not in texts
    assert window.findChild(QAction, "exportImageAction") in menu.actions()
    # "View All", an axis's Auto box, the A key: each means Follow
    for ask in (
        view.menu.viewAll.trigger,
        lambda: view.enableAutoRange(x=True),
        item.autoBtnClicked,
        lambda: window.findChild(QAction, "autoRangeAction").trigger(),
    ):
        chart.set_follow(False)
        view.setXRange(-100, -50)  # a pan's setRange turns auto range off: no follow
        assert not chart.following
        ask()
        assert chart.following
    chart.set_follow(False)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(chart, Qt.Key_A)
    assert chart.following
    assert not any(view.state["autoRange"])  # pyqtgraph's own auto range never turned on
