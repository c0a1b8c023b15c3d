"""Payout netting, payout status machine and statement arithmetic.

Netting
-------
A profile's payout in a currency pays its ``released`` earnings (net of clawbacks, net > 0)
minus its carry-over: ``amount = Σ released net - carry_over``. The carry-over is what clawbacks
on already-paid earnings took back; the payout nets all of it off. When the result is not
positive, or below the requested minimum, nothing is paid and the profile is skipped with the
reason; the earnings stay ``released`` and the carry-over stays owed.

A carry-over can be negative (a credit) in one case only: a payout fails after a clawback on one
of its earnings had already been netted off by a later payout. The credit is added to the next
payout that pays at least one earning (``carry_over_minor`` then reports 0 and the amount
includes the credit).

Statements
----------
The balance of a profile in a currency is what IFM owes it: earned - clawed back - paid, where
*paid* counts submitted payouts minus failed ones. A statement for ``[period_start, period_end)``
has ``opening`` = balance before the start, and ``closing = opening + earned - clawed_back -
paid`` over the period's ledger entries; the next period's opening is therefore this closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from g3n_kit.errors import InvalidState

PayoutStatus = Literal["submitted", "settled", "failed"]
PAYOUT_STATUSES: Final[tuple[PayoutStatus, ...]] = ("submitted", "settled", "failed")

SKIP_NOT_READY: Final = "not-ready"
SKIP_NOT_ACTIVE: Final = "profile-not-active"
SKIP_NOTHING_PAYABLE: Final = "nothing-payable"
SKIP_CARRY_OVER: Final = "carry-over-exceeds-released"
SKIP_BELOW_MINIMUM: Final = "below-minimum"


@dataclass(frozen=True)
class PayoutPlan:
    amount_minor: int
    carry_over_netted_minor: int  # signed: negative when a credit is paid out
    released_minor: int


@dataclass(frozen=True)
class Skip:
    reason: str
    message: str


def plan_payout(
    *, released_nets: list[int], carry_over_minor: int, min_amount_minor: int = 0
) -> PayoutPlan | Skip:
    """Net a profile's released earnings against its carry-over (see the module docstring)."""
    released = sum(n for n in released_nets if n > 0)
    if released <= 0:  # a payout always pays at least one earning (a credit waits for one)
        return Skip(SKIP_NOTHING_PAYABLE, "no released earnings to pay")
    amount = released - carry_over_minor
    if amount <= 0:
        return Skip(
            SKIP_CARRY_OVER,
            f"carry-over {carry_over_minor} absorbs the released {released}; nothing to pay",
        )
    if amount < min_amount_minor:
        return Skip(SKIP_BELOW_MINIMUM, f"payable {amount} is below the minimum {min_amount_minor}")
    return PayoutPlan(amount_minor=amount, carry_over_netted_minor=carry_over_minor, released_minor=released)


@dataclass(frozen=True)
class StatusOutcome:
    changed: bool
    new_status: str
    note: str


def settle(current: str) -> StatusOutcome:
    """Accounting settled the payout: only a submitted payout moves."""
    if current == "submitted":
        return StatusOutcome(True, "settled", "settled by accounting")
    return StatusOutcome(False, current, f"settlement ignored: payout is already {current}")


def fail(current: str) -> StatusOutcome:
    """Accounting failed the payout: a submitted payout fails; after settlement it is an
    ``invalid-state`` outcome recorded on the payout's history, with no change."""
    if current == "submitted":
        return StatusOutcome(True, "failed", "failed at accounting")
    return StatusOutcome(False, current, f"invalid-state: failure ignored, payout is already {current}")


def check_payable_single(profile_id: str, skip: Skip) -> None:
    """When exactly one profile was named and it cannot be paid: ``invalid-state``."""
    raise InvalidState(
        f"profile {profile_id} cannot be paid: {skip.message}",
        state=skip.reason,
        required="payout_ready and positive released net earnings above the minimum",
    )


@dataclass(frozen=True)
class StatementTotals:
    opening_balance_minor: int
    earned_minor: int
    clawed_back_minor: int
    paid_minor: int

    @property
    def closing_balance_minor(self) -> int:
        return self.opening_balance_minor + self.earned_minor - self.clawed_back_minor - self.paid_minor
