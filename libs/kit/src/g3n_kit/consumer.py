"""The Kafka consumer loop: effectively-exactly-once application of events.

Why aiokafka directly instead of a FastStream subscriber: the guarantees we need (offsets
committed only after the database commit, batches per partition for throughput, a poison
message isolated and dead-lettered inside the same transaction, transient errors retried
with backoff without seeking past anything) do not fit FastStream 0.7's ack policies, which
either commit before the handler (ACK_FIRST), commit on error (ACK, REJECT_ON_ERROR) or
redeliver in a hot loop (NACK_ON_ERROR), and whose batch subscribers can span partitions.
So this one small loop drives `getmany` itself; see docs/architecture.md.

Per batch and partition, in ONE database transaction:
1. decode each record with the contracts; undecodable ones become dead letters;
2. claim the decoded events in the inbox, so redelivered events (same `event_id` or same
   natural key) are skipped: first optimistically with one `COPY` in a savepoint (the common
   case: nothing was seen before), and when that hits a unique key, with
   `INSERT … ON CONFLICT DO NOTHING RETURNING`, which tells which events are new;
3. call the service's batch handler with the new events inside a savepoint; if it raises a
   non-transient error, retry event by event (each in its own savepoint) to find the poison
   one(s), which are dead-lettered with the reason;
4. write dead letters to the outbox (published by the relay);
then commit the transaction, and only then commit the Kafka offset. A crash anywhere redelivers
the batch; the inbox makes the second delivery a no-op.

Offsets of applied batches are committed together at most every ``commit_interval_s`` (1 s),
when partitions are revoked (after their batches in flight finish), and when the loop stops,
rather than after every batch: each OffsetCommit cost the broker ~2-3 ms of CPU (Kafka 4.1's group
coordinator, measured with a bare aiokafka consumer), about half of the broker's CPU per sale at
750 records per batch (bench/pair_cpu.py: 15 → 7 µs). A crash redelivers at most that interval's
events more, which the inbox skips like any redelivery.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from g3n_contracts import ContractError, EventEnvelope, event_types, parse_event
from g3n_contracts.topics import dlq_topic

from g3n_kit.db import Database
from g3n_kit.kafka import ensure_topics
from g3n_kit.metrics import (
    CONSUMER_LAG,
    CONSUMER_RETRIES,
    EVENTS_APPLIED,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_DUPLICATE,
)
from g3n_kit.outbox import OutgoingMessage, enqueue_messages

log = logging.getLogger(__name__)


@dataclass(slots=True)  # one per consumed event: a frozen dataclass's __init__ costs ~3x as much
class InboundEvent:
    envelope: EventEnvelope
    topic: str
    partition: int
    offset: int
    key: bytes | None
    raw: bytes
    headers: tuple[tuple[str, bytes], ...]


BatchHandler = Callable[[asyncpg.Connection, Sequence[InboundEvent]], Awaitable[None]]


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never be applied (it goes to the DLQ)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


def default_natural_key(env: EventEnvelope) -> str | None:
    """The business identity of an event, so a re-emitted copy under a new event_id is a no-op."""
    payload: Any = env.payload
    if env.event_type == event_types.SALE_RECORDED:
        return f"sale:{env.org_code}:{payload.sale_id}"
    if env.event_type == event_types.RETURN_RECORDED:
        return f"return:{env.org_code}:{payload.return_id}"
    if env.event_type in (event_types.PAYOUT_SETTLED, event_types.PAYOUT_FAILED):
        return f"{env.event_type}:{env.org_code}:{payload.payout_id}"
    return None


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions are handed to another member: lets their batches in flight finish (up to
    ``revoke_wait_s``), then commits what was applied of them."""

    def __init__(self, loop: ConsumerLoop, consumer: AIOKafkaConsumer) -> None:
        self.loop = loop
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        gone = set(revoked)
        in_flight = [task for tp, task in self.loop._tasks.items() if tp in gone and not task.done()]
        if in_flight:
            await asyncio.wait(in_flight, timeout=self.loop.revoke_wait_s)
        await self.loop.commit_applied(self.consumer, only=gone)
        # A batch of these partitions that finishes after this point must not record its offset:
        # the partition may be another member's by then, or ours again with a newer position.
        self.loop._generation += 1

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        pass


