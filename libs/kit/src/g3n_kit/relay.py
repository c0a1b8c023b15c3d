"""Outbox relay: publishes outbox rows in id order (each row's messages in their order) and
marks them sent.

One relay is active per database at a time (a session advisory lock), which keeps per-key order
the same as commit order; a second relay waits as a hot standby. The producer is idempotent with
`acks=all`, so broker-side retries never duplicate. A crash between publishing and marking rows
sent republishes those rows on restart: consumers dedupe by `event_id`, which never changes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from g3n_kit.db import Database
from g3n_kit.kafka import idempotent_producer
from g3n_kit.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED
from g3n_kit.outbox import stored_messages

log = logging.getLogger(__name__)

_RELAY_LOCK = 0x6733_6E5F_7265_6C  # "g3n_rel"


class OutboxRelay:
    def __init__(self, *, db: Database, bootstrap: str, batch: int = 1000, idle_ms: int = 50) -> None:
        self.db = db
        self.bootstrap = bootstrap
        self.batch = batch
        self.idle_s = idle_ms / 1000

    async def run(self, stop: asyncio.Event) -> None:
        async with idempotent_producer(self.bootstrap, max_batch_size=256 * 1024) as producer:
            while not stop.is_set():
                try:
                    await self._lead(producer, stop)
                except Exception as exc:  # database restarts etc.: back off, take the lock again
                    log.warning("relay error, retrying", extra={"error": f"{type(exc).__name__}: {exc}"})
                    await _sleep_or_stop(stop, 1.0)

    async def _lead(self, producer: AIOKafkaProducer, stop: asyncio.Event) -> None:
        async with self.db.connection() as lock_conn:
            while not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK):
                if await _sleep_or_stop(stop, 1.0):
                    return
            log.info("relay is the leader")
            try:
                while not stop.is_set():
                    sent = await self.publish_once(producer)
                    # Fewer than a round's worth: the backlog was drained when it was read.
                    if sent < self.batch and await _sleep_or_stop(stop, self.idle_s):
                        return
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock($1)", _RELAY_LOCK)

    async def publish_once(self, producer: AIOKafkaProducer) -> int:
        """Publish the oldest unsent rows holding up to ``batch`` messages (whole rows: always at
        least one, however many messages it packs) and mark them sent; returns the messages sent."""
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                """SELECT * FROM (
                       SELECT id, topic, msg_key, msg_value, headers, messages, message_count, sent_at,
                              sum(message_count) OVER (ORDER BY id) AS upto
                       FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1) s
                   WHERE upto - message_count < $1 ORDER BY id""",
                self.batch,
            )
            if not rows:
                OUTBOX_BACKLOG.set(0)
                return 0
            futures: list[asyncio.Future[Any]] = []
            for row in rows:
                for m in stored_messages(row):
                    futures.append(await producer.send(m.topic, value=m.value, key=m.key, headers=m.headers))
            await asyncio.gather(*futures)  # every record acknowledged by the broker (acks=all)
            await conn.execute(
                "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
            for row in rows:
                OUTBOX_PUBLISHED.labels(row["topic"]).inc(row["message_count"])
            OUTBOX_BACKLOG.set(await backlog(conn))
            return sum(int(r["message_count"]) for r in rows)


async def backlog(conn: asyncpg.Connection) -> int:
    """Messages written and not yet published."""
    return int(
        await conn.fetchval("SELECT coalesce(sum(message_count), 0) FROM outbox WHERE sent_at IS NULL")
    )


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, waking early when stopping; True when stop was requested."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
        return True
    except TimeoutError:
        return False


async def purge_sent_outbox(db: Database, *, keep_days: int = 7, batch: int = 10_000) -> int:
    """Delete outbox rows published more than `keep_days` ago (a scheduled job; safe when two
    schedulers run it at once). Unsent rows are never touched."""
    total = 0
    while True:
        async with db.transaction() as conn:
            status = await conn.execute(
                """DELETE FROM outbox WHERE id = ANY(ARRAY(
                       SELECT id FROM outbox WHERE sent_at IS NOT NULL
                         AND sent_at < now() - make_interval(days => $1)
                       ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED))""",
                keep_days,
                batch,
            )
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch:
            return total
