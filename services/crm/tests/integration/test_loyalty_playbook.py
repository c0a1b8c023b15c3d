"""Seed playbook 1 over HTTP: customer → consent → earn → redeem → adjust/restore/reverse →
get/list/policy, against the real PostgreSQL."""

from __future__ import annotations

import pytest
from crm_support import CrmEnv

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _invariant(env: CrmEnv, customer_id: str) -> None:
    """available + pending - debt == sum of signed ledger points, and the running balance agrees."""
    async with env.db.connection() as conn:
        total = await conn.fetchval(
            "SELECT COALESCE(SUM(points), 0) FROM loyalty_entries WHERE customer_id = $1", customer_id
        )
        last = await conn.fetchval(
            "SELECT balance_after FROM loyalty_entries WHERE customer_id = $1 ORDER BY seq DESC LIMIT 1",
            customer_id,
        )
    cust = await env.ok("customer.get", {"customer_id": customer_id})
    bal = cust["loyalty"]
    assert bal["available"] + bal["pending"] - bal["debt"] == total == (last or 0)


async def test_customer_consent_earn_redeem_adjust_restore_reverse_get_list_policy(crm_env: CrmEnv) -> None:
    env = crm_env
    policy = await env.ok("loyalty.policy.get")
    assert (
        policy["is_default"] is True and policy["points_per_currency_unit"] == 1 and policy["revision"] == 1
    )

    created = await env.call(
        "customer.create",
        {"email": "Anna@Example.com", "given_name": "Anna", "external_ref": "POS-1", "tags": ["vip"]},
    )
    assert created.status == 200 and created.body["revision"] == 1
    cus = created.data
    cid = cus["customer_id"]
    assert cid.startswith("cus_") and cus["status"] == "active"
    assert cus["loyalty"] == {"available": 0, "pending": 0, "debt": 0} and cus["consents"] == {}

    dup = await env.call("customer.create", {"email": "anna@example.COM"})
    assert dup.status == 409 and dup.code == "conflict"
    dup_ref = await env.call("customer.create", {"email": "other@example.com", "external_ref": "pos-1"})
    assert dup_ref.status == 409
    none = await env.call("customer.create", {"given_name": "Nobody"})
    assert none.status == 400 and none.code == "validation-error"

    no_rev = await env.call(
        "customer.consent.set",
        {
            "customer_id": cid,
            "channel": "email",
            "purpose": "marketing",
            "status": "granted",
            "source": "web",
        },
    )
    assert no_rev.status == 428
    consent = await env.ok(
        "customer.consent.set",
        {
            "customer_id": cid,
            "expected_revision": 1,
            "channel": "email",
            "purpose": "marketing",
            "status": "granted",
            "source": "signup-form",
            "method": "double_opt_in",
            "proof": {"ip": "203.0.113.9", "form": "newsletter"},
        },
    )
    assert consent["consents"]["email"]["marketing"]["status"] == "granted" and consent["revision"] == 2
    stale = await env.call(
        "customer.consent.set",
        {
            "customer_id": cid,
            "expected_revision": 1,
            "channel": "sms",
            "purpose": "marketing",
            "status": "granted",
            "source": "web",
        },
    )
    assert (
        stale.status == 409
        and stale.code == "revision-mismatch"
        and stale.body["error"]["details"] == {"current_revision": 2}
    )
    log = await env.ok("customer.consent.list", {"customer_id": cid})
    assert len(log["items"]) == 1 and log["items"][0]["proof"] == {"ip": "203.0.113.9", "form": "newsletter"}

    earn = await env.ok(
        "loyalty.earn",
        {
            "customer_id": cid,
            "amount": {"amount_minor": 12599, "currency": "USD"},
            "reason": "order",
            "source_ref": "o-1",
        },
    )
    assert earn["points"] == 125 and earn["lot"]["remaining"] == 125
    assert earn["balance"] == {"available": 125, "pending": 0, "debt": 0}
    again = await env.ok(
        "loyalty.earn",
        {
            "customer_id": cid,
            "amount": {"amount_minor": 12599, "currency": "USD"},
            "reason": "order",
            "source_ref": "o-1",
        },
    )
    assert again["entry_id"] == earn["entry_id"] and again["balance"]["available"] == 125
    wrong_ccy = await env.call(
        "loyalty.earn",
        {"customer_id": cid, "amount": {"amount_minor": 100, "currency": "EUR"}, "reason": "x"},
    )
    assert wrong_ccy.status == 400

    red = await env.ok("loyalty.redeem", {"customer_id": cid, "points": 100, "reason": "checkout"})
    assert red["points"] == 100 and red["lots"] == [{"lot_id": earn["lot"]["lot_id"], "points": 100}]
    assert red["balance"]["available"] == 25
    too_much = await env.call("loyalty.redeem", {"customer_id": cid, "points": 26, "reason": "x"})
    assert too_much.status == 409 and too_much.code == "insufficient-balance"
    assert too_much.body["error"]["details"]["available"] == 25

    adj = await env.ok("loyalty.adjust", {"customer_id": cid, "points": 10, "reason": "goodwill"})
    assert adj["balance"]["available"] == 35
    neg = await env.call("loyalty.adjust", {"customer_id": cid, "points": -50, "reason": "fix"})
    assert neg.status == 409 and neg.body["error"]["details"]["available"] == 35

    restored = await env.ok(
        "loyalty.restore", {"redemption_id": red["redemption_id"], "points": 40, "reason": "refund"}
    )
    assert restored["points"] == 40 and restored["entries"][0]["lots"] == [
        {"lot_id": earn["lot"]["lot_id"], "points": 40}
    ]
    over = await env.call(
        "loyalty.restore", {"redemption_id": red["redemption_id"], "points": 61, "reason": "x"}
    )
    assert over.status == 400

    rev = await env.ok("loyalty.reverse", {"source_ref": "o-1", "reason": "order cancelled"})
    # earned 125; the lot holds 65, the adjust lot 10 -> 75 taken back, 50 becomes debt
    assert rev["points"] == -125 and rev["balance"] == {"available": 0, "pending": 0, "debt": 50}
    await _invariant(env, cid)
    again_rev = await env.call("loyalty.reverse", {"earn_entry_id": earn["entry_id"], "reason": "x"})
    assert again_rev.status == 409 and again_rev.code == "invalid-state"

    pay = await env.ok("loyalty.earn", {"customer_id": cid, "points": 70, "reason": "next order"})
    assert pay["balance"] == {"available": 20, "pending": 0, "debt": 0}
    await _invariant(env, cid)

    ledger = await env.call("loyalty.ledger.list", {"customer_id": cid, "limit": 3})
    assert ledger.status == 200
    kinds = [e["kind"] for e in ledger.data["items"]]
    assert kinds == ["debt_settle", "earn", "reverse"]
    assert (
        ledger.data["items"][0]["balance_after"] == 20 and ledger.body["stats"]["balance"]["available"] == 20
    )
    rest = await env.ok(
        "loyalty.ledger.list", {"customer_id": cid, "limit": 256, "next_token": ledger.data["next_token"]}
    )
    assert [e["kind"] for e in rest["items"]] == ["restore", "adjust", "redeem", "earn"] and rest[
        "next_token"
    ] is None

    got = await env.ok("customer.get", {"email": "ANNA@example.com"})
    assert got["customer_id"] == cid and got["loyalty"]["available"] == 20 and got["giftcards"] == []
    by_ref = await env.ok("customer.get", {"external_ref": "pos-1"})
    assert by_ref["customer_id"] == cid
    listed = await env.ok("customer.list", {"email_prefix": "anna@", "tag": "vip"})
    assert [c["customer_id"] for c in listed["items"]] == [cid]

    new_policy = await env.call(
        "loyalty.policy.set",
        {
            "expected_revision": 1,
            "points_per_currency_unit": 2,
            "currency": "USD",
            "pending_days": 0,
            "expiry_days": 30,
            "min_redeem_points": 5,
            "point_value_minor": 1,
        },
    )
    assert (
        new_policy.status == 200
        and new_policy.body["revision"] == 2
        and new_policy.data["is_default"] is False
    )
    small = await env.call("loyalty.redeem", {"customer_id": cid, "points": 4, "reason": "x"})
    assert small.status == 400 and small.code == "validation-error"
    assert (await env.ok("loyalty.policy.get"))["points_per_currency_unit"] == 2


