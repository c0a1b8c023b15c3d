"""A sale of an already attributed order replays when its content is the same and conflicts when
it is not: within one consumer batch and across batches (against the recorded row)."""

from __future__ import annotations

import uuid
from typing import Any

from g3n_contracts import SaleRecorded
from g3n_influencer.service import attribution
from g3n_influencer.service.context import Actor
from g3n_kit.db import Database
from ifm_support import Ifm

LINE = {"line_id": "1", "sku": "A", "qty": 2, "net_amount_minor": 2000}


def _sale(order: str, sale_id: str, **overrides: Any) -> SaleRecorded:
    return SaleRecorded.model_validate(
        {
            "sale_id": sale_id,
            "order_id": order,
            "channel": "web",
            "occurred_at": "2026-11-20T10:00:00Z",
            "currency": "USD",
            "promo_codes": ["REP1"],
            "lines": [LINE],
        }
        | overrides
    )


async def _record(ifm: Ifm, *sales: SaleRecorded) -> attribution.SalesResult:
    """Apply ``sales`` as one consumer batch (one transaction), as the SCM handler does."""
    db = await Database.connect(ifm.dsn, min_size=1, max_size=1)
    try:
        async with db.transaction() as conn:
            return await attribution.record_sales(
                conn, [attribution.SaleIn(ifm.org, s) for s in sales], Actor(ifm.org, "consumer:test", "scm")
            )
    finally:
        await db.close()


async def test_repeats_of_an_order_replay_when_equal_and_conflict_when_not(ifm: Ifm) -> None:
    await ifm.active_campaign("repeats", "REP1")
    order = f"o-rep-{uuid.uuid4().hex[:6]}"

    # one batch: the first sale records, an equal one (another sale id) replays, a changed one conflicts
    first = await _record(
        ifm,
        _sale(order, "s-1"),
        _sale(order, "s-2"),
        _sale(order, "s-3", lines=[{**LINE, "qty": 1}]),
    )
    assert (first.created, first.existing) == (1, 1)
    assert [index for index, _ in first.conflicts] == [2]

    # later batches, against the recorded row: the same instant at another offset is equal
    later = await _record(ifm, _sale(order, "s-4", occurred_at="2026-11-20T12:00:00+02:00"))
    assert (later.created, later.existing, later.conflicts) == (0, 1, [])
    for changed in (
        {"lines": [{**LINE, "sku": "B"}]},
        {"lines": [{**LINE, "net_amount_minor": 1999}]},
        {"lines": [LINE, {**LINE, "line_id": "2"}]},
        {"occurred_at": "2026-11-20T10:00:01Z"},
    ):
        result = await _record(ifm, _sale(order, "s-5", **changed))
        assert (result.created, result.existing, len(result.conflicts)) == (0, 0, 1), changed
    rows = await ifm.fetchval("SELECT count(*) FROM ifm_attributions WHERE order_id = $1", order)
    assert rows == 1
