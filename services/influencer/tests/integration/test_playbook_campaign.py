"""Seed playbook 1 over HTTP: profile -> campaign -> tiers -> attribution -> verify."""

from __future__ import annotations

from typing import Any

from ifm_support import Ifm

T0 = "2026-11-01T00:00:00Z"


async def _profile(ifm: Ifm, handle: str, codes: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = await ifm.data(
        "/profile/create",
        {"handle": handle, "display_name": handle.title(), "payout_currency": "USD", "codes": codes},
    )
    return data


async def test_campaign_playbook(ifm: Ifm) -> None:
    anna = await _profile(ifm, "anna", ["ANNA10"])
    assert anna["status"] == "active" and anna["payout_ready"] is False and anna["codes"] == ["ANNA10"]
    assert anna["profile_id"].startswith("inf_")

    cmp_body = {
        "name": "Winter",
        "currency": "USD",
        "starts_at": T0,
        "commission": {"type": "percent", "rate_bps": 1000},
        "holding_days": 14,
        "excluded_skus": ["GIFTCARD"],
        "profile_ids": [anna["profile_id"]],
    }
    resp = await ifm.call("/campaign/create", cmp_body)
    campaign = resp["data"]
    assert campaign["status"] == "draft" and resp["revision"] == 1
    cid = campaign["campaign_id"]

    # attribution needs an active campaign
    att_body = {
        "campaign_id": cid,
        "code": "anna10",
        "order_id": "o-1",
        "occurred_at": "2026-11-20T14:03:11Z",
        "currency": "USD",
        "lines": [
            {"line_id": "1", "sku": "TSHIRT-M", "qty": 2, "net_amount_minor": 4500},
            {"line_id": "2", "sku": "GIFTCARD", "qty": 1, "net_amount_minor": 5000},
        ],
    }
    err = await ifm.error("/attribution/record", att_body, "invalid-state")
    assert err["details"]["state"] == "draft"

    active = await ifm.call(
        "/campaign/status/set", {"campaign_id": cid, "expected_revision": 1, "status": "active"}
    )
    assert active["data"]["status"] == "active" and active["revision"] == 2
    ladder = await ifm.call(
        "/discount-tier/set",
        {
            "campaign_id": cid,
            "expected_revision": 2,
            "tiers": [
                {"name": "base", "min_orders": 0, "discount_bps": 500, "commission_bps": 1000},
                {"name": "pro", "min_orders": 1, "discount_bps": 1000, "commission_bps": 1500},
            ],
        },
    )
    assert ladder["revision"] == 3 and [t["name"] for t in ladder["data"]["tiers"]] == ["base", "pro"]

    first = await ifm.data("/attribution/record", att_body)
    (earning,) = first["earnings"]
    assert (earning["rule"], earning["rate_bps"], earning["tier"]["name"]) == ("tier", 1000, "base")
    assert (earning["basis_minor"], earning["amount_minor"], earning["net_minor"]) == (4500, 450, 450)
    assert earning["status"] == "pending" and earning["lines"][0]["amount_minor"] == 450
    assert [ln["eligible"] for ln in first["lines"]] == [True, False]

    # the same order again: same content replays, different content conflicts
    again = await ifm.data("/attribution/record", att_body)
    assert again["attribution_id"] == first["attribution_id"]
    changed = {**att_body, "lines": [{"line_id": "1", "sku": "TSHIRT-M", "qty": 1, "net_amount_minor": 2250}]}
    await ifm.error("/attribution/record", changed, "conflict")

    # the second order is in tier "pro" (one order attributed before it)
    second = await ifm.data(
        "/attribution/record",
        {
            **att_body,
            "order_id": "o-2",
            "code": None,
            "profile_id": anna["profile_id"],
            "lines": [{"line_id": "1", "sku": "HAT", "qty": 1, "net_amount_minor": 1001}],
        },
    )
    e2 = second["earnings"][0]
    assert (e2["tier"]["name"], e2["rate_bps"], e2["amount_minor"], e2["prior_orders"]) == (
        "pro",
        1500,
        150,
        1,
    )

    # verify: campaign totals, lists, get
    got = await ifm.data("/campaign/get", {"campaign_id": cid})
    assert got["totals"]["attributed_orders"] == 2 and got["totals"]["net_sales_minor"] == 4500 + 5000 + 1001
    assert got["totals"]["earnings"]["pending"] == {"count": 2, "amount_minor": 600, "net_minor": 600}
    assert got["members"][0]["counted_orders"] == 2
    listed = await ifm.data("/attribution/list", {"campaign_id": cid})
    assert [a["order_id"] for a in listed["items"]] == ["o-2", "o-1"]
    fetched = await ifm.data("/attribution/get", {"attribution_id": first["attribution_id"]})
    assert fetched["earnings"][0]["history"][0]["kind"] == "accrual"
    assert fetched == first  # the record call's answer is exactly what a read returns

    # outside the window / wrong currency / suspended profile
    await ifm.error(
        "/attribution/record",
        {**att_body, "order_id": "o-3", "occurred_at": "2026-10-01T00:00:00Z"},
        "invalid-state",
    )
    await ifm.error(
        "/attribution/record", {**att_body, "order_id": "o-4", "currency": "EUR"}, "invalid-state"
    )
    prof = await ifm.call("/profile/get", {"profile_id": anna["profile_id"]})
    await ifm.call(
        "/profile/status/set",
        {
            "profile_id": anna["profile_id"],
            "expected_revision": prof["revision"],
            "status": "suspended",
            "reason": "review",
        },
    )
    err = await ifm.error("/attribution/record", {**att_body, "order_id": "o-5"}, "invalid-state")
    assert err["details"]["state"] == "suspended"


async def test_validation_names_fields(ifm: Ifm) -> None:
    err = await ifm.error(
        "/campaign/create",
        {
            "name": "",
            "currency": "XXX",
            "starts_at": "yesterday",
            "commission": {"type": "percent"},
            "bogus": 1,
        },
        "validation-error",
    )
    paths = {f["path"] for f in err["details"]["fields"]}
    assert {"name", "currency", "starts_at", "bogus"} <= paths


async def test_an_order_dated_beyond_year_9000_is_a_validation_error_not_a_crash(ifm: Ifm) -> None:
    """Its earning would become available after the last representable date: the call names the
    field, for a campaign without a tier ladder (whose rows are built before the member lock)
    with an end date and without one."""
    prof = await _profile(ifm, "farfuture", ["FAR10"])
    for ends_at in ("2027-01-01T00:00:00Z", None):
        campaign_id = await ifm.campaign_for(
            f"far {ends_at}", [prof["profile_id"]], starts_at=T0, ends_at=ends_at, holding_days=180
        )
        body = {
            "campaign_id": campaign_id,
            "code": "far10",
            "order_id": "o-far",
            "occurred_at": "9999-12-31T00:00:00Z",
            "currency": "USD",
            "lines": [{"line_id": "1", "sku": "A", "qty": 1, "net_amount_minor": 1000}],
        }
        err = await ifm.error("/attribution/record", body, "validation-error")
        assert err["details"]["fields"][0]["path"] == "occurred_at"
        ok = await ifm.data("/attribution/record", {**body, "occurred_at": "2026-11-20T00:00:00Z"})
        assert ok["earnings"][0]["amount_minor"] == 100
