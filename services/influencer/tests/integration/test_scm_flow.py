"""The flow driven by SCM events on scm.sales.v1 through the real consumer loop: promo-code
attribution, per-unit clawbacks before and after the payout (carry-over), a return parked until
its sale, accounting's settlement / failure, DLQ for a broken sale, and a replay from offset 0
that changes nothing."""

from __future__ import annotations

from typing import Any

from g3n_contracts import PayoutFailed, PayoutSettled, event_types, new_event, topics
from g3n_contracts.topics import dlq_topic
from g3n_influencer.entrypoints.consumer_handlers import handle_payout_status, make_scm_handler
from g3n_kit.outbox import outbox_messages
from ifm_support import (
    Ifm,
    caught_up,
    produce,
    reset_group,
    return_event,
    running_consumer,
    sale_event,
    unique,
)


async def _earning(ifm: Ifm, order_id: str) -> dict[str, Any]:
    page = await ifm.data("/attribution/list", {"order_id": order_id})
    assert len(page["items"]) == 1, page
    earning: dict[str, Any] = page["items"][0]["earnings"][0]
    return earning


async def _snapshot(ifm: Ifm) -> list[Any]:
    rows = await ifm.fetch(
        """SELECT 'e' AS k, earning_id AS id, amount_minor, clawed_back_minor, status, revision::text AS r
           FROM ifm_earnings WHERE org_code = $1
           UNION ALL SELECT 'l', profile_id || ':' || kind, count(*), sum(balance_delta_minor),
                            sum(carry_over_delta_minor)::text, '' FROM ifm_ledger WHERE org_code = $1
           GROUP BY profile_id, kind
           UNION ALL SELECT 'p', return_id, 0, 0, order_id, '' FROM ifm_parked_returns WHERE org_code = $1
           ORDER BY 1, 2""",
        ifm.org,
    )
    return [tuple(r) for r in rows]


