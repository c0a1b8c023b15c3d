"""A gift card's code is shown once: not even an idempotent replay keeps it in clear."""

from __future__ import annotations

import pytest
from crm_support import CrmEnv

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_issue_with_an_idempotency_key_stores_no_code_and_replays_the_card_without_it(
    crm_env: CrmEnv,
) -> None:
    body = {"amount": {"amount_minor": 2500, "currency": "USD"}, "reason": "gift"}
    first = await crm_env.call("giftcard.issue", body, idem="issue-once-1")
    replay = await crm_env.call("giftcard.issue", body, idem="issue-once-1")
    code = first.data["code"]
    assert code and first.data["last4"] == code[-4:]
    assert replay.data["giftcard_id"] == first.data["giftcard_id"]
    assert replay.data["code"] is None and replay.data["last4"] == first.data["last4"]
    async with crm_env.db.connection() as conn:
        leaks = await conn.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE position($1::bytea in response_body) > 0",
            code.encode(),
        )
    assert leaks == 0
    # the card still works with the code the first response showed
    redeemed = await crm_env.ok(
        "giftcard.redeem",
        {"code": code, "amount": {"amount_minor": 500, "currency": "USD"}, "order_ref": "o-1"},
    )
    assert redeemed["balance_minor"] == 2000
