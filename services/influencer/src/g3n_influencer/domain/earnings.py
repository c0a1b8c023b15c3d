"""Earnings: commission computation, per-line amounts, clawbacks and the status machine.

Commission of one attributed order
----------------------------------
1. Each order line is *eligible* when its SKU passes the campaign's eligible/excluded lists
   (:func:`~g3n_influencer.domain.campaigns.sku_eligible`); its *basis* is its
   ``net_amount_minor`` (after discounts, before tax) when eligible, else 0.
2. The rule in force is chosen and snapshotted on the earning:

   * a tier ladder exists → rule ``tier``: the profile's tier for this order (highest
     ``min_orders`` ≤ orders attributed to it in the campaign before this one, fully refunded
     orders excluded) and its ``commission_bps`` as a percent rate (the ladder replaces the
     campaign's own rule, percent or flat);
   * otherwise the campaign's rule: ``percent`` at ``rate_bps`` or ``flat`` ``amount_minor``
     per order (a flat commission is earned only when the order has eligible basis > 0).

3. The earning amount is computed ONCE for the whole order and rounded half-even at that last
   step: ``amount = round_half_even(Σ basis * rate_bps / 10 000)`` (or the flat amount).
4. The amount is split over the eligible lines in proportion to their basis with the
   largest-remainder method (:func:`~g3n_influencer.domain.money.allocate`), so the line
   amounts sum exactly to the earning. (Flat amounts on zero-basis eligible lines: none —
   a zero basis earns nothing.)

Clawbacks
---------
* **Returns** claw back per line and per unit, cumulatively: after ``r`` of a line's ``q``
  units have come back, the line's return clawback target is
  ``round_half_even(line_amount * r / q)``; a return claws back the increase of that target
  (capped by what is left on the line). Returning 1 of 3 units claws back exactly a third
  (rounded); the last unit claws back exactly what remains, so partial returns never exceed
  the line's amount and a full return equals it. ``r`` never exceeds ``q`` (extra units are
  ignored and reported).
* **Manual clawbacks** (finance, rejected disputes) take an amount from the whole earning
  (default: all that remains) and spread it over the lines in proportion to what remains on
  each (largest remainder), so per-line clawed amounts never exceed the line amounts either.

The earning's ``amount_minor`` never changes; ``clawed_back_minor`` grows and
``net_minor = amount_minor - clawed_back_minor`` never goes below zero.

Status machine
--------------
``pending`` (inside the holding period) → ``released`` (payable) → ``paid`` (in a submitted
payout). ``held`` is entered from ``pending`` or ``released`` and clearing returns to the status
it came from. An unpaid earning clawed back to zero becomes ``reversed`` (terminal). A clawback
on a ``paid`` earning leaves it ``paid`` and books a carry-over the next payout nets off. A
failed payout returns its earnings to ``released`` (or ``reversed`` when nothing remains).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, NamedTuple

from g3n_kit.errors import InvalidState
from g3n_kit.values import value_type

from g3n_influencer.domain.campaigns import Commission, Tier, sku_eligible, tier_for
from g3n_influencer.domain.money import allocate, apply_bps, div_half_even

EarningStatus = Literal["pending", "released", "held", "paid", "reversed"]
EARNING_STATUSES: Final[tuple[EarningStatus, ...]] = ("pending", "released", "held", "paid", "reversed")
UNPAID_STATUSES: Final = frozenset({"pending", "released", "held"})
HOLDABLE: Final = frozenset({"pending", "released"})


class OrderLine(NamedTuple):
    """A line of an attributed order (a named tuple: cheap to build and hash per sale)."""

    line_id: str
    sku: str
    qty: int
    net_amount_minor: int


@value_type
class LineEarning:
    line_id: str
    sku: str
    qty: int
    net_amount_minor: int
    eligible: bool
    basis_minor: int
    amount_minor: int


@value_type
class EarningCalc:
    """The computed commission of one order, with the rule snapshot that produced it."""

    rule: Literal["percent", "flat", "tier"]
    rate_bps: int | None
    flat_amount_minor: int | None
    tier: Tier | None
    prior_orders: int
    basis_minor: int
    amount_minor: int
    lines: tuple[LineEarning, ...] = field(default_factory=tuple)


def compute_earning(
    lines: Sequence[OrderLine],
    *,
    commission: Commission,
    ladder: Sequence[Tier],
    prior_orders: int,
    eligible_skus: Collection[str] = frozenset(),
    excluded_skus: Collection[str] = frozenset(),
) -> EarningCalc:
    """Commission of one order (see the module docstring for the rules and rounding)."""
    eligible = eligible_skus if isinstance(eligible_skus, frozenset) else frozenset(eligible_skus)
    excluded = excluded_skus if isinstance(excluded_skus, frozenset) else frozenset(excluded_skus)
    flags = [sku_eligible(line.sku, eligible, excluded) for line in lines]
    bases = [line.net_amount_minor if ok else 0 for line, ok in zip(lines, flags, strict=True)]
    basis = sum(bases)
    tier = tier_for(ladder, prior_orders) if ladder else None
    rate_bps: int | None
    flat: int | None = None
    if tier is not None:
        rule: Literal["percent", "flat", "tier"] = "tier"
        rate_bps = tier.commission_bps
        amount = apply_bps(basis, rate_bps)
    elif commission.type == "percent":
        rule = "percent"
        rate_bps = commission.rate_bps
        assert rate_bps is not None
        amount = apply_bps(basis, rate_bps)
    else:
        rule = "flat"
        rate_bps = None
        flat = commission.amount_minor
        assert flat is not None
        amount = flat if basis > 0 else 0
    shares = allocate(amount, bases) if basis > 0 else [0] * len(lines)
    return EarningCalc(
        rule=rule,
        rate_bps=rate_bps,
        flat_amount_minor=flat,
        tier=tier,
        prior_orders=prior_orders,
        basis_minor=basis,
        amount_minor=amount,
        lines=tuple(
            LineEarning(
                line_id=line.line_id,
                sku=line.sku,
                qty=line.qty,
                net_amount_minor=line.net_amount_minor,
                eligible=ok,
                basis_minor=b,
                amount_minor=share,
            )
            for line, ok, b, share in zip(lines, flags, bases, shares, strict=True)
        ),
    )


@dataclass(frozen=True)
class LineState:
    """What a line of an earning stands at before a clawback."""

    line_id: str
    qty: int
    amount_minor: int
    returned_qty: int
    clawed_back_minor: int

    @property
    def remaining_minor(self) -> int:
        return self.amount_minor - self.clawed_back_minor


@dataclass(frozen=True)
class ReturnClawback:
    """The effect of returning units of one line."""

    line_id: str
    returned_qty: int  # units accepted now (after capping at what had not come back yet)
    ignored_qty: int  # units beyond the line's quantity (already all returned)
    clawback_minor: int


def return_target(amount_minor: int, qty: int, returned_qty: int) -> int:
    """Cumulative return clawback of a line after ``returned_qty`` of ``qty`` units came back."""
    if qty <= 0:
        return 0
    if returned_qty >= qty:
        return amount_minor
    return div_half_even(amount_minor * returned_qty, qty)


def clawback_for_return(line: LineState, units: int) -> ReturnClawback:
    """Per-unit clawback of ``units`` coming back on ``line`` (see the module docstring)."""
    if units <= 0:
        raise ValueError("units must be positive")
    accepted = max(0, min(units, line.qty - line.returned_qty))
    before = return_target(line.amount_minor, line.qty, line.returned_qty)
    after = return_target(line.amount_minor, line.qty, line.returned_qty + accepted)
    claw = max(0, min(after - before, line.remaining_minor))
    return ReturnClawback(line.line_id, accepted, units - accepted, claw)


def spread_clawback(amount_minor: int, remaining_per_line: Sequence[int]) -> list[int]:
    """Spread a manual clawback over lines in proportion to what remains on each; each part is
    at most the line's remainder (largest remainder method)."""
    total = sum(remaining_per_line)
    if amount_minor > total:
        raise ValueError("clawback exceeds what remains")
    if total == 0:
        return [0] * len(remaining_per_line)
    return allocate(amount_minor, remaining_per_line)


