"""SCM events in → both services (their own processes) → out, against the real broker and database.

One sale with Anna's promo code, a known customer and a loyalty tender drives an attribution and
an earning in IFM and an earn plus a redemption in CRM; a return of one whole line claws back
exactly that line's earning in IFM and reverses exactly that line's points in CRM, and its
loyalty refund tender restores points. The payout then reaches the accounting topic once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from g3n_cli.services import SERVICES
from g3n_cli.testing import ServiceProcesses, create_key, prepare_database, start_service
from g3n_contracts import (
    ReturnRecorded,
    SaleRecorded,
    event_types,
    new_event,
    topics,
)
from g3n_kit.kafka import produce_events

PROCESSES = ("http", "consumer", "relay")


class Api:
    def __init__(self, base_url: str, prefix: str, org: str, key: str) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=15)
        self.prefix, self.headers = prefix, {"x-orgcode": org, "x-api-key": key}

    async def data(self, path: str, body: dict[str, Any]) -> Any:
        resp = await self.client.post(f"/{self.prefix}{path}", json=body, headers=self.headers)
        env = resp.json()
        assert env["success"], (path, env)
        return env["data"]


class System:
    def __init__(self, org: str, ifm: Api, crm: Api, bootstrap: str) -> None:
        self.org, self.ifm, self.crm, self.bootstrap = org, ifm, crm, bootstrap


@pytest_asyncio.fixture(loop_scope="session")
async def system(stack: Any, tmp_path: Path) -> AsyncIterator[System]:
    org = f"e2e{uuid.uuid4().hex[:8]}"
    running: list[ServiceProcesses] = []
    apis: dict[str, Api] = {}
    try:
        for name, roles in (
            ("influencer", ["inf_view", "inf_manage", "inf_campaign_admin", "inf_finance"]),
            ("crm", ["crm_view", "crm_manage", "crm_loyalty", "crm_giftcard"]),
        ):
            info = SERVICES[name]
            dsn = await prepare_database(stack, info, f"e2e_{info.short}")
            key = await create_key(dsn, info, org, roles)
            proc = await asyncio.to_thread(
                start_service, info, dsn, stack.kafka_bootstrap, tmp_path, PROCESSES
            )
            running.append(proc)
            apis[name] = Api(proc.base_url, info.short, org, key)
        yield System(org, apis["influencer"], apis["crm"], stack.kafka_bootstrap)
    finally:
        for api in apis.values():
            await api.client.aclose()
        for proc in running:
            proc.stop()


async def _eventually(
    probe: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], timeout: float = 60
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = None
    while loop.time() < deadline:
        value = await probe()
        if ok(value):
            return value
        await asyncio.sleep(0.25)
    raise AssertionError(f"condition not reached in {timeout}s; last value: {value}")


async def _records_for_org(
    bootstrap: str, topic: str, org: str, want: int, timeout: float = 60
) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and len(found) < want:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                for r in recs:
                    env = orjson.loads(r.value or b"{}")
                    if env.get("org_code") == org:
                        found.append(env)
        await asyncio.sleep(0.5)
        for recs in (await consumer.getmany(timeout_ms=500)).values():  # anything beyond: duplicates
            found += [e for e in (orjson.loads(r.value or b"{}") for r in recs) if e.get("org_code") == org]
    finally:
        await consumer.stop()
    return found


async def test_a_sale_and_a_return_flow_through_both_services_to_accounting(system: System) -> None:
    ifm, crm, org = system.ifm, system.crm, system.org
    code = f"ANNA{uuid.uuid4().hex[:4].upper()}"
    profile = await ifm.data(
        "/profile/create",
        {"handle": "anna", "display_name": "Anna", "payout_currency": "USD", "codes": [code]},
    )
    campaign = await ifm.data(
        "/campaign/create",
        {
            "name": "Winter",
            "currency": "USD",
            "starts_at": "2026-01-01T00:00:00Z",
            "commission": {"type": "percent", "rate_bps": 1000},
            "holding_days": 30,
            "profile_ids": [profile["profile_id"]],
        },
    )
    await ifm.data(
        "/campaign/status/set",
        {"campaign_id": campaign["campaign_id"], "expected_revision": 1, "status": "active"},
    )
    email = f"anna-{uuid.uuid4().hex[:6]}@example.com"
    customer = await crm.data("/customer/create", {"email": email})
    cid = customer["customer_id"]
    await crm.data("/loyalty/earn", {"customer_id": cid, "points": 100, "reason": "welcome"})

    order = f"o-{uuid.uuid4().hex[:8]}"
    sale = new_event(
        event_types.SALE_RECORDED,
        SaleRecorded.model_validate(
            {
                "sale_id": f"s-{order}",
                "order_id": order,
                "channel": "web",
                "occurred_at": "2026-11-20T14:03:11Z",
                "currency": "USD",
                "customer": {"email": email},
                "promo_codes": [code],
                "lines": [
                    {
                        "line_id": "1",
                        "sku": "TSHIRT-M",
                        "qty": 2,
                        "unit_price_minor": 2500,
                        "discount_minor": 500,
                        "net_amount_minor": 4500,
                        "category": "apparel",
                    },
                    {
                        "line_id": "2",
                        "sku": "CAP",
                        "qty": 1,
                        "unit_price_minor": 1500,
                        "discount_minor": 0,
                        "net_amount_minor": 1500,
                        "category": "apparel",
                    },
                ],
                "tenders": [
                    {"type": "card", "amount_minor": 5970},
                    {"type": "loyalty", "amount_minor": 30, "points": 30},
                ],
            }
        ),
        org_code=org,
        source="scm",
    )
    await produce_events(system.bootstrap, [sale])

    # IFM: 10% of 6,000 net = 600, per line 450 + 150.
    atts = await _eventually(
        lambda: ifm.data("/attribution/list", {"order_id": order}), lambda d: len(d["items"]) == 1
    )
    earnings = await _eventually(
        lambda: ifm.data("/earnings/list", {"profile_id": profile["profile_id"]}),
        lambda d: len(d["items"]) == 1,
    )
    earning = earnings["items"][0]
    assert atts["items"][0]["order_id"] == order
    assert earning["amount_minor"] == 600
    assert sorted((ln["line_id"], ln["amount_minor"]) for ln in earning["lines"]) == [("1", 450), ("2", 150)]

    # CRM: 60 points earned on 60.00 USD (default policy: 1 point per unit), 30 redeemed by the tender.
    got = await _eventually(
        lambda: crm.data("/customer/get", {"customer_id": cid}), lambda d: d["loyalty"]["available"] == 130
    )
    assert got["loyalty"] == {"available": 130, "pending": 0, "debt": 0}

    ret = new_event(
        event_types.RETURN_RECORDED,
        ReturnRecorded.model_validate(
            {
                "return_id": f"r-{order}",
                "order_id": order,
                "occurred_at": "2026-11-22T09:00:00Z",
                "currency": "USD",
                "lines": [{"line_id": "2", "qty": 1, "refund_amount_minor": 1500}],
                "tenders": [{"type": "loyalty", "amount_minor": 10, "points": 10}],
            }
        ),
        org_code=org,
        source="scm",
    )
    await produce_events(system.bootstrap, [ret, ret])  # a producer retry: the same event twice

    # IFM: exactly line 2's earning (150) clawed back. CRM: line 2's 15 points reversed, 10 restored.
    clawed = await _eventually(
        lambda: ifm.data("/earnings/list", {"profile_id": profile["profile_id"]}),
        lambda d: d["items"][0]["clawed_back_minor"] == 150,
    )
    assert clawed["items"][0]["net_minor"] == 450
    got = await _eventually(
        lambda: crm.data("/customer/get", {"customer_id": cid}), lambda d: d["loyalty"]["available"] == 125
    )
    await asyncio.sleep(1.5)  # a doubled return would show now
    assert (await crm.data("/customer/get", {"customer_id": cid}))["loyalty"]["available"] == 125
    again = await ifm.data("/earnings/list", {"profile_id": profile["profile_id"]})
    assert again["items"][0]["clawed_back_minor"] == 150

    # Payout: release, mark ready, submit; accounting sees it exactly once.
    await ifm.data("/earnings/release", {"earning_ids": [earning["earning_id"]]})
    prof = await ifm.data("/profile/get", {"profile_id": profile["profile_id"]})
    await ifm.data(
        "/payout/ready/set",
        {
            "profile_id": profile["profile_id"],
            "expected_revision": prof["revision"],
            "ready": True,
            "payout_method": {"type": "bank", "reference": "DE89"},
        },
    )
    submitted = await ifm.data("/payout/submit", {"profile_ids": [profile["profile_id"]], "currency": "USD"})
    payout = submitted["payouts"][0]
    assert payout["amount_minor"] == 450
    records = await _records_for_org(system.bootstrap, topics.ACCOUNTING_PAYOUTS, org, want=1)
    assert [r["payload"]["payout_id"] for r in records] == [payout["payout_id"]]
    assert records[0]["payload"]["amount_minor"] == 450
    assert records[0]["event_type"] == event_types.PAYOUT_RECORDED

    # CRM published the tender's redemption and the refund's restore for payment.
    stored = await _records_for_org(system.bootstrap, topics.CRM_STORED_VALUE, org, want=2)
    kinds = sorted(r["event_type"] for r in stored)
    assert kinds == [event_types.LOYALTY_REDEEMED, event_types.LOYALTY_RESTORED]