async def test_blocked_customer_cannot_earn_or_redeem_and_anonymized_accepts_no_write(
    crm_env: CrmEnv,
) -> None:
    env = crm_env
    cus = await env.ok("customer.create", {"phone": "+49 30 1234567", "email": "bo@example.com"})
    cid = cus["customer_id"]
    await env.ok("loyalty.earn", {"customer_id": cid, "points": 50, "reason": "x"})
    blocked = await env.ok(
        "customer.status.set",
        {"customer_id": cid, "expected_revision": 1, "status": "blocked", "reason": "fraud"},
    )
    assert blocked["status"] == "blocked"
    for call, body in [
        ("loyalty.earn", {"customer_id": cid, "points": 1, "reason": "x"}),
        ("loyalty.redeem", {"customer_id": cid, "points": 1, "reason": "x"}),
    ]:
        reply = await env.call(call, body)
        assert reply.status == 409 and reply.code == "invalid-state"
        assert reply.body["error"]["details"]["state"] == "blocked"
    await env.ok(
        "customer.status.set",
        {"customer_id": cid, "expected_revision": 2, "status": "active", "reason": "ok"},
    )
    anon = await env.ok("customer.anonymize", {"customer_id": cid, "reason": "gdpr request"})
    assert anon["status"] == "anonymized" and anon["email"] is None and anon["phone"] is None
    assert anon["loyalty"]["available"] == 50
    upd = await env.call(
        "customer.update", {"customer_id": cid, "expected_revision": anon["revision"], "email": "x@y.z"}
    )
    assert upd.status == 409 and upd.code == "invalid-state"
    assert (
        await env.call("loyalty.earn", {"customer_id": cid, "points": 1, "reason": "x"})
    ).code == "invalid-state"


