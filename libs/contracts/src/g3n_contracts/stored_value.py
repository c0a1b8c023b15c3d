"""Gift-card and loyalty outcomes the CRM publishes on ``crm.stored-value.v1``.

Payment/tender consumers keep their own view of stored value from these events, so every
movement says which instrument it touched (gift card or customer), how much moved (a
non-negative ``amount_minor`` in ``currency``, or ``points``), the balance right *after* it (so a
consumer can detect a gap instead of summing blindly) and when it happened. A gift card's full
code never appears: only ``last4`` on issue, as everywhere outside ``/giftcard/issue``.

Gift-card events are keyed ``{org_code}:{giftcard_id}``, loyalty events
``{org_code}:{customer_id}``, so one instrument's movements stay in order on one partition.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import StrictStr, StringConstraints, model_validator

from g3n_contracts.base import EventPayload
from g3n_contracts.money import Money
from g3n_contracts.primitives import CurrencyCode, Id, MinorAmount, Points, Text, UtcDatetime

Last4 = Annotated[StrictStr, StringConstraints(pattern=r"^\S{4}$")]


class _GiftCardEvent(EventPayload):
    giftcard_id: Id
    customer_id: Id | None = None
    """The customer the card is linked to, if any."""
    currency: CurrencyCode
    amount_minor: MinorAmount
    occurred_at: UtcDatetime

    def partition_key(self) -> str:
        return self.giftcard_id


class GiftCardIssued(_GiftCardEvent):
    """``crm.giftcard.issued``: a card was created loaded with ``amount_minor``.

    ``balance_after_minor`` equals ``amount_minor`` (kept for symmetry with the other movements).
    """

    last4: Last4
    balance_after_minor: MinorAmount
    expires_at: UtcDatetime | None = None
    reason: Text | None = None

    @model_validator(mode="after")
    def _loaded_with_amount(self) -> Self:
        if self.balance_after_minor != self.amount_minor:
            raise ValueError("a newly issued card's balance_after_minor must equal amount_minor")
        return self


class GiftCardRedeemed(_GiftCardEvent):
    """``crm.giftcard.redeemed``: ``amount_minor`` was applied to order ``order_ref``."""

    redemption_id: Id
    balance_after_minor: MinorAmount
    order_ref: Id


class GiftCardRedemptionReversed(_GiftCardEvent):
    """``crm.giftcard.redemption.reversed``: ``amount_minor`` of a redemption was put back.

    Several partial reversals of one redemption are separate events (deduplicate by event id).
    """

    redemption_id: Id
    balance_after_minor: MinorAmount
    order_ref: Id | None = None
    reason: Text | None = None


class GiftCardVoided(_GiftCardEvent):
    """``crm.giftcard.voided``: the card is void; ``amount_minor`` is the balance it forfeited."""

    reason: Text


class _LoyaltyEvent(EventPayload):
    redemption_id: Id
    customer_id: Id
    points: Points
    balance_after: Points
    """Points available to the customer after this movement."""
    value: Money | None = None
    """Currency value of the points when known (e.g. the SCM loyalty tender amount)."""
    source_ref: Id | None = None
    """What caused it, e.g. the SCM order id for points redeemed or restored by a sale/return."""
    reason: Text | None = None
    occurred_at: UtcDatetime

    def partition_key(self) -> str:
        return self.customer_id


class LoyaltyRedeemed(_LoyaltyEvent):
    """``crm.loyalty.redeemed``: ``points`` were spent (redemption ``redemption_id``)."""


class LoyaltyRestored(_LoyaltyEvent):
    """``crm.loyalty.restored``: ``points`` of redemption ``redemption_id`` were given back."""
