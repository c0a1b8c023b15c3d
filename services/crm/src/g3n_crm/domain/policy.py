"""The loyalty policy of an org and the arithmetic that turns money into points.

Default policy (every org starts with it until `/loyalty/policy/set`):

==========================  =======  ==========================================================
field                       default  meaning
==========================  =======  ==========================================================
points_per_currency_unit    1        points earned per whole currency unit (1 point per USD 1.00)
currency                    USD      the only currency amounts are earned in
pending_days                0        days before earned points become available (return window)
expiry_days                 365      days after the earn (sale time) when the points expire;
                                     ``None`` = never
min_redeem_points           1        smallest redemption accepted by `/loyalty/redeem`
point_value_minor           1        what one point is worth in minor units (1 point = 1 cent)
excluded_skus               ()       SKUs that never earn points (gift cards, tobacco, …)
==========================  =======  ==========================================================

Rounding (documented once, applied everywhere):

* **Earning** rounds down once per earn: ``floor(eligible_minor * points_per_currency_unit /
  10**exponent)`` on the *sum* of the eligible amounts, never per line, so splitting a basket
  into lines never loses the customer a point.
* **Allocation** of an earn's points to the lines that produced it uses the largest-remainder
  method weighted by each line's net amount: the line shares always add up to the earned total,
  ties go to the earlier line.
* **Return reversal** of a line is cumulative on quantity: after ``c`` of ``q`` units came back,
  ``floor(line_points * c / q)`` points of that line are reversed in total (the last unit back
  takes whatever is left), so a line returned in several parts never loses more than it earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from g3n_contracts.currencies import minor_unit_exponent
from g3n_kit.errors import ValidationFailed


@dataclass(frozen=True)
class LoyaltyPolicy:
    points_per_currency_unit: int = 1
    currency: str = "USD"
    pending_days: int = 0
    expiry_days: int | None = 365
    min_redeem_points: int = 1
    point_value_minor: int = 1
    excluded_skus: tuple[str, ...] = field(default_factory=tuple)

    def validate(self) -> None:
        problems: list[dict[str, str]] = []
        if self.points_per_currency_unit < 0:
            problems.append({"path": "points_per_currency_unit", "message": "must be >= 0"})
        try:
            minor_unit_exponent(self.currency)
        except KeyError:
            problems.append({"path": "currency", "message": "unknown ISO-4217 currency"})
        if self.pending_days < 0:
            problems.append({"path": "pending_days", "message": "must be >= 0"})
        if self.expiry_days is not None and self.expiry_days <= self.pending_days:
            problems.append(
                {"path": "expiry_days", "message": "must be greater than pending_days (or null: never)"}
            )
        if self.min_redeem_points < 1:
            problems.append({"path": "min_redeem_points", "message": "must be >= 1"})
        if self.point_value_minor < 0:
            problems.append({"path": "point_value_minor", "message": "must be >= 0"})
        if problems:
            raise ValidationFailed(
                f"invalid policy: {problems[0]['path']}: {problems[0]['message']}", problems
            )

    def is_eligible_sku(self, sku: str) -> bool:
        return sku not in self.excluded_skus


DEFAULT_POLICY = LoyaltyPolicy()


def points_for_amount(amount_minor: int, currency: str, policy: LoyaltyPolicy) -> int:
    """Points earned on ``amount_minor`` (rounded down once). The currency must be the policy's."""
    if currency != policy.currency:
        raise ValidationFailed(
            f"amount currency {currency} differs from the loyalty policy currency {policy.currency}",
            [{"path": "amount.currency", "message": f"must be {policy.currency}"}],
        )
    if amount_minor < 0:
        raise ValidationFailed("amount must be >= 0", [{"path": "amount.amount_minor", "message": ">= 0"}])
    scale: int = 10 ** minor_unit_exponent(currency)
    return (amount_minor * policy.points_per_currency_unit) // scale


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` over ``weights`` by largest remainder; the parts always sum to ``total``.

    Zero total weight spreads nothing (all zeros) unless ``total`` is non-zero, in which case
    the whole goes to the first part (a caller bug guard: nothing may be lost).
    """
    if total < 0:
        raise ValueError("total must be >= 0")
    if weights and min(weights) < 0:
        raise ValueError("weights must be >= 0")
    if not weights:
        if total:
            raise ValueError("cannot allocate a non-zero total to no parts")
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [total] + [0] * (len(weights) - 1)
    shares = [total * w // weight_sum for w in weights]
    left = total - sum(shares)
    if not left:
        return shares
    # Largest fractional remainder first; ties keep line order (stable sort on index).
    order = sorted(range(len(weights)), key=lambda i: (-((total * weights[i]) % weight_sum), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def cumulative_reversal(line_points: int, line_qty: int, returned_before: int, returned_now: int) -> int:
    """Points of a line to reverse for ``returned_now`` more units (see module doc).

    Quantities beyond the line's are capped: a line never gives back more than it earned.
    """
    if line_qty <= 0:
        return 0
    before = min(returned_before, line_qty)
    after = min(returned_before + returned_now, line_qty)
    return (line_points * after) // line_qty - (line_points * before) // line_qty
