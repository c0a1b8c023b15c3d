"""Inputs and outputs of the CRM operations (the commands the service functions take).

Field names follow `spec/crm.md`. Inputs are `RequestModel`s (unknown fields rejected, strict
types); outputs are plain pydantic models rendered in the `data` of the envelope. Times are UTC
and render with `Z`; money is integer minor units plus an ISO-4217 currency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from g3n_contracts.money import Money
from g3n_kit.operations import RequestModel
from g3n_kit.paging import ListRequest
from pydantic import BaseModel, Field, JsonValue, StringConstraints

from g3n_crm.domain.consent import Channel, ConsentStatus, Method, Purpose

INT64 = 2**63 - 1

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(min_length=4, max_length=32, pattern=r"^\+?[0-9][0-9 ().-]{2,30}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^\S+$")]
Source = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Revision = Annotated[int, Field(ge=1, le=INT64)]
Points = Annotated[int, Field(ge=1, le=10**15)]
SignedPoints = Annotated[int, Field(ge=-(10**15), le=10**15)]
Minor = Annotated[int, Field(ge=1, le=10**15)]
GiftCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]


# ---- shared outputs ------------------------------------------------------------------------------


class BalanceOut(BaseModel):
    available: int
    pending: int
    debt: int


class GiftCardSummary(BaseModel):
    giftcard_id: str
    last4: str
    currency: str
    balance_minor: int
    status: str
    expires_at: datetime | None


class CustomerOut(BaseModel):
    customer_id: str
    status: str
    status_reason: str | None = None
    email: str | None = None
    phone: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    external_ref: str | None = None
    locale: str | None = None
    tags: list[str] = []
    consents: dict[str, Any] = {}
    loyalty: BalanceOut
    giftcards: list[GiftCardSummary] | None = None
    revision: int
    created_at: datetime
    updated_at: datetime
    anonymized_at: datetime | None = None


# ---- customers -----------------------------------------------------------------------------------


class CustomerCreate(RequestModel):
    email: Email | None = None
    phone: Phone | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    external_ref: Ref | None = None
    locale: Locale | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] = []


class CustomerGet(RequestModel):
    customer_id: Id | None = None
    email: Email | None = None
    external_ref: Ref | None = None


class CustomerList(ListRequest):
    status: Literal["active", "blocked", "anonymized"] | None = None
    email_prefix: Annotated[str, StringConstraints(min_length=1, max_length=254)] | None = None
    tag: Tag | None = None


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_token: str | None = None


class CustomerUpdate(RequestModel):
    """Fields present are changed (``null`` clears one); absent fields stay as they are."""

    customer_id: Id
    expected_revision: Revision | None = None
    email: Email | None = None
    phone: Phone | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    external_ref: Ref | None = None
    locale: Locale | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] | None = None


class CustomerStatusSet(RequestModel):
    customer_id: Id
    expected_revision: Revision | None = None
    status: Literal["active", "blocked"]
    reason: Reason


class CustomerAnonymize(RequestModel):
    customer_id: Id
    reason: Reason


# ---- consent -------------------------------------------------------------------------------------


class ConsentSet(RequestModel):
    customer_id: Id
    expected_revision: Revision | None = None
    channel: Channel
    purpose: Purpose
    status: ConsentStatus
    source: Source
    method: Method | None = None
    captured_at: datetime | None = None
    proof: Annotated[dict[str, JsonValue], Field(max_length=50)] | None = None


class ConsentEntryOut(BaseModel):
    consent_id: str
    customer_id: str
    channel: str
    purpose: str
    status: str
    source: str
    method: str | None
    captured_at: datetime
    proof: dict[str, Any] | None
    proof_erased: bool
    recorded_at: datetime


class ConsentList(ListRequest):
    customer_id: Id


class ConsentPage(BaseModel):
    items: list[ConsentEntryOut]
    next_token: str | None = None


# ---- loyalty -------------------------------------------------------------------------------------


class PolicyGet(RequestModel):
    pass


class PolicySet(RequestModel):
    expected_revision: Revision | None = None
    points_per_currency_unit: Annotated[int, Field(ge=0, le=1_000_000)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    pending_days: Annotated[int, Field(ge=0, le=3650)]
    expiry_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    min_redeem_points: Points
    point_value_minor: Annotated[int, Field(ge=0, le=10**12)]
    excluded_skus: Annotated[list[Ref], Field(max_length=10_000)] = []


class PolicyOut(BaseModel):
    points_per_currency_unit: int
    currency: str
    pending_days: int
    expiry_days: int | None
    min_redeem_points: int
    point_value_minor: int
    excluded_skus: list[str]
    is_default: bool
    revision: int
    updated_at: datetime | None


class LotOut(BaseModel):
    lot_id: str
    points: int
    remaining: int
    available_at: datetime
    expires_at: datetime | None


class LotMove(BaseModel):
    lot_id: str
    points: int


class Earn(RequestModel):
    customer_id: Id
    points: Points | None = None
    amount: Money | None = None
    reason: Reason
    source_ref: Ref | None = None


class EarnOut(BaseModel):
    entry_id: str
    points: int
    lot: LotOut | None
    balance: BalanceOut


class Redeem(RequestModel):
    customer_id: Id
    points: Points
    reason: Reason
    source_ref: Ref | None = None


class RedeemOut(BaseModel):
    redemption_id: str
    points: int
    lots: list[LotMove]
    balance: BalanceOut


class Restore(RequestModel):
    redemption_id: Id
    points: Points | None = None
    reason: Reason


class Reverse(RequestModel):
    earn_entry_id: Id | None = None
    source_ref: Ref | None = None
    points: Points | None = None
    reason: Reason


class Adjust(RequestModel):
    customer_id: Id
    points: SignedPoints
    reason: Reason
    allow_debt: bool = False


class EntryOut(BaseModel):
    entry_id: str
    customer_id: str
    kind: str
    points: int
    reason: str | None
    source_ref: str | None
    lot_id: str | None
    lots: list[LotMove]
    debt_change: int
    ref_entry_id: str | None
    created_at: datetime
    balance_after: int


class LedgerWriteOut(BaseModel):
    """Result of restore / reverse / adjust: the entries written and the balance after them."""

    entry_id: str
    points: int
    entries: list[EntryOut]
    balance: BalanceOut


class LedgerList(ListRequest):
    customer_id: Id


class LedgerPage(BaseModel):
    items: list[EntryOut]
    next_token: str | None = None


# ---- gift cards ----------------------------------------------------------------------------------


class GiftCardIssue(RequestModel):
    amount: Money
    customer_id: Id | None = None
    expires_at: datetime | None = None
    reason: Reason


class GiftCardIssueOut(BaseModel):
    giftcard_id: str
    # The full code, in the first response only; an idempotent replay carries null.
    code: str | None
    last4: str
    balance_minor: int
    currency: str
    status: str
    expires_at: datetime | None
    customer_id: str | None
    revision: int


class GiftCardRedeem(RequestModel):
    code: GiftCode
    amount: Money
    order_ref: Ref
    allow_partial: bool = False


class GiftCardRedeemOut(BaseModel):
    redemption_id: str
    giftcard_id: str
    applied_minor: int
    balance_minor: int
    currency: str


class GiftCardReverse(RequestModel):
    redemption_id: Id
    amount_minor: Minor | None = None
    reason: Reason


class GiftCardReverseOut(BaseModel):
    redemption_id: str
    giftcard_id: str
    reversed_minor: int
    balance_minor: int
    currency: str


class GiftCardGet(RequestModel):
    giftcard_id: Id | None = None
    code: GiftCode | None = None


class GiftCardTxnOut(BaseModel):
    txn_id: str
    kind: str
    amount_minor: int
    balance_after_minor: int
    redemption_id: str | None
    order_ref: str | None
    reason: str | None
    created_at: datetime


class GiftCardOut(BaseModel):
    giftcard_id: str
    last4: str
    currency: str
    initial_minor: int
    balance_minor: int
    status: str
    customer_id: str | None
    expires_at: datetime | None
    reason: str | None
    void_reason: str | None
    revision: int
    created_at: datetime
    updated_at: datetime
    history: list[GiftCardTxnOut] | None = None


class GiftCardList(ListRequest):
    customer_id: Id | None = None
    status: Literal["active", "void", "expired"] | None = None


class GiftCardPage(BaseModel):
    items: list[GiftCardOut]
    next_token: str | None = None


class GiftCardVoid(RequestModel):
    giftcard_id: Id
    expected_revision: Revision | None = None
    reason: Reason
