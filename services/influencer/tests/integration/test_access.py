"""Every call: a key lacking the call's role gets 403; another org's key gets 404 (header), and
naming another org's object gets 404 without a hint that it exists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from g3n_influencer.entrypoints.operations import OPERATIONS
from g3n_influencer.roles import ROLES
from ifm_support import Ifm

OBJECTS: dict[str, Any] = {}


@pytest_asyncio.fixture(scope="module")
async def objects(ifm: Ifm) -> dict[str, Any]:
    if OBJECTS:
        return OBJECTS
    prof = await ifm.data(
        "/profile/create",
        {"handle": "eve", "display_name": "Eve", "payout_currency": "USD", "codes": ["EVE"]},
    )
    pid = prof["profile_id"]
    cmp = await ifm.data(
        "/campaign/create",
        {
            "name": "c",
            "currency": "USD",
            "starts_at": "2026-01-01T00:00:00Z",
            "commission": {"type": "percent", "rate_bps": 1000},
            "profile_ids": [pid],
        },
    )
    cid = cmp["campaign_id"]
    await ifm.call("/campaign/status/set", {"campaign_id": cid, "expected_revision": 1, "status": "active"})
    earnings = []
    atts = []
    for i in range(3):
        att = await ifm.data(
            "/attribution/record",
            {
                "campaign_id": cid,
                "profile_id": pid,
                "order_id": f"o{i}",
                "occurred_at": "2026-11-20T00:00:00Z",
                "currency": "USD",
                "lines": [{"line_id": "1", "sku": "A", "qty": 1, "net_amount_minor": 1000}],
            },
        )
        atts.append(att["attribution_id"])
        earnings.append(att["earnings"][0]["earning_id"])
    dispute = await ifm.data("/dispute/create", {"earning_ids": [earnings[1]], "reason": "check"})
    await ifm.data("/earnings/release", {"earning_ids": [earnings[2]]})
    p = await ifm.call("/profile/get", {"profile_id": pid})
    await ifm.call(
        "/payout/ready/set", {"profile_id": pid, "expected_revision": p["revision"], "ready": True}
    )
    payout = (await ifm.data("/payout/submit", {"profile_ids": [pid], "currency": "USD"}))["payouts"][0]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    stm = await ifm.data(
        "/statement/create",
        {"profile_id": pid, "currency": "USD", "period_start": "2026-01-01T00:00:00Z", "period_end": now},
    )
    OBJECTS.update(
        pid=pid,
        cid=cid,
        att=atts[0],
        ern=earnings[0],
        dsp=dispute["dispute_id"],
        pay=payout["payout_id"],
        stm=stm["statement_id"],
    )
    return OBJECTS


def bodies(o: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """A valid body per call naming org A's objects (None: the call names no object)."""
    lines = [{"line_id": "1", "sku": "A", "qty": 1, "net_amount_minor": 1000}]
    return {
        "profile.create": None,
        "profile.get": {"profile_id": o["pid"]},
        "profile.list": None,
        "profile.update": {"profile_id": o["pid"], "expected_revision": 1, "display_name": "x"},
        "profile.status.set": {
            "profile_id": o["pid"],
            "expected_revision": 1,
            "status": "suspended",
            "reason": "r",
        },
        "campaign.create": {
            "name": "x",
            "currency": "USD",
            "starts_at": "2026-01-01T00:00:00Z",
            "commission": {"type": "flat", "amount_minor": 100},
            "profile_ids": [o["pid"]],
        },
        "campaign.get": {"campaign_id": o["cid"]},
        "campaign.list": None,
        "campaign.status.set": {"campaign_id": o["cid"], "expected_revision": 2, "status": "paused"},
        "campaign.member.add": {"campaign_id": o["cid"], "profile_id": o["pid"]},
        "campaign.member.remove": {"campaign_id": o["cid"], "profile_id": o["pid"]},
        "discount-tier.set": {"campaign_id": o["cid"], "expected_revision": 2, "tiers": []},
        "discount-tier.get": {"campaign_id": o["cid"]},
        "discount-tier.list": None,
        "attribution.record": {
            "campaign_id": o["cid"],
            "profile_id": o["pid"],
            "order_id": "ox",
            "occurred_at": "2026-11-20T00:00:00Z",
            "currency": "USD",
            "lines": lines,
        },
        "attribution.get": {"attribution_id": o["att"]},
        "attribution.list": None,
        "earnings.list": None,
        "earnings.hold": {"earning_ids": [o["ern"]], "reason": "r"},
        "earnings.hold.clear": {"earning_ids": [o["ern"]]},
        "earnings.release": {"earning_ids": [o["ern"]]},
        "earnings.clawback": {"earning_id": o["ern"], "reason": "r"},
        "dispute.create": {"earning_ids": [o["ern"]], "reason": "r"},
        "dispute.get": {"dispute_id": o["dsp"]},
        "dispute.list": None,
        "dispute.status.set": {
            "dispute_id": o["dsp"],
            "expected_revision": 1,
            "status": "upheld",
            "note": "n",
        },
        "payout.ready.set": {"profile_id": o["pid"], "expected_revision": 1, "ready": False},
        "payout.submit": {"profile_ids": [o["pid"]], "currency": "USD"},
        "payout.get": {"payout_id": o["pay"]},
        "payout.list": None,
        "statement.create": {
            "profile_id": o["pid"],
            "currency": "USD",
            "period_start": "2026-01-01T00:00:00Z",
            "period_end": "2026-02-01T00:00:00Z",
        },
        "statement.get": {"statement_id": o["stm"]},
    }


async def test_every_call_is_covered(objects: dict[str, Any]) -> None:
    assert set(bodies(objects)) == {op.name for op in OPERATIONS}


async def test_missing_role_is_forbidden(ifm: Ifm, objects: dict[str, Any]) -> None:
    for op in OPERATIONS:
        key = f"without-{op.role}"
        await ifm.key(key, sorted(ROLES - {op.role}))
        body = bodies(objects)[op.name] or {}
        err = await ifm.error(op.path, body, "forbidden", key=key)
        assert op.role in err["message"], op.name


async def test_another_orgs_key_gets_not_found(ifm: Ifm, objects: dict[str, Any]) -> None:
    for op in OPERATIONS:
        body = bodies(objects)[op.name] or {}
        await ifm.error(op.path, body, "not-found", key="other")  # x-orgcode is org A: not the key's org


async def test_another_orgs_objects_are_not_found(ifm: Ifm, objects: dict[str, Any]) -> None:
    for op in OPERATIONS:
        body = bodies(objects)[op.name]
        if body is None:
            continue
        err = await ifm.error(op.path, body, "not-found", key="other", org=ifm.other_org)
        assert "details" not in err or "exists" not in str(err["details"]), op.name
