"""Every CRM call: another org's objects are not-found (404), a key without the role is forbidden
(403), a key of org A used with x-orgcode B is not-found; roles exactly as in spec/crm.md."""

from __future__ import annotations

from typing import Any

import pytest
from crm_support import ALL_ROLES, CrmEnv

pytestmark = pytest.mark.asyncio(loop_scope="session")

EXPECTED_ROLES = {  # same table as tests/unit/test_operation_table.py
    "customer.create": "crm_manage",
    "customer.get": "crm_view",
    "customer.list": "crm_view",
    "customer.update": "crm_manage",
    "customer.status.set": "crm_manage",
    "customer.anonymize": "crm_manage",
    "customer.consent.set": "crm_manage",
    "customer.consent.list": "crm_manage",
    "loyalty.policy.get": "crm_view",
    "loyalty.policy.set": "crm_loyalty",
    "loyalty.earn": "crm_loyalty",
    "loyalty.redeem": "crm_loyalty",
    "loyalty.restore": "crm_loyalty",
    "loyalty.reverse": "crm_loyalty",
    "loyalty.adjust": "crm_loyalty",
    "loyalty.ledger.list": "crm_view",
    "giftcard.issue": "crm_giftcard",
    "giftcard.redeem": "crm_giftcard",
    "giftcard.redemption.reverse": "crm_giftcard",
    "giftcard.get": "crm_view",
    "giftcard.list": "crm_view",
    "giftcard.void": "crm_giftcard",
}


async def _seed(env: CrmEnv, org: str) -> dict[str, Any]:
    cus = await env.ok(
        "customer.create", {"email": f"x@{org}.example", "external_ref": f"ref-{org}"}, org=org
    )
    cid = cus["customer_id"]
    earn = await env.ok(
        "loyalty.earn", {"customer_id": cid, "points": 100, "reason": "x", "source_ref": f"o-{org}"}, org=org
    )
    red = await env.ok("loyalty.redeem", {"customer_id": cid, "points": 10, "reason": "x"}, org=org)
    card = await env.ok(
        "giftcard.issue", {"amount": {"amount_minor": 500, "currency": "USD"}, "reason": "x"}, org=org
    )
    gred = await env.ok(
        "giftcard.redeem",
        {"code": card["code"], "amount": {"amount_minor": 100, "currency": "USD"}, "order_ref": "o"},
        org=org,
    )
    return {
        "cid": cid,
        "email": f"x@{org}.example",
        "ref": f"ref-{org}",
        "earn": earn["entry_id"],
        "source_ref": f"o-{org}",
        "redemption": red["redemption_id"],
        "card": card["giftcard_id"],
        "code": card["code"],
        "gredemption": gred["redemption_id"],
    }


