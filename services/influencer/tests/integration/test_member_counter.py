"""A popular influencer's tier counter under concurrent consumer batches: batches only queue at
the counter (everything else of theirs is written meanwhile), and every earning still gets an
exact, unique ``prior_orders`` and the tier it implies."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from g3n_contracts import SaleRecorded
from g3n_influencer.adapters import attributions as repo
from g3n_influencer.service import attribution
from g3n_influencer.service.context import Actor
from g3n_kit.errors import InvalidState
from ifm_support import Ifm, sale_payload

LADDER = [
    {"name": "base", "min_orders": 0, "discount_bps": 0, "commission_bps": 1000},
    {"name": "silver", "min_orders": 10, "discount_bps": 0, "commission_bps": 1500},
    {"name": "gold", "min_orders": 30, "discount_bps": 0, "commission_bps": 2000},
]


async def _member(ifm: Ifm, handle: str, *, laddered: bool) -> tuple[str, str, str]:
    code = handle.upper()
    profile_id, campaign_id = await ifm.active_campaign(handle, code)
    if laddered:
        await ifm.data(
            "/discount-tier/set", {"campaign_id": campaign_id, "expected_revision": 2, "tiers": LADDER}
        )
    return code, profile_id, campaign_id


def _batch(code: str, n: int) -> list[SaleRecorded]:
    tag = uuid.uuid4().hex[:6]
    return [sale_payload(f"o-{tag}-{i}", [("1", "A", 1, 10_000)], codes=[code]) for i in range(n)]


@pytest.mark.parametrize("laddered", [False, True], ids=["flat rate", "tier ladder"])
async def test_concurrent_batches_number_a_members_orders_exactly(ifm: Ifm, laddered: bool) -> None:
    handle = f"busy{int(laddered)}{uuid.uuid4().hex[:4]}"
    code, profile_id, campaign_id = await _member(ifm, handle, laddered=laddered)
    results = await asyncio.gather(*(ifm.apply_sales(_batch(code, 15)) for _ in range(4)))
    assert [r.created for r in results] == [15] * 4
    rows = await ifm.fetch(
        "SELECT prior_orders, rate_bps, tier->>'name' AS tier, amount_minor FROM ifm_earnings"
        " WHERE profile_id = $1 ORDER BY prior_orders",
        profile_id,
    )
    assert [r["prior_orders"] for r in rows] == list(range(60))
    counted = await ifm.fetchval(
        "SELECT counted_orders FROM ifm_campaign_members WHERE campaign_id = $1", campaign_id
    )
    assert counted == 60
    if laddered:  # the tier follows the order's rank: 10 base, 20 silver, 30 gold
        assert [r["tier"] for r in rows] == ["base"] * 10 + ["silver"] * 20 + ["gold"] * 30
        assert [r["amount_minor"] for r in rows] == [1000] * 10 + [1500] * 20 + [2000] * 30


async def test_a_batch_writes_its_rows_and_waits_only_at_the_counter(ifm: Ifm) -> None:
    code, profile_id, _ = await _member(ifm, f"queue{uuid.uuid4().hex[:4]}", laddered=False)
    applied, release = asyncio.Event(), asyncio.Event()

    async def held_open() -> None:  # a batch that has bumped the counter and not committed yet
        async with ifm.db.transaction() as conn:
            await attribution.record_sales(
                conn, [attribution.SaleIn(ifm.org, s) for s in _batch(code, 3)], Actor(ifm.org, "t", "scm")
            )
            applied.set()
            await release.wait()

    first = asyncio.create_task(held_open())
    try:
        await asyncio.wait_for(applied.wait(), 10)
        second = asyncio.create_task(ifm.apply_sales(_batch(code, 3)))
        waiting = None
        for _ in range(100):  # the second batch reaches the counter and queues there
            waiting = await ifm.fetchval(
                """SELECT query FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock'"""
            )
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting is not None and "UPDATE ifm_campaign_members" in waiting
        # ...having written its attributions by then (a flat rate does not depend on the counter)
        writers = await ifm.fetchval(
            """SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE a.datname = current_database() AND l.locktype = 'relation'
                 AND l.relation = 'ifm_attributions'::regclass AND l.mode = 'RowExclusiveLock'"""
        )
        assert writers == 2 and not second.done()
    finally:
        release.set()
        await asyncio.wait_for(first, 10)
    assert (await asyncio.wait_for(second, 10)).created == 3
    priors = await ifm.fetch(
        "SELECT prior_orders FROM ifm_earnings WHERE profile_id = $1 ORDER BY prior_orders", profile_id
    )
    assert [r["prior_orders"] for r in priors] == list(range(6))


async def test_a_member_removed_during_a_batch_is_caught_at_the_counter(ifm: Ifm) -> None:
    _, profile_id, campaign_id = await _member(ifm, f"gone{uuid.uuid4().hex[:4]}", laddered=False)
    key = (ifm.org, campaign_id, profile_id)
    conn = await asyncpg.connect(ifm.dsn)
    other = await asyncpg.connect(ifm.dsn)
    try:
        async with conn.transaction():
            assert (await repo.read_members(conn, [key]))[key].status == "active"
            # the batch's key-share lock does not hold back a status change
            await asyncio.wait_for(
                other.execute(
                    "UPDATE ifm_campaign_members SET status = 'removed' WHERE campaign_id = $1", campaign_id
                ),
                5,
            )
            with pytest.raises(InvalidState, match="no longer an active member"):
                await repo.bump_members(conn, {key: 1})
    finally:
        await conn.close()
        await other.close()
