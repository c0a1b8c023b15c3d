"""Scheduled jobs: auto-release of matured earnings and hold expiry, safe when two schedulers
run at once (each earning moves once)."""

from __future__ import annotations

import asyncio

from g3n_contracts import SaleRecorded
from g3n_influencer.service import attribution
from g3n_influencer.service.context import Actor
from g3n_influencer.service.earnings import auto_release, expire_holds
from ifm_support import Ifm, sale_event


async def test_jobs_release_and_expire_once_even_when_run_twice_at_once(ifm: Ifm) -> None:
    prof = await ifm.data(
        "/profile/create",
        {"handle": "fay", "display_name": "Fay", "payout_currency": "USD", "codes": ["FAY"]},
    )
    pid = prof["profile_id"]
    cmp = await ifm.data(
        "/campaign/create",
        {
            "name": "now",
            "currency": "USD",
            "starts_at": "2026-01-01T00:00:00Z",
            "commission": {"type": "flat", "amount_minor": 250},
            "holding_days": 0,
            "profile_ids": [pid],
        },
    )
    await ifm.call(
        "/campaign/status/set",
        {"campaign_id": cmp["campaign_id"], "expected_revision": 1, "status": "active"},
    )
    # 1200 sales through the consumer's service function (one transaction; more than one job batch)
    sales = [
        attribution.SaleIn(
            ifm.org,
            sale_event(ifm.org, f"o{i}", [("1", "A", 1, 100)], codes=["FAY"]).payload_as(SaleRecorded),
        )
        for i in range(1200)
    ]
    async with ifm.db.transaction() as conn:
        result = await attribution.record_sales(conn, sales, Actor(ifm.org, "test", "scm"))
    assert result.created == 1200
    ids = [
        r["earning_id"]
        for r in await ifm.fetch(
            "SELECT earning_id FROM ifm_earnings WHERE org_code = $1 ORDER BY earning_id", ifm.org
        )
    ]
    held = await ifm.data(
        "/earnings/hold", {"earning_ids": ids[:3], "reason": "check", "until": "2099-01-01T00:00:00Z"}
    )
    assert {e["status"] for e in held["earnings"]} == {"held"}

    done = await asyncio.gather(auto_release(ifm.db), auto_release(ifm.db))
    assert sum(done) == 1197
    counts = await ifm.fetch(
        "SELECT status, count(*) FROM ifm_earnings WHERE org_code = $1 GROUP BY status", ifm.org
    )
    assert dict(counts) == {"released": 1197, "held": 3}
    releases = await ifm.fetchval(
        "SELECT count(*) FROM ifm_ledger WHERE org_code = $1 AND kind = 'release'", ifm.org
    )
    assert releases == 1197

    # the holds expire; the earnings go back to where they came from (pending: the next run releases them)
    async with ifm.db.transaction() as conn:
        await conn.execute(
            "UPDATE ifm_earnings SET hold_until = now() - interval '1 second'"
            " WHERE org_code = $1 AND status = 'held'",
            ifm.org,
        )
    assert sum(await asyncio.gather(expire_holds(ifm.db), expire_holds(ifm.db))) == 3
    assert await auto_release(ifm.db) == 3
    assert (
        await ifm.fetchval(
            "SELECT count(*) FROM ifm_earnings WHERE org_code = $1 AND status = 'released'", ifm.org
        )
        == 1200
    )
