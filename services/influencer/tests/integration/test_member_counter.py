"""A popular influencer's tier counter under concurrent consumer batches: batches only queue at
the counter (everything else of theirs is written meanwhile), every earning still gets an exact,
unique ``prior_orders`` and the tier it implies, and a member or profile changed meanwhile is
caught at the counter."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from g3n_contracts import ReturnRecorded, SaleRecorded
from g3n_influencer.adapters import attributions as repo
from g3n_influencer.service import attribution
from g3n_influencer.service.context import Actor
from g3n_kit.errors import InvalidState
from ifm_support import Ifm, return_event, sale_payload

LADDER = [
    {"name": "base", "min_orders": 0, "discount_bps": 0, "commission_bps": 1000},
    {"name": "silver", "min_orders": 10, "discount_bps": 0, "commission_bps": 1500},
    {"name": "gold", "min_orders": 30, "discount_bps": 0, "commission_bps": 2000},
]
BUMP = "UPDATE ifm_campaign_members"  # the statement that waits for the counter


async def _member(ifm: Ifm, *, laddered: bool) -> tuple[str, str, str]:
    handle = f"busy{uuid.uuid4().hex[:6]}"
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


async def _waiting(ifm: Ifm, query_part: str, count: int) -> None:
    """Until ``count`` backends of this database wait on a lock in a statement with ``query_part``."""
    for _ in range(200):
        waiting = await ifm.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND wait_event_type = 'Lock'
                 AND position($1 in query) > 0""",
            query_part,
        )
        if waiting == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} backends never waited in {query_part!r} (last: {waiting})")


@pytest.mark.parametrize("laddered", [False, True], ids=["flat rate", "tier ladder"])
async def test_batches_queue_at_the_counter_and_number_a_members_orders_exactly(
    ifm: Ifm, laddered: bool
) -> None:
    code, profile_id, campaign_id = await _member(ifm, laddered=laddered)
    applied, release = asyncio.Event(), asyncio.Event()

    async def held_open() -> None:  # a batch that has bumped the counter and not committed yet
        async with ifm.db.transaction() as conn:
            await attribution.record_sales(
                conn, [attribution.SaleIn(ifm.org, s) for s in _batch(code, 15)], Actor(ifm.org, "t", "scm")
            )
            applied.set()
            await release.wait()

    first = asyncio.create_task(held_open())
    others: list[asyncio.Task[attribution.SalesResult]] = []
    try:
        await asyncio.wait_for(applied.wait(), 10)
        others = [asyncio.create_task(ifm.apply_sales(_batch(code, 15))) for _ in range(3)]
        await _waiting(ifm, BUMP, 3)  # all three read the member and queue at its counter...
        writers = await ifm.fetchval(
            """SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE a.datname = current_database() AND l.locktype = 'relation'
                 AND l.relation = 'ifm_attributions'::regclass AND l.mode = 'RowExclusiveLock'"""
        )
        # ...having written their attributions if the rate does not depend on the counter
        assert writers == (1 if laddered else 4)
        assert not any(t.done() for t in others)
    finally:
        release.set()
        await asyncio.wait_for(first, 10)
        results = await asyncio.wait_for(asyncio.gather(*others), 30)
    assert [r.created for r in results] == [15] * 3
    rows = await ifm.fetch(
        "SELECT prior_orders, tier->>'name' AS tier, amount_minor FROM ifm_earnings"
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
    else:
        assert {r["amount_minor"] for r in rows} == {1000}


CHANGES = {
    "member removed": (
        "UPDATE ifm_campaign_members SET status = 'removed' WHERE campaign_id = $1 AND $2 <> ''",
        "no longer an active member",
    ),
    "profile suspended": (
        "UPDATE ifm_profiles SET status = 'suspended' WHERE profile_id = $2 AND $1 <> ''",
        "suspended",
    ),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
async def test_a_change_committed_while_the_counter_waits_is_caught_there(
    ifm: Ifm, change: tuple[str, str]
) -> None:
    """A member is read, then bumped while another transaction has ``change`` uncommitted; that
    transaction commits once the bump waits for it, and the bump sees the change."""
    sql, message = change
    _, profile_id, campaign_id = await _member(ifm, laddered=False)
    key = (ifm.org, campaign_id, profile_id)
    conn = await asyncpg.connect(ifm.dsn)
    other = await asyncpg.connect(ifm.dsn)
    try:
        async with conn.transaction():
            assert (await repo.read_members(conn, [key]))[key].status == "active"
            async with other.transaction():
                await other.execute(sql, campaign_id, profile_id)
                bump = asyncio.create_task(repo.bump_members(conn, {key: 1}))
                await _waiting(ifm, BUMP, 1)
            with pytest.raises(InvalidState, match=message):
                await asyncio.wait_for(bump, 10)
    finally:
        await conn.close()
        await other.close()


async def test_full_refunds_and_new_sales_of_one_member_at_once_keep_the_counter_exact(ifm: Ifm) -> None:
    code, profile_id, campaign_id = await _member(ifm, laddered=False)
    earlier = _batch(code, 6)
    assert (await ifm.apply_sales(earlier)).created == 6

    async def sales_then_returns(sales: list[SaleRecorded], refunded: list[SaleRecorded]) -> None:
        """One SCM batch, as the handler applies it: its sales, then its returns."""
        actor = Actor(ifm.org, "consumer:test", "scm")
        async with ifm.db.transaction() as conn:
            await attribution.record_sales(conn, [attribution.SaleIn(ifm.org, s) for s in sales], actor)
            returns = [
                return_event(ifm.org, s.order_id, f"r-{s.order_id}", [("1", 1)]).payload_as(ReturnRecorded)
                for s in refunded
            ]
            await attribution.record_returns(
                conn, [attribution.return_cmd(ifm.org, str(uuid.uuid4()), r) for r in returns], actor
            )

    # four batches at once, each with new sales of the member and full refunds of earlier orders
    await asyncio.wait_for(
        asyncio.gather(*(sales_then_returns(_batch(code, 10), earlier[i::4]) for i in range(4))), 30
    )
    counted = await ifm.fetchval(
        "SELECT counted_orders FROM ifm_campaign_members WHERE campaign_id = $1", campaign_id
    )
    refunded = await ifm.fetchval(
        "SELECT count(*) FROM ifm_attributions WHERE profile_id = $1 AND fully_refunded", profile_id
    )
    assert (counted, refunded) == (6 + 40 - 6, 6)
    assert await ifm.fetchval("SELECT count(*) FROM ifm_earnings WHERE profile_id = $1", profile_id) == 46
