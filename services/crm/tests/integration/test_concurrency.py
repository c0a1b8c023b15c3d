"""200 concurrent redemptions over real HTTP (uvicorn on a TCP port) never overdraw a gift card
or a loyalty balance: the sum applied equals the starting balance exactly."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from crm_support import CrmEnv
from g3n_devstack.testing import serve_app

pytestmark = pytest.mark.asyncio(loop_scope="session")

N = 200


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server_url(crm_env: CrmEnv) -> AsyncIterator[str]:
    async with serve_app(crm_env.app, timeout_keep_alive=30, stop_timeout=15) as base_url:
        yield base_url


@pytest_asyncio.fixture(loop_scope="session")
async def server(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh client per test, so no test reuses connections the server may have closed."""
    limits = httpx.Limits(max_connections=N, max_keepalive_connections=N)
    async with httpx.AsyncClient(base_url=server_url, limits=limits, timeout=60) as client:
        yield client


async def test_200_concurrent_giftcard_redeems_never_overdraw(
    crm_env: CrmEnv, server: httpx.AsyncClient
) -> None:
    env = crm_env
    start = 10_000
    card = await env.ok(
        "giftcard.issue", {"amount": {"amount_minor": start, "currency": "USD"}, "reason": "load"}
    )

    async def redeem(i: int) -> tuple[int, int]:
        reply = await env.call(
            "giftcard.redeem",
            {
                "code": card["code"],
                "amount": {"amount_minor": 70, "currency": "USD"},
                "order_ref": f"o-{i}",
                "allow_partial": True,
            },
            client=server,
        )
        return reply.status, reply.body["data"]["applied_minor"] if reply.status == 200 else 0

    results = await asyncio.gather(*(redeem(i) for i in range(N)))
    statuses = Counter(s for s, _ in results)
    applied = sum(a for _, a in results)
    assert applied == start, statuses
    assert set(statuses) <= {200, 409} and statuses[200] == 143  # 142 x 70 + one partial 60
    got = await env.ok("giftcard.get", {"giftcard_id": card["giftcard_id"]})
    assert got["balance_minor"] == 0
    redeems = [t for t in got["history"] if t["kind"] == "redeem"]
    assert -sum(t["amount_minor"] for t in redeems) == start
    assert all(t["balance_after_minor"] >= 0 for t in got["history"])


async def test_200_concurrent_loyalty_redeems_never_overdraw(
    crm_env: CrmEnv, server: httpx.AsyncClient
) -> None:
    env = crm_env
    start = 7_500
    cid = (await env.ok("customer.create", {"email": "race@example.com"}))["customer_id"]
    await env.ok("loyalty.earn", {"customer_id": cid, "points": start, "reason": "load"})

    async def redeem(i: int) -> tuple[int, str | None]:
        reply = await env.call(
            "loyalty.redeem", {"customer_id": cid, "points": 75, "reason": f"r{i}"}, client=server
        )
        return reply.status, reply.code

    results = await asyncio.gather(*(redeem(i) for i in range(N)))
    ok = sum(1 for s, _ in results if s == 200)
    refused = Counter(code for s, code in results if s != 200)
    assert ok * 75 == start and refused == {"insufficient-balance": N - ok}
    bal = (await env.ok("customer.get", {"customer_id": cid}))["loyalty"]
    assert bal == {"available": 0, "pending": 0, "debt": 0}
    async with env.db.connection() as conn:
        total = await conn.fetchval("SELECT sum(points) FROM loyalty_entries WHERE customer_id = $1", cid)
        seqs = await conn.fetch(
            "SELECT seq, balance_after FROM loyalty_entries WHERE customer_id = $1 ORDER BY seq", cid
        )
    assert total == 0 and [r["seq"] for r in seqs] == list(range(1, ok + 2))
    assert all(r["balance_after"] >= 0 for r in seqs)
