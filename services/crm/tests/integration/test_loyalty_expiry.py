"""Expiry on schedule: soonest-expiring lots are redeemed first, restores go back to the original
lots keeping their expiry, and the scheduled job expires each lot exactly once even when two
schedulers run it at the same moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from crm_support import CrmEnv
from g3n_crm.service.expiry import expire_due_lots

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _policy(env: CrmEnv, expiry_days: int | None, revision: int) -> None:
    await env.ok(
        "loyalty.policy.set",
        {
            "expected_revision": revision,
            "points_per_currency_unit": 1,
            "currency": "USD",
            "pending_days": 0,
            "expiry_days": expiry_days,
            "min_redeem_points": 1,
            "point_value_minor": 1,
        },
    )


async def test_soonest_expiring_first_restore_to_original_lots_and_expiry_job(crm_env: CrmEnv) -> None:
    env = crm_env
    cid = (await env.ok("customer.create", {"email": "exp@example.com"}))["customer_id"]
    await _policy(env, 90, 1)
    late = await env.ok("loyalty.earn", {"customer_id": cid, "points": 100, "reason": "late lot"})
    await _policy(env, 10, 2)
    soon = await env.ok("loyalty.earn", {"customer_id": cid, "points": 60, "reason": "soon lot"})
    await _policy(env, None, 3)
    never = await env.ok("loyalty.earn", {"customer_id": cid, "points": 40, "reason": "never lot"})
    assert never["lot"]["expires_at"] is None

    red = await env.ok("loyalty.redeem", {"customer_id": cid, "points": 80, "reason": "checkout"})
    assert red["lots"] == [
        {"lot_id": soon["lot"]["lot_id"], "points": 60},
        {"lot_id": late["lot"]["lot_id"], "points": 20},
    ]
    restored = await env.ok(
        "loyalty.restore", {"redemption_id": red["redemption_id"], "points": 50, "reason": "refund"}
    )
    # last taken first: 20 back into the late lot, 30 into the soon lot, expiries unchanged
    assert restored["entries"][0]["lots"] == [
        {"lot_id": late["lot"]["lot_id"], "points": 20},
        {"lot_id": soon["lot"]["lot_id"], "points": 30},
    ]
    async with env.db.connection() as conn:
        lots = {
            r["lot_id"]: (r["remaining"], r["expires_at"])
            for r in await conn.fetch(
                "SELECT lot_id, remaining, expires_at FROM loyalty_lots WHERE customer_id = $1", cid
            )
        }
    assert lots[soon["lot"]["lot_id"]][0] == 30 and lots[late["lot"]["lot_id"]][0] == 100
    assert lots[soon["lot"]["lot_id"]][1].isoformat().replace("+00:00", "Z") == soon["lot"]["expires_at"]

    # Eleven days later the soon lot expires: two schedulers at once expire it exactly once.
    later = datetime.now(UTC) + timedelta(days=11)
    done = await asyncio.gather(expire_due_lots(env.db, now=later), expire_due_lots(env.db, now=later))
    assert sum(done) == 1
    assert await expire_due_lots(env.db, now=later) == 0
    ledger = await env.ok("loyalty.ledger.list", {"customer_id": cid, "limit": 1})
    top = ledger["items"][0]
    assert (top["kind"], top["points"], top["lot_id"]) == ("expire", -30, soon["lot"]["lot_id"])
    async with env.db.connection() as conn:
        total = await conn.fetchval("SELECT sum(points) FROM loyalty_entries WHERE customer_id = $1", cid)
    bal = (await env.ok("customer.get", {"customer_id": cid}))["loyalty"]
    assert bal == {"available": 140, "pending": 0, "debt": 0} and total == 140

    # 91 days later the late lot goes too; the never-expiring lot stays
    assert await expire_due_lots(env.db, now=datetime.now(UTC) + timedelta(days=91)) == 1
    assert (await env.ok("customer.get", {"customer_id": cid}))["loyalty"]["available"] == 40


async def test_many_customers_expire_in_chunks_with_concurrent_jobs(crm_env: CrmEnv) -> None:
    env = crm_env
    await _policy(env, 5, 4)
    ids = []
    for i in range(30):
        cid = (await env.ok("customer.create", {"email": f"bulk{i}@example.com"}))["customer_id"]
        await env.ok("loyalty.earn", {"customer_id": cid, "points": 10 + i, "reason": "x"})
        ids.append(cid)
    later = datetime.now(UTC) + timedelta(days=6)
    results = await asyncio.gather(*(expire_due_lots(env.db, now=later, chunk=7) for _ in range(3)))
    results += [await expire_due_lots(env.db, now=later, chunk=7)]  # whatever was skipped while locked
    async with env.db.connection() as conn:
        expired = await conn.fetch(
            "SELECT customer_id, count(*) AS n, sum(points) AS pts FROM loyalty_entries"
            " WHERE kind = 'expire' AND customer_id = ANY($1::text[]) GROUP BY customer_id",
            ids,
        )
    assert len(expired) == 30 and all(r["n"] == 1 for r in expired)
    assert sum(results) == 30 and sum(-r["pts"] for r in expired) == sum(10 + i for i in range(30))
