"""A kit-level test consumer: applies sale events to a plain table.

Run as its own process (`python -m …applier DSN BOOTSTRAP TOPIC GROUP`) so tests can SIGKILL it.
`applied` has no unique constraint on purpose: a duplicate application would show up as a
second row, and `totals` accumulates quantities so a lost or doubled event changes the sum.
An event whose sale_id starts with "reject-" is refused by the handler (a business poison).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

import asyncpg
from g3n_kit.consumer import ConsumerLoop, InboundEvent, PoisonEvent
from g3n_kit.db import Database
from g3n_kit.migrations import KIT_MIGRATIONS, migrate

SCHEMA = """
CREATE TABLE IF NOT EXISTS applied (event_id uuid NOT NULL, sale_id text NOT NULL,
                                    kafka_partition int NOT NULL, kafka_offset bigint NOT NULL);
CREATE TABLE IF NOT EXISTS totals (id int PRIMARY KEY, qty bigint NOT NULL);
INSERT INTO totals VALUES (1, 0) ON CONFLICT DO NOTHING;
"""


async def apply_sales(conn: asyncpg.Connection, events: Sequence[InboundEvent]) -> None:
    for ev in events:
        payload: Any = ev.envelope.payload
        if payload.sale_id.startswith("reject-"):
            raise PoisonEvent("rejected", f"sale {payload.sale_id} is refused by the test handler")
    await conn.copy_records_to_table(
        "applied",
        records=[
            (ev.envelope.event_id, ev.envelope.payload.sale_id, ev.partition, ev.offset)  # type: ignore[attr-defined]
            for ev in events
        ],
        columns=["event_id", "sale_id", "kafka_partition", "kafka_offset"],
    )
    qty = sum(line.qty for ev in events for line in ev.envelope.payload.lines)  # type: ignore[attr-defined]
    await conn.execute("UPDATE totals SET qty = qty + $1 WHERE id = 1", qty)


async def main(dsn: str, bootstrap: str, topic: str, group: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    await migrate(dsn, [KIT_MIGRATIONS])
    db = await Database.connect(dsn, min_size=1, max_size=6)
    async with db.connection() as conn:
        await conn.execute(SCHEMA)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    consumer = ConsumerLoop(
        db=db, bootstrap=bootstrap, group=group, handlers={topic: apply_sales}, max_batch=500
    )
    await consumer.run(stop)
    await db.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
