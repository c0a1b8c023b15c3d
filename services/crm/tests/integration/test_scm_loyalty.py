"""SCM drives loyalty through the real broker: sale with customer + loyalty tender, exact per-line
reversal on partial returns, return before sale, unknown customers, replay from offset 0."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from crm_support import (
    CrmEnv,
    RunningConsumer,
    committed_offsets,
    encoded,
    line,
    produce,
    reset_group_to_earliest,
    return_,
    sale,
)
from g3n_contracts import RETURN_RECORDED, SALE_RECORDED, parse_event
from g3n_devstack.stack import Stack
from g3n_kit.outbox import outbox_messages

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOW = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _balance(env: CrmEnv, cid: str) -> dict[str, int]:
    bal: dict[str, int] = (await env.ok("customer.get", {"customer_id": cid}))["loyalty"]
    return bal


async def _lines(env: CrmEnv, order_id: str) -> dict[str, tuple[int, int, int]]:
    async with env.db.connection() as conn:
        raw = await conn.fetchval(
            "SELECT lines FROM scm_sales WHERE order_id = $1 AND status = 'applied'", order_id
        )
    return {i: (p, q, v) for i, _sku, _qty, _net, p, q, v in orjson.loads(raw)}


async def test_sales_and_returns_drive_loyalty_exactly_once(crm_env: CrmEnv, stack: Stack) -> None:
    env = crm_env
    topic = f"crm.scm.test.{uuid.uuid4().hex[:8]}"
    group = f"crm.scm.{uuid.uuid4().hex[:6]}"
    await stack.acreate_topics([topic], partitions=4)
    await env.ok(
        "loyalty.policy.set",
        {
            "expected_revision": 1,
            "points_per_currency_unit": 1,
            "currency": "USD",
            "pending_days": 0,
            "expiry_days": 365,
            "min_redeem_points": 1,
            "point_value_minor": 10,
            "excluded_skus": ["GIFT-CARD"],
        },
    )
    anna = (await env.ok("customer.create", {"email": "anna@shop.example"}))["customer_id"]
    ben = (await env.ok("customer.create", {"external_ref": "POS-BEN"}))["customer_id"]
    seed = await env.ok("loyalty.earn", {"customer_id": anna, "points": 500, "reason": "welcome"})

    s1 = sale(
        "s-1",
        "o-1",
        [line("L1", 2, 2500), line("L2", 1, 3000, sku="GIFT-CARD"), line("L3", 3, 1000)],
        customer={"email": "ANNA@shop.example"},
        tenders=[
            {"type": "card", "amount_minor": 8000},
            {"type": "loyalty", "amount_minor": 3000, "points": 300},
        ],
        occurred_at=NOW,
    )
    r1 = return_(
        "r-1",
        "o-1",
        [("L1", 1, 2500), ("L3", 2, 2000)],
        tenders=[{"type": "loyalty", "amount_minor": 1000, "points": 100}],
    )
    early_return = return_("r-3", "o-2", [("B1", 1, 1999)])
    messages = [
        encoded(SALE_RECORDED, s1),
        encoded(RETURN_RECORDED, r1),
        encoded(RETURN_RECORDED, early_return),
        encoded(
            SALE_RECORDED,
            sale("s-3", "o-3", [line("X", 1, 100)], customer={"email": "nobody@x.example"}, occurred_at=NOW),
        ),
        encoded(SALE_RECORDED, sale("s-4", "o-4", [line("X", 1, 100)], occurred_at=NOW)),
    ]
    async with RunningConsumer(env, stack.kafka_bootstrap, topic, group) as consumer:
        await produce(stack.kafka_bootstrap, topic, messages)
        await consumer.wait_inbox(5)
        # sale: eligible 8000 (the gift card line excluded) -> 80 points, L1 50 / L3 30; tender 300 redeemed
        # return: 100 tender points restored, L1 1 of 2 units -> 25, L3 2 of 3 -> 20 reversed
        assert await _balance(env, anna) == {"available": 500 - 300 + 80 + 100 - 45, "pending": 0, "debt": 0}
        assert await _lines(env, "o-1") == {"L1": (50, 1, 25), "L2": (0, 0, 0), "L3": (30, 2, 20)}
        async with env.db.connection() as conn:
            parked = await conn.fetchrow("SELECT status FROM scm_returns WHERE return_id = 'r-3'")
            skipped = {
                r["sale_id"]: r["reason"]
                for r in await conn.fetch("SELECT sale_id, reason FROM scm_sales WHERE status = 'skipped'")
            }
            redemption = await conn.fetchrow(
                "SELECT * FROM loyalty_redemption_lots WHERE lot_id = $1", seed["lot"]["lot_id"]
            )
            stored = [parse_event(m.value) for m in await outbox_messages(conn, topic="crm.stored-value.v1")]
        assert parked["status"] == "parked"
        assert skipped == {"s-3": "unknown-customer", "s-4": "guest"}
        # the tender took the seed lot, and the refund went back into that very lot
        assert (redemption["points"], redemption["restored"]) == (300, 100)
        kinds = [(e.event_type, e.payload.points) for e in stored]  # type: ignore[attr-defined]
        assert ("crm.loyalty.redeemed", 300) in kinds and ("crm.loyalty.restored", 100) in kinds

        # the second part of the return: never more than a line earned
        r2 = return_("r-2", "o-1", [("L1", 1, 2500), ("L3", 5, 1000)])
        b2 = sale("s-2", "o-2", [line("B1", 1, 1999)], customer={"external_ref": "pos-ben"}, occurred_at=NOW)
        await produce(
            stack.kafka_bootstrap, topic, [encoded(RETURN_RECORDED, r2), encoded(SALE_RECORDED, b2)]
        )
        await consumer.wait_inbox(7)
        assert await _lines(env, "o-1") == {"L1": (50, 2, 50), "L2": (0, 0, 0), "L3": (30, 3, 30)}
        assert await _balance(env, anna) == {"available": 300, "pending": 0, "debt": 0}
        # Ben's early return was parked and applied when his sale came: 19 earned, 19 reversed
        assert await _balance(env, ben) == {"available": 0, "pending": 0, "debt": 0}
        ledger = await env.ok("loyalty.ledger.list", {"customer_id": ben})
        assert [(e["kind"], e["points"]) for e in ledger["items"]] == [("reverse", -19), ("earn", 19)]
        async with env.db.connection() as conn:
            assert await conn.fetchval("SELECT status FROM scm_returns WHERE return_id = 'r-3'") == "applied"

    before = await _snapshot(env)
    # operator replay: the group starts over from offset 0; nothing may change
    await reset_group_to_earliest(stack.kafka_bootstrap, topic, group)
    assert set((await committed_offsets(stack.kafka_bootstrap, topic, group)).values()) == {0}
    async with RunningConsumer(env, stack.kafka_bootstrap, topic, group):
        await _wait_consumed(stack.kafka_bootstrap, topic, group, 7)
    assert await _snapshot(env) == before


async def _wait_consumed(bootstrap: str, topic: str, group: str, total: int) -> None:
    import asyncio

    for _ in range(300):
        if sum((await committed_offsets(bootstrap, topic, group)).values()) >= total:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("replay did not reach the end of the topic")


async def _snapshot(env: CrmEnv) -> dict[str, Any]:
    async with env.db.connection() as conn:
        return {
            "entries": await conn.fetchval("SELECT count(*) FROM loyalty_entries"),
            "accounts": [
                tuple(r)
                for r in await conn.fetch(
                    "SELECT customer_id, debt, total, seq FROM loyalty_accounts ORDER BY customer_id"
                )
            ],
            "lots": [
                tuple(r)
                for r in await conn.fetch(
                    "SELECT lot_id, remaining, reversed FROM loyalty_lots ORDER BY lot_id"
                )
            ],
            "sales": await conn.fetchval("SELECT count(*) FROM scm_sales"),
            "returns": [
                tuple(r) for r in await conn.fetch("SELECT return_id, status FROM scm_returns ORDER BY 1")
            ],
        }


async def test_blocked_customer_skipped_tender_beyond_balance_is_debt_and_return_first(
    crm_env: CrmEnv, stack: Stack
) -> None:
    env = crm_env
    org = "scm2"
    topic = f"crm.scm.test.{uuid.uuid4().hex[:8]}"
    group = f"crm.scm.{uuid.uuid4().hex[:6]}"
    await stack.acreate_topics([topic], partitions=2)
    blocked = (await env.ok("customer.create", {"email": "blocked@x.example"}, org=org))["customer_id"]
    await env.ok(
        "customer.status.set",
        {"customer_id": blocked, "expected_revision": 1, "status": "blocked", "reason": "fraud"},
        org=org,
    )
    spender = (await env.ok("customer.create", {"external_ref": "SPENDER"}, org=org))["customer_id"]
    await env.ok("loyalty.earn", {"customer_id": spender, "points": 40, "reason": "seed"}, org=org)
    messages = [
        encoded(
            SALE_RECORDED,
            sale("b-1", "ob-1", [line("1", 1, 5000)], customer={"customer_id": blocked}, occurred_at=NOW),
            org,
        ),
        # the till took 100 points the customer does not have: 40 redeemed, 60 become debt,
        # then the sale's own 30 points pay part of the debt
        encoded(
            SALE_RECORDED,
            sale(
                "p-1",
                "op-1",
                [line("1", 1, 3000)],
                customer={"external_ref": "spender"},
                tenders=[{"type": "loyalty", "amount_minor": 100, "points": 100}],
                occurred_at=NOW,
            ),
            org,
        ),
        # a return produced just before its sale (same order key, same partition, in order)
        encoded(RETURN_RECORDED, return_("rr-1", "op-2", [("1", 1, 1000)]), org),
        encoded(
            SALE_RECORDED,
            sale("p-2", "op-2", [line("1", 2, 1000)], customer={"customer_id": spender}, occurred_at=NOW),
            org,
        ),
    ]
    async with RunningConsumer(env, stack.kafka_bootstrap, topic, group) as consumer:
        await produce(stack.kafka_bootstrap, topic, messages)
        await consumer.wait_inbox(4)
    assert (await _balance_org(env, org, blocked)) == {"available": 0, "pending": 0, "debt": 0}
    # 40 - 100 -> debt 60; +30 earn -> debt 30; op-2 earns 20, its return reverses 10 -> debt 20
    assert (await _balance_org(env, org, spender)) == {"available": 0, "pending": 0, "debt": 20}
    async with env.db.connection() as conn:
        blocked_sale = await conn.fetchrow("SELECT status, reason FROM scm_sales WHERE sale_id = 'b-1'")
        ret = await conn.fetchrow("SELECT status, reversed_points FROM scm_returns WHERE return_id = 'rr-1'")
        total = await conn.fetchval(
            "SELECT sum(points) FROM loyalty_entries WHERE org_code = $1 AND customer_id = $2", org, spender
        )
    assert tuple(blocked_sale) == ("skipped", "customer-blocked")
    assert tuple(ret) == ("applied", 10)
    assert total == -20


async def _balance_org(env: CrmEnv, org: str, cid: str) -> dict[str, int]:
    bal: dict[str, int] = (await env.ok("customer.get", {"customer_id": cid}, org=org))["loyalty"]
    return bal
