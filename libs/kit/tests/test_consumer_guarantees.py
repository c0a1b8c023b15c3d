"""The consumer loop's delivery guarantees, against the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from g3n_contracts import event_types, parse_event
from g3n_contracts.topics import dlq_topic
from g3n_kit import consumer as consumer_module
from g3n_kit.db import Database
from g3n_kit.kafka import produce
from g3n_kit.relay import OutboxRelay
from support.applier import main as applier_main
from support.events import envelope_bytes, sale_bytes, sale_payload
from support.procs import kill9, read_all, start, terminate


async def _count(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql) or 0)
    except asyncpg.exceptions.UndefinedTableError:
        return 0
    finally:
        await conn.close()


async def _wait_for(dsn: str, sql: str, target: int, timeout: float) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = -1
    while loop.time() < deadline:
        try:
            value = await _count(dsn, sql)
        except (OSError, asyncpg.exceptions.PostgresError):
            value = -1
        if value >= target:
            return value
        await asyncio.sleep(0.25)
    return value


async def test_20k_events_applied_exactly_once_across_three_sigkills(stack: Any, tmp_path: Path) -> None:
    topic = f"kit.eo.{uuid.uuid4().hex[:8]}"
    await stack.acreate_topics([topic], partitions=4)
    dsn = await stack.aensure_database(f"kit_eo_{uuid.uuid4().hex[:8]}")
    messages = [sale_bytes(f"s-{i}", qty=2) for i in range(20_000)]
    # Producer retries re-send the same event_id: 300 such copies must be no-ops.
    messages += random.Random(7).sample(messages, 300)
    await produce(stack.kafka_bootstrap, topic, messages)

    log = tmp_path / "applier.log"
    rng = random.Random()
    kills = 0
    proc = start("applier.py", dsn, stack.kafka_bootstrap, topic, "kit-eo", log=log)
    try:
        for target in sorted(rng.sample(range(1_000, 17_000), 3)):
            reached = await _wait_for(dsn, "SELECT count(*) FROM applied", target, 120)
            assert reached >= target, f"applier stuck at {reached}; log tail: {log.read_text()[-2000:]}"
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            kill9(proc)
            kills += 1
            proc = start("applier.py", dsn, stack.kafka_bootstrap, topic, "kit-eo", log=log)
        done = await _wait_for(dsn, "SELECT count(*) FROM applied", 20_000, 180)
        assert done >= 20_000, f"only {done} applied; log tail: {log.read_text()[-2000:]}"
        await asyncio.sleep(2)  # anything redelivered late would show up now
    finally:
        terminate(proc)
    assert kills == 3
    assert await _count(dsn, "SELECT count(*) FROM applied") == 20_000
    assert await _count(dsn, "SELECT count(DISTINCT event_id) FROM applied") == 20_000
    assert await _count(dsn, "SELECT count(DISTINCT sale_id) FROM applied") == 20_000
    assert await _count(dsn, "SELECT qty FROM totals WHERE id = 1") == 40_000


async def test_poison_messages_go_to_the_dlq_with_reason_and_the_partition_keeps_flowing(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"kit.poison.{uuid.uuid4().hex[:8]}"
    group = "kit-poison"
    await stack.acreate_topics([topic], partitions=1)  # one partition: poison sits between good events
    dsn = await stack.aensure_database(f"kit_poison_{uuid.uuid4().hex[:8]}")
    good = [sale_bytes(f"g-{i}") for i in range(30)]
    bad_schema = orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": event_types.SALE_RECORDED,
            "event_version": 1,
            "occurred_at": "2026-11-20T14:03:11Z",
            "org_code": "acme",
            "source": "scm",
            "payload": {"sale_id": "x", "order_id": "o-x"},
        }
    )
    key, valid = envelope_bytes(event_types.SALE_RECORDED, sale_payload("v-99"))
    future_version = orjson.dumps({**orjson.loads(valid), "event_version": 99})
    unknown_type = orjson.dumps(
        {**orjson.loads(valid), "event_type": "scm.sale.teleported", "event_id": str(uuid.uuid4())}
    )
    _, rejected = sale_bytes("reject-1")
    # before year 1 once in UTC (its conversion overflows: it once escaped the contract's errors)
    year_zero = orjson.dumps(
        {
            **orjson.loads(sale_bytes("y-0")[1]),
            "payload": {**sale_payload("y-0"), "occurred_at": "0001-01-01T00:00:00+01:00"},
        }
    )
    _, crashes = sale_bytes("crash-1")  # bytes the parser fails on with an unexpected exception

    def parse_or_crash(raw: bytes) -> Any:
        if raw == crashes:
            raise RuntimeError("parser bug")
        return parse_event(raw)

    monkeypatch.setattr(consumer_module, "parse_event", parse_or_crash)
    poison = [
        (b"k", b"{not json"),
        (b"k", bad_schema),
        (key, future_version),
        (key, unknown_type),
        (b"k", rejected),
        (b"k", year_zero),
        (b"k", crashes),
    ]
    await produce(stack.kafka_bootstrap, topic, good[:10] + poison[:3] + good[10:20] + poison[3:] + good[20:])

    # The same entrypoint code as the process, run in-process with the relay beside it.
    db = await Database.connect(dsn, min_size=1, max_size=4)
    try:
        stop = asyncio.Event()
        consumer_task = asyncio.create_task(applier_main(dsn, stack.kafka_bootstrap, topic, group))
        await _wait_for(dsn, "SELECT count(*) FROM applied", 30, 60)
        relay = OutboxRelay(db=db, bootstrap=stack.kafka_bootstrap, batch=100)
        relay_task = asyncio.create_task(relay.run(stop))
        letters = await read_all(stack.kafka_bootstrap, dlq_topic(topic, group), expect=7, timeout=30)
        stop.set()
        await relay_task
        consumer_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer_task
    finally:
        await db.close()

    assert await _count(dsn, "SELECT count(*) FROM applied") == 30
    reasons = Counter(dict(r.headers)["dlq-reason"].decode() for r in letters)
    assert reasons == Counter(
        {
            "not-json": 1,
            "invalid-payload": 2,
            "unsupported-version": 1,
            "unknown-event-type": 1,
            "rejected": 1,
            "handler-error": 1,
        }
    )
    for r in letters:
        h = dict(r.headers)
        assert h["dlq-original-topic"].decode() == topic
        assert h["dlq-error"]
    assert {r.value for r in letters} == {p[1] for p in poison}  # the original bytes, untouched
    assert await _count(dsn, "SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'") == 1


async def test_database_outage_is_retried_with_backoff_and_nothing_is_lost(
    stack: Any, tmp_path: Path
) -> None:
    topic = f"kit.outage.{uuid.uuid4().hex[:8]}"
    await stack.acreate_topics([topic], partitions=4)
    dsn = await stack.aensure_database(f"kit_outage_{uuid.uuid4().hex[:8]}")
    log = tmp_path / "applier.log"
    proc = start("applier.py", dsn, stack.kafka_bootstrap, topic, "kit-outage", log=log)
    try:
        await produce(stack.kafka_bootstrap, topic, [sale_bytes(f"a-{i}") for i in range(2_000)])
        assert await _wait_for(dsn, "SELECT count(*) FROM applied", 2_000, 60) == 2_000
        stack.pg_stop()
        try:
            # Events keep arriving while the database is down.
            await produce(stack.kafka_bootstrap, topic, [sale_bytes(f"b-{i}") for i in range(3_000)])
            await asyncio.sleep(10)
            assert proc.poll() is None, "the consumer must survive the outage"
        finally:
            stack.pg_start()
        assert await _wait_for(dsn, "SELECT count(*) FROM applied", 5_000, 90) == 5_000
        await asyncio.sleep(1)
    finally:
        terminate(proc)
    assert await _count(dsn, "SELECT count(DISTINCT event_id) FROM applied") == 5_000
    assert await _count(dsn, "SELECT count(*) FROM applied") == 5_000
    retries = log.read_text().count("transient error, retrying batch")
    # Backoff 0.2 s doubling to 5 s: a 10 s outage is a handful of retries per partition batch,
    # where a hot loop would log thousands.
    assert 1 <= retries <= 60, f"{retries} retry lines"


async def test_partitions_are_applied_concurrently_each_in_order_one_batch_at_a_time(stack: Any) -> None:
    """Every partition with records gets a batch of its own (not one partition per poll), a
    partition's next batch waits for its previous one, and batches of one partition apply in
    offset order without gaps or repeats."""
    from g3n_kit.consumer import ConsumerLoop, InboundEvent
    from g3n_kit.migrations import KIT_MIGRATIONS, migrate

    topic = f"kit.par.{uuid.uuid4().hex[:8]}"
    await stack.acreate_topics([topic], partitions=4)
    dsn = await stack.aensure_database(f"kit_par_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS])
    await produce(stack.kafka_bootstrap, topic, [sale_bytes(f"p-{i}") for i in range(2_000)])

    seen: dict[int, list[int]] = {}
    in_flight: dict[int, int] = {}
    most_partitions = 0
    applied = 0
    done = asyncio.Event()

    async def handler(conn: asyncpg.Connection, events: Sequence[InboundEvent]) -> None:
        nonlocal most_partitions, applied
        (partition,) = {ev.partition for ev in events}  # a batch never mixes partitions
        assert in_flight.get(partition, 0) == 0, "two batches of one partition in flight"
        in_flight[partition] = 1
        most_partitions = max(most_partitions, sum(in_flight.values()))
        await asyncio.sleep(0.02)  # long enough for the other partitions' batches to start
        seen.setdefault(partition, []).extend(ev.offset for ev in events)
        in_flight[partition] = 0
        applied += len(events)
        if applied >= 2_000:
            done.set()

    db = await Database.connect(dsn, min_size=1, max_size=6)
    stop = asyncio.Event()
    loop = ConsumerLoop(
        db=db, bootstrap=stack.kafka_bootstrap, group="kit-par", handlers={topic: handler}, max_batch=100
    )
    task = asyncio.create_task(loop.run(stop))
    try:
        await asyncio.wait_for(done.wait(), 60)
    finally:
        stop.set()
        await task
        await db.close()
    assert sum(len(v) for v in seen.values()) == 2_000
    for offsets in seen.values():
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
    assert len(seen) > 1 and most_partitions > 1
