"""Campaigns: status machine, window, commission rule, SKU eligibility and the tier ladder.

Pure rules, no I/O. Violations raise the kit's :mod:`g3n_kit.errors` (plain exceptions) so
every surface renders them with the spec's codes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from g3n_kit.errors import InvalidState

CampaignStatus = Literal["draft", "active", "paused", "ended"]
CAMPAIGN_STATUSES: Final[tuple[CampaignStatus, ...]] = ("draft", "active", "paused", "ended")

#: Allowed moves of ``/campaign/status/set``; anything else is ``invalid-state``.
CAMPAIGN_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "draft": frozenset({"active"}),
    "active": frozenset({"paused", "ended"}),
    "paused": frozenset({"active", "ended"}),
    "ended": frozenset(),
}

MAX_HOLDING_DAYS: Final = 180
DEFAULT_HOLDING_DAYS: Final = 30


def check_campaign_transition(current: str, target: str, *, campaign_id: str) -> None:
    allowed = CAMPAIGN_TRANSITIONS.get(current, frozenset())
    if target not in allowed:
        sources = sorted(s for s, targets in CAMPAIGN_TRANSITIONS.items() if target in targets)
        raise InvalidState(
            f"campaign {campaign_id} is {current}; it cannot move to {target}",
            state=current,
            required=f"status in {sources}" if sources else "no status can move there",
            allowed_targets=sorted(allowed),
        )


def in_window(starts_at: datetime, ends_at: datetime | None, at: datetime) -> bool:
    """The window is ``[starts_at, ends_at)``; an open end never closes."""
    return at >= starts_at and (ends_at is None or at < ends_at)


def check_attributable(
    *, campaign_id: str, status: str, starts_at: datetime, ends_at: datetime | None, occurred_at: datetime
) -> None:
    """A campaign accepts attributions only while ``active`` and within its window."""
    if status != "active":
        raise InvalidState(
            f"campaign {campaign_id} is {status}; attribution needs an active campaign",
            state=status,
            required="active",
        )
    if not in_window(starts_at, ends_at, occurred_at):
        raise InvalidState(
            f"order time {occurred_at.isoformat()} is outside campaign {campaign_id}'s window",
            state=status,
            required="occurred_at within [starts_at, ends_at)",
            starts_at=starts_at.isoformat(),
            ends_at=ends_at.isoformat() if ends_at else None,
        )


@dataclass(frozen=True)
class Commission:
    """The campaign's own rule: ``percent`` of the eligible basis, or a ``flat`` amount per order."""

    type: Literal["percent", "flat"]
    rate_bps: int | None = None
    amount_minor: int | None = None

    def __post_init__(self) -> None:
        if self.type == "percent" and (self.rate_bps is None or self.amount_minor is not None):
            raise ValueError("a percent commission has rate_bps only")
        if self.type == "flat" and (self.amount_minor is None or self.rate_bps is not None):
            raise ValueError("a flat commission has amount_minor only")


@dataclass(frozen=True)
class Tier:
    name: str
    min_orders: int
    discount_bps: int
    commission_bps: int


def ladder_problems(tiers: Sequence[Tier]) -> list[dict[str, str]]:
    """Validation problems of a ladder (``[]`` when valid): ``min_orders`` strictly increasing
    from 0 and unique names. An empty ladder is valid and removes the ladder."""
    problems: list[dict[str, str]] = []
    if tiers and tiers[0].min_orders != 0:
        problems.append({"path": "tiers.0.min_orders", "message": "the first tier must start at 0 orders"})
    for i in range(1, len(tiers)):
        if tiers[i].min_orders <= tiers[i - 1].min_orders:
            problems.append(
                {"path": f"tiers.{i}.min_orders", "message": "min_orders must be strictly increasing"}
            )
    seen: set[str] = set()
    for i, tier in enumerate(tiers):
        key = tier.name.casefold()
        if key in seen:
            problems.append({"path": f"tiers.{i}.name", "message": "tier names must be unique"})
        seen.add(key)
    return problems


def tier_for(ladder: Sequence[Tier], prior_orders: int) -> Tier | None:
    """The highest tier whose ``min_orders`` ≤ ``prior_orders`` (orders attributed to the
    profile in the campaign before this one, fully refunded ones excluded)."""
    found: Tier | None = None
    for tier in sorted(ladder, key=lambda t: t.min_orders):
        if tier.min_orders <= prior_orders:
            found = tier
    return found


def sku_eligible(sku: str, eligible_skus: Collection[str], excluded_skus: Collection[str]) -> bool:
    """A line earns when its SKU is in ``eligible_skus`` (an empty list means every SKU) and
    not in ``excluded_skus`` (exclusion wins). SKUs compare exactly (case-sensitive). Pass sets
    when calling per line (the hot path builds them once per campaign)."""
    if sku in excluded_skus:
        return False
    return not eligible_skus or sku in eligible_skus
