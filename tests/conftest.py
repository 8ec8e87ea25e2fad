"""Suite-wide guards: every test must leave no child process and no running QThread behind."""

from __future__ import annotations

import os
import tempfile
import time
import weakref

import psutil
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["STREAMSCOPE_TEST_KINDS"] = "1"  # the `fail` kind, here and in every child
if "XDG_RUNTIME_DIR" not in os.environ:  # Qt warns without it, and warnings fail tests
    runtime = os.path.join(tempfile.gettempdir(), f"streamscope-runtime-{os.getuid()}")
    os.makedirs(runtime, mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = runtime

# QSettings (recent sessions, window geometry) go to a private folder, never the user's: here
# and in every child (tests that start the app as a process)
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="streamscope-test-config-")

CHILD_GRACE_S = 3.0


def _children() -> list[psutil.Process]:
    """Live descendants, except multiprocessing's resource tracker: spawn starts one per
    process, for the process's whole life, and it exits when this process does."""
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            if any("resource_tracker" in part for part in child.cmdline()):
                continue
            alive.append(child)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.fixture(autouse=True)
def no_child_process_left():
    """Fail a test that leaves a producer (or any child) running; kill it so others run clean."""
    yield
    deadline = time.monotonic() + CHILD_GRACE_S
    while (left := _children()) and time.monotonic() < deadline:
        time.sleep(0.05)  # not the GUI thread: the test is over, we only wait for reaping
    if left:
        described = [f"{p.pid} {' '.join(p.cmdline()[-2:])}" for p in left]
        for p in left:
            p.kill()
        pytest.fail(f"test left child processes running: {described}")


@pytest.fixture(autouse=True)
def no_qthread_left(request):
    """Fail a test that leaves a QThread running (it would abort the process at exit)."""
    started: list = []
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PyQt5.QtCore import QThread

    original = QThread.start

    def tracking_start(self, *args):
        started.append(weakref.ref(self))  # weak: a test may check that threads are freed
        return original(self, *args)

    QThread.start = tracking_start
    try:
        yield
    finally:
        QThread.start = original
    threads = [t for t in (ref() for ref in started) if t is not None]
    running = [t for t in threads if not _deleted(t) and t.isRunning()]
    for t in running:
        t.quit()
        t.wait(2000)
    assert not running, f"test left QThreads running: {running}"


def _deleted(obj) -> bool:
    from PyQt5 import sip

    return sip.isdeleted(obj)


@pytest.fixture
def open_window(qtbot):
    """Open MainWindows; at teardown close them and wait until producers and thread ended
    (pytest-qt's addWidget would delete a window whose consumer thread still runs)."""
    from PyQt5.QtCore import QSettings

    from app.main_window import MainWindow
    from tests.helpers import WAIT_MS

    # each test starts from the window's defaults, not from where an earlier test's window
    # left its docks and splitters (tests of that use `private_settings` and two windows)
    QSettings().remove("window")
    windows = []

    def make(session, policy=None):
        window = MainWindow(session)
        if policy is not None:
            window.engine.supervisor.policy = policy
        window.resize(1000, 700)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        if not window._closed:
            with qtbot.waitSignal(window.shutdown_finished, timeout=WAIT_MS):
                window.close()
        window.deleteLater()
    from widgets.app_palette import apply_to_application
    from widgets.theme import LIGHT

    apply_to_application(LIGHT)  # a window left dark must not make the next test's widgets dark


@pytest.fixture
def engines():
    """Make engines (app.core.engine.Engine) that are shut down, drained and closed at the end."""
    from app.core.engine import Engine
    from tests.helpers import drain_until

    made = []

    def make(session, **kwargs) -> Engine:
        engine = Engine(session, **kwargs)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.shutdown()
        drain_until(engine, lambda e=engine: e.view.drained)
        engine.close()


@pytest.fixture
def broker():
    """A real mosquitto on a free loopback port (see tests/mosquitto_broker.py), stopped after
    the test; `broker.stop()` / `broker.start()` restart it on the same port."""
    from tests import mosquitto_broker

    if not mosquitto_broker.available():
        pytest.skip("mosquitto is not installed (make test installs it)")
    made = mosquitto_broker.Broker()
    made.start()
    yield made
    made.close()


@pytest.fixture
def make_broker():
    """Brokers with options (users and passwords, a port), not started: call `.start()`."""
    from tests import mosquitto_broker

    if not mosquitto_broker.available():
        pytest.skip("mosquitto is not installed (make test installs it)")
    made = []

    def make(**kwargs):
        b = mosquitto_broker.Broker(**kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


@pytest.fixture
def private_settings(tmp_path, request):
    """QSettings in a temporary folder, under the test module's name: never the user's, nor
    another test's. Returns the folder."""
    from PyQt5.QtCore import QCoreApplication, QSettings

    old = (QCoreApplication.organizationName(), QCoreApplication.applicationName())
    folder = tmp_path / "settings"
    for fmt in (QSettings.IniFormat, QSettings.NativeFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(folder))
    QCoreApplication.setOrganizationName("streamscope-test")
    QCoreApplication.setApplicationName(request.module.__name__.rpartition(".")[2])
    yield folder
    QCoreApplication.setOrganizationName(old[0])
    QCoreApplication.setApplicationName(old[1])
