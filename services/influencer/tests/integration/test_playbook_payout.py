"""Seed playbook 2 over HTTP: earnings list -> hold / clawback -> release (held -> invalid-state
until cleared) -> ready -> submit -> statement, with the payout record read back from the
accounting topic through the relay; statements reconcile and chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from g3n_contracts import PayoutRecorded, event_types, topics
from ifm_support import Ifm, read_topic, relay_all


async def _setup(
    ifm: Ifm, handle: str, orders: list[int]
) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    prof = await ifm.data(
        "/profile/create",
        {"handle": handle, "display_name": handle, "payout_currency": "USD", "codes": [handle]},
    )
    cmp = await ifm.data(
        "/campaign/create",
        {
            "name": f"c-{handle}",
            "currency": "USD",
            "starts_at": "2026-01-01T00:00:00Z",
            "commission": {"type": "percent", "rate_bps": 1000},
            "holding_days": 30,
            "profile_ids": [prof["profile_id"]],
        },
    )
    await ifm.call(
        "/campaign/status/set",
        {"campaign_id": cmp["campaign_id"], "expected_revision": 1, "status": "active"},
    )
    earnings = []
    for i, net in enumerate(orders):
        att = await ifm.data(
            "/attribution/record",
            {
                "campaign_id": cmp["campaign_id"],
                "profile_id": prof["profile_id"],
                "order_id": f"{handle}-o{i}",
                "occurred_at": "2026-11-20T10:00:00Z",
                "currency": "USD",
                "lines": [{"line_id": "1", "sku": "S", "qty": 1, "net_amount_minor": net}],
            },
        )
        earnings.append(att["earnings"][0])
    return prof, cmp["campaign_id"], earnings


async def _now(ifm: Ifm) -> datetime:
    value: datetime = await ifm.fetchval("SELECT clock_timestamp()")
    return value


async def test_payout_playbook(ifm: Ifm) -> None:
    t0 = await _now(ifm)
    prof, _cid, (e1, e2, e3) = await _setup(ifm, "bea", [10_000, 5_000, 3_000])  # 1000, 500, 300
    pid = prof["profile_id"]

    page = await ifm.call("/earnings/list", {"profile_id": pid, "limit": 2})
    assert len(page["data"]["items"]) == 2 and page["data"]["next_token"]
    assert page["stats"]["totals"]["USD"]["pending"] == {"count": 3, "amount_minor": 1800, "net_minor": 1800}
    rest = await ifm.data(
        "/earnings/list", {"profile_id": pid, "limit": 2, "next_token": page["data"]["next_token"]}
    )
    assert [e["earning_id"] for e in page["data"]["items"] + rest["items"]] == [
        e3["earning_id"],
        e2["earning_id"],
        e1["earning_id"],
    ]

    # hold e1, claw back part of e2
    held = await ifm.data("/earnings/hold", {"earning_ids": [e1["earning_id"]], "reason": "fraud check"})
    assert held["earnings"][0]["status"] == "held" and held["earnings"][0]["hold"]["held_from"] == "pending"
    claw = await ifm.data(
        "/earnings/clawback",
        {"earning_id": e2["earning_id"], "amount_minor": 120, "reason": "partial refund"},
    )
    assert (claw["earning"]["net_minor"], claw["earning"]["status"], claw["carry_over_minor"]) == (
        380,
        "pending",
        0,
    )
    await ifm.error(
        "/earnings/clawback",
        {"earning_id": e2["earning_id"], "amount_minor": 381, "reason": "x"},
        "invalid-state",
    )

    # release: a held earning is refused until its hold is cleared (and nothing changes)
    err = await ifm.error(
        "/earnings/release", {"earning_ids": [e1["earning_id"], e2["earning_id"]]}, "invalid-state"
    )
    assert "clear holds first" in err["message"]
    assert (await ifm.data("/earnings/list", {"profile_id": pid, "status": "released"}))["items"] == []
    cleared = await ifm.data("/earnings/hold/clear", {"earning_ids": [e1["earning_id"]], "note": "ok"})
    assert cleared["earnings"][0]["status"] == "pending"
    released = await ifm.data("/earnings/release", {"earning_ids": [e1["earning_id"], e2["earning_id"]]})
    assert {e["status"] for e in released["earnings"]} == {"released"}
    assert released["earnings"][0]["history"][-1]["reason"] == "released early by finance"

    # not ready -> invalid-state for a single named profile, skipped in a run
    await ifm.error("/payout/submit", {"profile_ids": [pid], "currency": "USD"}, "invalid-state")
    run = await ifm.data("/payout/submit", {"currency": "USD"})
    assert run["payouts"] == [] and run["skipped"] == [
        {
            "profile_id": pid,
            "reason": "not-ready",
            "message": "finance has not marked the profile payout-ready",
        }
    ]
    p = await ifm.call("/profile/get", {"profile_id": pid})
    await ifm.error("/payout/ready/set", {"profile_id": pid, "ready": True}, "revision-required")
    await ifm.error(
        "/payout/ready/set", {"profile_id": pid, "ready": True, "expected_revision": 99}, "revision-mismatch"
    )
    ready = await ifm.call(
        "/payout/ready/set",
        {
            "profile_id": pid,
            "expected_revision": p["revision"],
            "ready": True,
            "payout_method": {"type": "bank", "reference": "DE89-3704"},
        },
    )
    assert ready["data"]["payout_ready"] is True

    t1 = await _now(ifm)
    sub = await ifm.data(
        "/payout/submit", {"profile_ids": [pid], "currency": "USD"}, headers={"idempotency-key": "pay-run-1"}
    )
    (payout,) = sub["payouts"]
    assert (payout["amount_minor"], payout["carry_over_minor"], payout["status"]) == (1380, 0, "submitted")
    assert sorted(payout["earning_ids"]) == sorted([e1["earning_id"], e2["earning_id"]])
    replay = await ifm.data(
        "/payout/submit", {"profile_ids": [pid], "currency": "USD"}, headers={"idempotency-key": "pay-run-1"}
    )
    assert replay == sub
    assert (await ifm.data("/payout/get", {"payout_id": payout["payout_id"]}))["status"] == "submitted"
    paid = await ifm.data("/earnings/list", {"profile_id": pid, "status": "paid"})
    assert {e["earning_id"] for e in paid["items"]} == set(payout["earning_ids"])

    # a clawback on a paid earning books a carry-over that the next payout nets off
    claw = await ifm.data(
        "/earnings/clawback", {"earning_id": e1["earning_id"], "amount_minor": 100, "reason": "late return"}
    )
    assert (claw["earning"]["status"], claw["carry_over_minor"]) == ("paid", 100)
    await ifm.data("/earnings/release", {"earning_ids": [e3["earning_id"]]})
    t2 = await _now(ifm)
    sub2 = await ifm.data("/payout/submit", {"currency": "USD"})
    (payout2,) = sub2["payouts"]
    assert (payout2["amount_minor"], payout2["carry_over_minor"], payout2["earning_ids"]) == (
        200,
        100,
        [e3["earning_id"]],
    )
    t3 = await _now(ifm)

    # the payout records reach the accounting topic exactly once each
    await relay_all(ifm.db, ifm.stack.kafka_bootstrap)
    records = await read_topic(ifm.stack.kafka_bootstrap, topics.ACCOUNTING_PAYOUTS, org=ifm.org, want=2)
    assert [r.event_type for r in records] == [event_types.PAYOUT_RECORDED] * 2
    by_id = {r.payload_as(PayoutRecorded).payout_id: r.payload_as(PayoutRecorded) for r in records}
    assert set(by_id) == {payout["payout_id"], payout2["payout_id"]}
    rec = by_id[payout["payout_id"]]
    assert (rec.amount_minor, rec.currency, rec.payee.handle, rec.payee.payout_method.type) == (  # type: ignore[union-attr]
        1380,
        "USD",
        "bea",
        "bank",
    )
    assert by_id[payout2["payout_id"]].carry_over_minor == 100

    # a relay that crashed after publishing but before marking the rows sent publishes them again:
    # accounting may see a payout twice, but always under the same event id (its dedupe key)
    async with ifm.db.transaction() as conn:
        await conn.execute("UPDATE outbox SET sent_at = NULL WHERE topic = $1", topics.ACCOUNTING_PAYOUTS)
    await relay_all(ifm.db, ifm.stack.kafka_bootstrap)
    again = await read_topic(ifm.stack.kafka_bootstrap, topics.ACCOUNTING_PAYOUTS, org=ifm.org, want=4)
    ids_per_payout: dict[str, set[str]] = {}
    for env in again:
        ids_per_payout.setdefault(env.payload_as(PayoutRecorded).payout_id, set()).add(str(env.event_id))
    assert len(again) == 4 and all(len(ids) == 1 for ids in ids_per_payout.values())

    # statements reconcile and chain: [t0, t1) earned; [t1, t2) paid + clawed; [t2, t3) paid
    s1 = await ifm.data(
        "/statement/create",
        {"profile_id": pid, "currency": "USD", "period_start": _iso(t0), "period_end": _iso(t1)},
    )
    s2 = await ifm.data(
        "/statement/create",
        {"profile_id": pid, "currency": "USD", "period_start": _iso(t1), "period_end": _iso(t2)},
    )
    s3 = await ifm.data(
        "/statement/create",
        {"profile_id": pid, "currency": "USD", "period_start": _iso(t2), "period_end": _iso(t3)},
    )
    for s in (s1, s2, s3):
        assert (
            s["opening_balance_minor"] + s["earned_minor"] - s["clawed_back_minor"] - s["paid_minor"]
            == s["closing_balance_minor"]
        )
    assert (s1["opening_balance_minor"], s1["earned_minor"], s1["clawed_back_minor"], s1["paid_minor"]) == (
        0,
        1800,
        120,
        0,
    )
    assert s2["opening_balance_minor"] == s1["closing_balance_minor"] == 1680
    assert (s2["paid_minor"], s2["clawed_back_minor"], s2["closing_balance_minor"]) == (1380, 100, 200)
    assert s2["previous_statement_id"] == s1["statement_id"]
    assert (s3["opening_balance_minor"], s3["paid_minor"], s3["closing_balance_minor"]) == (200, 200, 0)
    page_html = await ifm.data("/statement/get", {"statement_id": s2["statement_id"], "format": "html"})
    assert page_html["html"].startswith("<!doctype html>") and "13.80 USD" in page_html["html"]
    await ifm.error(
        "/statement/create",
        {
            "profile_id": pid,
            "currency": "USD",
            "period_start": _iso(t3),
            "period_end": _iso(t3 + timedelta(days=1)),
        },
        "validation-error",
    )

    # the ledger and the carry-over table agree
    carry = await ifm.fetchval(
        "SELECT carry_over_minor FROM ifm_carry_overs WHERE org_code = $1 AND profile_id = $2", ifm.org, pid
    )
    derived = await ifm.fetchval(
        "SELECT sum(carry_over_delta_minor) FROM ifm_ledger WHERE org_code = $1 AND profile_id = $2",
        ifm.org,
        pid,
    )
    assert carry == derived == 0


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_a_payouts_ledger_entries_are_found_by_index_not_by_reading_the_ledger(ifm: Ifm) -> None:
    """Settling or failing a payout reads the entries it booked by payout id, and each earning's
    later clawbacks by earning: with sequential scans disabled, both sides are index probes."""
    from g3n_influencer.adapters.payouts import CLAWED_WHILE_PAID_SQL

    async with ifm.db.connection() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        rows = await conn.fetch("EXPLAIN " + CLAWED_WHILE_PAID_SQL, ifm.org, "pay_x")
    plan = "\n".join(r[0] for r in rows)
    assert "Seq Scan" not in plan, plan
    assert "ifm_ledger_payout" in plan and "ifm_ledger_earning" in plan, plan
