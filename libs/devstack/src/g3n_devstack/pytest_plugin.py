"""pytest plugin: one real Kafka + PostgreSQL per test session, fresh databases and topics.

Register it from the repository's root ``conftest.py``::

    pytest_plugins = ["g3n_devstack.pytest_plugin"]

Fixtures:

``stack``            (session) the started :class:`~g3n_devstack.stack.Stack`; started on first
                     use only, stopped at the end of the session even after failures.
``kafka_bootstrap``  (session) ``host:port`` of the broker.
``fresh_dsn``        (session) factory ``fresh_dsn(prefix="t") -> dsn`` of a new database owned
                     by a new role of the same name.
``module_dsn``       (module) a database of its own for each test module.
``fresh_topic``      (session) factory ``fresh_topic(prefix="t", partitions=4) -> name`` of a
                     new, explicitly created topic.

The back end follows ``G3N_STACK`` (local | docker | auto): see :mod:`g3n_devstack.stack`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from g3n_devstack.naming import unique_name, unique_topic
from g3n_devstack.stack import Stack, make_stack

_started: list[tuple[Stack, float]] = []


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The session's Kafka + PostgreSQL (local processes or testcontainers)."""
    began = time.monotonic()
    started = make_stack(test=True).start()
    _started.append((started, time.monotonic() - began))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: Stack) -> str:
    return stack.kafka_bootstrap


@pytest.fixture(scope="session")
def fresh_dsn(stack: Stack) -> Callable[..., str]:
    """Factory: a new database (and owner role) with a unique name; returns its DSN."""

    def make(prefix: str = "t") -> str:
        return stack.ensure_database(unique_name(prefix))

    return make


@pytest.fixture(scope="module")
def module_dsn(fresh_dsn: Callable[..., str], request: pytest.FixtureRequest) -> str:
    """A database of its own for the requesting test module."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    return fresh_dsn(module.removeprefix("test_")[:30] or "m")


@pytest.fixture(scope="session")
def fresh_topic(stack: Stack) -> Callable[..., str]:
    """Factory: a new topic with a unique name (created explicitly); returns its name."""

    def make(prefix: str = "t", partitions: int = 4) -> str:
        name = unique_topic(prefix)
        stack.create_topics([name], partitions=partitions)
        return name

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for started, seconds in _started:
        terminalreporter.write_line(
            f"g3n devstack: {started.kind} stack started in {seconds:.1f}s "
            f"(kafka {started.kafka_bootstrap}, postgres {started.pg_host}:{started.pg_port})"
        )