def resolve_manual_clawback(*, earning_id: str, status: str, net_minor: int, requested: int | None) -> int:
    """The amount a manual clawback takes: ``requested`` or everything that remains."""
    if status == "reversed" or net_minor == 0:
        raise InvalidState(
            f"earning {earning_id} has nothing left to claw back",
            state=status,
            required="an earning with net_minor > 0",
        )
    amount = net_minor if requested is None else requested
    if amount <= 0:
        raise ValueError("clawback amount must be positive")
    if amount > net_minor:
        raise InvalidState(
            f"earning {earning_id}: clawback {amount} exceeds the {net_minor} that remains",
            state=status,
            required=f"amount_minor <= {net_minor}",
            available=net_minor,
        )
    return amount


def status_after_clawback(status: str, net_after: int) -> str:
    """Unpaid earnings clawed back to zero are ``reversed``; paid ones stay ``paid``."""
    if net_after == 0 and status in UNPAID_STATUSES:
        return "reversed"
    return status


def check_hold(earning_id: str, status: str) -> None:
    if status not in HOLDABLE:
        raise InvalidState(
            f"earning {earning_id} is {status}; only pending or released earnings can be held",
            state=status,
            required="pending or released",
            earning_id=earning_id,
        )


def check_hold_clear(earning_id: str, status: str) -> None:
    if status != "held":
        raise InvalidState(
            f"earning {earning_id} is {status}, not held",
            state=status,
            required="held",
            earning_id=earning_id,
        )


def check_release(earning_id: str, status: str) -> None:
    if status == "held":
        raise InvalidState(
            f"earning {earning_id} is held: clear holds first",
            state=status,
            required="pending (clear holds first)",
            earning_id=earning_id,
        )
    if status != "pending":
        raise InvalidState(
            f"earning {earning_id} is {status}; only pending earnings can be released",
            state=status,
            required="pending",
            earning_id=earning_id,
        )


def status_after_payout_failure(net_minor: int) -> str:
    return "released" if net_minor > 0 else "reversed"
