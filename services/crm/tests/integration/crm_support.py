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
    ) -> Reply:
        headers = {"x-orgcode": org, "x-api-key": key or await self.key(org, roles)}
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
