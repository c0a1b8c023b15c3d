"""Kafka plumbing of the operator commands: where the broker is, produce, read without a group."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from g3n_kit.kafka import idempotent_producer

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


def kafka_bootstrap(explicit: str | None = None) -> str:
    """``--bootstrap``, else ``$G3N_KAFKA_BOOTSTRAP``, else the running dev stack's, else the default."""
    if explicit:
        return explicit
    env = os.environ.get("G3N_KAFKA_BOOTSTRAP")
    if env:
        return env
    from g3n_devstack.paths import STATE_FILE_NAME, state_home
    from g3n_devstack.statefile import read_state

    state = read_state(state_home() / STATE_FILE_NAME) or {}
    kafka = state.get("kafka") or {}
    bootstrap = kafka.get("bootstrap") if isinstance(kafka, dict) else None
    return str(bootstrap) if bootstrap else DEFAULT_BOOTSTRAP


def producer(bootstrap: str) -> AbstractAsyncContextManager[AIOKafkaProducer]:
    """An idempotent producer (``acks=all``), configured as the services' relays are."""
    return idempotent_producer(bootstrap)


@asynccontextmanager
async def reader(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without a group (nothing is committed; operators' reads never move a service)."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


async def partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions (empty when the topic does not exist)."""
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        await consumer._client.force_metadata_update()
        parts = consumer.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(parts or ())]


@dataclass(frozen=True)
class Position:
    topic: str
    partition: int
    offset: int

    @property
    def id(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> Position:
        topic, _, rest = text.rpartition(":")
        topic, _, partition = topic.rpartition(":")
        if not topic or not partition.isdigit() or not rest.isdigit():
            raise ValueError(f"{text!r} is not <topic>:<partition>:<offset>")
        return cls(topic, int(partition), int(rest))


async def read_to_end(
    consumer: AIOKafkaConsumer, topics: Sequence[str]
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record currently in ``topics`` (from the beginning to the end offsets seen at start)."""
    tps: list[TopicPartition] = []
    for topic in topics:
        tps.extend(await partitions(consumer, topic))
    if not tps:
        return []
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    ends = await consumer.end_offsets(tps)
    remaining = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
    out: list[ConsumerRecord[bytes, bytes]] = []
    while remaining:
        batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=5000)
        for tp, records in batch.items():
            out.extend(r for r in records if r.offset < ends[tp])
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
    return out


async def read_one(consumer: AIOKafkaConsumer, pos: Position) -> ConsumerRecord[bytes, bytes] | None:
    tp = TopicPartition(pos.topic, pos.partition)
    if tp not in await partitions(consumer, pos.topic):
        return None
    consumer.assign([tp])
    end = (await consumer.end_offsets([tp]))[tp]
    if pos.offset >= end:
        return None
    consumer.seek(tp, pos.offset)
    for _ in range(15):
        batch = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
        for record in batch.get(tp, []):
            return record if record.offset == pos.offset else None
    return None
