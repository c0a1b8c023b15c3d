"""Shared set-up of the CRM integration tests: a fresh database per module, the HTTP app on it,
API keys per org and role set, and a small client that speaks the envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
from g3n_crm.bootstrap import build
from g3n_crm.settings import Settings
from g3n_devstack.naming import unique_name
from g3n_devstack.stack import Stack
from g3n_kit.apikeys import CRM_ROLES, create_api_key
from g3n_kit.db import Database
from g3n_kit.http import create_app
from g3n_kit.migrations import migrate

ALL_ROLES = ("crm_view", "crm_manage", "crm_loyalty", "crm_giftcard")


@dataclass
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        assert self.body.get("success") is True, self.body
        return self.body["data"]

    @property
    def code(self) -> str | None:
        err = self.body.get("error")
        return err["code"] if err else None


@dataclass
class CrmEnv:
    dsn: str
    db: Database
    settings: Settings
    app: Any
    client: httpx.AsyncClient
    keys: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)

    async def key(self, org: str, roles: Iterable[str] = ALL_ROLES) -> str:
        wanted = tuple(sorted(roles))
        if (org, wanted) not in self.keys:
            async with self.db.transaction() as conn:
                _, plain = await create_api_key(conn, org, wanted, "test", allowed_roles=CRM_ROLES)
            self.keys[(org, wanted)] = plain
        return self.keys[(org, wanted)]

    async def call(
        self,
        name: str,
        body: dict[str, Any] | None = None,
        *,
        org: str = "acme",
        roles: Iterable[str] = ALL_ROLES,
        key: str | None = None,
        idem: str | None = None,
        client: httpx.AsyncClient | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        headers = {"x-orgcode": org, "x-api-key": key or await self.key(org, roles), **(headers or {})}
        if idem:
            headers["idempotency-key"] = idem
        resp = await (client or self.client).post(
            "/crm/" + name.replace(".", "/"), json=body or {}, headers=headers
        )
        return Reply(resp.status_code, resp.json())

    async def ok(self, name: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
        reply = await self.call(name, body, **kw)
        assert reply.status == 200, (name, reply.status, reply.body)
        return reply.data


async def make_env(stack: Stack, label: str) -> CrmEnv:
    dsn = await stack.aensure_database(unique_name(f"crm_{label}"))
    settings = Settings(database_url=dsn, kafka_bootstrap=stack.kafka_bootstrap)
    defn = build(settings)
    await migrate(dsn, defn.all_migrations)
    db = await Database.connect(dsn, min_size=1, max_size=20)

    async def stat() -> dict[str, Any]:
        return {"ok": True}

    app = create_app(
        service="crm",
        prefix="/crm",
        operations=defn.operations,
        db_provider=lambda: db,
        stat_provider=stat,
        title="g3n crm (test)",
        version="test",
        roles=defn.roles,
        paging_secret="test-paging-secret",
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm.test")
    return CrmEnv(dsn, db, settings, app, client)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def crm_env(stack: Stack, request: Any) -> AsyncIterator[CrmEnv]:
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    env = await make_env(stack, label)
    try:
        yield env
    finally:
        await env.client.aclose()
        await env.db.close()


# ---- SCM events through the real broker ----------------------------------------------------------

SALE_TIME = "2026-11-20T14:03:11Z"


def sale(
    sale_id: str,
    order_id: str,
    lines: list[dict[str, Any]],
    *,
    customer: dict[str, Any] | None = None,
    tenders: list[dict[str, Any]] | None = None,
    currency: str = "USD",
    occurred_at: str | None = None,
) -> dict[str, Any]:
    return {
        "sale_id": sale_id,
        "order_id": order_id,
        "channel": "web",
        "occurred_at": occurred_at or SALE_TIME,
        "currency": currency,
        "customer": customer,
        "lines": lines,
        "tenders": tenders or [],
    }


def line(line_id: str, qty: int, unit: int, *, sku: str = "SKU-1", discount: int = 0) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "sku": sku,
        "qty": qty,
        "unit_price_minor": unit,
        "discount_minor": discount,
        "net_amount_minor": qty * unit - discount,
    }


def return_(
    return_id: str,
    order_id: str,
    lines: list[tuple[str, int, int]],
    tenders: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "return_id": return_id,
        "order_id": order_id,
        "occurred_at": "2026-11-22T09:00:00Z",
        "currency": "USD",
        "lines": [{"line_id": i, "qty": q, "refund_amount_minor": r} for i, q, r in lines],
        "tenders": tenders or [],
    }


def encoded(event_type: str, payload: dict[str, Any], org: str = "acme") -> tuple[bytes, bytes]:
    from g3n_contracts import encode_event, kafka_key, new_event, payload_model

    model = payload_model(event_type, 1)
    env = new_event(event_type, model.model_validate(payload), org_code=org, source="scm")
    return kafka_key(env), encode_event(env)


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    import asyncio

    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=k, value=v) for k, v in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


class RunningConsumer:
    """The kit's consumer loop with the CRM handler on a test topic, in this event loop."""

    def __init__(self, env: CrmEnv, bootstrap: str, topic: str, group: str) -> None:
        from g3n_crm.entrypoints.consumer_handlers import handle_scm_sales
        from g3n_kit.consumer import ConsumerLoop

        self.loop = ConsumerLoop(
            db=env.db,
            bootstrap=bootstrap,
            group=group,
            handlers={topic: handle_scm_sales},
            max_batch=1000,
            poll_ms=50,
        )
        self.env, self.group = env, group
        self.task: Any = None
        self.stop_event: Any = None

    async def __aenter__(self) -> RunningConsumer:
        import asyncio

        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(self.loop.run(self.stop_event))
        return self

    async def __aexit__(self, *exc: object) -> None:
        import asyncio

        self.stop_event.set()
        await asyncio.wait_for(self.task, 30)

    async def wait_inbox(self, count: int, timeout: float = 60.0) -> None:
        import asyncio

        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with self.env.db.connection() as conn:
                seen = await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer_group = $1", self.group)
            if seen >= count:
                return
            if self.task.done():
                self.task.result()
            assert asyncio.get_running_loop().time() < deadline, f"inbox has {seen} of {count} events"
            await asyncio.sleep(0.1)


async def reset_group_to_earliest(bootstrap: str, topic: str, group: str) -> None:
    """Operator replay: commit offset 0 on every partition of ``topic`` for ``group``."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.commit({tp: 0 for tp in tps})
    finally:
        await consumer.stop()


async def committed_offsets(bootstrap: str, topic: str, group: str) -> dict[int, int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        found = await admin.list_consumer_group_offsets(group)
        return {tp.partition: meta.offset for tp, meta in found.items() if tp.topic == topic}
    finally:
        await admin.close()
