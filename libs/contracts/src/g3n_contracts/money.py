"""Money: integer minor units plus an ISO-4217 currency, never a float."""

from __future__ import annotations

from g3n_contracts.base import Contract
from g3n_contracts.primitives import CurrencyCode, MinorAmount


class Money(Contract):
    """An amount of money: ``{"amount_minor": 1999, "currency": "USD"}`` is 19.99 USD.

    Floats, booleans and numeric strings are rejected because binary floating point cannot hold
    cents exactly and a coerced ``"19.99"`` hides a producer bug. The amount is non-negative: a
    debit or a debt is expressed by the field that carries it (e.g. ``carry_over_minor``), not by
    a sign that a consumer could drop.
    """

    amount_minor: MinorAmount
    currency: CurrencyCode
