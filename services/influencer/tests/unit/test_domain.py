"""Pure domain rules: money math, commissions, clawbacks, state machines, netting."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from g3n_influencer.domain import campaigns, earnings, money, payouts, profiles
from g3n_influencer.domain.campaigns import Commission, Tier
from g3n_influencer.domain.earnings import LineState, OrderLine
from g3n_kit.errors import InvalidState

T0 = datetime(2026, 11, 1, tzinfo=UTC)


# --- money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(5, 2, 2), (7, 2, 4), (1, 2, 0), (3, 2, 2), (10, 4, 2), (11, 4, 3), (9, 4, 2), (0, 3, 0), (-5, 2, -2)],
)
def test_div_half_even_rounds_ties_to_even(num: int, den: int, expected: int) -> None:
    assert money.div_half_even(num, den) == expected


def test_apply_bps_rounds_once_half_even() -> None:
    assert money.apply_bps(4500, 1000) == 450
    assert money.apply_bps(125, 1000) == 12  # 12.5 → 12 (even)
    assert money.apply_bps(135, 1000) == 14  # 13.5 → 14 (even)


def test_allocate_parts_always_sum_to_the_total() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        weights = [rng.randint(0, 10_000) for _ in range(rng.randint(1, 8))]
        total = rng.randint(0, 100_000)
        parts = money.allocate(total, weights)
        assert sum(parts) == total
        wsum = sum(weights) or len(weights)
        ws = weights if sum(weights) else [1] * len(weights)
        for part, w in zip(parts, ws, strict=True):
            assert abs(part * wsum - total * w) < wsum  # within one cent of the exact share


def test_allocate_gives_leftover_cents_to_the_largest_remainders() -> None:
    assert money.allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert money.allocate(10, [0, 0]) == [5, 5]
    assert money.allocate(0, []) == []
    with pytest.raises(ValueError):
        money.allocate(1, [])


# --- campaigns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("draft", "active"),
        ("active", "paused"),
        ("paused", "active"),
        ("active", "ended"),
        ("paused", "ended"),
    ],
)
def test_campaign_allowed_transitions(current: str, target: str) -> None:
    campaigns.check_campaign_transition(current, target, campaign_id="cmp_1")


@pytest.mark.parametrize(
    ("current", "target"),
    [("draft", "paused"), ("draft", "ended"), ("ended", "active"), ("active", "draft"), ("active", "active")],
)
def test_campaign_forbidden_transitions_are_invalid_state(current: str, target: str) -> None:
    with pytest.raises(InvalidState) as exc:
        campaigns.check_campaign_transition(current, target, campaign_id="cmp_1")
    assert exc.value.details["state"] == current


def test_window_is_half_open() -> None:
    end = T0 + timedelta(days=10)
    assert campaigns.in_window(T0, end, T0)
    assert not campaigns.in_window(T0, end, end)
    assert not campaigns.in_window(T0, end, T0 - timedelta(seconds=1))
    assert campaigns.in_window(T0, None, T0 + timedelta(days=9999))


def test_attribution_needs_active_campaign_in_window() -> None:
    kw = {"campaign_id": "c", "starts_at": T0, "ends_at": T0 + timedelta(days=1)}
    campaigns.check_attributable(status="active", occurred_at=T0, **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidState):
        campaigns.check_attributable(status="paused", occurred_at=T0, **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidState):
        campaigns.check_attributable(status="active", occurred_at=T0 + timedelta(days=2), **kw)  # type: ignore[arg-type]


def test_ladder_validation() -> None:
    good = [Tier("a", 0, 0, 1000), Tier("b", 5, 100, 1500)]
    assert campaigns.ladder_problems(good) == []
    assert campaigns.ladder_problems([]) == []
    bad = campaigns.ladder_problems([Tier("a", 1, 0, 1), Tier("b", 1, 0, 1), Tier("A", 3, 0, 1)])
    assert {p["path"] for p in bad} == {"tiers.0.min_orders", "tiers.1.min_orders", "tiers.2.name"}


def test_tier_is_highest_min_orders_not_above_prior_orders() -> None:
    ladder = [Tier("bronze", 0, 0, 1000), Tier("silver", 3, 0, 1200), Tier("gold", 10, 0, 1500)]
    assert campaigns.tier_for(ladder, 0).name == "bronze"  # type: ignore[union-attr]
    assert campaigns.tier_for(ladder, 2).name == "bronze"  # type: ignore[union-attr]
    assert campaigns.tier_for(ladder, 3).name == "silver"  # type: ignore[union-attr]
    assert campaigns.tier_for(ladder, 10).name == "gold"  # type: ignore[union-attr]
    assert campaigns.tier_for([], 10) is None


def test_sku_eligibility_exclusion_wins() -> None:
    assert campaigns.sku_eligible("A", [], [])
    assert campaigns.sku_eligible("A", ["A"], [])
    assert not campaigns.sku_eligible("B", ["A"], [])
    assert not campaigns.sku_eligible("A", ["A"], ["A"])
    assert not campaigns.sku_eligible("A", [], ["A"])


# --- commission -----------------------------------------------------------------------------

PERCENT_10 = Commission("percent", rate_bps=1000)


def test_percent_commission_on_eligible_lines_only() -> None:
    calc = earnings.compute_earning(
        [OrderLine("1", "TSHIRT-M", 2, 4500), OrderLine("2", "GIFT", 1, 1000)],
        commission=PERCENT_10,
        ladder=[],
        prior_orders=0,
        excluded_skus=["GIFT"],
    )
    assert (calc.rule, calc.rate_bps, calc.basis_minor, calc.amount_minor) == ("percent", 1000, 4500, 450)
    assert [(ln.eligible, ln.basis_minor, ln.amount_minor) for ln in calc.lines] == [
        (True, 4500, 450),
        (False, 0, 0),
    ]


def test_commission_rounds_once_for_the_order_and_lines_sum_exactly() -> None:
    # three lines of 5 at 10 %: each exact share is 0.5, the whole is 1.5 → 2 (half-even)
    calc = earnings.compute_earning(
        [OrderLine(str(i), "S", 1, 5) for i in range(3)], commission=PERCENT_10, ladder=[], prior_orders=0
    )
    assert calc.amount_minor == 2
    assert sum(ln.amount_minor for ln in calc.lines) == 2
    rng = random.Random(3)
    for _ in range(500):
        lines = [
            OrderLine(str(i), "S", rng.randint(1, 5), rng.randint(0, 99_999))
            for i in range(rng.randint(1, 6))
        ]
        calc = earnings.compute_earning(
            lines,
            commission=Commission("percent", rate_bps=rng.randint(0, 10_000)),
            ladder=[],
            prior_orders=0,
        )
        assert sum(ln.amount_minor for ln in calc.lines) == calc.amount_minor


def test_flat_commission_spread_over_eligible_lines() -> None:
    calc = earnings.compute_earning(
        [OrderLine("1", "A", 1, 100), OrderLine("2", "B", 1, 200)],
        commission=Commission("flat", amount_minor=1000),
        ladder=[],
        prior_orders=0,
    )
    assert (calc.rule, calc.amount_minor, calc.flat_amount_minor) == ("flat", 1000, 1000)
    assert [ln.amount_minor for ln in calc.lines] == [333, 667]


def test_flat_commission_needs_eligible_basis() -> None:
    calc = earnings.compute_earning(
        [OrderLine("1", "A", 1, 100)],
        commission=Commission("flat", amount_minor=1000),
        ladder=[],
        prior_orders=0,
        eligible_skus=["Z"],
    )
    assert calc.amount_minor == 0


def test_tier_commission_replaces_the_campaign_rate() -> None:
    ladder = [Tier("base", 0, 500, 1000), Tier("pro", 2, 1000, 2000)]
    lines = [OrderLine("1", "A", 1, 10_000)]
    first = earnings.compute_earning(
        lines, commission=Commission("percent", rate_bps=300), ladder=ladder, prior_orders=0
    )
    third = earnings.compute_earning(
        lines, commission=Commission("percent", rate_bps=300), ladder=ladder, prior_orders=2
    )
    assert (first.rule, first.rate_bps, first.amount_minor, first.tier.name) == ("tier", 1000, 1000, "base")  # type: ignore[union-attr]
    assert (third.rate_bps, third.amount_minor, third.tier.name) == (2000, 2000, "pro")  # type: ignore[union-attr]


# --- clawbacks ------------------------------------------------------------------------------


def _line(amount: int, qty: int, returned: int = 0, clawed: int = 0) -> LineState:
    return LineState("1", qty, amount, returned, clawed)


def test_return_of_one_unit_claws_back_a_third() -> None:
    assert earnings.clawback_for_return(_line(900, 3), 1).clawback_minor == 300
    assert earnings.clawback_for_return(_line(100, 3), 1).clawback_minor == 33


def test_full_return_claws_back_exactly_the_line_amount() -> None:
    assert earnings.clawback_for_return(_line(100, 3), 3).clawback_minor == 100


def test_partial_returns_never_exceed_and_the_last_unit_takes_what_remains() -> None:
    rng = random.Random(11)
    for _ in range(2000):
        qty = rng.randint(1, 12)
        amount = rng.randint(0, 50_000)
        state = _line(amount, qty)
        total = 0
        while state.returned_qty < qty:
            units = rng.randint(1, qty - state.returned_qty + 1)  # sometimes more than left
            rc = earnings.clawback_for_return(state, units)
            total += rc.clawback_minor
            assert total <= amount
            state = LineState("1", qty, amount, state.returned_qty + rc.returned_qty, total)
        assert total == amount


def test_return_after_manual_clawback_is_capped_by_what_remains() -> None:
    rc = earnings.clawback_for_return(_line(300, 3, clawed=250), 1)
    assert rc.clawback_minor == 50
    assert earnings.clawback_for_return(_line(300, 3, returned=1, clawed=300), 2).clawback_minor == 0


def test_return_beyond_the_quantity_is_ignored() -> None:
    rc = earnings.clawback_for_return(_line(300, 3, returned=3, clawed=300), 1)
    assert (rc.returned_qty, rc.ignored_qty, rc.clawback_minor) == (0, 1, 0)


def test_manual_clawback_spread_never_exceeds_line_remainders() -> None:
    rng = random.Random(5)
    for _ in range(1000):
        remaining = [rng.randint(0, 1000) for _ in range(rng.randint(1, 5))]
        amount = rng.randint(0, sum(remaining))
        parts = earnings.spread_clawback(amount, remaining)
        assert sum(parts) == amount
        assert all(p <= r for p, r in zip(parts, remaining, strict=True))


def test_manual_clawback_defaults_to_everything_and_rejects_more() -> None:
    assert (
        earnings.resolve_manual_clawback(earning_id="e", status="released", net_minor=70, requested=None)
        == 70
    )
    with pytest.raises(InvalidState) as exc:
        earnings.resolve_manual_clawback(earning_id="e", status="released", net_minor=70, requested=71)
    assert exc.value.details["available"] == 70
    with pytest.raises(InvalidState):
        earnings.resolve_manual_clawback(earning_id="e", status="reversed", net_minor=0, requested=None)


# --- earning states -------------------------------------------------------------------------


def test_earning_state_machine() -> None:
    earnings.check_hold("e", "pending")
    earnings.check_hold("e", "released")
    for status in ("held", "paid", "reversed"):
        with pytest.raises(InvalidState):
            earnings.check_hold("e", status)
    earnings.check_hold_clear("e", "held")
    with pytest.raises(InvalidState):
        earnings.check_hold_clear("e", "pending")
    earnings.check_release("e", "pending")
    with pytest.raises(InvalidState, match="clear holds first"):
        earnings.check_release("e", "held")
    with pytest.raises(InvalidState):
        earnings.check_release("e", "paid")
    assert earnings.status_after_clawback("released", 0) == "reversed"
    assert earnings.status_after_clawback("held", 0) == "reversed"
    assert earnings.status_after_clawback("paid", 0) == "paid"
    assert earnings.status_after_clawback("pending", 5) == "pending"
    assert earnings.status_after_payout_failure(0) == "reversed"
    assert earnings.status_after_payout_failure(1) == "released"


def test_profile_state_machine() -> None:
    profiles.check_profile_transition("active", "suspended", profile_id="p")
    profiles.check_profile_transition("suspended", "active", profile_id="p")
    with pytest.raises(InvalidState):
        profiles.check_profile_transition("closed", "active", profile_id="p")
    with pytest.raises(InvalidState):
        profiles.check_can_earn("p", "suspended")
    assert profiles.duplicate_codes(["anna10", "ANNA10", "x"]) == [1]


# --- payouts --------------------------------------------------------------------------------


def test_payout_nets_the_carry_over() -> None:
    plan = payouts.plan_payout(released_nets=[500, 300], carry_over_minor=200)
    assert plan == payouts.PayoutPlan(amount_minor=600, carry_over_netted_minor=200, released_minor=800)


def test_payout_skips_when_carry_over_absorbs_everything_or_below_minimum() -> None:
    skip = payouts.plan_payout(released_nets=[100], carry_over_minor=100)
    assert isinstance(skip, payouts.Skip) and skip.reason == payouts.SKIP_CARRY_OVER
    skip = payouts.plan_payout(released_nets=[], carry_over_minor=0)
    assert isinstance(skip, payouts.Skip) and skip.reason == payouts.SKIP_NOTHING_PAYABLE
    skip = payouts.plan_payout(released_nets=[100], carry_over_minor=0, min_amount_minor=101)
    assert isinstance(skip, payouts.Skip) and skip.reason == payouts.SKIP_BELOW_MINIMUM


def test_payout_credit_is_paid_out() -> None:
    plan = payouts.plan_payout(released_nets=[10], carry_over_minor=-30)
    assert isinstance(plan, payouts.PayoutPlan) and plan.amount_minor == 40
    skip = payouts.plan_payout(released_nets=[], carry_over_minor=-30)
    assert isinstance(skip, payouts.Skip) and skip.reason == payouts.SKIP_NOTHING_PAYABLE


def test_settlement_and_failure_outcomes() -> None:
    assert payouts.settle("submitted").changed
    assert not payouts.settle("settled").changed
    assert payouts.fail("submitted").new_status == "failed"
    out = payouts.fail("settled")
    assert not out.changed and out.note.startswith("invalid-state")


def test_statement_closing_reconciles() -> None:
    totals = payouts.StatementTotals(
        opening_balance_minor=100, earned_minor=50, clawed_back_minor=20, paid_minor=70
    )
    assert totals.closing_balance_minor == 60
