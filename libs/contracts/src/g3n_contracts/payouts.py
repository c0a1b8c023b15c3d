"""Influencer payouts and their settlement (keyed ``{org_code}:{payout_id}``).

IFM publishes ``ifm.payout.recorded`` on ``accounting.payouts.v1`` exactly once per payout;
accounting answers on ``accounting.payout-status.v1`` with a settlement or a failure.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from g3n_contracts.base import Contract, EventPayload
from g3n_contracts.primitives import Code, CurrencyCode, Id, MinorAmount, Text, UtcDatetime


class PayoutMethod(Contract):
    """Where the money goes: the method finance confirmed when marking the profile payable."""

    type: Literal["bank", "paypal", "other"]
    reference: Text


class Payee(Contract):
    """The influencer being paid, as accounting needs to see it.

    ``payout_method`` is ``None`` when finance marked the profile ready without recording one;
    accounting then resolves it out of band rather than IFM failing to publish the payout.
    """

    handle: Code
    payout_method: PayoutMethod | None = None


class PayoutRecorded(EventPayload):
    """``ifm.payout.recorded``: IFM submitted a payout of ``amount_minor`` to a profile.

    ``amount_minor`` is what is paid: the released earnings listed in ``earning_ids`` minus the
    ``carry_over_minor`` (earlier clawbacks on paid earnings) netted off here; it is positive
    because IFM only submits payable profiles. ``earning_ids`` are unique and non-empty.
    """

    payout_id: Id
    profile_id: Id
    payee: Payee
    currency: CurrencyCode
    amount_minor: Annotated[MinorAmount, Field(gt=0)]
    earning_ids: Annotated[tuple[Id, ...], Field(min_length=1)]
    carry_over_minor: MinorAmount = 0
    submitted_at: UtcDatetime

    @model_validator(mode="after")
    def _unique_earnings(self) -> Self:
        if len(set(self.earning_ids)) != len(self.earning_ids):
            raise ValueError("earning_ids must be unique: an earning is paid once")
        return self

    def partition_key(self) -> str:
        return self.payout_id


class PayoutSettled(EventPayload):
    """``accounting.payout.settled``: the money left; ``reference`` is accounting's batch/transfer id."""

    payout_id: Id
    settled_at: UtcDatetime
    reference: Text | None = None

    def partition_key(self) -> str:
        return self.payout_id


class PayoutFailed(EventPayload):
    """``accounting.payout.failed``: the payment bounced; IFM releases the earnings again."""

    payout_id: Id
    failed_at: UtcDatetime
    reason: Text

    def partition_key(self) -> str:
        return self.payout_id
