"""Points arithmetic: rounding once per earn, allocation without loss, cumulative return reversal."""

from __future__ import annotations

import random

import pytest
from g3n_crm.domain.policy import (
    DEFAULT_POLICY,
    LoyaltyPolicy,
    allocate,
    cumulative_reversal,
    points_for_amount,
)
from g3n_kit.errors import ValidationFailed


def test_default_policy_is_one_point_per_dollar_available_at_once_expiring_in_a_year() -> None:
    assert DEFAULT_POLICY.points_per_currency_unit == 1
    assert DEFAULT_POLICY.currency == "USD"
    assert DEFAULT_POLICY.pending_days == 0
    assert DEFAULT_POLICY.expiry_days == 365
    DEFAULT_POLICY.validate()


def test_points_round_down_once_on_the_whole_amount() -> None:
    assert points_for_amount(4599, "USD", DEFAULT_POLICY) == 45
    policy = LoyaltyPolicy(points_per_currency_unit=3, currency="JPY")
    assert points_for_amount(1000, "JPY", policy) == 3000
    kwd = LoyaltyPolicy(points_per_currency_unit=2, currency="KWD")
    assert points_for_amount(1999, "KWD", kwd) == 3  # 1.999 KWD * 2 = 3.998 -> 3


def test_points_in_another_currency_are_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as err:
        points_for_amount(100, "EUR", DEFAULT_POLICY)
    assert err.value.details["fields"][0]["path"] == "amount.currency"


def test_allocation_never_loses_a_point() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        weights = [rng.randint(0, 10_000) for _ in range(rng.randint(1, 8))]
        total = rng.randint(0, 5000)
        parts = allocate(total, weights)
        assert sum(parts) == total if sum(weights) else parts[0] == total
        assert all(p >= 0 for p in parts)


def test_allocation_gives_the_remainder_to_the_largest_fraction_then_the_first_line() -> None:
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(45, [2500, 2000]) == [25, 20]
    assert allocate(7, [1, 2]) == [2, 5]  # 2.33 / 4.67 -> the larger fraction gets the point


def test_return_of_one_of_two_units_reverses_half_rounded_down_and_the_rest_on_the_last() -> None:
    first = cumulative_reversal(45, 2, 0, 1)
    second = cumulative_reversal(45, 2, 1, 1)
    assert (first, second) == (22, 23)


def test_a_line_returned_beyond_its_quantity_never_gives_back_more_than_it_earned() -> None:
    assert cumulative_reversal(10, 3, 0, 5) == 10
    assert cumulative_reversal(10, 3, 3, 1) == 0


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"expiry_days": 0}, "expiry_days"),
        ({"pending_days": 10, "expiry_days": 5}, "expiry_days"),
        ({"currency": "XXX"}, "currency"),
        ({"min_redeem_points": 0}, "min_redeem_points"),
    ],
)
def test_inconsistent_policy_names_the_field(changes: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        LoyaltyPolicy(**changes).validate()  # type: ignore[arg-type]
    assert path in [f["path"] for f in err.value.details["fields"]]