def _bodies(a: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Valid bodies naming org A's objects (several per call where it can name them several ways)."""
    usd = {"amount_minor": 1, "currency": "USD"}
    return {
        "customer.create": [{"email": "new@example.com"}],
        "customer.get": [{"customer_id": a["cid"]}, {"email": a["email"]}, {"external_ref": a["ref"]}],
        "customer.list": [{}],
        "customer.update": [{"customer_id": a["cid"], "expected_revision": 1, "given_name": "X"}],
        "customer.status.set": [
            {"customer_id": a["cid"], "expected_revision": 1, "status": "blocked", "reason": "x"}
        ],
        "customer.anonymize": [{"customer_id": a["cid"], "reason": "x"}],
        "customer.consent.set": [
            {
                "customer_id": a["cid"],
                "expected_revision": 1,
                "channel": "sms",
                "purpose": "analytics",
                "status": "granted",
                "source": "x",
            }
        ],
        "customer.consent.list": [{"customer_id": a["cid"]}],
        "loyalty.policy.get": [{}],
        "loyalty.policy.set": [
            {
                "expected_revision": 1,
                "points_per_currency_unit": 1,
                "currency": "USD",
                "pending_days": 0,
                "min_redeem_points": 1,
                "point_value_minor": 1,
            }
        ],
        "loyalty.earn": [{"customer_id": a["cid"], "points": 5, "reason": "x"}],
        "loyalty.redeem": [{"customer_id": a["cid"], "points": 5, "reason": "x"}],
        "loyalty.restore": [{"redemption_id": a["redemption"], "reason": "x"}],
        "loyalty.reverse": [
            {"earn_entry_id": a["earn"], "reason": "x"},
            {"source_ref": a["source_ref"], "reason": "x"},
        ],
        "loyalty.adjust": [{"customer_id": a["cid"], "points": 5, "reason": "x"}],
        "loyalty.ledger.list": [{"customer_id": a["cid"]}],
        "giftcard.issue": [{"amount": usd, "customer_id": a["cid"], "reason": "x"}],
        "giftcard.redeem": [{"code": a["code"], "amount": usd, "order_ref": "o"}],
        "giftcard.redemption.reverse": [{"redemption_id": a["gredemption"], "reason": "x"}],
        "giftcard.get": [{"giftcard_id": a["card"]}, {"code": a["code"]}],
        "giftcard.list": [{}],
        "giftcard.void": [{"giftcard_id": a["card"], "expected_revision": 2, "reason": "x"}],
    }


# Calls that name no object of org A: for them "cross-org" is org B's key on x-orgcode A.
_NAMES_NO_OBJECT = {
    "customer.create",
    "customer.list",
    "loyalty.policy.get",
    "loyalty.policy.set",
    "giftcard.list",
}


async def test_cross_org_is_not_found_and_missing_role_is_forbidden_for_every_call(crm_env: CrmEnv) -> None:
    env = crm_env
    a = await _seed(env, "org-a")
    await _seed(env, "org-b")
    bodies = _bodies(a)
    assert set(bodies) == set(EXPECTED_ROLES)
    for name, role in EXPECTED_ROLES.items():
        for body in bodies[name]:
            # org B's key, org B's header, org A's object → not-found (no hint that it exists)
            if name not in _NAMES_NO_OBJECT:
                reply = await env.call(name, body, org="org-b")
                assert (reply.status, reply.code) == (404, "not-found"), (name, body, reply.body)
            # org B's key on x-orgcode A → not-found
            key_b = await env.key("org-b")
            reply = await env.call(name, body, org="org-a", key=key_b)
            assert (reply.status, reply.code) == (404, "not-found"), (name, reply.body)
            # org A's key without the role → forbidden
            others = [r for r in ALL_ROLES if r != role]
            reply = await env.call(name, body, org="org-a", roles=others)
            assert (reply.status, reply.code) == (403, "forbidden"), (name, reply.body)
    # and nothing of org A changed through all that
    cus = await env.ok("customer.get", {"customer_id": a["cid"]}, org="org-a")
    assert cus["revision"] == 1 and cus["loyalty"]["available"] == 90
    card = await env.ok("giftcard.get", {"giftcard_id": a["card"]}, org="org-a")
    assert card["balance_minor"] == 400 and card["status"] == "active"


async def test_wrong_code_and_another_orgs_code_get_the_same_answer(crm_env: CrmEnv) -> None:
    env = crm_env
    mine = await env.ok(
        "giftcard.issue", {"amount": {"amount_minor": 500, "currency": "USD"}, "reason": "x"}, org="org-c"
    )
    body = {"amount": {"amount_minor": 1, "currency": "USD"}, "order_ref": "o"}
    foreign = await env.call("giftcard.redeem", {**body, "code": mine["code"]}, org="org-d")
    wrong = await env.call("giftcard.redeem", {**body, "code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"}, org="org-d")
    assert foreign.status == wrong.status == 404 and foreign.body == wrong.body
    g_foreign = await env.call("giftcard.get", {"code": mine["code"]}, org="org-d")
    g_wrong = await env.call("giftcard.get", {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"}, org="org-d")
    assert g_foreign.body == g_wrong.body
