"""Fixtures for the influencer integration tests: a fresh database per module on the real stack,
the HTTP app from the operation table driven in-process (httpx ASGITransport), API keys per role,
and helpers to run the consumer and the relay against real Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from g3n_contracts import EventEnvelope, SaleRecorded, encode_event, kafka_key, new_event, parse_event, topics
from g3n_devstack.stack import Stack
from g3n_influencer.bootstrap import build
from g3n_influencer.entrypoints.operations import OPERATIONS
from g3n_influencer.roles import ROLES
from g3n_influencer.service import attribution
from g3n_influencer.service.context import Actor
from g3n_influencer.settings import Settings
from g3n_kit.apikeys import create_api_key
from g3n_kit.consumer import BatchHandler, ConsumerLoop
from g3n_kit.db import Database
from g3n_kit.http import create_app
from g3n_kit.kafka import ensure_topics
from g3n_kit.migrations import migrate
from g3n_kit.relay import OutboxRelay

ALL_ROLES = sorted(ROLES)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Ifm:
    """One module's influencer service: database, HTTP client, keys of two orgs."""

    stack: Stack
    db: Database
    dsn: str
    client: httpx.AsyncClient
    org: str
    other_org: str
    keys: dict[str, str] = field(default_factory=dict)  # name -> plaintext

    async def key(self, name: str, roles: Iterable[str], org: str | None = None) -> str:
        if name not in self.keys:
            async with self.db.transaction() as conn:
                _, plain = await create_api_key(conn, org or self.org, list(roles), name, allowed_roles=ROLES)
            self.keys[name] = plain
        return self.keys[name]

    async def raw(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        key: str = "admin",
        org: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        h = {"x-orgcode": org or self.org, "x-api-key": self.keys[key], **(headers or {})}
        return await self.client.post(f"/ifm{path}", json=dict(body), headers=h)

    async def call(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        key: str = "admin",
        org: str | None = None,
        expect: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        resp = await self.raw(path, body, key=key, org=org, headers=headers)
        payload: dict[str, Any] = resp.json()
        assert resp.status_code == expect, (path, resp.status_code, payload)
        return payload

    async def data(self, path: str, body: Mapping[str, Any], **kw: Any) -> Any:
        return (await self.call(path, body, **kw))["data"]

    async def error(self, path: str, body: Mapping[str, Any], code: str, **kw: Any) -> dict[str, Any]:
        status = {
            "validation-error": 400,
            "forbidden": 403,
            "not-found": 404,
            "invalid-state": 409,
            "conflict": 409,
            "revision-mismatch": 409,
            "revision-required": 428,
        }[code]
        payload = await self.call(path, body, expect=status, **kw)
        assert payload["error"]["code"] == code, payload
        err: dict[str, Any] = payload["error"]
        return err

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self.db.connection() as conn:
            return list(await conn.fetch(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.db.connection() as conn:
            return await conn.fetchval(sql, *args)

    async def apply_sales(self, sales: Iterable[SaleRecorded]) -> attribution.SalesResult:
        """Apply ``sales`` as one SCM consumer batch (one transaction), as the handler does."""
        async with self.db.transaction() as conn:
            return await attribution.record_sales(
                conn,
                [attribution.SaleIn(self.org, s) for s in sales],
                Actor(self.org, "consumer:test", "scm"),
            )

    async def active_campaign(self, handle: str, code: str, *, rate_bps: int = 1000) -> tuple[str, str]:
        """A new profile owning ``code`` in a new active USD percent campaign: (profile, campaign)."""
        prof = await self.data(
            "/profile/create",
            {"handle": handle, "display_name": handle.title(), "payout_currency": "USD", "codes": [code]},
        )
        return prof["profile_id"], await self.campaign_for(handle, [prof["profile_id"]], rate_bps=rate_bps)

    async def campaign_for(
        self, name: str, profile_ids: list[str], *, rate_bps: int = 1000, **fields: Any
    ) -> str:
        """A new active USD percent campaign of these profiles (``fields`` add to or replace the
        create call's body): its id."""
        cmp = await self.data(
            "/campaign/create",
            {
                "name": name,
                "currency": "USD",
                "starts_at": "2026-01-01T00:00:00Z",
                "commission": {"type": "percent", "rate_bps": rate_bps},
                "profile_ids": profile_ids,
                **fields,
            },
        )
        await self.call(
            "/campaign/status/set",
            {"campaign_id": cmp["campaign_id"], "expected_revision": 1, "status": "active"},
        )
        cid: str = cmp["campaign_id"]
        return cid


@pytest_asyncio.fixture(scope="module")
async def ifm(stack: Stack, request: pytest.FixtureRequest) -> AsyncIterator[Ifm]:
    name = (
        "ifm_"
        + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
        + "_"
        + uuid.uuid4().hex[:6]
    )
    dsn = await stack.aensure_database(name)
    defn = build(Settings(database_url=dsn, kafka_bootstrap=stack.kafka_bootstrap))
    await migrate(dsn, defn.all_migrations)
    db = await Database.connect(dsn, min_size=1, max_size=8)

    async def stat() -> dict[str, Any]:
        return {"ok": True}

    app = create_app(
        service="ifm",
        prefix="/ifm",
        operations=OPERATIONS,
        db_provider=lambda: db,
        stat_provider=stat,
        title="g3n influencer",
        version="test",
        roles=ROLES,
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ifm.test")
    h = Ifm(stack=stack, db=db, dsn=dsn, client=client, org=unique("acme"), other_org=unique("other"))
    await h.key("admin", ALL_ROLES)
    await h.key("other", ALL_ROLES, org=h.other_org)
    try:
        yield h
    finally:
        await client.aclose()
        await db.close()


# --- Kafka helpers ---------------------------------------------------------------------------------


async def produce(bootstrap: str, topic: str, envelopes: Iterable[EventEnvelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                encode_event(env),
                key=kafka_key(env),
                headers=[("event_type", env.event_type.encode()), ("content-type", b"application/json")],
            )
            for env in envelopes
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def running_consumer(
    db: Database, bootstrap: str, group: str, handlers: Mapping[str, BatchHandler], *, max_batch: int = 500
) -> AsyncIterator[ConsumerLoop]:
    loop = ConsumerLoop(
        db=db, bootstrap=bootstrap, group=group, handlers=handlers, max_batch=max_batch, poll_ms=50
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        await asyncio.wait_for(loop.ready.wait(), 60)
        yield loop
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def wait_for(predicate: Any, *, timeout: float = 30.0, interval: float = 0.1) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def relay_all(db: Database, bootstrap: str) -> int:
    """Publish every unsent outbox row once (the relay's own publishing step); returns the rows."""
    await ensure_topics(bootstrap, [topics.ACCOUNTING_PAYOUTS, topics.IFM_EVENTS])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5)
    await producer.start()
    try:
        relay = OutboxRelay(db=db, bootstrap=bootstrap)
        total = 0
        while (n := await relay.publish_once(producer)) > 0:
            total += n
        return total
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str, topic: str, *, org: str, want: int, timeout: float = 30.0
) -> list[EventEnvelope]:
    """Read ``topic`` from the beginning until ``want`` events of ``org`` were seen."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        group_id=unique("ifm-test-reader"),
    )
    await consumer.start()
    try:
        found: list[EventEnvelope] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < want and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    if rec.value is None:
                        continue
                    env = parse_event(rec.value)
                    if env.org_code == org:
                        found.append(env)
        return found
    finally:
        await consumer.stop()


# --- SCM events ----------------------------------------------------------------------------------

SCM_TIME = "2026-11-20T14:03:11Z"


def sale_payload(
    order_id: str,
    lines: list[tuple[str, str, int, int]],
    *,
    codes: list[str] | None = None,
    referral: str | None = None,
    currency: str = "USD",
    occurred_at: str = SCM_TIME,
    sale_id: str | None = None,
) -> SaleRecorded:
    """``lines``: (line_id, sku, qty, net_amount_minor)."""
    return SaleRecorded.model_validate(
        {
            "sale_id": sale_id or f"s-{order_id}",
            "order_id": order_id,
            "channel": "web",
            "occurred_at": occurred_at,
            "currency": currency,
            "promo_codes": codes or [],
            "referral_code": referral,
            "lines": [
                {"line_id": lid, "sku": sku, "qty": q, "net_amount_minor": net} for lid, sku, q, net in lines
            ],
        }
    )


def sale_event(
    org: str, order_id: str, lines: list[tuple[str, str, int, int]], **fields: Any
) -> EventEnvelope:
    """The ``scm.sale.recorded`` event of :func:`sale_payload`."""
    from g3n_contracts import event_types

    return new_event(
        event_types.SALE_RECORDED, sale_payload(order_id, lines, **fields), org_code=org, source="scm"
    )


def return_event(
    org: str, order_id: str, return_id: str, lines: list[tuple[str, int]], *, currency: str = "USD"
) -> EventEnvelope:
    """``lines``: (line_id, qty)."""
    from g3n_contracts import ReturnRecorded, event_types

    payload = ReturnRecorded.model_validate(
        {
            "return_id": return_id,
            "order_id": order_id,
            "occurred_at": "2026-11-22T09:00:00Z",
            "currency": currency,
            "lines": [{"line_id": lid, "qty": q, "refund_amount_minor": 0} for lid, q in lines],
        }
    )
    return new_event(event_types.RETURN_RECORDED, payload, org_code=org, source="scm")


async def caught_up(bootstrap: str, group: str, topic: str, *, timeout: float = 60.0) -> None:
    from g3n_kit.kafka import group_lag

    async def done() -> bool:
        lag = await group_lag(bootstrap, group, [topic])
        return lag.get(topic, 1) == 0

    await wait_for(done, timeout=timeout, interval=0.2)


async def reset_group(bootstrap: str, group: str, topic: str) -> None:
    """Rewind ``group`` to offset 0 on every partition of ``topic`` (an operator replay)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.commit({tp: 0 for tp in tps})
    finally:
        await consumer.stop()
