"""`streamscope publish`: the session's autostart producers, headless, published through an
MQTT broker (see app/core/mqtt_contract.py for the topics and payloads).

The same engine as the window and `record` (app.core.engine), drained from the main thread; the
publishing itself is app.core.mqtt_publisher's, on threads of its own. A broker that is down
(at start or later) is waited for, saying so once on stderr, and the samples that could not be
published meanwhile are counted as dropped. SIGINT, SIGTERM and SIGHUP end it within about 2 s:
producers stop, their final statuses and `publisher stopped` are published, a summary goes to
stdout, exit code 0. A broker that refuses the credentials is one `error:` line and exit 2.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from app.core.engine import Engine
from app.core.mqtt_contract import ContractError, check_prefix, default_prefix
from app.core.mqtt_publisher import BrokerAddress, MqttPublisher, PublishSetupError
from app.core.session import Session
from app.headless import SignalStop, drain_until, print_producer_table

EXIT_OK, EXIT_ERROR = 0, 2
FIRST_CONNECT_WAIT_S = 1.0  # producers start once the broker answered, or after this
STOP_BUDGET_S = 1.9  # from a signal to the process gone
DRAIN_BUDGET_S = 1.1  # of which: producers stopping and their last samples read
log = logging.getLogger("streamscope")


@dataclass(frozen=True)
class PublishOptions:
    broker: BrokerAddress
    prefix: str | None = None
    username: str | None = None
    password_env: str | None = None
    ca_file: str | None = None
    allow_control: bool = False


class OptionsError(ValueError):
    """Options that cannot work; str() is the line after `error: `."""


def password_from(options: PublishOptions) -> str | None:
    """The password, from the environment variable named by --password-env (never the
    command line, where `ps` would show it)."""
    if options.password_env is None:
        return None
    if options.username is None:
        raise OptionsError("--password-env needs --username")
    password = os.environ.get(options.password_env)
    if password is None:
        raise OptionsError(f"--password-env {options.password_env}: that variable is not set")
    return password


def publish(
    session: Session, options: PublishOptions, stdout: TextIO, stderr: TextIO = sys.stderr
) -> int:
    _log_to(stderr)
    engine = Engine(session, keep_store=False)
    try:
        prefix = check_prefix(options.prefix or default_prefix())
        publisher = MqttPublisher(
            engine, options.broker, prefix=prefix, username=options.username,
            password=password_from(options), ca_file=options.ca_file,
            allow_control=options.allow_control,
        )  # fmt: skip
    except (OptionsError, ContractError, PublishSetupError) as exc:
        engine.close()
        print(f"error: {exc}", file=stderr)
        return EXIT_ERROR
    engine.attach_recorder(publisher)
    started = time.monotonic()
    stop_at = None
    try:
        with SignalStop() as stopped:
            publisher.start()
            _wait(lambda: stopped.is_set() or publisher.wait_first_outcome(0.05),
                  started + FIRST_CONNECT_WAIT_S)  # fmt: skip
            if not (publisher.fatal or stopped.is_set()):
                engine.start_autostart()
            while not (stopped.is_set() or publisher.fatal):
                engine.drain(0.05)
                _tell(engine)
            stop_at = time.monotonic()
            engine.shutdown()
            drain_until(engine, lambda: engine.view.drained, stop_at + DRAIN_BUDGET_S)
            _tell(engine)
    finally:
        engine.detach_recorder()
        engine.close(grace=0.3)
        left = (stop_at or time.monotonic()) + STOP_BUDGET_S - time.monotonic()
        summary = publisher.close(max(left, 0.3))
    if publisher.fatal:
        print(f"error: {publisher.fatal}", file=stderr)
        return EXIT_ERROR
    _print_summary(engine, publisher, summary, time.monotonic() - started, stdout)
    return EXIT_OK


def _log_to(stderr: TextIO) -> None:
    """Warnings and state changes as plain lines on stderr (a terminal, a journal)."""
    if not any(getattr(h, "_streamscope_publish", False) for h in log.handlers):
        handler = logging.StreamHandler(stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._streamscope_publish = True
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _tell(engine: Engine) -> None:
    for news in engine.news():
        log.log(news.level, news.text)


def _wait(done, deadline: float) -> None:
    while not done() and time.monotonic() < deadline:
        pass  # `done` itself waits (a short Event wait)


def _print_summary(engine: Engine, publisher, summary, elapsed: float, stdout: TextIO) -> None:
    print(f"published to {publisher.broker} under {publisher.topics.prefix}/ in {elapsed:.1f} s",
          file=stdout)  # fmt: skip
    print_producer_table(engine, "published", summary.published, summary.not_published, stdout)
