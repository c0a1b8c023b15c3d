"""A sale of an already attributed order replays when its content is the same and conflicts when
it is not: within one consumer batch and across batches (against the recorded row)."""

from __future__ import annotations

import uuid
from typing import Any

from ifm_support import Ifm, sale_payload

LINE = ("1", "A", 2, 2000)


async def test_repeats_of_an_order_replay_when_equal_and_conflict_when_not(ifm: Ifm) -> None:
    _, campaign_id = await ifm.active_campaign("repeats", "REP1")
    other = await ifm.data(
        "/profile/create",
        {"handle": "repeats2", "display_name": "Rep", "payout_currency": "USD", "codes": ["REP2"]},
    )
    await ifm.data("/campaign/member/add", {"campaign_id": campaign_id, "profile_id": other["profile_id"]})
    order = f"o-rep-{uuid.uuid4().hex[:6]}"

    def sale(
        sale_id: str, lines: list[tuple[str, str, int, int]] | None = None, code: str = "REP1", **fields: str
    ) -> Any:
        return sale_payload(order, lines or [LINE], codes=[code], sale_id=sale_id, **fields)

    # one batch: the first sale records, an equal one (another sale id) replays, a changed one conflicts
    first = await ifm.apply_sales([sale("s-1"), sale("s-2"), sale("s-3", [("1", "A", 1, 2000)])])
    assert (first.created, first.existing) == (1, 1)
    assert [index for index, _ in first.conflicts] == [2]

    # later batches, against the recorded row: the same instant at another offset is equal
    later = await ifm.apply_sales([sale("s-4", occurred_at="2026-11-20T16:03:11+02:00")])
    assert (later.created, later.existing, later.conflicts) == (0, 1, [])
    two = [LINE, ("2", "A", 2, 2000)]
    await ifm.apply_sales([sale_payload(order + "-2", two, codes=["REP1"])])
    swapped = await ifm.apply_sales([sale_payload(order + "-2", two[::-1], codes=["REP1"], sale_id="s-9")])
    assert len(swapped.conflicts) == 1  # the same lines in another order are other content
    for lines, fields in (
        ([("1", "B", 2, 2000)], {}),
        ([("1", "A", 2, 1999)], {}),
        (two, {}),
        ([LINE], {"occurred_at": "2026-11-20T14:03:12Z"}),
        ([LINE], {"code": "REP2"}),  # the same campaign through another member's code
    ):
        result = await ifm.apply_sales([sale("s-5", lines, **fields)])
        assert (result.created, result.existing, len(result.conflicts)) == (0, 0, 1), (lines, fields)
    rows = await ifm.fetchval("SELECT count(*) FROM ifm_attributions WHERE order_id = $1", order)
    assert rows == 1
