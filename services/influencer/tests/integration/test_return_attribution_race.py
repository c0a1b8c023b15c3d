"""A return parked while its order is being attributed is never lost: the two serialise per order."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from g3n_contracts import ReturnRecorded
from g3n_influencer.service import attribution
from g3n_influencer.service.context import Actor
from ifm_support import Ifm


def _one_unit_back(order: str) -> ReturnRecorded:
    """A return of 1 unit of line 1 of ``order``."""
    return ReturnRecorded.model_validate(
        {
            "return_id": f"r-{order}",
            "order_id": order,
            "occurred_at": "2026-11-21T00:00:00Z",
            "currency": "USD",
            "lines": [{"line_id": "1", "qty": 1, "refund_amount_minor": 1000}],
        }
    )


async def test_attribution_waits_for_a_return_being_parked_and_then_claws_it_back(ifm: Ifm) -> None:
    profile_id, campaign_id = await ifm.active_campaign("race", "RACE1")
    order = f"o-race-{uuid.uuid4().hex[:6]}"
    ret = _one_unit_back(order)
    # The consumer's transaction parks the return (no attribution yet) and has not committed.
    consumer = await asyncpg.connect(ifm.dsn)
    try:
        tx = consumer.transaction()
        await tx.start()
        await attribution.record_returns(
            consumer,
            [attribution.return_cmd(ifm.org, str(uuid.uuid4()), ret)],
            Actor(ifm.org, "consumer:test", "scm"),
        )
        record = asyncio.create_task(
            ifm.data(
                "/attribution/record",
                {
                    "campaign_id": campaign_id,
                    "code": "RACE1",
                    "order_id": order,
                    "occurred_at": "2026-11-20T00:00:00Z",
                    "currency": "USD",
                    "lines": [{"line_id": "1", "sku": "A", "qty": 2, "net_amount_minor": 2000}],
                },
            )
        )
        await asyncio.sleep(0.5)
        assert not record.done(), "the attribution must wait for the return being parked"
        await tx.commit()
        await asyncio.wait_for(record, 10)
    finally:
        await consumer.close()
    earnings = await ifm.data("/earnings/list", {"profile_id": profile_id})
    (earning,) = earnings["items"]
    assert earning["amount_minor"] == 200
    assert earning["clawed_back_minor"] == 100, "1 of 2 units returned: half of the earning"
    assert await ifm.fetchval("SELECT count(*) FROM ifm_parked_returns WHERE order_id = $1", order) == 0


async def test_a_return_waiting_on_a_manual_clawback_sees_the_lines_it_wrote(ifm: Ifm) -> None:
    """A manual clawback rewrites the attribution's lines under the earning's lock; a return that
    waited for that lock must start from those lines, not from the version it saw first."""
    from g3n_influencer.adapters import lines as lines_repo
    from g3n_influencer.domain.earnings import LineState, clawback_for_return
    from g3n_influencer.service.earnings import spread_to_lines
    from g3n_kit.db import Database

    _, campaign_id = await ifm.active_campaign("race2", "RACE2")
    order = f"o-race2-{uuid.uuid4().hex[:6]}"
    att = await ifm.data(
        "/attribution/record",
        {
            "campaign_id": campaign_id,
            "code": "RACE2",
            "order_id": order,
            "occurred_at": "2026-11-20T00:00:00Z",
            "currency": "USD",
            "lines": [{"line_id": "1", "sku": "A", "qty": 2, "net_amount_minor": 2000}],
        },
    )
    ret = _one_unit_back(order)
    db = await Database.connect(ifm.dsn)  # the services' connections (the kit's json codecs)
    try:
        async with db.connection() as clawer, db.connection() as consumer:
            tx = clawer.transaction()
            await tx.start()
            await clawer.execute(
                "SELECT 1 FROM ifm_earnings WHERE org_code = $1 AND attribution_id = $2 FOR UPDATE",
                ifm.org,
                att["attribution_id"],
            )
            await spread_to_lines(clawer, ifm.org, att["attribution_id"], 50)

            async def apply_return() -> None:
                async with consumer.transaction():
                    await attribution.record_returns(
                        consumer,
                        [attribution.return_cmd(ifm.org, str(uuid.uuid4()), ret)],
                        Actor(ifm.org, "consumer:test", "scm"),
                    )

            returning = asyncio.create_task(apply_return())
            await asyncio.sleep(0.5)
            assert not returning.done(), "the return must wait for the earning's lock"
            await tx.commit()
            await asyncio.wait_for(returning, 10)
            (line,) = await lines_repo.load(consumer, ifm.org, att["attribution_id"])
    finally:
        await db.close()
    after_manual = LineState("1", 2, 200, 0, 50)
    assert line.returned_qty == 1
    assert line.clawed_back_minor == 50 + clawback_for_return(after_manual, 1).clawback_minor
