"""Disputes (hold, upheld clears, rejected claws back), profile code uniqueness and updates,
and list paging (no repeats, filters bound to the token)."""

from __future__ import annotations

from typing import Any

from ifm_support import Ifm


async def _earnings(ifm: Ifm, handle: str, n: int) -> tuple[str, list[str]]:
    prof = await ifm.data(
        "/profile/create",
        {"handle": handle, "display_name": handle, "payout_currency": "USD", "codes": [handle.upper()]},
    )
    cmp = await ifm.data(
        "/campaign/create",
        {
            "name": handle,
            "currency": "USD",
            "starts_at": "2026-01-01T00:00:00Z",
            "commission": {"type": "percent", "rate_bps": 500},
            "profile_ids": [prof["profile_id"]],
        },
    )
    await ifm.call(
        "/campaign/status/set",
        {"campaign_id": cmp["campaign_id"], "expected_revision": 1, "status": "active"},
    )
    ids = []
    for i in range(n):
        att = await ifm.data(
            "/attribution/record",
            {
                "campaign_id": cmp["campaign_id"],
                "code": handle,
                "order_id": f"{handle}{i}",
                "occurred_at": "2026-11-20T00:00:00Z",
                "currency": "USD",
                "lines": [
                    {"line_id": "1", "sku": "A", "qty": 3, "net_amount_minor": 2000},
                    {"line_id": "2", "sku": "B", "qty": 1, "net_amount_minor": 1000},
                ],
            },
        )
        ids.append(att["earnings"][0]["earning_id"])
    return prof["profile_id"], ids


async def test_disputes_hold_then_clear_or_claw_back(ifm: Ifm) -> None:
    _, (e1, e2, e3) = await _earnings(ifm, "ivy", 3)
    d1 = await ifm.call("/dispute/create", {"earning_ids": [e1, e2], "reason": "suspected fraud"})
    assert d1["data"]["status"] == "open" and d1["revision"] == 1
    held = await ifm.data("/earnings/list", {"status": "held"})
    assert {e["earning_id"] for e in held["items"]} == {e1, e2}
    assert held["items"][0]["hold"]["dispute_id"] == d1["data"]["dispute_id"]
    # a dispute's hold is cleared by resolving the dispute, not by hand; held earnings can't be disputed again
    err = await ifm.error("/earnings/hold/clear", {"earning_ids": [e1]}, "invalid-state")
    assert "resolve the dispute" in err["message"]
    await ifm.error("/dispute/create", {"earning_ids": [e2, e3], "reason": "again"}, "invalid-state")
    await ifm.error(
        "/dispute/status/set",
        {"dispute_id": d1["data"]["dispute_id"], "status": "upheld", "note": "ok"},
        "revision-required",
    )

    up = await ifm.data(
        "/dispute/status/set",
        {
            "dispute_id": d1["data"]["dispute_id"],
            "expected_revision": 1,
            "status": "upheld",
            "note": "checked: fine",
        },
    )
    assert up["status"] == "upheld" and up["resolved_at"]
    back = await ifm.data("/earnings/list", {"status": "pending"})
    assert {e1, e2, e3} <= {e["earning_id"] for e in back["items"]}
    await ifm.error(
        "/dispute/status/set",
        {"dispute_id": up["dispute_id"], "expected_revision": 2, "status": "rejected", "note": "x"},
        "invalid-state",
    )

    d2 = await ifm.data("/dispute/create", {"earning_ids": [e3], "reason": "chargeback", "note": "bank"})
    rej = await ifm.data(
        "/dispute/status/set",
        {"dispute_id": d2["dispute_id"], "expected_revision": 1, "status": "rejected", "note": "confirmed"},
    )
    assert rej["status"] == "rejected"
    (e,) = (await ifm.data("/earnings/list", {"status": "reversed"}))["items"]
    assert (e["earning_id"], e["net_minor"], e["clawed_back_minor"]) == (e3, 0, 150)
    assert sum(ln["clawed_back_minor"] for ln in e["lines"]) == 150  # spread over the lines exactly
    assert e["history"][-1]["kind"] == "clawback" and e["history"][-1]["dispute_id"] == d2["dispute_id"]
    listed = await ifm.data("/dispute/list", {"status": "rejected"})
    assert [d["dispute_id"] for d in listed["items"]] == [d2["dispute_id"]]
    await ifm.error(
        "/earnings/hold",
        {"earning_ids": [e1], "reason": "r", "until": "2020-01-01T00:00:00Z"},
        "validation-error",
    )


async def test_codes_are_unique_per_org_case_insensitively(ifm: Ifm) -> None:
    await ifm.data(
        "/profile/create", {"handle": "jo", "display_name": "Jo", "payout_currency": "USD", "codes": ["JO10"]}
    )
    await ifm.error(
        "/profile/create",
        {"handle": "jo2", "display_name": "Jo", "payout_currency": "USD", "codes": ["jo10"]},
        "conflict",
    )
    await ifm.error(
        "/profile/create", {"handle": "JO", "display_name": "Jo", "payout_currency": "USD"}, "conflict"
    )
    err = await ifm.error(
        "/profile/create",
        {"handle": "jo3", "display_name": "Jo", "payout_currency": "USD", "codes": ["A", "a"]},
        "validation-error",
    )
    assert err["details"]["fields"][0]["path"] == "codes.1"
    # another org may use the same handle and code
    await ifm.data(
        "/profile/create",
        {"handle": "jo", "display_name": "Jo", "payout_currency": "USD", "codes": ["JO10"]},
        key="other",
        org=ifm.other_org,
    )
    p = await ifm.call(
        "/profile/create",
        {"handle": "kim", "display_name": "Kim", "payout_currency": "USD", "codes": ["KIM"]},
    )
    upd = await ifm.call(
        "/profile/update",
        {
            "profile_id": p["data"]["profile_id"],
            "expected_revision": 1,
            "codes": ["KIM2", "kimmy"],
            "email": "kim@example.com",
        },
    )
    assert (upd["data"]["codes"], upd["data"]["email"], upd["revision"]) == (
        ["KIM2", "kimmy"],
        "kim@example.com",
        2,
    )
    await ifm.error(
        "/profile/update",
        {"profile_id": p["data"]["profile_id"], "expected_revision": 1, "display_name": "x"},
        "revision-mismatch",
    )


async def test_list_paging_never_repeats_and_binds_filters(ifm: Ifm) -> None:
    for i in range(5):
        await ifm.data(
            "/profile/create", {"handle": f"page{i}", "display_name": "P", "payout_currency": "USD"}
        )
    seen: list[str] = []
    body: dict[str, Any] = {"handle_prefix": "page", "limit": 2}
    while True:
        page = await ifm.data("/profile/list", body)
        seen += [p["handle"] for p in page["items"]]
        if page["next_token"] is None:
            break
        # a write between pages neither repeats nor skips what existed
        await ifm.data(
            "/profile/create",
            {"handle": f"page-new{len(seen)}", "display_name": "P", "payout_currency": "USD"},
        )
        body = {**body, "next_token": page["next_token"]}
    assert seen == [f"page{i}" for i in reversed(range(5))]
    token = (await ifm.data("/profile/list", {"handle_prefix": "page", "limit": 1}))["next_token"]
    err = await ifm.error(
        "/profile/list", {"handle_prefix": "zzz", "limit": 1, "next_token": token}, "validation-error"
    )
    assert err["details"]["fields"][0]["path"] == "next_token"
    await ifm.error("/profile/list", {"limit": 0}, "validation-error")
    await ifm.error("/profile/list", {"limit": 257}, "validation-error")
