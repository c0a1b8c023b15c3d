"""The loyalty ledger: lots, soonest-expiring redemption, restore to the same lots, debt."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from g3n_crm.domain.loyalty import Lot, LoyaltyAccount, Redemption
from g3n_crm.domain.policy import LoyaltyPolicy
from g3n_kit.errors import InsufficientBalance, InvalidState, ValidationFailed

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = LoyaltyPolicy(expiry_days=100)


def _account() -> LoyaltyAccount:
    counter = itertools.count(1)
    return LoyaltyAccount("cus_1", new_id=lambda prefix: f"{prefix}_{next(counter):04d}")


def _earn(acc: LoyaltyAccount, points: int, at: datetime, policy: LoyaltyPolicy = POLICY) -> Lot:
    _, lot = acc.earn(points, at, policy, reason="t", earned_at=at)
    assert lot is not None
    return lot


def test_earn_creates_a_lot_with_pending_period_and_expiry() -> None:
    acc = _account()
    policy = LoyaltyPolicy(pending_days=14, expiry_days=365)
    entry, lot = acc.earn(120, T0, policy, reason="order", source_ref="o-1")
    assert lot is not None
    assert entry.kind == "earn" and entry.points == 120 and entry.lot_id == lot.lot_id
    assert lot.available_at == T0 + timedelta(days=14)
    assert lot.expires_at == T0 + timedelta(days=365)
    assert acc.balance(T0) == acc.balance(T0).__class__(available=0, pending=120, debt=0)
    assert acc.balance(T0 + timedelta(days=14)).available == 120
    acc.check(T0)


def test_pending_points_cannot_be_redeemed() -> None:
    acc = _account()
    acc.earn(100, T0, LoyaltyPolicy(pending_days=3), reason="x")
    with pytest.raises(InsufficientBalance) as err:
        acc.redeem(10, T0, POLICY, reason="x")
    assert err.value.details["available"] == 0


def test_redeem_takes_the_soonest_expiring_lots_first() -> None:
    acc = _account()
    late = _earn(acc, 50, T0, LoyaltyPolicy(expiry_days=300))
    soon = _earn(acc, 30, T0, LoyaltyPolicy(expiry_days=10))
    never = _earn(acc, 40, T0, LoyaltyPolicy(expiry_days=None))
    mid = _earn(acc, 20, T0, LoyaltyPolicy(expiry_days=100))
    _, red = acc.redeem(60, T0 + timedelta(days=1), POLICY, reason="x")
    assert [(a.lot_id, a.points) for a in red.allocations] == [
        (soon.lot_id, 30),
        (mid.lot_id, 20),
        (late.lot_id, 10),
    ]
    assert never.remaining == 40
    acc.check(T0 + timedelta(days=1))


def test_redeem_beyond_available_is_insufficient_balance_with_the_available_amount() -> None:
    acc = _account()
    _earn(acc, 50, T0)
    with pytest.raises(InsufficientBalance) as err:
        acc.redeem(51, T0, POLICY, reason="x")
    assert err.value.details == {"available": 50}
    assert acc.new_entries[-1].kind == "earn"  # nothing half applied


def test_redeem_below_the_policy_minimum_is_a_validation_error() -> None:
    acc = _account()
    _earn(acc, 500, T0)
    with pytest.raises(ValidationFailed):
        acc.redeem(99, T0, LoyaltyPolicy(min_redeem_points=100), reason="x")


def test_restore_puts_points_back_into_the_same_lots_keeping_their_expiry() -> None:
    acc = _account()
    a = _earn(acc, 30, T0, LoyaltyPolicy(expiry_days=10))
    b = _earn(acc, 50, T0, LoyaltyPolicy(expiry_days=50))
    _, red = acc.redeem(60, T0, POLICY, reason="x")
    assert (a.remaining, b.remaining) == (0, 20)
    entries = acc.restore(red, 40, T0, POLICY, reason="refund")
    # last taken first: the 30 from b, then 10 into a
    assert [(m.lot_id, m.points) for m in entries[0].movements] == [(b.lot_id, 30), (a.lot_id, 10)]
    assert (a.remaining, b.remaining) == (10, 50)
    assert (a.expires_at, b.expires_at) == (T0 + timedelta(days=10), T0 + timedelta(days=50))
    acc.check(T0)


def test_restore_never_gives_back_more_than_was_redeemed() -> None:
    acc = _account()
    _earn(acc, 100, T0)
    _, red = acc.redeem(40, T0, POLICY, reason="x")
    acc.restore(red, 30, T0, POLICY, reason="r")
    with pytest.raises(ValidationFailed) as err:
        acc.restore(red, 11, T0, POLICY, reason="r")
    assert "10" in err.value.message
    acc.restore(red, None, T0, POLICY, reason="r")
    with pytest.raises(InvalidState):
        acc.restore(red, None, T0, POLICY, reason="r")
    assert acc.balance(T0).available == 100


def test_points_restored_into_an_expired_lot_expire_again_at_once() -> None:
    acc = _account()
    lot = _earn(acc, 100, T0, LoyaltyPolicy(expiry_days=10))
    _, red = acc.redeem(60, T0, POLICY, reason="x")
    later = T0 + timedelta(days=11)
    entries = acc.restore(red, None, later, POLICY, reason="refund")
    kinds = [e.kind for e in acc.new_entries]
    assert kinds == ["earn", "redeem", "expire", "restore", "expire"]
    assert entries[-1].kind == "expire" and entries[-1].points == -60
    assert lot.remaining == 0
    acc.check(later)


def test_reverse_of_spent_points_becomes_debt_paid_off_by_the_next_earn() -> None:
    acc = _account()
    lot = _earn(acc, 100, T0)
    acc.redeem(80, T0, POLICY, reason="x")
    entry = acc.reverse(lot, None, T0, reason="return")
    assert entry.points == -100 and entry.debt_change == 80
    assert acc.balance(T0) == acc.balance(T0).__class__(available=0, pending=0, debt=80)
    assert acc.total == -80
    acc.check(T0)
    _, new_lot = acc.earn(50, T0, POLICY, reason="next order")
    assert new_lot is not None
    settle = acc.new_entries[-1]
    assert settle.kind == "debt_settle" and settle.points == 0 and settle.debt_change == -50
    assert acc.debt == 30 and new_lot.remaining == 0
    acc.earn(50, T0, POLICY, reason="third order")
    assert acc.debt == 0 and acc.balance(T0).available == 20
    acc.check(T0)


def test_reverse_takes_the_earns_own_lot_then_other_lots_before_making_debt() -> None:
    acc = _account()
    first = _earn(acc, 100, T0)
    other = _earn(acc, 70, T0)
    acc.redeem(100, T0, POLICY, reason="x")  # takes first lot (same expiry, older id)
    assert first.remaining == 0 and other.remaining == 70
    entry = acc.reverse(first, 100, T0, reason="return")
    assert entry.debt_change == 30 and other.remaining == 0
    acc.check(T0)


def test_partial_reverse_is_capped_at_what_the_earn_credited() -> None:
    acc = _account()
    lot = _earn(acc, 100, T0)
    acc.reverse(lot, 60, T0, reason="r")
    with pytest.raises(ValidationFailed):
        acc.reverse(lot, 41, T0, reason="r")
    acc.reverse(lot, None, T0, reason="r")
    with pytest.raises(InvalidState):
        acc.reverse(lot, None, T0, reason="r")
    assert acc.total == 0


def test_restore_after_reverse_settles_the_debt_first() -> None:
    acc = _account()
    lot = _earn(acc, 100, T0)
    _, red = acc.redeem(100, T0, POLICY, reason="x")
    acc.reverse(lot, None, T0, reason="return")
    assert acc.debt == 100
    acc.restore(red, None, T0, POLICY, reason="tender refunded")
    assert acc.debt == 0 and acc.total == 0 and lot.remaining == 0
    acc.check(T0)


def test_forced_redeem_of_a_sale_tender_takes_pending_points_then_books_debt() -> None:
    acc = _account()
    acc.earn(30, T0, LoyaltyPolicy(pending_days=10), reason="x")
    entry, red = acc.redeem(50, T0, None, reason="tender", force=True)
    assert red.debt_points == 20 and acc.debt == 20 and entry.points == -50
    acc.check(T0)
    # giving the tender back lowers the debt first, then refills the lot
    acc.restore(red, None, T0, POLICY, reason="refund")
    assert acc.debt == 0 and acc.balance(T0).pending == 30
    acc.check(T0)


def test_negative_adjust_needs_allow_debt_beyond_available() -> None:
    acc = _account()
    _earn(acc, 10, T0)
    with pytest.raises(InsufficientBalance) as err:
        acc.adjust(-15, T0, POLICY, reason="fix")
    assert err.value.details["available"] == 10
    entry = acc.adjust(-15, T0, POLICY, reason="fix", allow_debt=True)
    assert entry.debt_change == 5 and acc.debt == 5
    acc.adjust(8, T0, POLICY, reason="goodwill")
    assert acc.debt == 0 and acc.balance(T0).available == 3
    acc.check(T0)


def test_expire_due_writes_one_expire_entry_per_lot_and_redeem_skips_expired_points() -> None:
    acc = _account()
    a = _earn(acc, 10, T0, LoyaltyPolicy(expiry_days=5))
    _earn(acc, 20, T0, LoyaltyPolicy(expiry_days=50))
    later = T0 + timedelta(days=6)
    with pytest.raises(InsufficientBalance) as err:
        acc.redeem(25, later, POLICY, reason="x")
    assert err.value.details["available"] == 20
    expired = [e for e in acc.new_entries if e.kind == "expire"]
    assert [(e.kind, e.points, e.lot_id) for e in expired] == [("expire", -10, a.lot_id)]
    assert acc.expire_due(later) == []
    acc.check(later)


def test_old_sale_earns_a_lot_that_is_already_expired() -> None:
    acc = _account()
    _, lot = acc.earn(10, T0 + timedelta(days=200), POLICY, reason="late", earned_at=T0)
    assert lot is not None and lot.remaining == 0
    assert [e.kind for e in acc.new_entries] == ["earn", "expire"]


def test_balance_after_is_the_running_sum_of_signed_points() -> None:
    acc = _account()
    _earn(acc, 100, T0)
    acc.redeem(30, T0, POLICY, reason="x")
    acc.adjust(-10, T0, POLICY, reason="x")
    running = list(itertools.accumulate(e.points for e in acc.new_entries))
    assert [e.balance_after for e in acc.new_entries] == running == [100, 70, 60]
    assert [e.seq for e in acc.new_entries] == [1, 2, 3]


def test_random_operations_keep_the_balance_equal_to_the_ledger_sum() -> None:
    rng = random.Random(2026)
    for _round in range(60):
        acc = _account()
        now = T0
        lots: list[Lot] = []
        redemptions: list[Redemption] = []
        for _ in range(80):
            now += timedelta(hours=rng.randint(0, 72))
            op = rng.choice(["earn", "earn", "redeem", "restore", "reverse", "adjust", "expire", "force"])
            try:
                if op == "earn":
                    policy = LoyaltyPolicy(
                        pending_days=rng.randint(0, 3), expiry_days=rng.choice([None, 5, 30])
                    )
                    _, lot = acc.earn(rng.randint(0, 200), now, policy, reason="r")
                    if lot:
                        lots.append(lot)
                elif op in ("redeem", "force"):
                    _, red = acc.redeem(rng.randint(1, 150), now, POLICY, reason="r", force=op == "force")
                    redemptions.append(red)
                elif op == "restore" and redemptions:
                    acc.restore(
                        rng.choice(redemptions),
                        rng.choice([None, rng.randint(1, 50)]),
                        now,
                        POLICY,
                        reason="r",
                    )
                elif op == "reverse" and lots:
                    acc.reverse(rng.choice(lots), rng.choice([None, rng.randint(1, 50)]), now, reason="r")
                elif op == "adjust":
                    acc.adjust(
                        rng.choice([-1, 1]) * rng.randint(1, 60),
                        now,
                        POLICY,
                        reason="r",
                        allow_debt=rng.random() < 0.5,
                    )
                elif op == "expire":
                    acc.expire_due(now)
            except (InsufficientBalance, ValidationFailed, InvalidState):
                pass
            acc.check(now)
            assert acc.total == sum(e.points for e in acc.new_entries)
            assert acc.debt == sum(e.debt_change for e in acc.new_entries)
            if acc.debt:
                assert all(lot.remaining == 0 for lot in acc.lots.values()), "debt while holding points"
            for red in redemptions:
                assert 0 <= red.restored <= red.points
