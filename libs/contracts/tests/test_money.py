"""Money and currencies: integer minor units of a real ISO-4217 currency, nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from g3n_contracts import CURRENCY_CODES, Money, minor_unit_exponent
from pydantic import ValidationError


def test_money_holds_integer_minor_units_of_a_known_currency() -> None:
    money = Money(amount_minor=1999, currency="USD")
    assert money.model_dump() == {"amount_minor": 1999, "currency": "USD"}
    assert Money.model_validate_json(money.model_dump_json()) == money


@pytest.mark.parametrize("amount", [19.99, 1999.0, True, "1999", None])
def test_money_rejects_floats_bools_and_numeric_strings(amount: Any) -> None:
    with pytest.raises(ValidationError) as err:
        Money(amount_minor=amount, currency="USD")
    assert err.value.errors()[0]["loc"] == ("amount_minor",)


@pytest.mark.parametrize(
    "raw", [b'{"amount_minor": 19.99, "currency": "USD"}', b'{"amount_minor": 1999.0, "currency": "USD"}']
)
def test_money_rejects_floats_in_json(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        Money.model_validate_json(raw)


def test_money_rejects_negative_amounts() -> None:
    with pytest.raises(ValidationError):
        Money(amount_minor=-1, currency="USD")


def test_money_rejects_amounts_beyond_bigint() -> None:
    with pytest.raises(ValidationError):
        Money(amount_minor=2**63, currency="USD")


@pytest.mark.parametrize("currency", ["usd", "US", "USDD", "XYZ", "XAU", "XTS", "HRK", "", 840])
def test_money_rejects_unknown_malformed_or_non_circulating_currencies(currency: Any) -> None:
    with pytest.raises(ValidationError) as err:
        Money(amount_minor=1, currency=currency)
    assert err.value.errors()[0]["loc"] == ("currency",)


def test_money_is_immutable() -> None:
    money = Money(amount_minor=1, currency="EUR")
    with pytest.raises(ValidationError):
        money.amount_minor = 2  # type: ignore[misc]


def test_currency_table_knows_zero_and_three_decimal_currencies() -> None:
    assert {"USD", "EUR", "GBP", "JPY", "KWD", "CHF"} <= CURRENCY_CODES
    assert (minor_unit_exponent("USD"), minor_unit_exponent("JPY"), minor_unit_exponent("KWD")) == (2, 0, 3)
    assert all(len(code) == 3 and code.isupper() for code in CURRENCY_CODES)
