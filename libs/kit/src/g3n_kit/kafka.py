"""Small Kafka helpers shared by the consumer loop, the relay and the stat endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

Header = tuple[str, bytes]


@asynccontextmanager
async def idempotent_producer(bootstrap: str, **overrides: Any) -> AsyncIterator[AIOKafkaProducer]:
    """The one producer configuration of the project: idempotent, `acks=all`, short linger."""
    options: dict[str, Any] = {
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 30_000,
        **overrides,
    }
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **options)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def send_all(
    producer: AIOKafkaProducer,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes] | tuple[bytes | None, bytes, Sequence[Header]]],
) -> int:
    """Send (key, value[, headers]) records and wait until the broker acknowledged every one."""
    futures = []
    for message in messages:
        key, value = message[0], message[1]
        headers = list(message[2]) if len(message) > 2 else None
        futures.append(await producer.send(topic, value=value, key=key, headers=headers))
    await asyncio.gather(*futures)
    return len(futures)


async def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes] | tuple[bytes | None, bytes, Sequence[Header]]],
) -> int:
    """Produce records with a fresh idempotent producer (tools, tests, benchmarks)."""
    async with idempotent_producer(bootstrap) as producer:
        return await send_all(producer, topic, messages)


async def produce_events(bootstrap: str, envelopes: Iterable[Any], *, topic: str | None = None) -> int:
    """Produce contract events with their Kafka key and headers, on their own topic unless given."""
    from g3n_contracts import encode_event, kafka_headers, kafka_key, topic_for

    by_topic: dict[str, list[tuple[bytes | None, bytes, Sequence[Header]]]] = {}
    for env in envelopes:
        target = topic or topic_for(env.event_type)
        by_topic.setdefault(target, []).append((kafka_key(env), encode_event(env), kafka_headers(env)))
    async with idempotent_producer(bootstrap) as producer:
        return sum([await send_all(producer, t, msgs) for t, msgs in by_topic.items()])


async def ensure_topics(bootstrap: str, topics: Iterable[str], *, partitions: int = 4) -> None:
    """Create the topics that do not exist yet (idempotent, safe against concurrent creators)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(name=t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
            log.info("topics created", extra={"topics": missing})
    finally:
        await admin.close()


async def group_lag(bootstrap: str, group: str, topics: Iterable[str]) -> dict[str, int]:
    """Lag per topic of a consumer group: end offsets minus committed offsets (like
    kafka-consumer-groups). A partition the group never committed counts from its start."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        tps: list[TopicPartition] = []
        for topic in topics:
            parts = consumer.partitions_for_topic(topic)
            if parts is None:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(topic) or set()
            tps.extend(TopicPartition(topic, p) for p in sorted(parts))
        if not tps:
            return {}
        ends = await asyncio.wait_for(consumer.end_offsets(tps), 5)
        begins = await asyncio.wait_for(consumer.beginning_offsets(tps), 5)
        lag: dict[str, int] = {}
        for tp in tps:
            meta = committed.get(tp)
            pos = meta.offset if meta is not None and meta.offset >= 0 else begins[tp]
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, ends[tp] - pos)
        return lag
    finally:
        await consumer.stop()
        await admin.close()
