"""Integer money arithmetic: half-even division and exact allocation.

Every amount is an ``int`` of minor units (cents) of one currency; rates are basis points
(``10_000`` = 100 %). No float ever touches money.

Rounding rules (the only two places rounding happens in the service):

* :func:`div_half_even` rounds an exact rational ``numerator / denominator`` to the nearest
  integer, ties to the even neighbour (banker's rounding), so ties do not bias totals upward
  over many orders. It is applied once, at the last step of a computation (``basis * bps /
  10_000`` is rounded once for the whole earning, never per line and then summed).
* :func:`allocate` splits an integer total over weights with the largest-remainder method:
  each part gets the floor of its exact share, then the cents left over go one by one to the
  parts with the largest fractional remainders (ties: the earlier part). The parts always sum
  exactly to the total and no part exceeds its exact share by a cent or more, so no cent is
  ever lost or invented.
"""

from __future__ import annotations

from collections.abc import Sequence

BPS_DENOMINATOR = 10_000


def div_half_even(numerator: int, denominator: int) -> int:
    """``round(numerator / denominator)`` with ties to even, computed exactly on integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def apply_bps(amount_minor: int, rate_bps: int) -> int:
    """``amount * rate / 10 000`` rounded half-even (one rounding step)."""
    return div_half_even(amount_minor * rate_bps, BPS_DENOMINATOR)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` (≥ 0) in proportion to ``weights`` (≥ 0) so the parts sum to ``total``.

    When every weight is zero the total is split evenly (largest remainder again), so a
    non-zero total is never dropped. An empty weight list only accepts a zero total.
    """
    if total < 0:
        raise ValueError("total must be non-negative")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    if not weights:
        if total:
            raise ValueError("cannot allocate a non-zero total over no parts")
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [1] * len(weights)
        weight_sum = len(weights)
    parts: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        share, rem = divmod(total * weight, weight_sum)
        parts.append(share)
        remainders.append((rem, index))
    left = total - sum(parts)
    # Largest fractional remainder first; on equal remainders the earlier part wins.
    for _, index in sorted(remainders, key=lambda r: (-r[0], r[1]))[:left]:
        parts[index] += 1
    return parts
