"""Lists page newest first without skipping or repeating while writes happen; every state change
leaves a contract-valid event in the outbox (change events on crm.events.v1, stored-value
outcomes on crm.stored-value.v1)."""

from __future__ import annotations

from collections import Counter

import pytest
from crm_support import CrmEnv
from g3n_contracts import ChangeEvent, parse_event
from g3n_kit.outbox import outbox_messages

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_customer_and_ledger_paging_never_skip_or_repeat_during_writes(crm_env: CrmEnv) -> None:
    env = crm_env
    org = "pager"
    first = [
        (await env.ok("customer.create", {"email": f"p{i}@example.com"}, org=org))["customer_id"]
        for i in range(20)
    ]
    seen: list[str] = []
    token = None
    i = 0
    while True:
        body = {"limit": 7, **({"next_token": token} if token else {})}
        page = await env.ok("customer.list", body, org=org)
        seen += [c["customer_id"] for c in page["items"]]
        # writes between pages: new customers must not shift the window
        await env.ok("customer.create", {"email": f"late{i}@example.com"}, org=org)
        i += 1
        token = page["next_token"]
        if token is None:
            break
    assert seen == list(reversed(first))  # exactly the ones that existed, newest first, once each

    bad = await env.call(
        "customer.list", {"limit": 7, "status": "blocked", "next_token": "not-a-token"}, org=org
    )
    assert bad.status == 400
    assert (await env.call("customer.list", {"limit": 0}, org=org)).status == 400
    assert (await env.call("customer.list", {"limit": 257}, org=org)).status == 400

    cid = first[0]
    for n in range(1, 12):
        await env.ok("loyalty.earn", {"customer_id": cid, "points": n, "reason": f"e{n}"}, org=org)
    entries: list[int] = []
    token = None
    while True:
        page = await env.ok(
            "loyalty.ledger.list",
            {"customer_id": cid, "limit": 4, **({"next_token": token} if token else {})},
            org=org,
        )
        entries += [e["points"] for e in page["items"]]
        await env.ok("loyalty.earn", {"customer_id": cid, "points": 100, "reason": "meanwhile"}, org=org)
        token = page["next_token"]
        if token is None:
            break
    assert entries == list(range(11, 0, -1))


async def test_every_write_leaves_a_valid_event_in_the_outbox(crm_env: CrmEnv) -> None:
    env = crm_env
    org = "events"
    cus = await env.ok("customer.create", {"email": "ev@example.com"}, org=org)
    cid = cus["customer_id"]
    await env.ok(
        "customer.update", {"customer_id": cid, "expected_revision": 1, "given_name": "Eve"}, org=org
    )
    await env.ok(
        "customer.status.set",
        {"customer_id": cid, "expected_revision": 2, "status": "blocked", "reason": "x"},
        org=org,
    )
    await env.ok(
        "customer.status.set",
        {"customer_id": cid, "expected_revision": 3, "status": "active", "reason": "x"},
        org=org,
    )
    await env.ok(
        "customer.consent.set",
        {
            "customer_id": cid,
            "expected_revision": 4,
            "channel": "email",
            "purpose": "analytics",
            "status": "revoked",
            "source": "web",
        },
        org=org,
    )
    policy = await env.ok("loyalty.policy.get", {}, org=org)
    await env.ok(
        "loyalty.policy.set",
        {
            "expected_revision": policy["revision"],
            "points_per_currency_unit": 1,
            "currency": "EUR",
            "pending_days": 0,
            "min_redeem_points": 1,
            "point_value_minor": 1,
        },
        org=org,
    )
    earn = await env.ok("loyalty.earn", {"customer_id": cid, "points": 50, "reason": "x"}, org=org)
    red = await env.ok("loyalty.redeem", {"customer_id": cid, "points": 20, "reason": "x"}, org=org)
    await env.ok("loyalty.restore", {"redemption_id": red["redemption_id"], "reason": "x"}, org=org)
    await env.ok("loyalty.reverse", {"earn_entry_id": earn["entry_id"], "points": 5, "reason": "x"}, org=org)
    await env.ok("loyalty.adjust", {"customer_id": cid, "points": 3, "reason": "x"}, org=org)
    card = await env.ok(
        "giftcard.issue", {"amount": {"amount_minor": 900, "currency": "EUR"}, "reason": "x"}, org=org
    )
    gr = await env.ok(
        "giftcard.redeem",
        {"code": card["code"], "amount": {"amount_minor": 100, "currency": "EUR"}, "order_ref": "o"},
        org=org,
    )
    await env.ok(
        "giftcard.redemption.reverse", {"redemption_id": gr["redemption_id"], "reason": "x"}, org=org
    )
    await env.ok(
        "giftcard.void", {"giftcard_id": card["giftcard_id"], "expected_revision": 3, "reason": "x"}, org=org
    )
    await env.ok("customer.anonymize", {"customer_id": cid, "reason": "x"}, org=org)

    async with env.db.connection() as conn:
        rows = await outbox_messages(conn)
    events = [(m.topic, m.key, parse_event(m.value)) for m in rows]
    mine = [(t, k, e) for t, k, e in events if e.org_code == org]
    types = Counter(e.event_type for _, _, e in mine)
    assert types == {
        "crm.customer.created": 1,
        "crm.customer.updated": 1,
        "crm.customer.status_changed": 2,
        "crm.customer.consent_recorded": 1,
        "crm.customer.anonymized": 1,
        "crm.loyalty_policy.updated": 1,
        "crm.loyalty_account.changed": 5,
        "crm.loyalty.redeemed": 1,
        "crm.loyalty.restored": 1,
        "crm.giftcard.created": 1,
        "crm.giftcard.issued": 1,
        "crm.giftcard.debited": 1,
        "crm.giftcard.redeemed": 1,
        "crm.giftcard.credited": 1,
        "crm.giftcard.redemption.reversed": 1,
        "crm.giftcard.status_changed": 1,
        "crm.giftcard.voided": 1,
    }
    for topic, key, env_ in mine:
        assert topic == ("crm.events.v1" if isinstance(env_.payload, ChangeEvent) else "crm.stored-value.v1")
        assert bytes(key).decode().startswith(f"{org}:")
    revisions = [e.payload.revision for _, _, e in mine if e.event_type.startswith("crm.customer.")]
    assert revisions == [1, 2, 3, 4, 5, 6]
