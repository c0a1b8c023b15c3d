"""Operator commands against the real Kafka broker and PostgreSQL: `g3n scm emit`,
`g3n accounting tail`, `g3n dlq list|show|replay`.

Tests that need a running consumer drive the kit's ConsumerLoop with the influencer's real SCM
handler on a fresh topic and group (so nothing else in the session interferes), and run the CLI
in a worker thread (its commands own their event loop, as they do from a shell).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from g3n_cli import scm
from g3n_cli.errors import ExitCode
from g3n_cli.main import app
from g3n_cli.services import SERVICES
from g3n_cli.testing import prepare_database
from g3n_contracts import (
    PAYOUT_RECORDED,
    SALE_RECORDED,
    Payee,
    PayoutRecorded,
    SaleRecorded,
    encode_event,
    kafka_key,
    new_event,
    parse_event,
)
from g3n_contracts.topics import dlq_topic
from g3n_kit.consumer import BatchHandler, ConsumerLoop, InboundEvent, PoisonEvent
from g3n_kit.db import Database
from g3n_kit.kafka import produce, produce_events
from g3n_kit.relay import OutboxRelay
from typer.testing import CliRunner, Result

pytestmark = pytest.mark.asyncio(loop_scope="session")

IFM = SERVICES["influencer"]


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


async def acli(*args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI from inside an async test: its commands run their own event loop (a worker thread)."""
    return await asyncio.to_thread(cli, *args, env=env)


