"""A sale of an already attributed order replays when its content is the same and conflicts when
it is not: within one consumer batch and across batches (against the recorded row)."""

from __future__ import annotations

import uuid
from typing import Any

from ifm_support import Ifm, sale_payload

LINE = ("1", "A", 2, 2000)


async def test_repeats_of_an_order_replay_when_equal_and_conflict_when_not(ifm: Ifm) -> None:
    await ifm.active_campaign("repeats", "REP1")
    order = f"o-rep-{uuid.uuid4().hex[:6]}"

    def sale(sale_id: str, lines: list[tuple[str, str, int, int]] | None = None, **fields: str) -> Any:
        return sale_payload(order, lines or [LINE], codes=["REP1"], sale_id=sale_id, **fields)

    # one batch: the first sale records, an equal one (another sale id) replays, a changed one conflicts
    first = await ifm.apply_sales([sale("s-1"), sale("s-2"), sale("s-3", [("1", "A", 1, 2000)])])
    assert (first.created, first.existing) == (1, 1)
    assert [index for index, _ in first.conflicts] == [2]

    # later batches, against the recorded row: the same instant at another offset is equal
    later = await ifm.apply_sales([sale("s-4", occurred_at="2026-11-20T16:03:11+02:00")])
    assert (later.created, later.existing, later.conflicts) == (0, 1, [])
    for lines, fields in (
        ([("1", "B", 2, 2000)], {}),
        ([("1", "A", 2, 1999)], {}),
        ([LINE, ("2", "A", 2, 2000)], {}),
        ([LINE], {"occurred_at": "2026-11-20T14:03:12Z"}),
    ):
        result = await ifm.apply_sales([sale("s-5", lines, **fields)])
        assert (result.created, result.existing, len(result.conflicts)) == (0, 0, 1), (lines, fields)
    rows = await ifm.fetchval("SELECT count(*) FROM ifm_attributions WHERE order_id = $1", order)
    assert rows == 1
