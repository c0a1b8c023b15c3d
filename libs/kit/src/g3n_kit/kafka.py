"""Small Kafka helpers shared by the consumer loop, the relay and the stat endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


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
