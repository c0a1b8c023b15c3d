"""The dev stack's fixtures against a real Kafka broker and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from g3n_devstack import Stack, ensure_kafka, stack_kind, unique_name, unique_topic
from g3n_devstack.kafka_dist import MARKER_NAME
from g3n_devstack.procs import ProcRef, proc_start_time

# --- with the real stack --------------------------------------------------------------------------


async def test_message_produced_on_a_fresh_topic_is_consumed_by_a_group(
    kafka_bootstrap: str, fresh_topic: Callable[..., str]
) -> None:
    topic = fresh_topic("devstack")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"hello": "kafka"}', key=b"k1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=unique_name("g"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=20)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert (message.key, message.value) == (b"k1", b'{"hello": "kafka"}')


async def test_topics_are_created_explicitly_with_four_partitions_and_idempotently(stack: Stack) -> None:
    topic = unique_topic("partitions")
    await stack.acreate_topics([topic])
    stack.create_topics([topic])  # a second time is fine
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert len(described["partitions"]) == 4


async def test_fresh_database_belongs_to_a_role_of_its_own(fresh_dsn: Callable[..., str]) -> None:
    dsn = fresh_dsn("owned")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE note (id int PRIMARY KEY, body text NOT NULL)")
        await conn.execute("INSERT INTO note VALUES (1, 'hello')")
        row = await conn.fetchrow("SELECT current_user AS who, current_database() AS db, body FROM note")
    finally:
        await conn.close()
    assert row is not None
    assert row["who"] == row["db"] == dsn.rsplit("/", 1)[-1]
    assert row["body"] == "hello"


def test_ensure_database_twice_returns_the_same_dsn(stack: Stack) -> None:
    name = unique_name("twice")
    assert stack.ensure_database(name) == stack.ensure_database(name) == stack.dsn(name)


async def test_module_database_is_shared_within_a_module(module_dsn: str, stack: Stack) -> None:
    assert module_dsn.startswith("postgresql://devstack_")
    assert f":{stack.pg_port}/" in module_dsn
    conn = await asyncpg.connect(module_dsn)
    try:
        assert await conn.fetchval("SHOW max_connections") == "200"
    finally:
        await conn.close()


async def test_postgres_outage_round_trip_keeps_port_and_data(
    stack: Stack, fresh_dsn: Callable[..., str]
) -> None:
    dsn = fresh_dsn("outage")
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE kept (v int)")
    await conn.execute("INSERT INTO kept VALUES (42)")
    await conn.close()

    await asyncio.to_thread(stack.pg_stop)
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await asyncpg.connect(dsn, timeout=3)

    await asyncio.to_thread(stack.pg_start)
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT v FROM kept") == 42
    finally:
        await conn.close()


def test_state_lists_only_live_processes(stack: Stack) -> None:
    state = stack.state()
    assert state["kind"] == stack.kind
    if stack.kind == "local":
        names = {p["name"] for p in state["processes"]}
        assert names == {"kafka", "postgres"}
        assert all(ProcRef.from_json(p).alive() for p in state["processes"])


# --- without the stack ----------------------------------------------------------------------------


def test_unique_names_are_valid_identifiers_and_topics() -> None:
    name = unique_name("My-Module.Test")
    assert name.startswith("my_module_test_") and len(name) <= 63
    assert unique_name("9lives").startswith("t_9lives_")
    assert unique_topic("ifm.events.v1").startswith("ifm.events.v1.")
    assert unique_name() != unique_name()


def test_a_recorded_pid_with_another_start_time_is_never_signalled() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        real = ProcRef.of("sleeper", child.pid)
        impostor = ProcRef(name="sleeper", pid=child.pid, start_time=(real.start_time or 0) + 1)
        assert real.alive() and not impostor.alive()
        assert impostor.send(signal.SIGKILL) is False
        assert child.poll() is None
        real.terminate(timeout=5)
        assert proc_start_time(child.pid) is None  # gone (and reaped) after SIGTERM
        assert not real.alive()
    finally:
        if child.poll() is None:
            child.kill()


def test_stack_switch_follows_g3n_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("G3N_STACK", "local")
    assert stack_kind() == "local"
    monkeypatch.setenv("G3N_STACK", "docker")
    assert stack_kind() == "docker"
    monkeypatch.setenv("G3N_STACK", "podman")
    with pytest.raises(ValueError):
        stack_kind()


def test_resolved_kafka_jars_are_reused_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = tmp_path / "kafka-9.9.9" / "lib"
    lib.mkdir(parents=True)
    (lib / MARKER_NAME).write_text("kafka_2.13-9.9.9.jar\n")
    monkeypatch.setenv("G3N_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", "/nonexistent")  # no mvn: must not be needed
    started = time.monotonic()
    dist = ensure_kafka("9.9.9")
    assert dist.lib_dir == lib
    assert dist.log4j_config.read_text().startswith("status = warn")
    assert "rootLogger.level = warn" in dist.log4j_config.read_text()
    assert time.monotonic() - started < 1
    assert os.environ["PATH"] == "/nonexistent"


def test_dev_status_prints_readiness_backlog_and_lag_per_consumer_group() -> None:
    from g3n_devstack.cli import format_stat

    stat = {
        "database": {"ok": True},
        "outbox_backlog": 3,
        "kafka": {"ok": True, "consumer_lag": {"crm.scm": {"scm.sales.v1": 7}}},
        "ok": True,
    }
    assert format_stat("crm", stat) == "crm: ready, database ok, kafka ok, outbox backlog 3, crm.scm lag 7"
    stat["kafka"] = {"ok": True, "consumer_lag": {"crm.scm": {"scm.sales.v1": 0}}}
    assert format_stat("crm", stat).endswith("crm.scm lag 0 (caught up)")
    assert format_stat("ifm", {"error": "refused"}).startswith("ifm: unreachable")
