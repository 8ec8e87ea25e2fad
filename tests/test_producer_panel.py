"""widgets.producer_panel on its own, fed RowStatus values as the engine publishes them."""

from __future__ import annotations

import dataclasses
from collections import Counter

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor, QFontMetrics, QPalette
from PyQt5.QtWidgets import QLabel, QPushButton

from app.core.producer_rows import RowStatus
from app.core.supervisor import State
from widgets.producer_panel import (
    ACTIONS,
    COL,
    COLUMNS,
    STATE_COLORS,
    ProducerPanel,
    is_fixed_pitch,
)
from widgets.theme import LIGHT

NAMES = [f"p{i:02d}" for i in range(60)]


def row(name: str, **changes) -> RowStatus:
    base = RowStatus(
        name=name, kind="sine", state=State.RUNNING, state_text="RUNNING", pid="123",
        rate="100/s", total="1,000", dropped="0", last_value="0.5", uptime="0:10", error="",
        traceback="", can_start=False, can_stop=True, stalled=False, has_drops=False,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def make_panel(qtbot) -> ProducerPanel:
    panel = ProducerPanel()
    qtbot.addWidget(panel)
    # held until the test ends: a panel only the garbage collector holds can be collected
    # while one of its state labels paints (Python code), deleting the label under its painter
    qtbot.kept_panel = panel
    panel.set_producers([(n, "sine") for n in NAMES])
    panel.resize(900, 300)  # room for a handful of the 60 rows
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def text(panel: ProducerPanel, name: str, column: str) -> str:
    return panel.item(panel._rows[name], COL[column]).text()


def test_states_follow_on_every_row_figures_on_the_rows_in_sight(qtbot):
    panel = make_panel(qtbot)
    panel.update_rows(
        [row(n, state_text=f"RUNNING · {n}", total=f"{i}") for i, n in enumerate(NAMES)]
    )
    # every state label is current, in sight or not (automation reads them by name)
    assert all(panel.findChild(QLabel, f"stateLabel:{n}").text() == f"RUNNING · {n}" for n in NAMES)
    assert text(panel, NAMES[0], "Total") == "0"
    assert text(panel, NAMES[-1], "Total") == ""  # far out of sight: not written yet
    panel.scrollToBottom()  # scrolling brings the figures with it
    qtbot.waitUntil(lambda: text(panel, NAMES[-1], "Total") == str(len(NAMES) - 1), timeout=2000)


def test_buttons_follow_the_state_and_a_click_shows_at_once(qtbot):
    panel = make_panel(qtbot)
    name = NAMES[-1]
    start = panel.findChild(QPushButton, f"startButton:{name}")
    stop = panel.findChild(QPushButton, f"stopButton:{name}")
    panel.update_rows([row(n, state=State.STOPPED, state_text="STOPPED", can_start=True,
                           can_stop=False) for n in NAMES])  # fmt: skip
    assert start.isEnabled() and not stop.isEnabled()
    with qtbot.waitSignal(panel.start_requested) as blocker:
        start.click()
    assert blocker.args == [name]
    panel.mark_pending(name, "start")  # what the window does until the engine confirms
    assert not start.isEnabled() and stop.isEnabled()
    assert panel.findChild(QLabel, f"stateLabel:{name}").text() == "STARTING…"


def test_drops_are_red_and_the_error_has_its_traceback_on_hover(qtbot):
    panel = make_panel(qtbot)
    panel.update_rows([row(NAMES[0], dropped="12", has_drops=True, error="ValueError('x')",
                           traceback="Traceback ...")])  # fmt: skip
    item = panel.item(0, COL["Dropped"])
    assert item.text() == "12" and item.foreground().color().name() == LIGHT.warn
    assert panel.item(0, COL["Last error"]).toolTip() == "Traceback ..."
    tip = panel.findChild(QLabel, f"stateLabel:{NAMES[0]}").toolTip()
    assert tip == "RUNNING\n\nTraceback ..."  # the state first: the cell may show it elided


def test_double_click_asks_for_details(qtbot):
    panel = make_panel(qtbot)
    with qtbot.waitSignal(panel.details_requested) as blocker:
        panel.cellDoubleClicked.emit(3, 0)
    assert blocker.args == [NAMES[3]]


def test_the_state_word_is_coloured_by_state(qtbot):
    """(Inside a table a label's text follows the Text role unless told otherwise: it was
    drawn black whatever the state.)"""
    panel = make_panel(qtbot)
    panel.update_rows([row(NAMES[0])])
    label = panel.findChild(QLabel, f"stateLabel:{NAMES[0]}")
    image = label.grab().toImage()
    pixels = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
    assert sum(1 for c in pixels if c.green() - c.red() > 40) > 50  # RUNNING is green


def test_start_all_makes_stop_clickable_at_once_on_the_rows_it_starts(qtbot):
    """A Stop clicked right after Start all must be taken, not hit a button still disabled
    (the chaos storm found a producer running after its Stop: the click had been lost)."""
    panel = make_panel(qtbot)
    stopped, running = NAMES[0], NAMES[1]
    panel.update_rows([
        row(stopped, state=State.STOPPED, state_text="STOPPED", can_start=True, can_stop=False),
        row(running),
    ])  # fmt: skip
    panel.mark_all_pending("start")
    assert panel.findChild(QPushButton, f"stopButton:{stopped}").isEnabled()
    assert panel.findChild(QLabel, f"stateLabel:{stopped}").text() == "STARTING…"
    assert panel.findChild(QLabel, f"stateLabel:{running}").text() == "RUNNING"  # untouched
    panel.mark_all_pending("stop")
    for name in (stopped, running):
        assert not panel.findChild(QPushButton, f"stopButton:{name}").isEnabled()
    assert panel.findChild(QLabel, f"stateLabel:{running}").text() == "STOPPING…"


def test_a_producer_elsewhere_gets_a_row_when_first_heard_of_without_controls(qtbot):
    panel = make_panel(qtbot)
    remote = row("fleet:lab1/sine", state=State.UNKNOWN, state_text="UNKNOWN · publisher lost",
                 can_stop=False, remote=True)  # fmt: skip
    panel.update_rows([row(NAMES[0]), remote])
    assert panel.rowCount() == len(NAMES) + 1
    assert (
        panel.findChild(QLabel, "stateLabel:fleet:lab1/sine").text() == "UNKNOWN · publisher lost"
    )
    for kind in ("start", "stop", "configure"):
        assert not panel.findChild(QPushButton, f"{kind}Button:fleet:lab1/sine").isEnabled()
    panel.update_rows([row(NAMES[0]), remote])  # heard of again: still one row
    assert panel.rowCount() == len(NAMES) + 1


LONG = "RUNNING · " + "a status text much longer than any column should be, " * 6


def test_actions_come_first_and_stay_in_sight_at_2x_scale(qtbot):
    """At 2x, 1280x800 is a 640x400 window: the buttons were at the right, off screen."""
    panel = make_panel(qtbot)
    panel.resize(640, 400)
    panel.update_rows([row(n, state_text=LONG) for n in NAMES])
    assert panel.columnViewportPosition(ACTIONS) == 0 and COLUMNS[0] == ""
    viewport = panel.viewport()
    first, last = panel._visible_rows()
    for name in NAMES[first : last + 1]:
        for kind in ("start", "stop", "configure"):
            button = panel.findChild(QPushButton, f"{kind}Button:{name}")
            left = button.mapTo(viewport, button.rect().topLeft()).x()
            assert left >= 0 and left + button.width() <= viewport.width() // 2, (name, kind)
    assert panel.columnWidth(ACTIONS) < 250  # compact: as wide as the three texts


def test_figures_have_equal_width_digits_and_their_columns_do_not_move(qtbot):
    panel = make_panel(qtbot)
    item = panel.item(0, COL["Total"])
    assert is_fixed_pitch(item.font())
    metrics = QFontMetrics(item.font())
    assert len({metrics.horizontalAdvance(d) for d in "0123456789"}) == 1
    assert item.textAlignment() & Qt.AlignRight
    before = [panel.columnWidth(c) for c in range(len(COLUMNS))]
    panel.update_rows([row(NAMES[0], total="1", dropped="0", rate="1.0/s", pid="7")])
    panel.update_rows([row(NAMES[0], total="99,999,999,999", dropped="12,345,678,901",
                           rate="999.99 M/s", pid="4194304", uptime="999:59:59",
                           last_value="-1.23457e+308")])  # fmt: skip
    assert [panel.columnWidth(c) for c in range(len(COLUMNS))] == before
    for col in ("Total", "Dropped", "Samples/s", "PID", "Last value", "Uptime"):
        text = panel.item(0, COL[col]).text()
        assert metrics.horizontalAdvance(text) + 8 <= panel.columnWidth(COL[col]), col


def test_a_long_state_is_elided_within_its_column_and_does_not_widen_it_for_good(qtbot):
    panel = make_panel(qtbot)
    panel.update_rows([row(n) for n in NAMES])
    usual = panel.columnWidth(COL["State"])
    panel.update_rows([row(NAMES[0], state_text=LONG)])
    label = panel.state_label(NAMES[0])
    assert panel.columnWidth(COL["State"]) <= 0.4 * panel.viewport().width()
    assert label.text() == LONG and label.is_elided()  # shown elided; the text stays whole
    assert label.toolTip().startswith(LONG)
    panel.update_rows([row(NAMES[0])])  # the long text has gone: so has the width
    assert panel.columnWidth(COL["State"]) == usual
    panel.horizontalHeader().resizeSection(COL["State"], 500)  # the user's choice stays
    panel.update_rows([row(NAMES[0], state_text=LONG)])
    assert panel.columnWidth(COL["State"]) == 500
    qtbot.waitUntil(lambda: label.width() >= 490, timeout=2000)  # the elision follows
    assert label.is_elided()
    panel.update_rows([row(NAMES[0])])
    assert panel.columnWidth(COL["State"]) == 500


def _contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _background(panel: ProducerPanel, row_index: int) -> QColor:
    """The most common colour of the row's state cell, as drawn."""
    rect = panel.visualRect(panel.model().index(row_index, COL["State"]))
    image = panel.viewport().grab(rect).toImage()
    counts = Counter(image.pixel(x, y) for x in range(image.width()) for y in range(image.height()))
    return QColor.fromRgb(counts.most_common(1)[0][0])


def test_a_selected_row_keeps_its_state_colour_readable(qtbot):
    panel = make_panel(qtbot)
    panel.update_rows([row(n) for n in NAMES])
    green = STATE_COLORS[State.RUNNING]
    unselected = _contrast(green, _background(panel, 2))
    panel.selectRow(2)
    panel.setFocus()
    qtbot.waitUntil(lambda: _background(panel, 2) != _background(panel, 3), timeout=2000)
    selected = _contrast(green, _background(panel, 2))
    assert selected >= 0.8 * unselected, (selected, unselected)  # the full highlight: 1.2
    item = panel.item(2, COL["Name"])
    assert panel.palette().color(QPalette.HighlightedText) == panel.palette().color(QPalette.Text)
    assert item.isSelected()
