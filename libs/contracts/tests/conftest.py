"""Builders of valid contract data; each test changes only what it is about."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from g3n_contracts import (
    ChangeEvent,
    EventPayload,
    GiftCardIssued,
    GiftCardRedeemed,
    GiftCardRedemptionReversed,
    GiftCardVoided,
    LoyaltyRedeemed,
    LoyaltyRestored,
    PayoutFailed,
    PayoutRecorded,
    PayoutSettled,
    ReturnRecorded,
    SaleRecorded,
)
from g3n_contracts import event_types as et

AT = datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)
EVENT_ID = "0b5f3c1e-8a2b-4c7d-9e0f-123456789abc"

RawFactory = Callable[..., bytes]


def sale_dict(**overrides: Any) -> dict[str, Any]:
    """The ``scm.sale.recorded`` example of events.md."""
    sale: dict[str, Any] = {
        "sale_id": "s-1001",
        "order_id": "o-1001",
        "channel": "web",
        "store_id": None,
        "occurred_at": "2026-11-20T14:03:11Z",
        "currency": "USD",
        "customer": {"customer_id": "cus_1", "email": None, "external_ref": None},
        "promo_codes": ["ANNA10"],
        "referral_code": None,
        "lines": [
            {
                "line_id": "1",
                "sku": "TSHIRT-M",
                "qty": 2,
                "unit_price_minor": 2500,
                "discount_minor": 500,
                "net_amount_minor": 4500,
                "category": "apparel",
            }
        ],
        "tenders": [
            {"type": "card", "amount_minor": 3500},
            {"type": "loyalty", "amount_minor": 1000, "points": 1000},
        ],
    }
    sale.update(overrides)
    return sale


def return_dict(**overrides: Any) -> dict[str, Any]:
    """The ``scm.return.recorded`` example of events.md."""
    ret: dict[str, Any] = {
        "return_id": "r-77",
        "order_id": "o-1001",
        "occurred_at": "2026-11-22T09:00:00Z",
        "currency": "USD",
        "lines": [{"line_id": "1", "qty": 1, "refund_amount_minor": 2250}],
        "tenders": [{"type": "loyalty", "amount_minor": 500, "points": 500}],
    }
    ret.update(overrides)
    return ret


def envelope_dict(event_type: str, payload: dict[str, Any], /, **overrides: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "event_id": EVENT_ID,
        "event_type": event_type,
        "event_version": 1,
        "occurred_at": "2026-11-20T14:03:11Z",
        "org_code": "acme",
        "source": "scm",
        "correlation_id": None,
        "payload": payload,
    }
    env.update(overrides)
    return env


def raw_event(event_type: str, payload: dict[str, Any], /, **overrides: Any) -> bytes:
    return json.dumps(envelope_dict(event_type, payload, **overrides)).encode()


@pytest.fixture
def raw_sale() -> RawFactory:
    """``raw_sale(payload overrides..., envelope={...})`` → the bytes of a sale event."""

    def build(envelope: dict[str, Any] | None = None, **payload: Any) -> bytes:
        return raw_event(et.SALE_RECORDED, sale_dict(**payload), **(envelope or {}))

    return build


def one_of_each() -> list[tuple[str, EventPayload]]:
    """A valid payload for every registered event type plus a change event."""
    return [
        (et.SALE_RECORDED, SaleRecorded.model_validate(sale_dict())),
        (et.RETURN_RECORDED, ReturnRecorded.model_validate(return_dict())),
        (
            et.PAYOUT_RECORDED,
            PayoutRecorded(
                payout_id="pay_1",
                profile_id="inf_1",
                payee={"handle": "anna", "payout_method": {"type": "bank", "reference": "DE89 3704"}},
                currency="USD",
                amount_minor=12345,
                earning_ids=("ern_1", "ern_2"),
                carry_over_minor=0,
                submitted_at=AT,
            ),
        ),
        (et.PAYOUT_SETTLED, PayoutSettled(payout_id="pay_1", settled_at=AT, reference="bank-batch-42")),
        (et.PAYOUT_FAILED, PayoutFailed(payout_id="pay_1", failed_at=AT, reason="account closed")),
        (
            et.GIFTCARD_ISSUED,
            GiftCardIssued(
                giftcard_id="gfc_1",
                last4="7Q2Z",
                customer_id="cus_1",
                currency="EUR",
                amount_minor=5000,
                balance_after_minor=5000,
                occurred_at=AT,
            ),
        ),
        (
            et.GIFTCARD_REDEEMED,
            GiftCardRedeemed(
                giftcard_id="gfc_1",
                redemption_id="gfr_1",
                currency="EUR",
                amount_minor=1200,
                balance_after_minor=3800,
                order_ref="o-1001",
                occurred_at=AT,
            ),
        ),
        (
            et.GIFTCARD_REDEMPTION_REVERSED,
            GiftCardRedemptionReversed(
                giftcard_id="gfc_1",
                redemption_id="gfr_1",
                currency="EUR",
                amount_minor=200,
                balance_after_minor=4000,
                reason="refund",
                occurred_at=AT,
            ),
        ),
        (
            et.GIFTCARD_VOIDED,
            GiftCardVoided(
                giftcard_id="gfc_1", currency="EUR", amount_minor=4000, reason="fraud", occurred_at=AT
            ),
        ),
        (
            et.LOYALTY_REDEEMED,
            LoyaltyRedeemed(
                redemption_id="lpt_9",
                customer_id="cus_1",
                points=1000,
                balance_after=250,
                value={"amount_minor": 1000, "currency": "USD"},
                source_ref="o-1001",
                occurred_at=AT,
            ),
        ),
        (
            et.LOYALTY_RESTORED,
            LoyaltyRestored(
                redemption_id="lpt_9", customer_id="cus_1", points=500, balance_after=750, occurred_at=AT
            ),
        ),
        (
            "ifm.campaign.status_changed",
            ChangeEvent(
                object_type="campaign",
                object_id="cmp_1",
                action="status_changed",
                revision=3,
                data={"status": "active", "rate_bps": 1000, "tags": ["x"], "ends": None},
            ),
        ),
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests taking ``sample`` run once per event type: ``(event_type, payload)``."""
    if "sample" in metafunc.fixturenames:
        samples = one_of_each()
        metafunc.parametrize("sample", samples, ids=[event_type for event_type, _ in samples])


@pytest.fixture
def sale_data() -> Callable[..., dict[str, Any]]:
    return sale_dict


@pytest.fixture
def return_data() -> Callable[..., dict[str, Any]]:
    return return_dict


@pytest.fixture
def make_raw() -> RawFactory:
    """``make_raw(event_type, payload_dict, **envelope_overrides)`` → message bytes."""
    return raw_event