class Backoff:
    """Exponential backoff with jitter: 0.2 s, 0.4 s, … capped at `cap` seconds."""

    def __init__(self, base: float = 0.2, cap: float = 5.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        return float(delay * random.uniform(0.75, 1.0))


def dead_letter(
    *,
    topic: str,
    group: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    reason: str,
    error: str,
    event_id: str | None = None,
    event_type: str | None = None,
) -> OutgoingMessage:
    extra = [
        ("dlq-reason", reason.encode()),
        ("dlq-error", error[:2000].encode()),
        ("dlq-original-topic", topic.encode()),
        ("dlq-original-partition", str(partition).encode()),
        ("dlq-original-offset", str(offset).encode()),
        ("dlq-group", group.encode()),
    ]
    kept = [(k, v) for k, v in headers if not k.startswith("dlq-")]
    return OutgoingMessage(
        topic=dlq_topic(topic, group),
        key=key,
        value=value or b"",
        headers=kept + extra,
        event_id=event_id,
        event_type=event_type,
    )


_INBOX_COLUMNS = (
    "consumer_group",
    "event_id",
    "event_type",
    "natural_key",
    "topic",
    "kafka_partition",
    "kafka_offset",
    "outcome",
)

_CLAIM_SQL = """
INSERT INTO inbox (consumer_group, event_id, event_type, natural_key, topic, kafka_partition,
                   kafka_offset, outcome)
SELECT $1, e.event_id, e.event_type, e.natural_key, $2, $3, e.kafka_offset, 'applied'
FROM unnest($4::uuid[], $5::text[], $6::text[], $7::bigint[])
     AS e(event_id, event_type, natural_key, kafka_offset)
ON CONFLICT DO NOTHING
RETURNING kafka_offset
"""


class ConsumerLoop:
    """Consumes `handlers`' topics as consumer group `group` and applies events exactly once."""

    def __init__(
        self,
        *,
        db: Database,
        bootstrap: str,
        group: str,
        handlers: Mapping[str, BatchHandler],
        natural_key: Callable[[EventEnvelope], str | None] = default_natural_key,
        max_batch: int = 1000,
        poll_ms: int = 200,
        client_id: str | None = None,
        session_timeout_ms: int = 6_000,
        commit_interval_s: float = 1.0,
        revoke_wait_s: float = 10.0,
    ) -> None:
        self.db = db
        self.bootstrap = bootstrap
        self.group = group
        self.handlers = dict(handlers)
        self.natural_key = natural_key
        self.max_batch = max_batch
        self.poll_ms = poll_ms
        self.client_id = client_id or group
        # How long the group waits for a crashed member before handing its partitions on
        # (6 s is the broker's default minimum); heartbeats go every third of it.
        self.session_timeout_ms = session_timeout_ms
        # Applied batches' next offsets, committed to Kafka together (see the module docstring);
        # 0 commits after every batch.
        self.commit_interval_s = commit_interval_s
        self._pending: dict[TopicPartition, int] = {}
        self._last_commit = time.monotonic()
        self.revoke_wait_s = revoke_wait_s
        self._generation = 0  # +1 at every revocation; a batch records its offset only in its own
        self._tasks: dict[TopicPartition, asyncio.Task[None]] = {}  # the batch in flight per partition
        self.ready = asyncio.Event()
        # Partitions whose last claim met events already in the inbox (a replay or a redelivery):
        # their next batch skips the optimistic COPY, which would likely fail again.
        self._replaying: set[TopicPartition] = set()

    async def run(self, stop: asyncio.Event) -> None:
        topics = list(self.handlers)
        await ensure_topics(self.bootstrap, topics + [dlq_topic(t, self.group) for t in topics])
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_batch,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            # A long database outage retries in place; keep the group membership meanwhile.
            max_poll_interval_ms=900_000,
            isolation_level="read_committed",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(1000, self.session_timeout_ms // 3),
        )
        consumer.subscribe(topics, listener=_CommitOnRevoke(self, consumer))
        await consumer.start()
        log.info("consumer started", extra={"group": self.group, "topics": topics})
        # One batch in flight per partition; a partition whose batch is done takes its next one
        # at once instead of waiting for the other partitions' batches (so Python decodes one
        # partition's batch while PostgreSQL writes another's). Batches of one partition stay
        # strictly in order: the next is taken only after the previous one committed.
        tasks = self._tasks
        try:
            while not stop.is_set():
                batch = await self._poll(consumer, busy=tasks.keys())
                self.ready.set()
                for tp, recs in batch.items():
                    tasks[tp] = asyncio.create_task(self._process_partition(consumer, tp, recs, stop))
                if tasks:
                    await asyncio.wait(tasks.values(), timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
                    for tp, task in list(tasks.items()):
                        if task.done():
                            del tasks[tp]
                            task.result()  # a non-transient failure stops the loop, as before
                if self._pending and time.monotonic() - self._last_commit >= self.commit_interval_s:
                    await self.commit_applied(consumer)
                self._record_lag(consumer)
        finally:
            if tasks:  # batches in flight finish (commit or roll back whole) before the consumer stops
                await asyncio.gather(*tasks.values(), return_exceptions=True)
            await self.commit_applied(consumer)
            await consumer.stop()
            log.info("consumer stopped", extra={"group": self.group})

    async def _poll(
        self, consumer: AIOKafkaConsumer, *, busy: Collection[TopicPartition] = ()
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """Up to ``max_batch`` records of EVERY assigned partition not ``busy`` that has records
        buffered; with nothing in flight, waits up to ``poll_ms`` when none has. (One ``getmany``
        drains the first partition's buffer before the next, so under load it would return one
        partition's records only and partitions would never be applied concurrently.)"""
        free = [tp for tp in consumer.assignment() if tp not in busy]
        batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for tp in free:
            batch.update(await consumer.getmany(tp, timeout_ms=0, max_records=self.max_batch))
        if not batch and not busy:
            batch = await consumer.getmany(timeout_ms=self.poll_ms, max_records=self.max_batch)
        return batch

    def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            try:
                position = consumer._fetcher._subscriptions.subscription.assignment.state_value(tp).position
            except Exception:  # the partition was revoked meanwhile
                continue
            if position is not None:
                CONSUMER_LAG.labels(self.group, tp.topic, str(tp.partition)).set(max(0, high - position))

    async def _process_partition(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
        stop: asyncio.Event,
    ) -> None:
        EVENTS_CONSUMED.labels(self.group, tp.topic).inc(len(records))
        generation = self._generation
        backoff = Backoff()
        while True:
            try:
                async with self.db.transaction() as conn:
                    applied, duplicates, dead = await self._apply(conn, tp, records)
                break
            except Exception as exc:
                if not is_transient(exc):
                    raise
                delay = backoff.next_delay()
                CONSUMER_RETRIES.labels(self.group).inc()
                log.warning(
                    "transient error, retrying batch",
                    extra={
                        "group": self.group,
                        "topic": tp.topic,
                        "partition": tp.partition,
                        "first_offset": records[0].offset,
                        "attempt": backoff.attempt,
                        "retry_in_s": round(delay, 3),
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return  # stopping: the offsets stay uncommitted, the batch is redelivered
                except TimeoutError:
                    pass
        EVENTS_APPLIED.labels(self.group, tp.topic).inc(applied)
        EVENTS_DUPLICATE.labels(self.group, tp.topic).inc(duplicates)
        for reason in dead:
            EVENTS_DEAD_LETTERED.labels(self.group, tp.topic, reason).inc()
        if generation == self._generation:  # not revoked meanwhile
            self._pending[tp] = records[-1].offset + 1  # the loop commits it (commit_applied)

    async def commit_applied(
        self, consumer: AIOKafkaConsumer, only: Collection[TopicPartition] | None = None
    ) -> None:
        """Commit the offsets of the batches applied so far (of ``only`` these partitions), for
        the partitions still assigned; a partition handed on meanwhile is left to its new owner,
        who gets those events again and skips them in the inbox."""
        chosen = [tp for tp in self._pending if only is None or tp in only]
        taken = {tp: self._pending.pop(tp) for tp in chosen}
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in taken.items() if tp in assigned}
        self._last_commit = time.monotonic()
        if not offsets:
            return
        generation = self._generation
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # Kept for the next try unless a newer batch or a rebalance came meanwhile; if the
            # partition was handed on, its new owner gets the batches again and the inbox skips them.
            if generation == self._generation:
                for tp, offset in offsets.items():
                    self._pending.setdefault(tp, offset)
            log.warning("offset commit failed", extra={"group": self.group, "error": str(exc)})

    async def _apply(
        self, conn: asyncpg.Connection, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> tuple[int, int, list[str]]:
        letters: list[OutgoingMessage] = []
        decoded: list[InboundEvent] = []
        seen: set[UUID] = set()
        for rec in records:
            headers = tuple(rec.headers) if rec.headers else ()  # (key, value) pairs already
            try:
                if rec.value is None:
                    raise ContractError("not-json", "record has no value (tombstone)")
                env = parse_event(rec.value)
            except ContractError as exc:
                letters.append(self._letter(rec, headers, exc.reason, exc.detail))
                continue
            except Exception as exc:  # the parser itself failed on these bytes: retrying cannot help,
                # and the partition must not stall behind them
                log.exception("record could not be parsed", extra={"topic": rec.topic, "offset": rec.offset})
                letters.append(self._letter(rec, headers, "handler-error", f"{type(exc).__name__}: {exc}"))
                continue
            eid = env.event_id
            if eid in seen:
                continue
            seen.add(eid)
            decoded.append(
                InboundEvent(env, rec.topic, rec.partition, rec.offset, rec.key, rec.value, headers)
            )
        fresh = await self._claim(conn, tp, decoded)
        handler = self.handlers[tp.topic]
        if fresh:
            try:
                async with conn.transaction():
                    await handler(conn, fresh)
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.info("batch failed, isolating events", extra={"error": repr(exc)})
                for ev in fresh:
                    try:
                        async with conn.transaction():
                            await handler(conn, [ev])
                    except Exception as one_exc:
                        if is_transient(one_exc):
                            raise
                        reason, detail = self._classify(one_exc)
                        log.warning(
                            "event dead-lettered",
                            extra={"event_id": str(ev.envelope.event_id), "reason": reason, "error": detail},
                        )
                        await conn.execute(
                            "UPDATE inbox SET outcome = 'dead_lettered' WHERE consumer_group = $1"
                            " AND event_id = $2",
                            self.group,
                            ev.envelope.event_id,
                        )
                        letters.append(
                            dead_letter(
                                topic=ev.topic,
                                group=self.group,
                                partition=ev.partition,
                                offset=ev.offset,
                                key=ev.key,
                                value=ev.raw,
                                headers=ev.headers,
                                reason=reason,
                                error=detail,
                                event_id=str(ev.envelope.event_id),
                                event_type=ev.envelope.event_type,
                            )
                        )
        await enqueue_messages(conn, letters)
        dead_reasons = [dict(m.headers)["dlq-reason"].decode() for m in letters]
        applied = len(fresh) - sum(1 for m in letters if m.event_id is not None)
        return applied, len(decoded) - len(fresh), dead_reasons

    @staticmethod
    def _classify(exc: BaseException) -> tuple[str, str]:
        if isinstance(exc, PoisonEvent):
            return exc.reason, exc.detail
        code = getattr(exc, "code", None)
        if isinstance(code, str):  # an AppError raised by a service function
            return code, str(exc)
        return "handler-error", f"{type(exc).__name__}: {exc}"

    def _letter(
        self,
        rec: ConsumerRecord[bytes, bytes],
        headers: Sequence[tuple[str, bytes]],
        reason: str,
        detail: str,
    ) -> OutgoingMessage:
        log.warning(
            "record dead-lettered",
            extra={"topic": rec.topic, "partition": rec.partition, "offset": rec.offset, "reason": reason},
        )
        return dead_letter(
            topic=rec.topic,
            group=self.group,
            partition=rec.partition,
            offset=rec.offset,
            key=rec.key,
            value=rec.value,
            headers=headers,
            reason=reason,
            error=detail,
        )

    async def _claim(
        self, conn: asyncpg.Connection, tp: TopicPartition, events: list[InboundEvent]
    ) -> list[InboundEvent]:
        """The events of ``events`` not yet in this group's inbox, now claimed there.

        A COPY of every event (cheaper for PostgreSQL than a speculative insert per row) is tried
        first, in a savepoint; a unique violation (an event id or natural key already claimed,
        possibly by a concurrent owner of the partition that has since committed) rolls it back,
        and ``INSERT … ON CONFLICT DO NOTHING`` then claims exactly the new ones.
        """
        if not events:
            return []
        natural = [self.natural_key(e.envelope) for e in events]
        if tp not in self._replaying:
            group, topic, partition = self.group, tp.topic, tp.partition
            rows = [
                (group, e.envelope.event_id, e.envelope.event_type, nk, topic, partition, e.offset, "applied")
                for e, nk in zip(events, natural, strict=True)
            ]
            try:
                async with conn.transaction():
                    await conn.copy_records_to_table("inbox", columns=_INBOX_COLUMNS, records=rows)
                return events
            except asyncpg.UniqueViolationError:
                self._replaying.add(tp)
        claimed_rows = await conn.fetch(
            _CLAIM_SQL,
            self.group,
            tp.topic,
            tp.partition,
            [e.envelope.event_id for e in events],
            [e.envelope.event_type for e in events],
            natural,
            [e.offset for e in events],
        )
        if len(claimed_rows) == len(events):
            self._replaying.discard(tp)
            return events
        claimed = {r[0] for r in claimed_rows}  # offsets: unique in a partition batch, cheaper than uuids
        return [e for e in events if e.offset in claimed]
