"""A loyalty tender is charged against the lots as they stood at the sale, however late it arrives."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from g3n_crm.domain.loyalty import LoyaltyAccount
from g3n_crm.domain.policy import LoyaltyPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = LoyaltyPolicy(expiry_days=30)
EXPIRES = T0 + timedelta(days=30)


def _account_with_500_expiring() -> LoyaltyAccount:
    counter = itertools.count(1)
    acc = LoyaltyAccount("cus_1", new_id=lambda prefix: f"{prefix}_{next(counter):04d}")
    acc.earn(500, T0, POLICY, reason="order", earned_at=T0)
    return acc


def _tender(acc: LoyaltyAccount, *, processed_at: datetime) -> int:
    sale_at = EXPIRES - timedelta(minutes=5)
    _, red = acc.redeem(500, processed_at, None, reason="till", force=True, as_of=sale_at)
    acc.check(processed_at)
    return red.debt_points


def test_a_tender_processed_on_time_takes_the_points_and_leaves_no_debt() -> None:
    acc = _account_with_500_expiring()
    assert _tender(acc, processed_at=EXPIRES - timedelta(minutes=4)) == 0
    assert acc.debt == 0


def test_the_same_tender_processed_after_the_expiry_still_takes_them_and_leaves_no_debt() -> None:
    acc = _account_with_500_expiring()
    assert _tender(acc, processed_at=EXPIRES + timedelta(minutes=10)) == 0
    assert acc.debt == 0
    assert [e.kind for e in acc.new_entries] == ["earn", "redeem"]  # nothing expired first


def test_expiry_with_a_cutoff_books_only_lots_expired_before_it() -> None:
    acc = _account_with_500_expiring()
    now = EXPIRES + timedelta(hours=1)
    assert acc.expire_due(now, cutoff=now - timedelta(days=1)) == []
    assert [e.points for e in acc.expire_due(now + timedelta(days=1), cutoff=now)] == [-500]
