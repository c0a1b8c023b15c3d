"""Seed playbook 2 over HTTP: gift card issue → redeem → get, insufficient-balance on over-redeem,
plus reversal caps, void, expiry and the keyed-hash storage of codes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from crm_support import CrmEnv
from g3n_crm.domain.giftcard import normalise_code
from g3n_kit.outbox import outbox_messages

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_issue_redeem_get_and_over_redeem(crm_env: CrmEnv) -> None:
    env = crm_env
    cus = await env.ok("customer.create", {"email": "gift@example.com"})
    issued = await env.call(
        "giftcard.issue",
        {
            "amount": {"amount_minor": 5000, "currency": "USD"},
            "customer_id": cus["customer_id"],
            "reason": "promo",
        },
    )
    assert issued.status == 200
    card = issued.data
    code = card["code"]
    assert (
        card["status"] == "active"
        and card["balance_minor"] == 5000
        and card["last4"] == normalise_code(code)[-4:]
    )

    red = await env.ok(
        "giftcard.redeem",
        {"code": code, "amount": {"amount_minor": 2000, "currency": "USD"}, "order_ref": "o-9"},
    )
    assert red["applied_minor"] == 2000 and red["balance_minor"] == 3000
    over = await env.call(
        "giftcard.redeem",
        {"code": code, "amount": {"amount_minor": 3001, "currency": "USD"}, "order_ref": "o-10"},
    )
    assert over.status == 409 and over.code == "insufficient-balance"
    assert over.body["error"]["details"]["available"] == 3000
    ccy = await env.call(
        "giftcard.redeem",
        {"code": code, "amount": {"amount_minor": 1, "currency": "EUR"}, "order_ref": "o-11"},
    )
    assert ccy.status == 400 and ccy.code == "validation-error"
    typed = code.lower().replace("-", " ")
    partial = await env.ok(
        "giftcard.redeem",
        {
            "code": typed,
            "amount": {"amount_minor": 9999, "currency": "USD"},
            "order_ref": "o-12",
            "allow_partial": True,
        },
    )
    assert partial["applied_minor"] == 3000 and partial["balance_minor"] == 0

    rev = await env.ok(
        "giftcard.redemption.reverse",
        {"redemption_id": red["redemption_id"], "amount_minor": 500, "reason": "refund"},
    )
    assert rev["reversed_minor"] == 500 and rev["balance_minor"] == 500
    too_much = await env.call(
        "giftcard.redemption.reverse",
        {"redemption_id": red["redemption_id"], "amount_minor": 1501, "reason": "x"},
    )
    assert too_much.status == 400
    await env.ok("giftcard.redemption.reverse", {"redemption_id": red["redemption_id"], "reason": "rest"})

    got = await env.call("giftcard.get", {"code": code})
    assert got.status == 200 and got.body["revision"] == got.data["revision"]
    data = got.data
    assert "code" not in data and data["balance_minor"] == 2000
    assert [(t["kind"], t["amount_minor"], t["balance_after_minor"]) for t in data["history"]] == [
        ("issue", 5000, 5000),
        ("redeem", -2000, 3000),
        ("redeem", -3000, 0),
        ("reverse", 500, 500),
        ("reverse", 1500, 2000),
    ]
    by_id = await env.ok("giftcard.get", {"giftcard_id": card["giftcard_id"]})
    assert by_id["history"] == data["history"]
    customer = await env.ok("customer.get", {"customer_id": cus["customer_id"]})
    assert customer["giftcards"][0]["last4"] == card["last4"] and "code" not in customer["giftcards"][0]

    listed = await env.ok("giftcard.list", {"customer_id": cus["customer_id"], "status": "active"})
    assert [c["giftcard_id"] for c in listed["items"]] == [card["giftcard_id"]]

    stale = await env.call(
        "giftcard.void", {"giftcard_id": card["giftcard_id"], "expected_revision": 1, "reason": "x"}
    )
    assert stale.status == 409 and stale.code == "revision-mismatch"
    voided = await env.ok(
        "giftcard.void",
        {"giftcard_id": card["giftcard_id"], "expected_revision": data["revision"], "reason": "lost"},
    )
    assert voided["status"] == "void" and voided["balance_minor"] == 0
    after = await env.call(
        "giftcard.redeem",
        {"code": code, "amount": {"amount_minor": 1, "currency": "USD"}, "order_ref": "o-13"},
    )
    assert (
        after.status == 409
        and after.code == "invalid-state"
        and after.body["error"]["details"]["state"] == "void"
    )
    assert (await env.ok("giftcard.list", {"status": "void"}))["items"][0]["giftcard_id"] == card[
        "giftcard_id"
    ]

    # the code is stored only as HMAC(secret, normalised code); nothing else holds it
    async with env.db.connection() as conn:
        row = await conn.fetchrow("SELECT * FROM giftcards WHERE giftcard_id = $1", card["giftcard_id"])
        outbox = await outbox_messages(conn)
    expected = hmac.new(
        env.settings.giftcard_secret_bytes, normalise_code(code).encode(), hashlib.sha256
    ).digest()
    assert bytes(row["code_hash"]) == expected
    assert outbox
    assert all(normalise_code(code).encode() not in m.value for m in outbox)
    assert all(code.encode() not in m.value for m in outbox)


async def test_expired_card_is_invalid_state_and_unknown_code_is_not_found(crm_env: CrmEnv) -> None:
    env = crm_env
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    card = await env.ok(
        "giftcard.issue",
        {"amount": {"amount_minor": 100, "currency": "USD"}, "expires_at": soon, "reason": "x"},
    )
    async with env.db.connection() as conn:  # let it expire without sleeping
        await conn.execute(
            "UPDATE giftcards SET expires_at = now() - interval '1 second' WHERE giftcard_id = $1",
            card["giftcard_id"],
        )
    expired = await env.call(
        "giftcard.redeem",
        {"code": card["code"], "amount": {"amount_minor": 1, "currency": "USD"}, "order_ref": "o"},
    )
    assert expired.status == 409 and expired.body["error"]["details"]["state"] == "expired"
    assert (await env.ok("giftcard.get", {"giftcard_id": card["giftcard_id"]}))["status"] == "expired"
    unknown = await env.call(
        "giftcard.redeem",
        {"code": "0000-0000-0000-0000", "amount": {"amount_minor": 1, "currency": "USD"}, "order_ref": "o"},
    )
    assert unknown.status == 404 and unknown.code == "not-found"
