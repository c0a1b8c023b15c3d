"""The outbox relay under SIGKILL: everything reaches the topic, duplicates only as the same event."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
from g3n_kit.migrations import KIT_MIGRATIONS, migrate
from g3n_kit.outbox import pack
from support.procs import kill9, read_all, start, terminate


async def _enqueue_and_relay(stack: Any, dsn: str, messages: list[Any], batch: int) -> None:
    """Write ``messages`` to the outbox in one transaction, then relay until nothing is unsent."""
    from aiokafka import AIOKafkaProducer
    from g3n_kit.db import Database
    from g3n_kit.outbox import enqueue_messages
    from g3n_kit.relay import OutboxRelay

    db = await Database.connect(dsn)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        async with db.transaction() as c:
            await enqueue_messages(c, messages)
        relay = OutboxRelay(db=db, bootstrap=stack.kafka_bootstrap, batch=batch)
        while await relay.publish_once(producer):
            pass
        async with db.connection() as c:
            assert await c.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    finally:
        await producer.stop()
        await db.close()


async def test_relay_sigkilled_mid_batch_delivers_every_row_and_only_redelivers_same_event_ids(
    stack: Any, tmp_path: Path
) -> None:
    topic = f"kit.relay.{uuid.uuid4().hex[:8]}"
    await stack.acreate_topics([topic], partitions=4)
    dsn = await stack.aensure_database(f"kit_relay_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS])
    total = 20_000
    ids = [uuid.uuid4() for _ in range(total)]
    values = [
        (f"k{i % 64}".encode(), f'{{"event_id":"{eid}","n":{i}}}'.encode()) for i, eid in enumerate(ids)
    ]
    legacy = total // 2  # rows written before packing (one message each), then packed rows of 100
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "outbox",
            records=[(topic, k, v, "[]", eid) for (k, v), eid in zip(values[:legacy], ids, strict=False)],
            columns=["topic", "msg_key", "msg_value", "headers", "event_id"],
        )
        packs = [values[i : i + 100] for i in range(legacy, total, 100)]
        await conn.copy_records_to_table(
            "outbox",
            records=[(topic, pack((k, v, (("n", b"1"),)) for k, v in p), len(p)) for p in packs],
            columns=["topic", "messages", "message_count"],
        )
    finally:
        await conn.close()

    log = tmp_path / "relay.log"
    rng = random.Random()
    proc = start("relay_proc.py", dsn, stack.kafka_bootstrap, "500", log=log)
    try:
        for _ in range(3):
            await asyncio.sleep(rng.uniform(0.3, 1.2))
            kill9(proc)
            proc = start("relay_proc.py", dsn, stack.kafka_bootstrap, "500", log=log)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while loop.time() < deadline:
            c = await asyncpg.connect(dsn)
            unsent = await c.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            await c.close()
            if unsent == 0:
                break
            await asyncio.sleep(0.25)
        assert unsent == 0, log.read_text()[-2000:]
    finally:
        terminate(proc)

    records = await read_all(stack.kafka_bootstrap, topic, expect=total, timeout=60)
    copies: dict[str, set[bytes]] = defaultdict(set)
    first_seen: dict[bytes | None, list[int]] = defaultdict(list)  # per key, n of each first copy
    for r in records:
        assert r.value is not None
        eid = r.value.split(b'"')[3].decode()
        if eid not in copies:
            first_seen[r.key].append(int(r.value.rsplit(b":", 1)[1].rstrip(b"}")))
        copies[eid].add(r.value)
    assert all(ns == sorted(ns) for ns in first_seen.values()), "per key, first copies in outbox order"
    assert set(copies) == {str(e) for e in ids}, "every outbox message reached the topic"
    assert all(len(v) == 1 for v in copies.values()), "a redelivery is byte-identical (same event_id)"
    assert len(records) >= total


async def test_outbox_purge_deletes_only_rows_sent_before_the_retention(stack: Any) -> None:
    from g3n_kit.db import Database
    from g3n_kit.relay import purge_sent_outbox

    dsn = await stack.aensure_database(f"kit_purge_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS])
    db = await Database.connect(dsn)
    try:
        async with db.transaction() as conn:
            await conn.execute(
                """INSERT INTO outbox (topic, msg_value, sent_at)
                   SELECT 't', 'v'::bytea, CASE WHEN g % 3 = 0 THEN now() - interval '8 days'
                                                WHEN g % 3 = 1 THEN now() - interval '1 day'
                                                ELSE NULL END
                   FROM generate_series(1, 300) g"""
            )
        assert await purge_sent_outbox(db, keep_days=7, batch=40) == 100
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 100
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL") == 100
    finally:
        await db.close()


async def test_packed_rows_are_unreadable_to_a_relay_of_the_previous_version(stack: Any) -> None:
    """A relay from before packing read `headers` and `msg_value` of every row: packed rows give it
    NULL headers to fail on (and retry) rather than NULL values to publish as tombstones."""
    from g3n_kit.db import Database
    from g3n_kit.outbox import OutgoingMessage, enqueue_messages, outbox_messages

    dsn = await stack.aensure_database(f"kit_packed_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS])
    db = await Database.connect(dsn)
    try:
        async with db.transaction() as conn:
            await enqueue_messages(conn, [OutgoingMessage("t", b"k", b"v", [("h", b"1")])] * 3)
        async with db.connection() as conn:
            row = await conn.fetchrow("SELECT headers, msg_value, message_count FROM outbox")
            assert (row["headers"], row["msg_value"], row["message_count"]) == (None, None, 3)
            assert [(m.key, m.value, m.headers) for m in await outbox_messages(conn)] == [
                (b"k", b"v", [("h", b"1")])
            ] * 3
    finally:
        await db.close()


async def test_rows_written_before_packing_are_published_after_the_upgrade_in_order(stack: Any) -> None:
    """A database that still holds unsent one-message rows when 0003/0004 arrive: the upgrade
    keeps them, and the relay publishes them, headers included, before the packed rows after them."""
    from dataclasses import dataclass

    from g3n_kit.migrations import Migration, MigrationSource
    from g3n_kit.outbox import OutgoingMessage

    @dataclass(frozen=True)
    class Before(MigrationSource):  # the kit's migrations as they were before packing
        def load(self) -> list[Migration]:
            return [m for m in super().load() if m.version <= 2]

    topic = f"kit.upgrade.{uuid.uuid4().hex[:8]}"
    await stack.acreate_topics([topic], partitions=1)
    dsn = await stack.aensure_database(f"kit_upgrade_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [Before("kit", "g3n_kit.sql")])
    conn = await asyncpg.connect(dsn)
    try:  # what the previous version's enqueue_messages wrote, one row per message
        await conn.executemany(
            "INSERT INTO outbox (topic, msg_key, msg_value, headers, event_id, event_type)"
            " VALUES ($1, $2, $3, $4::jsonb, $5::uuid, $6)",
            [
                (topic, b"k", f"old-{i}".encode(), '[["event_type", "x.y.z"]]', str(uuid.uuid4()), "x.y.z")
                for i in range(3)
            ],
        )
    finally:
        await conn.close()
    assert await migrate(dsn, [KIT_MIGRATIONS]) == [
        "kit/0003_packed_outbox.sql",
        "kit/0004_validate_outbox_forms.sql",
        "kit/0005_outbox_lz4.sql",
        "kit/0006_inbox_keys_selective_first.sql",
    ]

    await _enqueue_and_relay(
        stack, dsn, [OutgoingMessage(topic, b"k", f"new-{i}".encode(), []) for i in range(2)], batch=2
    )
    records = await read_all(stack.kafka_bootstrap, topic, expect=5, timeout=30)
    assert [r.value for r in records] == [b"old-0", b"old-1", b"old-2", b"new-0", b"new-1"]
    assert [list(r.headers) for r in records[:3]] == [[("event_type", b"x.y.z")]] * 3


async def test_a_batch_pack_is_stored_lz4_compressed_and_published_intact(stack: Any) -> None:
    """Migration 0005: a consumer batch's pack (change-event JSON, far over the TOAST threshold)
    is stored lz4-compressed, a fraction of its size, and every message reaches the topic as written."""
    from g3n_kit.outbox import OutgoingMessage

    topic = f"kit.lz4.{uuid.uuid4().hex[:8]}"
    await stack.acreate_topics([topic], partitions=1)
    dsn = await stack.aensure_database(f"kit_lz4_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS])
    values = [
        f'{{"event_id":"{uuid.uuid4()}","event_type":"ifm.attribution.recorded","n":{i},'
        f'"payload":{{"order_id":"o-{i}","amount_minor":{i * 7},"currency":"USD"}}}}'.encode()
        for i in range(800)
    ]
    messages = [
        OutgoingMessage(topic, f"k{i}".encode(), v, [("n", str(i).encode())]) for i, v in enumerate(values)
    ]
    await _enqueue_and_relay(stack, dsn, messages, batch=1000)
    conn = await asyncpg.connect(dsn)
    try:  # marking the row sent keeps its stored pack
        method, stored, raw = await conn.fetchrow(
            "SELECT pg_column_compression(messages), pg_column_size(messages), octet_length(messages)"
            " FROM outbox"
        )
    finally:
        await conn.close()
    assert method == "lz4"
    assert raw > sum(map(len, values))
    assert stored < raw / 2
    records = await read_all(stack.kafka_bootstrap, topic, expect=len(values), timeout=30)
    assert [r.value for r in records] == values
    assert [r.key for r in records] == [f"k{i}".encode() for i in range(len(values))]
    assert [list(r.headers) for r in records[:2]] == [[("n", b"0")], [("n", b"1")]]