async def read_topic(bootstrap: str, topic: str, want: int, timeout: float = 30.0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while len(out) < want and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            out.extend(r for rs in batch.values() for r in rs)
    finally:
        await consumer.stop()
    return out


# --- scm emit -------------------------------------------------------------------------------------


@pytest.mark.asyncio(loop_scope="session")
async def test_generated_events_are_reproducible_and_returns_match_their_sales() -> None:
    opts = scm.GenerateOptions(count=3, seed=7, promo_codes=("ANNA10",), customer_ids=("cus_1",))
    assert scm.generate_sale(opts, 2) == scm.generate_sale(opts, 2)
    assert scm.generate_sale(opts, 1) != scm.generate_sale(opts, 2)
    sale = scm.generate_sale(opts, 2)
    assert sale.promo_codes == ("ANNA10",) and sale.customer is not None
    assert sum(t.amount_minor for t in sale.tenders) == sum(line.net_amount_minor for line in sale.lines)
    ret = scm.generate_return(opts, 2)
    first = sale.lines[0]
    assert (ret.order_id, ret.lines[0].line_id, ret.lines[0].qty) == (sale.order_id, first.line_id, 1)
    assert ret.lines[0].refund_amount_minor == first.net_amount_minor // first.qty


async def test_emit_from_a_file_validates_every_event_before_producing(
    stack: Any, fresh_topic: Callable[..., str], tmp_path: Path
) -> None:
    topic = fresh_topic("emit")
    good = scm.generate_sale(scm.GenerateOptions(count=1), 1).model_dump(mode="json")
    env = new_event(
        SALE_RECORDED,
        scm.generate_sale(scm.GenerateOptions(count=2, seed=3), 2),
        org_code="acme",
        source="scm",
    )
    bad = {**good, "order_id": "o-bad", "lines": []}
    base = ["scm", "emit", "sale", "--org", "acme", "--topic", topic, "--bootstrap", stack.kafka_bootstrap]

    mixed = tmp_path / "mixed.json"
    mixed.write_bytes(orjson.dumps([good, bad]))
    refused = await acli(*base, "--file", str(mixed))
    assert refused.exit_code == ExitCode.VALIDATION
    assert "event 2: invalid-payload" in refused.stderr and "lines" in refused.stderr

    lines = tmp_path / "events.jsonl"
    lines.write_text(orjson.dumps(good).decode() + "\n" + encode_event(env).decode() + "\n")
    done = await acli(*base, "--file", str(lines), "--json")
    assert done.exit_code == 0, done.stderr
    summary = orjson.loads(done.stdout)
    assert summary["emitted"] == 2 and summary["topics"] == {topic: 2}
    records = await read_topic(stack.kafka_bootstrap, topic, want=2)
    assert len(records) == 2  # the refused file produced nothing
    by_id = {str(parse_event(r.value).event_id): r for r in records}
    assert str(env.event_id) in by_id  # a full envelope keeps its identity
    for record in records:
        parsed = parse_event(record.value)
        assert record.key == kafka_key(parsed) == f"acme:{parsed.payload_as(SaleRecorded).order_id}".encode()
        assert dict(record.headers)["event_type"] == SALE_RECORDED.encode()


async def test_emit_generates_keyed_events_with_a_progress_bar(
    stack: Any, fresh_topic: Callable[..., str]
) -> None:
    topic = fresh_topic("gen")
    done = await acli(
        "scm",
        "emit",
        "sale",
        "--generate",
        "300",
        "--org",
        "acme",
        "--seed",
        "5",
        "--promo-code",
        "ANNA10",
        "--topic",
        topic,
        "--bootstrap",
        stack.kafka_bootstrap,
    )
    assert done.exit_code == 0, done.stderr
    assert "emitted 300 scm.sale.recorded" in done.stdout and "300/300" in done.stderr
    returns = await acli(
        "scm",
        "emit",
        "return",
        "--generate",
        "10",
        "--org",
        "acme",
        "--seed",
        "5",
        "--topic",
        topic,
        "--bootstrap",
        stack.kafka_bootstrap,
    )
    assert returns.exit_code == 0, returns.stderr
    records = await read_topic(stack.kafka_bootstrap, topic, want=310)
    partition_of: dict[bytes, set[int]] = {}
    for r in records:
        partition_of.setdefault(r.key, set()).add(r.partition)
    assert len(records) == 310 and all(len(parts) == 1 for parts in partition_of.values())
    assert len(partition_of) == 300  # each return went to its sale's key
    assert {parse_event(r.value).org_code for r in records} == {"acme"}


# --- accounting tail ------------------------------------------------------------------------------


def _payout(org: str, n: int) -> Any:
    payload = PayoutRecorded(
        payout_id=f"pay_{uuid.uuid4().hex[:10]}",
        profile_id="inf_1",
        payee=Payee(handle=f"anna{n}"),
        currency="USD",
        amount_minor=1000 + n,
        earning_ids=(f"ern_{n}",),
        submitted_at=datetime.now(UTC),
    )
    return new_event(PAYOUT_RECORDED, payload, org_code=org, source="ifm")


async def test_accounting_tail_prints_payout_records(stack: Any, fresh_topic: Callable[..., str]) -> None:
    topic = fresh_topic("payouts")
    mine, theirs = _payout("acme", 1), _payout("globex", 2)
    await produce_events(stack.kafka_bootstrap, topic=topic, envelopes=[theirs, mine, _payout("acme", 3)])
    args = ["accounting", "tail", "--topic", topic, "--bootstrap", stack.kafka_bootstrap, "--from-beginning"]
    as_json = await acli(*args, "--org", "acme", "--max", "2", "--json", "--timeout", "30")
    assert as_json.exit_code == 0, as_json.stderr
    lines = [parse_event(line.encode()) for line in as_json.stdout.splitlines()]
    # Payouts are keyed by payout id, so they sit on different partitions: no order between them.
    assert sorted(e.payload_as(PayoutRecorded).amount_minor for e in lines) == [1001, 1003]
    human = await acli(*args, "--max", "3", "--timeout", "30")
    assert human.exit_code == 0 and "anna2" in human.stdout and "1003 USD" in human.stdout
    short = await acli(*args, "--org", "acme", "--max", "5", "--timeout", "2")
    assert short.exit_code == 1 and "timed out: 2 of 5" in short.stderr


async def test_accounting_tail_follows_records_as_they_arrive(
    stack: Any, fresh_topic: Callable[..., str]
) -> None:
    topic = fresh_topic("live")
    await produce_events(
        stack.kafka_bootstrap, topic=topic, envelopes=[_payout("acme", 1)]
    )  # before the tail: not shown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "g3n_cli.main",
            "accounting",
            "tail",
            "--topic",
            topic,
            "--max",
            "1",
            "--json",
            "--timeout",
            "60",
            "--bootstrap",
            stack.kafka_bootstrap,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert proc.stderr is not None
        started = await asyncio.to_thread(proc.stderr.readline)
        assert b"tailing" in started
        await asyncio.sleep(0.5)
        live = _payout("acme", 7)
        await produce_events(stack.kafka_bootstrap, topic=topic, envelopes=[live])
        out, _ = await asyncio.to_thread(proc.communicate, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    (line,) = out.decode().splitlines()
    assert parse_event(line.encode()).event_id == live.event_id


# --- dlq ------------------------------------------------------------------------------------------


@dataclass
class Consumer:
    dsn: str
    db: Database
    topic: str
    group: str
    broken: set[str]  # order ids the handler refuses (a "bug" fixed by emptying the set)

    @property
    def dlq(self) -> str:
        return dlq_topic(self.topic, self.group)

    async def inbox(self, event_id: str) -> list[str]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                "SELECT outcome FROM inbox WHERE consumer_group = $1 AND event_id = $2",
                self.group,
                uuid.UUID(event_id),
            )
        return [r["outcome"] for r in rows]

    async def wait_inbox(self, event_id: str, outcome: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while await self.inbox(event_id) != [outcome]:
            assert time.monotonic() < deadline, await self.inbox(event_id)
            await asyncio.sleep(0.2)


@asynccontextmanager
async def ifm_consumer(stack: Any, fresh_topic: Callable[..., str]) -> AsyncIterator[Consumer]:
    """The influencer's SCM handler in a kit ConsumerLoop on a fresh topic, plus the outbox relay."""
    dsn = await prepare_database(stack, IFM, "dlq")
    db = await Database.connect(dsn, min_size=1, max_size=6)
    topic = fresh_topic("dlqsales")
    group = f"ifm.scm.{uuid.uuid4().hex[:6]}"
    defn = IFM.definition()
    (spec,) = [s for s in defn.consumers if s.group == "ifm.scm"]
    real = next(iter(spec.handlers(defn.settings).values()))
    broken: set[str] = set()

    async def handler(conn: asyncpg.Connection, events: Sequence[InboundEvent]) -> None:
        for ev in events:
            order = getattr(ev.envelope.payload, "order_id", None)
            if order in broken:
                raise PoisonEvent("handler-error", f"order {order} trips a bug")
        await real(conn, events)

    handlers: dict[str, BatchHandler] = {topic: handler}
    stop = asyncio.Event()
    loop = ConsumerLoop(db=db, bootstrap=stack.kafka_bootstrap, group=group, handlers=handlers, poll_ms=100)
    relay = OutboxRelay(db=db, bootstrap=stack.kafka_bootstrap, idle_ms=20)
    tasks = [asyncio.create_task(loop.run(stop)), asyncio.create_task(relay.run(stop))]
    try:
        await asyncio.wait_for(loop.ready.wait(), 30)
        yield Consumer(dsn, db, topic, group, broken)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await db.close()


async def _wait_letters(args: Sequence[str], want: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        listed = await acli(*args, "--json")
        assert listed.exit_code == 0, listed.stderr
        letters: list[dict[str, Any]] = orjson.loads(listed.stdout)
        if len(letters) >= want or time.monotonic() > deadline:
            return letters
        await asyncio.sleep(0.3)


async def test_dlq_list_show_and_replay_a_fixed_event(
    stack: Any, fresh_topic: Callable[..., str], tmp_path: Path
) -> None:
    async with ifm_consumer(stack, fresh_topic) as c:
        where = [
            "--service",
            "influencer",
            "--group",
            c.group,
            "--topic",
            c.topic,
            "--bootstrap",
            stack.kafka_bootstrap,
        ]
        empty = await acli("dlq", "list", *where)
        assert empty.exit_code == 0 and "no dead letters" in empty.stdout

        sale = scm.generate_sale(scm.GenerateOptions(count=1, seed=11, order_prefix="dlq"), 1)
        good = new_event(SALE_RECORDED, sale, org_code="acme", source="scm")
        broken = orjson.loads(encode_event(good))
        broken["payload"]["lines"] = []  # fails the contract
        await produce(
            stack.kafka_bootstrap,
            c.topic,
            [(kafka_key(good), orjson.dumps(broken), [("event_type", SALE_RECORDED.encode())])],
        )

        (letter,) = await _wait_letters(["dlq", "list", *where], want=1)
        assert letter["reason"] == "invalid-payload" and letter["event_id"] == str(good.event_id)
        assert letter["id"].startswith(c.dlq + ":") and letter["key"] == kafka_key(good).decode()
        table = await acli("dlq", "list", *where)
        assert letter["id"] in table.stdout and "invalid-payload" in table.stdout
        shown = await acli(
            "dlq",
            "show",
            letter["id"],
            "--service",
            "influencer",
            "--bootstrap",
            stack.kafka_bootstrap,
            "--json",
        )
        detail = orjson.loads(shown.stdout)
        assert detail["value"]["payload"]["lines"] == [] and detail["headers"]["dlq-group"] == c.group
        assert await c.inbox(str(good.event_id)) == []  # a contract failure is never claimed

        replay = [
            "dlq",
            "replay",
            letter["id"],
            "--service",
            "influencer",
            "--database-url",
            c.dsn,
            "--bootstrap",
            stack.kafka_bootstrap,
            "--json",
        ]
        still_bad = await acli(*replay)
        assert still_bad.exit_code == ExitCode.VALIDATION and "still fails the contract" in still_bad.stderr
        fixed = tmp_path / "fixed-payload.json"
        fixed.write_bytes(orjson.dumps(sale.model_dump(mode="json")))  # just the payload, fixed
        done = await acli(*replay, "--file", str(fixed))
        assert done.exit_code == 0, done.stderr
        result = orjson.loads(done.stdout)
        assert result["replayed"] == str(good.event_id) and result["topic"] == c.topic
        assert result["inbox_rows_removed"] == 0
        await c.wait_inbox(str(good.event_id), "applied")


async def test_dlq_replay_of_a_handler_failure_is_applied_exactly_once(
    stack: Any, fresh_topic: Callable[..., str]
) -> None:
    async with ifm_consumer(stack, fresh_topic) as c:
        where = [
            "--service",
            "influencer",
            "--group",
            c.group,
            "--topic",
            c.topic,
            "--bootstrap",
            stack.kafka_bootstrap,
        ]
        sale = scm.generate_sale(scm.GenerateOptions(count=1, seed=12, order_prefix="bug"), 1)
        c.broken.add(sale.order_id)
        env = new_event(SALE_RECORDED, sale, org_code="acme", source="scm")
        await produce_events(stack.kafka_bootstrap, [env], topic=c.topic)
        (letter,) = await _wait_letters(["dlq", "list", *where], want=1)
        assert letter["reason"] == "handler-error" and "trips a bug" in letter["error"]
        await c.wait_inbox(str(env.event_id), "dead_lettered")

        c.broken.clear()  # the bug is fixed; the event itself was fine
        replay = [
            "dlq",
            "replay",
            letter["id"],
            "--service",
            "influencer",
            "--database-url",
            c.dsn,
            "--bootstrap",
            stack.kafka_bootstrap,
        ]
        done = await acli(*replay)
        assert done.exit_code == 0, done.stderr
        assert "removed 1 dead-letter inbox row(s)" in done.stdout
        await c.wait_inbox(str(env.event_id), "applied")
        again = await acli(*replay)
        assert again.exit_code == ExitCode.STATE and "already applied" in again.stderr
        assert await c.inbox(str(env.event_id)) == ["applied"]
        missing = await acli(
            "dlq",
            "show",
            f"{c.dlq}:0:999999",
            "--service",
            "influencer",
            "--bootstrap",
            stack.kafka_bootstrap,
        )
        assert missing.exit_code == ExitCode.NOT_FOUND
