"""The inbox claim: the optimistic COPY, its fall-back when an event was seen before, and the
natural key, against the real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiokafka import TopicPartition
from g3n_contracts import parse_event
from g3n_kit.consumer import ConsumerLoop, InboundEvent
from g3n_kit.db import Database
from g3n_kit.migrations import KIT_MIGRATIONS, migrate
from support.events import sale_bytes

TP = TopicPartition("kit.claim", 0)


def _events(
    sale_ids: list[str], first_offset: int, *, same_as: list[InboundEvent] | None = None
) -> list[InboundEvent]:
    out = []
    for i, sale_id in enumerate(sale_ids):
        key, raw = sale_bytes(sale_id)
        env = parse_event(raw)
        if same_as is not None:  # the very same event (same event_id), redelivered at a new offset
            env = same_as[i].envelope
        out.append(InboundEvent(env, TP.topic, TP.partition, first_offset + i, key, raw, ()))
    return out


async def _claim(db: Database, loop: ConsumerLoop, events: list[InboundEvent]) -> list[int]:
    async with db.transaction() as conn:
        claimed = await loop._claim(conn, TP, events)
    return [e.offset for e in claimed]


async def test_claim_copies_new_events_and_falls_back_on_redelivered_ones(stack: Any) -> None:
    dsn = await stack.aensure_database(f"kit_claim_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS])
    db = await Database.connect(dsn)
    loop = ConsumerLoop(db=db, bootstrap="unused:9092", group="claims", handlers={})
    try:
        first = _events(["a", "b", "c"], 0)
        assert await _claim(db, loop, first) == [0, 1, 2]
        assert TP not in loop._replaying  # the optimistic COPY took them

        # b and c again (same event ids) around a new d: only d is claimed, nothing is doubled,
        # and the failed COPY left nothing behind.
        again = _events(["b", "c"], 3, same_as=first[1:]) + _events(["d"], 5)
        assert await _claim(db, loop, again) == [5]
        assert TP in loop._replaying

        # The same sale re-emitted under a new event id is caught by its natural key.
        reemitted = _events(["a"], 6)
        assert reemitted[0].envelope.event_id != first[0].envelope.event_id
        assert await _claim(db, loop, reemitted + _events(["e"], 7)) == [7]

        # A claim with nothing seen before ends the replay: the next batch is copied again.
        assert await _claim(db, loop, _events(["f"], 8)) == [8]
        assert TP not in loop._replaying
        assert await _claim(db, loop, _events(["g"], 9)) == [9]
        assert TP not in loop._replaying

        # A rolled-back transaction claims nothing.
        conn: asyncpg.Connection
        async with db.connection() as conn:
            tx = conn.transaction()
            await tx.start()
            assert [e.offset for e in await loop._claim(conn, TP, _events(["h"], 10))] == [10]
            await tx.rollback()
        assert await _claim(db, loop, _events(["h"], 11)) == [11]

        async with db.connection() as conn:
            rows = await conn.fetch("SELECT natural_key, kafka_offset FROM inbox ORDER BY kafka_offset")
        assert [(r[0], r[1]) for r in rows] == [
            ("sale:acme:a", 0),
            ("sale:acme:b", 1),
            ("sale:acme:c", 2),
            ("sale:acme:d", 5),
            ("sale:acme:e", 7),
            ("sale:acme:f", 8),
            ("sale:acme:g", 9),
            ("sale:acme:h", 11),
        ]
    finally:
        await db.close()
