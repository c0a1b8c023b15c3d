"""When the consumer loop commits Kafka offsets: at most every ``commit_interval_s`` while it
runs, for partitions about to be handed to another member, and when it stops; against the real
broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from g3n_kit.consumer import ConsumerLoop, InboundEvent
from g3n_kit.db import Database
from g3n_kit.kafka import produce
from g3n_kit.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE
from g3n_kit.migrations import KIT_MIGRATIONS, migrate
from support.events import sale_bytes


async def _committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        found = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}


async def _until(check: Any, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


async def _ends(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)  # no group
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = await asyncio.wait_for(consumer.end_offsets(tps), 5)
    finally:
        await consumer.stop()
    return {tp: end for tp, end in ends.items() if end > 0}


async def _setup(stack: Any, partitions: int, n: int) -> tuple[str, Database, dict[TopicPartition, int]]:
    topic = f"kit.offsets.{uuid.uuid4().hex[:8]}"
    await stack.acreate_topics([topic], partitions=partitions)
    await produce(stack.kafka_bootstrap, topic, [sale_bytes(f"s-{i}") for i in range(n)])
    dsn = await stack.aensure_database(f"kit_offsets_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS])
    ends = await _ends(stack.kafka_bootstrap, topic)
    assert sum(ends.values()) == n and len(ends) > 1  # the events span partitions
    return topic, await Database.connect(dsn), ends


def _loop(
    db: Database,
    stack: Any,
    topic: str,
    group: str,
    seen: list[str],
    interval: float,
    *,
    max_batch: int = 20,
    started: asyncio.Event | None = None,
    slow_s: float = 0.0,
) -> ConsumerLoop:
    async def handler(conn: Any, events: Sequence[InboundEvent]) -> None:
        if started is not None:
            started.set()
        await asyncio.sleep(slow_s)
        seen.extend(str(e.envelope.event_id) for e in events)

    return ConsumerLoop(
        db=db,
        bootstrap=stack.kafka_bootstrap,
        group=group,
        handlers={topic: handler},
        max_batch=max_batch,
        commit_interval_s=interval,
    )


class _Members:
    """Consumer loops a test starts; at its end they are stopped and the database closed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.stops: list[asyncio.Event] = []
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, loop: ConsumerLoop) -> asyncio.Task[None]:
        self.stops.append(asyncio.Event())
        self.tasks.append(asyncio.create_task(loop.run(self.stops[-1])))
        return self.tasks[-1]

    async def __aenter__(self) -> _Members:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for stop in self.stops:
            stop.set()
        await asyncio.gather(*self.tasks)
        await self.db.close()


async def _all_seen(seen: list[str], n: int) -> bool:
    async def check() -> bool:
        return len(seen) == n

    return await _until(check, 60)


async def _all_committed(stack: Any, group: str, ends: dict[TopicPartition, int], timeout: float) -> bool:
    async def check() -> bool:
        return await _committed(stack.kafka_bootstrap, group) == ends

    return await _until(check, timeout)


async def test_offsets_are_committed_within_the_interval_while_the_loop_runs_idle(stack: Any) -> None:
    topic, db, ends = await _setup(stack, partitions=2, n=100)
    group = f"offsets-{uuid.uuid4().hex[:6]}"
    seen: list[str] = []
    async with _Members(db) as members:
        task = members.start(_loop(db, stack, topic, group, seen, 0.5))
        assert await _all_seen(seen, 100)
        # No more records arrive, and the loop is still running: the interval alone commits.
        assert await _all_committed(stack, group, ends, 10), await _committed(stack.kafka_bootstrap, group)
        assert not task.done()


async def test_a_stopping_loop_commits_what_it_applied(stack: Any) -> None:
    topic, db, ends = await _setup(stack, partitions=2, n=100)
    group = f"offsets-{uuid.uuid4().hex[:6]}"
    seen: list[str] = []
    async with _Members(db) as members:
        members.start(_loop(db, stack, topic, group, seen, 3600))
        assert await _all_seen(seen, 100)
        assert await _committed(stack.kafka_bootstrap, group) == {}  # the hour has not passed
    assert await _committed(stack.kafka_bootstrap, group) == ends


async def test_revoked_partitions_are_committed_before_another_member_takes_them(stack: Any) -> None:
    topic, db, ends = await _setup(stack, partitions=4, n=200)
    group = f"offsets-{uuid.uuid4().hex[:6]}"
    first_seen: list[str] = []
    second_seen: list[str] = []
    async with _Members(db) as members:
        members.start(_loop(db, stack, topic, group, first_seen, 3600))
        assert await _all_seen(first_seen, 200)
        # A second member joins: the rebalance revokes the first one's partitions, which commits
        # their offsets (the interval is an hour), so the second gets nothing again.
        members.start(_loop(db, stack, topic, group, second_seen, 3600))
        assert await _all_committed(stack, group, ends, 30), await _committed(stack.kafka_bootstrap, group)
        await asyncio.sleep(2)  # a redelivery to the second member would have been fetched by now
        # Nothing was delivered twice (the inbox would have hidden it from the handlers).
        assert EVENTS_CONSUMED.labels(group, topic)._value.get() == 200
        assert EVENTS_DUPLICATE.labels(group, topic)._value.get() == 0
        assert second_seen == []


async def test_a_revocation_waits_for_the_batches_in_flight_and_commits_them(stack: Any) -> None:
    topic, db, ends = await _setup(stack, partitions=4, n=200)
    group = f"offsets-{uuid.uuid4().hex[:6]}"
    first_seen: list[str] = []
    second_seen: list[str] = []
    started = asyncio.Event()
    async with _Members(db) as members:
        # One batch per partition, each taking 3 s: all in flight when the second member joins.
        slow = _loop(db, stack, topic, group, first_seen, 3600, max_batch=500, started=started, slow_s=3)
        members.start(slow)
        await asyncio.wait_for(started.wait(), 60)
        members.start(_loop(db, stack, topic, group, second_seen, 3600))
        assert await _all_committed(stack, group, ends, 30), await _committed(stack.kafka_bootstrap, group)
        await asyncio.sleep(2)
        assert len(first_seen) == 200
        assert EVENTS_CONSUMED.labels(group, topic)._value.get() == 200  # nothing delivered twice
        assert second_seen == []