async def test_writes_record_the_cost_centre_and_channel_of_the_call(crm_env: CrmEnv) -> None:
    env = crm_env
    ctx = {"x-cccode": "CC-42", "x-channel-code": "store-7"}
    cid = (await env.ok("customer.create", {"email": "ctx@example.com"}))["customer_id"]
    earn = await env.ok("loyalty.earn", {"customer_id": cid, "points": 10, "reason": "x"}, headers=ctx)
    card = await env.ok(
        "giftcard.issue", {"amount": {"amount_minor": 100, "currency": "USD"}, "reason": "x"}, headers=ctx
    )
    await env.ok(
        "customer.consent.set",
        {
            "customer_id": cid,
            "expected_revision": 1,
            "channel": "sms",
            "purpose": "marketing",
            "status": "granted",
            "source": "till",
        },
        headers=ctx,
    )
    async with env.db.connection() as conn:
        entry = await conn.fetchrow(
            "SELECT cc_code, channel_code, actor FROM loyalty_entries WHERE entry_id = $1", earn["entry_id"]
        )
        txn = await conn.fetchrow(
            "SELECT cc_code, channel_code FROM giftcard_transactions WHERE giftcard_id = $1",
            card["giftcard_id"],
        )
        consent = await conn.fetchrow(
            "SELECT cc_code, channel_code FROM consent_log WHERE customer_id = $1", cid
        )
    assert tuple(entry)[:2] == tuple(txn) == tuple(consent) == ("CC-42", "store-7")
    assert entry["actor"].startswith("api_key:")