async def test_scm_driven_flow(ifm: Ifm) -> None:
    org, kafka = ifm.org, ifm.stack.kafka_bootstrap
    group = unique("ifm.scm.test")
    acct_group = unique("ifm.accounting.test")
    handlers = {topics.SCM_SALES: make_scm_handler(group)}
    await ifm.stack.acreate_topics([topics.SCM_SALES, topics.ACCOUNTING_PAYOUT_STATUS], partitions=4)

    cara = await ifm.data(
        "/profile/create",
        {"handle": "cara", "display_name": "Cara", "payout_currency": "USD", "codes": ["CARA10"]},
    )
    dan = await ifm.data(
        "/profile/create",
        {"handle": "dan", "display_name": "Dan", "payout_currency": "USD", "codes": ["DAN"]},
    )
    cid = await ifm.campaign_for("main", [cara["profile_id"], dan["profile_id"]], rate_bps=1000)
    newer = await ifm.campaign_for("newer", [dan["profile_id"]], rate_bps=2000)  # created last: wins for dan

    await produce(
        kafka,
        topics.SCM_SALES,
        [
            # o-2's return arrives before its sale: parked, then applied when the sale comes
            return_event(org, "o-2", "r-2", [("1", 1)]),
            sale_event(org, "o-1", [("1", "A", 3, 3000), ("2", "B", 1, 1000)], codes=["cara10"]),
            sale_event(org, "o-2", [("1", "A", 2, 999)], referral="CARA10"),
            sale_event(org, "o-4", [("1", "A", 3, 1000)], codes=["CARA10"]),
            sale_event(org, "o-dan", [("1", "A", 1, 1000)], codes=["DAN"]),
            sale_event(org, "o-none", [("1", "A", 1, 1000)]),
            sale_event(org, "o-unknown", [("1", "A", 1, 1000)], codes=["NOPE"]),
            return_event(org, "o-1", "r-1", [("1", 1)]),
            return_event(org, "o-4", "r-4a", [("1", 1)]),
            return_event(org, "o-4", "r-4b", [("1", 1)]),
        ],
    )
    async with running_consumer(ifm.db, kafka, group, handlers):
        await caught_up(kafka, group, topics.SCM_SALES)

    e1, e2, e4 = await _earning(ifm, "o-1"), await _earning(ifm, "o-2"), await _earning(ifm, "o-4")
    assert (e1["amount_minor"], e1["clawed_back_minor"], e1["net_minor"]) == (400, 100, 300)
    assert [ln["clawed_back_minor"] for ln in e1["lines"]] == [100, 0]
    assert (e2["amount_minor"], e2["clawed_back_minor"]) == (100, 50)  # 99.9 -> 100; 1 of 2 units -> 50
    assert (e4["amount_minor"], e4["clawed_back_minor"]) == (100, 33 + 34)  # thirds: 33, 34, (33)
    assert e1["campaign_id"] == cid
    assert (await _earning(ifm, "o-dan"))["campaign_id"] == newer
    assert (await ifm.data("/attribution/list", {"order_id": "o-none"}))["items"] == []
    assert (await ifm.data("/attribution/list", {"order_id": "o-unknown"}))["items"] == []
    assert await ifm.fetchval("SELECT count(*) FROM ifm_parked_returns WHERE org_code = $1", org) == 0

    # release and pay cara: 300 + 50 + 33
    await ifm.data(
        "/earnings/release", {"earning_ids": [e1["earning_id"], e2["earning_id"], e4["earning_id"]]}
    )
    await _ready(ifm, cara["profile_id"])
    (p1,) = (await ifm.data("/payout/submit", {"profile_ids": [cara["profile_id"]], "currency": "USD"}))[
        "payouts"
    ]
    assert p1["amount_minor"] == 383

    # after the payout: the rest of o-1 comes back (full), and the last unit of o-4
    await produce(
        kafka,
        topics.SCM_SALES,
        [
            return_event(org, "o-1", "r-3", [("1", 2), ("2", 1)]),
            return_event(org, "o-4", "r-4c", [("1", 1)]),
            return_event(org, "o-4", "r-4d", [("1", 1)]),  # nothing left to return: no effect
            sale_event(org, "o-5", [("1", "A", 1, 5000)], codes=["CARA10"]),
        ],
    )
    async with running_consumer(ifm.db, kafka, group, handlers):
        await caught_up(kafka, group, topics.SCM_SALES)
    e1, e4, e5 = await _earning(ifm, "o-1"), await _earning(ifm, "o-4"), await _earning(ifm, "o-5")
    assert (e1["clawed_back_minor"], e1["net_minor"], e1["status"]) == (
        400,
        0,
        "paid",
    )  # full return == earning
    assert (e4["clawed_back_minor"], e4["net_minor"], e4["status"]) == (100, 0, "paid")  # never exceeds
    assert await _carry(ifm, cara["profile_id"]) == 300 + 33
    attribution = (await ifm.data("/attribution/list", {"order_id": "o-1"}))["items"][0]
    assert attribution["fully_refunded"] is True

    await ifm.data("/earnings/release", {"earning_ids": [e5["earning_id"]]})
    (p2,) = (await ifm.data("/payout/submit", {"profile_ids": [cara["profile_id"]], "currency": "USD"}))[
        "payouts"
    ]
    assert (p2["amount_minor"], p2["carry_over_minor"]) == (500 - 333, 333)
    assert await _carry(ifm, cara["profile_id"]) == 0

    # accounting: p1 settles (twice: the second is a no-op), p2 fails -> its earning is payable again
    await produce(
        kafka,
        topics.ACCOUNTING_PAYOUT_STATUS,
        [
            new_event(
                event_types.PAYOUT_SETTLED,
                PayoutSettled(
                    payout_id=p1["payout_id"], settled_at="2026-12-01T00:00:00Z", reference="batch-1"
                ),
                org_code=org,
                source="accounting",
            ),
            new_event(
                event_types.PAYOUT_SETTLED,
                PayoutSettled(
                    payout_id=p1["payout_id"], settled_at="2026-12-02T00:00:00Z", reference="batch-2"
                ),
                org_code=org,
                source="accounting",
            ),
            new_event(
                event_types.PAYOUT_SETTLED,
                PayoutSettled(payout_id="pay_unknown", settled_at="2026-12-01T00:00:00Z"),
                org_code=org,
                source="accounting",
            ),
            new_event(
                event_types.PAYOUT_FAILED,
                PayoutFailed(
                    payout_id=p2["payout_id"], failed_at="2026-12-01T00:00:00Z", reason="account closed"
                ),
                org_code=org,
                source="accounting",
            ),
            new_event(
                event_types.PAYOUT_FAILED,
                PayoutFailed(payout_id=p1["payout_id"], failed_at="2026-12-03T00:00:00Z", reason="too late"),
                org_code=org,
                source="accounting",
            ),
        ],
    )
    acct = {topics.ACCOUNTING_PAYOUT_STATUS: handle_payout_status}
    async with running_consumer(ifm.db, kafka, acct_group, acct):
        await caught_up(kafka, acct_group, topics.ACCOUNTING_PAYOUT_STATUS)
    g1 = await ifm.data("/payout/get", {"payout_id": p1["payout_id"]})
    assert (g1["status"], g1["settlement_reference"]) == ("settled", "batch-1")
    assert g1["history"][-1]["note"].startswith("invalid-state")  # failure after settlement: recorded only
    g2 = await ifm.data("/payout/get", {"payout_id": p2["payout_id"]})
    assert (g2["status"], g2["failure_reason"]) == ("failed", "account closed")
    assert (await _earning(ifm, "o-5"))["status"] == "released"
    assert await _carry(ifm, cara["profile_id"]) == 333  # netted carry-over is owed again

    # a return consumed before its sale is parked (not dead-lettered) and applied when the sale comes
    await produce(kafka, topics.SCM_SALES, [return_event(org, "o-7", "r-7", [("1", 1)])])
    async with running_consumer(ifm.db, kafka, group, handlers):
        await caught_up(kafka, group, topics.SCM_SALES)
    assert await ifm.fetchval("SELECT count(*) FROM ifm_parked_returns WHERE org_code = $1", org) == 1
    await produce(kafka, topics.SCM_SALES, [sale_event(org, "o-7", [("1", "A", 4, 2000)], codes=["CARA10"])])
    async with running_consumer(ifm.db, kafka, group, handlers):
        await caught_up(kafka, group, topics.SCM_SALES)
    e7 = await _earning(ifm, "o-7")
    assert (e7["amount_minor"], e7["clawed_back_minor"], e7["lines"][0]["returned_qty"]) == (200, 50, 1)
    assert await ifm.fetchval("SELECT count(*) FROM ifm_parked_returns WHERE org_code = $1", org) == 0

    # a sale that breaks the contract goes to the DLQ with the reason; the rest still applies
    await produce_raw(ifm, b"{not json", key=f"{org}:o-bad".encode())
    await produce(kafka, topics.SCM_SALES, [sale_event(org, "o-6", [("1", "A", 1, 100)], codes=["CARA10"])])
    async with running_consumer(ifm.db, kafka, group, handlers):
        await caught_up(kafka, group, topics.SCM_SALES)
    assert (await _earning(ifm, "o-6"))["amount_minor"] == 10
    async with ifm.db.connection() as conn:
        dlq = await outbox_messages(conn, topic=dlq_topic(topics.SCM_SALES, group))
    assert any(("dlq-reason", b"not-json") in m.headers for m in dlq)

    # replay everything from offset 0: nothing changes
    before = await _snapshot(ifm)
    await reset_group(kafka, group, topics.SCM_SALES)
    async with running_consumer(ifm.db, kafka, group, handlers):
        await caught_up(kafka, group, topics.SCM_SALES)
    assert await _snapshot(ifm) == before


async def produce_raw(ifm: Ifm, value: bytes, *, key: bytes) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=ifm.stack.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topics.SCM_SALES, value, key=key)
    finally:
        await producer.stop()


async def _ready(ifm: Ifm, profile_id: str) -> None:
    p = await ifm.call("/profile/get", {"profile_id": profile_id})
    await ifm.call(
        "/payout/ready/set", {"profile_id": profile_id, "expected_revision": p["revision"], "ready": True}
    )


async def _carry(ifm: Ifm, profile_id: str) -> int:
    table = await ifm.fetchval(
        "SELECT carry_over_minor FROM ifm_carry_overs WHERE org_code = $1 AND profile_id = $2",
        ifm.org,
        profile_id,
    )
    ledger = await ifm.fetchval(
        "SELECT COALESCE(sum(carry_over_delta_minor), 0) FROM ifm_ledger"
        " WHERE org_code = $1 AND profile_id = $2",
        ifm.org,
        profile_id,
    )
    assert (table or 0) == ledger
    return int(ledger)
