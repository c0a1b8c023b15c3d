"""SCM sales and returns (topic ``scm.sales.v1``, keyed ``{org_code}:{order_id}``).

Net amounts are after discounts and before tax, in minor units of the event's currency. The
consumers (IFM attribution and CRM loyalty) pay commissions and points from these numbers, so the
contract checks the arithmetic a producer could get wrong instead of trusting it.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Final, Self

from pydantic import Field, model_validator

from g3n_contracts.base import Contract, EventPayload
from g3n_contracts.primitives import (
    Code,
    CurrencyCode,
    Email,
    Id,
    MinorAmount,
    Name,
    Points,
    Quantity,
    UtcDatetime,
)

TENDER_LOYALTY: Final = "loyalty"
"""Tender type paid with loyalty points: the only tender that carries ``points``."""


def _require_unique_line_ids(ids: list[str]) -> None:
    if len(set(ids)) == len(ids):  # the common case, on the consumers' hot path: no Counter
        return
    duplicates = sorted(line_id for line_id, count in Counter(ids).items() if count > 1)
    if duplicates:
        raise ValueError(f"line_id must be unique within the event; repeated: {', '.join(duplicates)}")


class SaleCustomer(Contract):
    """Who bought: a CRM customer id, or an e-mail / external ref the CRM can resolve.

    At least one identifier is required; a guest sale omits ``customer`` altogether.
    """

    customer_id: Id | None = None
    email: Email | None = None
    external_ref: Id | None = None

    @model_validator(mode="after")
    def _identifies_someone(self) -> Self:
        if self.customer_id is None and self.email is None and self.external_ref is None:
            raise ValueError("customer needs customer_id, email or external_ref (omit it for a guest)")
        return self


class SaleLine(Contract):
    """One order line.

    When ``unit_price_minor`` is given, ``net_amount_minor`` must equal
    ``qty * unit_price_minor - discount_minor`` exactly (so it never exceeds the gross): a line
    whose numbers disagree would pay commission on money nobody paid.
    """

    line_id: Id
    sku: Id
    qty: Quantity
    unit_price_minor: MinorAmount | None = None
    discount_minor: MinorAmount = 0
    net_amount_minor: MinorAmount
    category: Code | None = None

    @model_validator(mode="after")
    def _net_matches_price(self) -> Self:
        if self.unit_price_minor is not None:
            gross = self.qty * self.unit_price_minor
            if self.discount_minor > gross:
                raise ValueError(f"discount_minor exceeds qty * unit_price_minor ({gross})")
            expected = gross - self.discount_minor
            if self.net_amount_minor != expected:
                raise ValueError(
                    f"net_amount_minor {self.net_amount_minor} != qty * unit_price_minor - discount_minor"
                    f" ({expected})"
                )
        return self


class Tender(Contract):
    """A means of payment of a sale, or of a refund in a return.

    ``type`` is an open lowercase name (``card``, ``cash``, ``giftcard``, ``loyalty``, …) so a new
    payment method at the till never dead-letters a sale; ``loyalty`` must say how many ``points``
    it redeemed (or, in a return, restores) and no other tender may carry points.
    """

    type: Name
    amount_minor: MinorAmount
    points: Points | None = None

    @model_validator(mode="after")
    def _points_iff_loyalty(self) -> Self:
        if self.type == TENDER_LOYALTY and self.points is None:
            raise ValueError("a loyalty tender must carry points")
        if self.type != TENDER_LOYALTY and self.points is not None:
            raise ValueError(f"points are only allowed on a loyalty tender, not {self.type!r}")
        return self


class SaleRecorded(EventPayload):
    """``scm.sale.recorded``: an order was paid. At least one line; line ids unique.

    IFM attributes it through ``referral_code`` or a ``promo_codes`` entry; CRM earns loyalty
    points for a known ``customer`` and redeems the points of a loyalty tender.
    """

    sale_id: Id
    order_id: Id
    channel: Code
    store_id: Id | None = None
    occurred_at: UtcDatetime
    currency: CurrencyCode
    customer: SaleCustomer | None = None
    promo_codes: tuple[Code, ...] = ()
    referral_code: Code | None = None
    lines: Annotated[tuple[SaleLine, ...], Field(min_length=1)]
    tenders: tuple[Tender, ...] = ()

    @model_validator(mode="after")
    def _unique_lines(self) -> Self:
        _require_unique_line_ids([line.line_id for line in self.lines])
        return self

    def partition_key(self) -> str:
        return self.order_id


class ReturnLine(Contract):
    """Units of a sale line (same ``line_id`` as in the sale) given back, and what was refunded."""

    line_id: Id
    qty: Quantity
    refund_amount_minor: MinorAmount


class ReturnRecorded(EventPayload):
    """``scm.return.recorded``: units of an order came back. At least one line; line ids unique.

    ``tenders`` are the refund tenders (a ``loyalty`` refund restores its ``points``). A return may
    arrive before its sale; consumers park it, so the contract does not reference the sale.
    """

    return_id: Id
    order_id: Id
    occurred_at: UtcDatetime
    currency: CurrencyCode
    lines: Annotated[tuple[ReturnLine, ...], Field(min_length=1)]
    tenders: tuple[Tender, ...] = ()

    @model_validator(mode="after")
    def _unique_lines(self) -> Self:
        _require_unique_line_ids([line.line_id for line in self.lines])
        return self

    def partition_key(self) -> str:
        return self.order_id
