"""Async operations against a running Kafka and PostgreSQL: readiness, topics, databases.

Both stack back ends (local processes, testcontainers) share these. ``run_sync`` runs a
coroutine on a private event loop in a worker thread, so the sync API works from plain code,
from pytest fixtures and even from inside a running event loop without touching that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

T = TypeVar("T")

READY_TOPIC = "_g3n_ready"
READY_GROUP = "_g3n_ready"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


class StackError(RuntimeError):
    """The stack could not be started, reached or used."""


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh event loop in a worker thread."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="g3n-devstack") as pool:
        return pool.submit(asyncio.run, coro).result()


def check_identifier(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain lower-case SQL identifier: {name!r}")
    return name


def check_topic(name: str) -> str:
    if not _TOPIC.match(name):
        raise ValueError(f"not a valid Kafka topic name: {name!r}")
    return name


async def _retry(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    limit: float,
    alive: Callable[[], None] | None = None,
) -> T:
    """Call ``attempt`` until it succeeds or ``limit`` seconds pass; ``alive`` raises if the server died."""
    deadline = time.monotonic() + limit
    delay = 0.1
    while True:
        if alive is not None:
            alive()
        try:
            return await attempt()
        except (TimeoutError, OSError, KafkaError, asyncpg.PostgresError) as exc:
            if time.monotonic() + delay > deadline:
                raise StackError(f"{what}: not ready after {limit:.0f}s: {exc!r}") from exc
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 1.0)


# --- Kafka -------------------------------------------------------------------------------


async def create_topics(
    bootstrap: str, names: Iterable[str], partitions: int = 4, replication_factor: int = 1
) -> None:
    """Create ``names`` (already existing ones are fine) with the admin client."""
    wanted = [check_topic(n) for n in dict.fromkeys(names)]
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(name=n, num_partitions=partitions, replication_factor=replication_factor)
                for n in wanted
            ]
        )
        for topic_error in response.topic_errors:
            topic, code = topic_error[0], topic_error[1]
            if code == 0:
                continue
            error_type = for_code(code)
            if error_type is TopicAlreadyExistsError:
                continue
            message = topic_error[2] if len(topic_error) > 2 else ""
            raise StackError(f"creating topic {topic!r} failed: {error_type.__name__} {message}")
        await _wait_topics_have_leaders(admin, wanted)
    finally:
        await admin.close()


async def _wait_topics_have_leaders(admin: AIOKafkaAdminClient, names: list[str], limit: float = 15) -> None:
    """A freshly created topic is usable once every partition has a leader."""
    deadline = time.monotonic() + limit
    while True:
        described = await admin.describe_topics(names)
        pending = [
            d["topic"]
            for d in described
            if d.get("error_code", 0) != 0
            or not d.get("partitions")
            or any(p.get("leader", -1) < 0 for p in d["partitions"])
        ]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise StackError(f"topics without leaders after {limit}s: {pending}")
        await asyncio.sleep(0.05)


async def wait_kafka_ready(
    bootstrap: str, limit: float = 60.0, alive: Callable[[], None] | None = None
) -> None:
    """Ready = a metadata call answers *and* a consumer group can join, read and commit.

    Right after a broker starts, the first group join can fail with GroupCoordinatorNotAvailable
    while ``__consumer_offsets`` is created; tests must not see that, so it is done here.
    """
    deadline = time.monotonic() + limit
    host, _, port = bootstrap.rpartition(":")

    async def listening() -> None:
        _reader, writer = await asyncio.open_connection(host, int(port))
        writer.close()

    # The port first: aiokafka logs every refused connection at ERROR level.
    await _retry(f"Kafka at {bootstrap} (port)", listening, limit, alive)
    with _quiet_logger("aiokafka"):
        await _ready_round_trips(bootstrap, deadline, alive)


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Hide a library's expected start-up errors (coordinator not yet available) while we retry."""
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


async def _ready_round_trips(bootstrap: str, deadline: float, alive: Callable[[], None] | None) -> None:
    async def metadata() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.describe_cluster()
        finally:
            await admin.close()

    await _retry(f"Kafka at {bootstrap} (metadata)", metadata, max(deadline - time.monotonic(), 1), alive)
    await _retry(
        f"Kafka at {bootstrap} (topic)",
        lambda: create_topics(bootstrap, [READY_TOPIC], partitions=1),
        max(deadline - time.monotonic(), 1),
        alive,
    )

    async def group_round_trip() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(READY_TOPIC, b"ping")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            READY_TOPIC,
            bootstrap_servers=bootstrap,
            group_id=READY_GROUP,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            await asyncio.wait_for(consumer.getone(), timeout=max(deadline - time.monotonic(), 1))
            await consumer.commit()
        finally:
            await consumer.stop()

    await _retry(
        f"Kafka at {bootstrap} (consumer group)", group_round_trip, max(deadline - time.monotonic(), 1), alive
    )


# --- PostgreSQL --------------------------------------------------------------------------


async def wait_pg_ready(admin_dsn: str, limit: float = 30.0, alive: Callable[[], None] | None = None) -> None:
    async def ping() -> None:
        conn = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    await _retry("PostgreSQL", ping, limit, alive)


async def ensure_database(
    admin_dsn: str, name: str, owner: str | None = None, password: str | None = None
) -> None:
    """Create role ``owner`` (default ``name``) and database ``name`` owned by it, if missing."""
    db = check_identifier(name)
    role = check_identifier(owner or name)
    secret = (password or role).replace("'", "''")
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            with contextlib.suppress(asyncpg.DuplicateObjectError):
                await conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{secret}'")
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{db}" OWNER "{role}"')
    finally:
        await conn.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    db = check_identifier(name)
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await conn.close()
