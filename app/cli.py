"""The `streamscope` command: open the window, record headless, publish headless through an MQTT
broker, list producer kinds, recover a recording that a crash cut short, or add the app to the
desktop's menu.

Qt is imported only when the window is opened, so `record` and `producers` work on machines
without a display or Qt libraries, and producer processes never load Qt.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app import __version__
from app.core.session import DEFAULT_SESSION, Session, SessionError, load_session
from producers.params import ParamError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamscope",
        description="A desktop dashboard for live data: supervised producers, a live chart.",
    )
    parser.add_argument("--version", action="version", version=f"streamscope {__version__}")
    parser.add_argument("--session", metavar="FILE", help="session file (TOML) to open")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    rec = sub.add_parser(
        "record", help="run the session's producers headless and record what they send"
    )
    # SUPPRESS: `streamscope --session F record ...` works too (the subcommand's default would
    # otherwise overwrite the value given before it)
    rec.add_argument(
        "--session", metavar="FILE", default=argparse.SUPPRESS, help="session file (TOML)"
    )
    rec.add_argument("--duration", metavar="SECONDS", type=_positive, required=True)
    rec.add_argument(
        "--out",
        metavar="FILE",
        required=True,
        help="file to write; its suffix chooses the format: .parquet, .arrows (Arrow IPC "
        "stream) or .csv",
    )
    _add_publish(sub)
    sub.add_parser("producers", help="list producer kinds and their parameters")
    fix = sub.add_parser("recover", help="make a recording cut short by a crash readable again")
    fix.add_argument("file", metavar="FILE", help="a .csv, .parquet or .arrows recording")
    _add_install_desktop(sub)
    return parser


def _add_install_desktop(sub) -> None:
    desk = sub.add_parser(
        "install-desktop",
        help="add streamscope to the desktop's application menu (a .desktop file and the icon)",
    )
    where = desk.add_mutually_exclusive_group()
    where.add_argument(
        "--user",
        action="store_true",
        help="for this user: $XDG_DATA_HOME or ~/.local/share (the default)",
    )
    where.add_argument(
        "--data-dir",
        metavar="DIR",
        help="another data folder, e.g. /usr/local/share for every user (as root)",
    )


def _add_publish(sub) -> None:
    pub = sub.add_parser(
        "publish",
        help="run the session's producers headless and publish them through an MQTT broker",
    )
    pub.error = lambda message: pub.exit(EXIT_USAGE, f"error: {message}\n")  # one line
    pub.add_argument(
        "--session", metavar="FILE", default=argparse.SUPPRESS, help="session file (TOML)"
    )
    pub.add_argument(
        "--broker", metavar="HOST:PORT", required=True, type=_broker, help="the MQTT broker"
    )
    pub.add_argument(
        "--prefix", metavar="TOPIC", help="topic prefix (default: streamscope/<hostname>)"
    )
    pub.add_argument("--username", metavar="USER", help="user name for the broker")
    pub.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the broker password from this environment variable (never the command line)",
    )
    pub.add_argument("--tls", metavar="CA_FILE", help="connect with TLS, trusting this CA file")
    pub.add_argument(
        "--allow-control",
        action="store_true",
        help="obey start/stop commands from <prefix>/<producer>/cmd (anyone who can publish "
        "there can then start and stop the producers)",
    )


def _broker(text: str):
    from app.core.mqtt_publisher import parse_broker

    try:
        return parse_broker(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "producers":
            return list_producers(sys.stdout)
        if args.command == "record":
            return _record(args)
        if args.command == "publish":
            return _publish(args)
        if args.command == "recover":
            return _recover(args.file)
        if args.command == "install-desktop":
            return _install_desktop(args.data_dir)
        return _open_window(args.session)
    except (SessionError, ParamError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _record(args) -> int:
    from app.headless import record

    if not args.session:
        print("error: record needs --session FILE", file=sys.stderr)
        return EXIT_USAGE
    session = load_session(args.session)
    return record(session, args.duration, Path(args.out), sys.stdout)


def _publish(args) -> int:
    from app.publish_command import PublishOptions, publish

    if not args.session:
        print("error: publish needs --session FILE", file=sys.stderr)
        return EXIT_USAGE
    session = load_session(args.session)
    options = PublishOptions(
        args.broker, args.prefix, args.username, args.password_env, args.tls, args.allow_control
    )
    return publish(session, options, sys.stdout)


def _recover(path: str) -> int:
    from app.core.recording import RecordingError, recover

    try:
        print(recover(path))
    except RecordingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _install_desktop(data_dir: str | None) -> int:
    from app.desktop_entry import install

    try:
        written = install(Path(data_dir) if data_dir else None)
    except OSError as exc:
        print(f"error: cannot install the desktop entry: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def list_producers(stream) -> int:
    from producers.registry import entries

    for kind, entry in entries().items():
        cls = entry.cls
        if cls is None:
            print(f"{kind}: unavailable: {entry.error}", file=stream)
            continue
        print(f"{kind}: {cls.help}", file=stream)
        for p in cls.params:
            bounds = f" {p.describe_range()}" if p.describe_range() else ""
            print(
                f"    {p.name} ({p.type_name}, default {p.default!r}){bounds}: {p.help}",
                file=stream,
            )
    return 0


def display_problem() -> str | None:
    """Why Qt could not open a window here, or None. Qt's own message is an abort."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return None  # offscreen, vnc, eglfs...: the user chose a platform that needs no display
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return (
            "no display found (DISPLAY is not set); run it on a desktop, or under a virtual "
            "display: xvfb-run -a streamscope"
        )
    return None


def _open_window(session_path: str | None) -> int:
    problem = display_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from app.gui import run

    path = Path(session_path) if session_path else DEFAULT_SESSION
    try:
        session, error = load_session(path), None
    except SessionError as exc:
        session, error = Session([], path), f"error: {exc}"
        print(error, file=sys.stderr)
    return run(session, error)


if __name__ == "__main__":
    sys.exit(main())
