"""The raw ingest floor on this machine: what Kafka + PostgreSQL can do with no business logic.

100k `scm.sale.recorded` events (4 partitions) are consumed with aiokafka `getmany` and the same
rows are written with asyncpg `COPY`, offsets committed after each database commit. Three
figures, each in events/s:
- consume only (getmany, no decoding);
- consume + minimal JSON decode + COPY + commit (the floor later issues compare with);
- the same with full contract validation (`g3n_contracts.parse_event`) instead of a raw decode.

Run: `uv run python bench/floor.py [N]` (writes its section of docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer
from common import bench_stack, git_rev, machine, produce, sale_messages, write_section
from g3n_contracts import parse_event


def _raw_row(value: bytes) -> tuple[Any, ...]:
    d = orjson.loads(value)
    p = d["payload"]
    return (
        uuid.UUID(d["event_id"]),
        d["org_code"],
        p["order_id"],
        sum(line["net_amount_minor"] for line in p["lines"]),
    )


def _validated_row(value: bytes) -> tuple[Any, ...]:
    env = parse_event(value)
    p: Any = env.payload
    return (env.event_id, env.org_code, p.order_id, sum(line.net_amount_minor for line in p.lines))


async def _consume(
    bootstrap: str, topic: str, n: int, dsn: str | None, row: Callable[[bytes], tuple[Any, ...]] | None
) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"floor-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=5000,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=4) if dsn else None
    await consumer.start()
    seen = 0
    t0 = 0.0
    try:
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            if not batch:
                continue
            if not t0:
                t0 = time.perf_counter()

            async def one(tp: Any, recs: list[Any]) -> None:
                if pool is not None and row is not None:
                    rows = [row(r.value) for r in recs]
                    async with pool.acquire() as conn, conn.transaction():
                        await conn.copy_records_to_table(
                            "floor_rows",
                            records=rows,
                            columns=["event_id", "org_code", "order_id", "net_minor"],
                        )
                await consumer.commit({tp: recs[-1].offset + 1})

            await asyncio.gather(*(one(tp, recs) for tp, recs in batch.items()))
            seen += sum(len(r) for r in batch.values())
        return seen / (time.perf_counter() - t0)
    finally:
        await consumer.stop()
        if pool is not None:
            await pool.close()


async def _kit_loop(bootstrap: str, topic: str, n: int, dsn: str) -> float:
    """The same rows through the kit's ConsumerLoop: what the inbox and the loop itself cost."""
    from g3n_kit.consumer import ConsumerLoop, InboundEvent
    from g3n_kit.db import Database
    from g3n_kit.migrations import KIT_MIGRATIONS, migrate
    from g3n_kit.runtime import tune_gc

    await migrate(dsn, [KIT_MIGRATIONS])
    db = await Database.connect(dsn, min_size=4, max_size=6)
    tune_gc(200_000)  # as the services' consumer processes run (g3n_kit.runtime.main)
    done = asyncio.Event()
    seen = 0
    t0 = 0.0

    async def handler(conn: Any, events: Sequence[InboundEvent]) -> None:
        nonlocal seen, t0
        if not t0:
            t0 = time.perf_counter()
        rows = []
        for ev in events:
            p: Any = ev.envelope.payload
            rows.append(
                (
                    ev.envelope.event_id,
                    ev.envelope.org_code,
                    p.order_id,
                    sum(line.net_amount_minor for line in p.lines),
                )
            )
        await conn.copy_records_to_table(
            "floor_rows", records=rows, columns=["event_id", "org_code", "order_id", "net_minor"]
        )
        seen += len(events)
        if seen >= n:
            done.set()

    loop = ConsumerLoop(
        db=db,
        bootstrap=bootstrap,
        group=f"kit-{uuid.uuid4().hex[:6]}",
        handlers={topic: handler},
        max_batch=5000,
    )
    task = asyncio.create_task(loop.run(done))
    await done.wait()
    elapsed = time.perf_counter() - t0
    await task
    await db.close()
    return n / elapsed


async def run(n: int) -> None:
    with bench_stack() as stack:
        topic = "bench.floor.sales"
        await stack.acreate_topics([topic], partitions=4)
        dsn = await stack.aensure_database("bench_floor")
        conn = await asyncpg.connect(dsn)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS floor_rows (event_id uuid, org_code text, order_id text,"
            " net_minor bigint)"
        )
        await conn.close()
        print(f"generating {n} events …", flush=True)
        messages = sale_messages(n)
        produced = await produce(stack.kafka_bootstrap, topic, messages)
        print(f"produced {produced:,.0f}/s", flush=True)
        consume_only = await _consume(stack.kafka_bootstrap, topic, n, None, None)
        print(f"consume only {consume_only:,.0f}/s", flush=True)
        floor = await _consume(stack.kafka_bootstrap, topic, n, dsn, _raw_row)
        print(f"consume + decode + COPY + commit {floor:,.0f}/s", flush=True)
        validated = await _consume(stack.kafka_bootstrap, topic, n, dsn, _validated_row)
        print(f"consume + contract validation + COPY + commit {validated:,.0f}/s", flush=True)
        kit = await _kit_loop(stack.kafka_bootstrap, topic, n, dsn)
        print(f"kit ConsumerLoop (contracts + inbox + COPY + commit) {kit:,.0f}/s", flush=True)
    write_section(
        "floor",
        f"""## Foundation: the raw ingest floor

`uv run python bench/floor.py {n}` — {datetime.now(UTC):%Y-%m-%d %H:%M}Z, commit {git_rev()}, {machine()}.
Local Kafka (KRaft, one node) and PostgreSQL 15 with default durability, both on this machine.
{n:,} `scm.sale.recorded` events with two lines each, 4 partitions, offsets committed per partition batch.

| path | events/s |
| --- | ---: |
| produce (aiokafka, idempotent, acks=all, linger 5 ms) | {produced:,.0f} |
| consume only (`getmany`, no decoding) | {consume_only:,.0f} |
| **floor**: consume + minimal JSON decode + `COPY` + offset commit | **{floor:,.0f}** |
| same with full contract validation (`g3n_contracts.parse_event`) | {validated:,.0f} |
| the kit's `ConsumerLoop` (contracts + inbox dedupe + `COPY` + commit; services' GC tuning) | {kit:,.0f} |

The floor is what later ingest benchmarks compare with (goal: a service applying its business
rules at ≥ 50% of it).
""",
    )


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
