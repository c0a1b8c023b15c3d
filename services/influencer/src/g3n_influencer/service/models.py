"""Commands (request bodies) and results of every influencer operation.

The same models are the HTTP/CLI/MCP schemas (through the operation table) and the inputs and
outputs of the service functions, so a field is declared once. Requests are validated strictly
(:class:`g3n_kit.operations.RequestModel`: unknown fields rejected, no coercion); money is
integer minor units with a currency, rates are basis points, times are aware datetimes rendered
as ISO-8601 UTC with ``Z``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from g3n_contracts.primitives import CurrencyCode
from g3n_kit.operations import RequestModel
from g3n_kit.paging import ListRequest
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

INT64_MAX = 2**63 - 1

Amount = Annotated[int, Field(ge=0, le=INT64_MAX)]
PositiveAmount = Annotated[int, Field(gt=0, le=INT64_MAX)]
Bps = Annotated[int, Field(ge=0, le=10_000)]
Text = Annotated[str, Field(min_length=1, max_length=1000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Ident = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\S+$")]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Handle = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Revision = Annotated[int, Field(ge=1)]


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    return value.astimezone(UTC)


UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]


class Out(BaseModel):
    """Base of results: plain models, serialised to JSON by the kit."""

    model_config = ConfigDict(from_attributes=True)


# --- profiles -------------------------------------------------------------------------------

ProfileStatus = Literal["active", "suspended", "closed"]


class PayoutMethod(RequestModel):
    type: Literal["bank", "paypal", "other"]
    reference: Text


class ProfileCreate(RequestModel):
    handle: Handle
    display_name: ShortText
    email: Email | None = None
    country: Country | None = None
    payout_currency: CurrencyCode
    codes: Annotated[list[Code], Field(max_length=50)] = Field(default_factory=list)


class ProfileGet(RequestModel):
    profile_id: Ident


class ProfileList(ListRequest):
    status: ProfileStatus | None = None
    handle_prefix: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class ProfileUpdate(RequestModel):
    profile_id: Ident
    expected_revision: Revision | None = None
    display_name: ShortText | None = None
    email: Email | None = None
    codes: Annotated[list[Code], Field(max_length=50)] | None = None


class ProfileStatusSet(RequestModel):
    profile_id: Ident
    expected_revision: Revision | None = None
    status: ProfileStatus
    reason: Text


class PayoutMethodOut(Out):
    type: str
    reference: str


class Profile(Out):
    profile_id: str
    handle: str
    display_name: str
    email: str | None
    country: str | None
    payout_currency: str
    status: str
    status_reason: str | None
    codes: list[str]
    payout_ready: bool
    payout_method: PayoutMethodOut | None
    created_at: datetime
    updated_at: datetime
    revision: int


# --- campaigns ------------------------------------------------------------------------------

CampaignStatus = Literal["draft", "active", "paused", "ended"]


class PercentCommission(RequestModel):
    type: Literal["percent"]
    rate_bps: Bps


class FlatCommission(RequestModel):
    type: Literal["flat"]
    amount_minor: Amount


CommissionIn = Annotated[PercentCommission | FlatCommission, Field(discriminator="type")]


class CampaignCreate(RequestModel):
    name: ShortText
    currency: CurrencyCode
    starts_at: UtcTime
    ends_at: UtcTime | None = None
    commission: CommissionIn
    holding_days: Annotated[int, Field(ge=0, le=180)] = 30
    eligible_skus: Annotated[list[Ident], Field(max_length=1000)] = Field(default_factory=list)
    excluded_skus: Annotated[list[Ident], Field(max_length=1000)] = Field(default_factory=list)
    profile_ids: Annotated[list[Ident], Field(max_length=1000)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CampaignGet(RequestModel):
    campaign_id: Ident


class CampaignList(ListRequest):
    status: CampaignStatus | None = None
    profile_id: Ident | None = None


class CampaignStatusSet(RequestModel):
    campaign_id: Ident
    expected_revision: Revision | None = None
    status: CampaignStatus


class CampaignMember(RequestModel):
    campaign_id: Ident
    profile_id: Ident


class CommissionOut(Out):
    type: str
    rate_bps: int | None = None
    amount_minor: int | None = None


class TierIn(RequestModel):
    name: ShortText
    min_orders: Annotated[int, Field(ge=0, le=2**31 - 1)]
    discount_bps: Bps
    commission_bps: Bps


class TierOut(Out):
    name: str
    min_orders: int
    discount_bps: int
    commission_bps: int


class MemberOut(Out):
    profile_id: str
    status: str
    counted_orders: int
    added_at: datetime
    removed_at: datetime | None


class StatusTotal(Out):
    count: int
    amount_minor: int
    net_minor: int


class CampaignTotals(Out):
    attributed_orders: int
    net_sales_minor: int
    currency: str
    earnings: dict[str, StatusTotal]


class Campaign(Out):
    campaign_id: str
    name: str
    currency: str
    starts_at: datetime
    ends_at: datetime | None
    commission: CommissionOut
    holding_days: int
    eligible_skus: list[str]
    excluded_skus: list[str]
    status: str
    members: list[MemberOut]
    tiers: list[TierOut]
    totals: CampaignTotals | None = None
    created_at: datetime
    updated_at: datetime
    revision: int


# --- discount tiers -------------------------------------------------------------------------


class DiscountTierSet(RequestModel):
    campaign_id: Ident
    expected_revision: Revision | None = None
    tiers: Annotated[list[TierIn], Field(max_length=100)]


class DiscountTierGet(RequestModel):
    campaign_id: Ident


class DiscountTierList(ListRequest):
    campaign_id: Ident | None = None


class Ladder(Out):
    campaign_id: str
    campaign_name: str
    campaign_status: str
    revision: int
    tiers: list[TierOut]


# --- attribution ----------------------------------------------------------------------------


class AttributionLineIn(RequestModel):
    line_id: Ident
    sku: Ident
    qty: Annotated[int, Field(gt=0, le=2**31 - 1)]
    net_amount_minor: Amount


class AttributionRecord(RequestModel):
    campaign_id: Ident
    profile_id: Ident | None = None
    code: Code | None = None
    order_id: Ident
    occurred_at: UtcTime
    currency: CurrencyCode
    lines: Annotated[list[AttributionLineIn], Field(min_length=1, max_length=1000)]

    @model_validator(mode="after")
    def _who(self) -> Self:
        if (self.profile_id is None) == (self.code is None):
            raise ValueError("give exactly one of profile_id or code")
        ids = [line.line_id for line in self.lines]
        if len(set(ids)) != len(ids):
            raise ValueError("line_id must be unique within the order")
        return self


class AttributionGet(RequestModel):
    attribution_id: Ident


class AttributionList(ListRequest):
    campaign_id: Ident | None = None
    profile_id: Ident | None = None
    order_id: Ident | None = None
    from_: UtcTime | None = Field(default=None, alias="from")
    to: UtcTime | None = None

    model_config = ConfigDict(populate_by_name=True)


class EarningLineOut(Out):
    line_id: str
    sku: str
    qty: int
    returned_qty: int
    basis_minor: int
    amount_minor: int
    clawed_back_minor: int


class HoldOut(Out):
    reason: str
    until: datetime | None
    dispute_id: str | None
    held_at: datetime
    held_from: str


class HistoryEntry(Out):
    at: datetime
    kind: str
    amount_minor: int
    status_from: str | None
    status_to: str | None
    reason: str | None
    ref: str | None
    payout_id: str | None
    dispute_id: str | None
    source: str
    actor: str | None


class Earning(Out):
    earning_id: str
    profile_id: str
    campaign_id: str
    attribution_id: str
    order_id: str
    amount_minor: int
    clawed_back_minor: int
    net_minor: int
    currency: str
    basis_minor: int
    rule: str
    rate_bps: int | None
    flat_amount_minor: int | None
    tier: TierOut | None
    prior_orders: int
    lines: list[EarningLineOut]
    status: str
    hold: HoldOut | None
    available_at: datetime
    released_at: datetime | None
    payout_id: str | None
    occurred_at: datetime
    history: list[HistoryEntry]
    created_at: datetime
    updated_at: datetime
    revision: int


class AttributionLineOut(Out):
    line_id: str
    sku: str
    qty: int
    net_amount_minor: int
    eligible: bool
    returned_qty: int


class Attribution(Out):
    attribution_id: str
    campaign_id: str
    profile_id: str
    order_id: str
    code: str | None
    source: str
    sale_id: str | None
    occurred_at: datetime
    currency: str
    net_sales_minor: int
    fully_refunded: bool
    lines: list[AttributionLineOut]
    earnings: list[Earning]
    created_at: datetime
    revision: int = 1


# --- earnings -------------------------------------------------------------------------------

EarningStatus = Literal["pending", "released", "held", "paid", "reversed"]
EarningIds = Annotated[list[Ident], Field(min_length=1, max_length=500)]


class EarningsList(ListRequest):
    profile_id: Ident | None = None
    campaign_id: Ident | None = None
    status: EarningStatus | None = None
    from_: UtcTime | None = Field(default=None, alias="from")
    to: UtcTime | None = None

    model_config = ConfigDict(populate_by_name=True)


class EarningsHold(RequestModel):
    earning_ids: EarningIds
    reason: Text
    until: UtcTime | None = None


class EarningsHoldClear(RequestModel):
    earning_ids: EarningIds
    note: Text | None = None


class EarningsRelease(RequestModel):
    earning_ids: EarningIds


class EarningsClawback(RequestModel):
    earning_id: Ident
    amount_minor: PositiveAmount | None = None
    reason: Text


class Earnings(Out):
    earnings: list[Earning]


class ClawbackResult(Out):
    earning: Earning
    clawed_back_minor: int
    carry_over_minor: int


# --- disputes -------------------------------------------------------------------------------


class DisputeCreate(RequestModel):
    earning_ids: EarningIds
    reason: Text
    note: Text | None = None


class DisputeGet(RequestModel):
    dispute_id: Ident


class DisputeList(ListRequest):
    status: Literal["open", "upheld", "rejected"] | None = None


class DisputeStatusSet(RequestModel):
    dispute_id: Ident
    expected_revision: Revision | None = None
    status: Literal["upheld", "rejected"]
    note: Text


class Dispute(Out):
    dispute_id: str
    earning_ids: list[str]
    reason: str
    note: str | None
    status: str
    resolution_note: str | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    revision: int


# --- payouts --------------------------------------------------------------------------------


class PayoutReadySet(RequestModel):
    profile_id: Ident
    expected_revision: Revision | None = None
    ready: bool
    payout_method: PayoutMethod | None = None
    note: Text | None = None


class PayoutSubmit(RequestModel):
    profile_ids: Annotated[list[Ident], Field(min_length=1, max_length=1000)] | None = None
    currency: CurrencyCode
    min_amount_minor: Amount = 0


class PayoutGet(RequestModel):
    payout_id: Ident


class PayoutList(ListRequest):
    profile_id: Ident | None = None
    status: Literal["submitted", "settled", "failed"] | None = None


class Payout(Out):
    payout_id: str
    profile_id: str
    currency: str
    amount_minor: int
    released_minor: int
    carry_over_minor: int
    earning_ids: list[str]
    payee: dict[str, Any]
    status: str
    submitted_at: datetime
    settled_at: datetime | None
    settlement_reference: str | None
    failed_at: datetime | None
    failure_reason: str | None
    history: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    revision: int


class SkippedProfile(Out):
    profile_id: str
    reason: str
    message: str


class PayoutSubmitResult(Out):
    payouts: list[Payout]
    skipped: list[SkippedProfile]


# --- statements -----------------------------------------------------------------------------


class StatementCreate(RequestModel):
    profile_id: Ident
    currency: CurrencyCode
    period_start: UtcTime
    period_end: UtcTime

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        return self


class StatementGet(RequestModel):
    statement_id: Ident
    format: Literal["json", "html"] = "json"


class StatementLine(Out):
    at: datetime
    kind: str
    amount_minor: int
    balance_effect_minor: int
    earning_id: str | None
    payout_id: str | None
    reason: str | None
    ref: str | None


class Statement(Out):
    statement_id: str
    profile_id: str
    handle: str
    currency: str
    period_start: datetime
    period_end: datetime
    opening_balance_minor: int
    earned_minor: int
    clawed_back_minor: int
    paid_minor: int
    closing_balance_minor: int
    lines: list[StatementLine]
    previous_statement_id: str | None
    created_at: datetime
    revision: int = 1
    html: str | None = None
