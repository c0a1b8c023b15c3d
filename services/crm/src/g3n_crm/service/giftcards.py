"""Use cases: gift cards (issue, redeem, reverse a redemption, void, get, list).

Lock order: the customer row is only read (never locked) here; the card row is the one lock of
every balance change (``SELECT … FOR UPDATE``), so concurrent redemptions of a card queue on it
and each sees the balance the previous one left: a card is never overdrawn.

Anti-enumeration: a code is looked up by its keyed hash first (one index probe, whichever org it
belongs to), then the org is compared; an unknown code and another org's code both get the same
``not-found`` after the same work.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from g3n_contracts import (
    GIFTCARD_ISSUED,
    GIFTCARD_REDEEMED,
    GIFTCARD_REDEMPTION_REVERSED,
    GIFTCARD_VOIDED,
    GiftCardIssued,
    GiftCardRedeemed,
    GiftCardRedemptionReversed,
    GiftCardVoided,
)
from g3n_kit.errors import InvalidState, NotFound, ValidationFailed, check_revision
from g3n_kit.ids import new_id
from g3n_kit.paging import Cursor, keyset_condition, page_of, start_cursor

from g3n_crm.adapters import customers as customer_repo
from g3n_crm.adapters import giftcards as repo
from g3n_crm.adapters.events import Change, change_message, publish, stored_value_message
from g3n_crm.domain.customer import require_writable
from g3n_crm.domain.giftcard import GiftCard, code_hash, generate_code, last4
from g3n_crm.service.checks import exactly_one
from g3n_crm.service.context import Ctx
from g3n_crm.service.schemas import (
    GiftCardGet,
    GiftCardIssue,
    GiftCardIssueOut,
    GiftCardList,
    GiftCardOut,
    GiftCardPage,
    GiftCardRedeem,
    GiftCardRedeemOut,
    GiftCardReverse,
    GiftCardReverseOut,
    GiftCardTxnOut,
    GiftCardVoid,
)

CODE_NOT_FOUND = "gift card not found"


def _domain(row: asyncpg.Record) -> GiftCard:
    return GiftCard(
        row["giftcard_id"], row["currency"], row["balance_minor"], row["status"], row["expires_at"]
    )


def card_out(row: asyncpg.Record, ctx: Ctx, history: list[asyncpg.Record] | None = None) -> GiftCardOut:
    return GiftCardOut(
        giftcard_id=row["giftcard_id"],
        last4=row["last4"],
        currency=row["currency"],
        initial_minor=row["initial_minor"],
        balance_minor=row["balance_minor"],
        status=_domain(row).shown_status(ctx.now),
        customer_id=row["customer_id"],
        expires_at=row["expires_at"],
        reason=row["reason"],
        void_reason=row["void_reason"],
        revision=row["revision"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        history=None
        if history is None
        else [
            GiftCardTxnOut(
                txn_id=t["txn_id"],
                kind=t["kind"],
                amount_minor=t["amount_minor"],
                balance_after_minor=t["balance_after_minor"],
                redemption_id=t["redemption_id"],
                order_ref=t["order_ref"],
                reason=t["reason"],
                created_at=t["created_at"],
            )
            for t in history
        ],
    )


def _change(row: asyncpg.Record, action: str, ctx: Ctx, **extra: Any) -> Change:
    data: dict[str, Any] = {
        "giftcard_id": row["giftcard_id"],
        "last4": row["last4"],
        "currency": row["currency"],
        "balance_minor": row["balance_minor"],
        "status": _domain(row).shown_status(ctx.now),
        "customer_id": row["customer_id"],
        **extra,
    }
    return Change("giftcard", row["giftcard_id"], action, data, row["revision"])


async def _txn(ctx: Ctx, row: asyncpg.Record, kind: str, amount: int, **extra: Any) -> None:
    await repo.insert_txn(
        ctx.conn,
        ctx.org_code,
        {
            "txn_id": new_id("gct"),
            "giftcard_id": row["giftcard_id"],
            "kind": kind,
            "amount_minor": amount,
            "balance_after_minor": row["balance_minor"],
            "actor": ctx.actor,
            "cc_code": ctx.cc_code,
            "channel_code": ctx.channel_code,
            "created_at": ctx.now,
            **extra,
        },
    )


async def _by_code(ctx: Ctx, code: str, secret: bytes) -> str:
    found = await repo.org_of_code(ctx.conn, code_hash(code, secret))
    if found is None or found["org_code"] != ctx.org_code:
        raise NotFound(CODE_NOT_FOUND)
    return str(found["giftcard_id"])


async def _locked(ctx: Ctx, giftcard_id: str) -> asyncpg.Record:
    row = await repo.get(ctx.conn, ctx.org_code, giftcard_id, lock=True)
    if row is None:
        raise NotFound(f"gift card {giftcard_id} not found")
    return row


async def issue(ctx: Ctx, cmd: GiftCardIssue, secret: bytes) -> GiftCardIssueOut:
    if cmd.amount.amount_minor <= 0:
        raise ValidationFailed("amount must be > 0", [{"path": "amount.amount_minor", "message": "> 0"}])
    if cmd.expires_at is not None and cmd.expires_at <= ctx.now:
        raise ValidationFailed(
            "expires_at lies in the past", [{"path": "expires_at", "message": "must be in the future"}]
        )
    if cmd.customer_id is not None:
        customer = await customer_repo.get(ctx.conn, ctx.org_code, customer_id=cmd.customer_id)
        if customer is None:
            raise NotFound(f"customer {cmd.customer_id} not found")
        require_writable(cmd.customer_id, customer["status"])
    for _attempt in range(3):  # an 80-bit code collides practically never; retry anyway
        code = generate_code()
        row = await repo.insert(
            ctx.conn,
            ctx.org_code,
            giftcard_id=new_id("gfc"),
            code_hash=code_hash(code, secret),
            last4=last4(code),
            currency=cmd.amount.currency,
            amount_minor=cmd.amount.amount_minor,
            customer_id=cmd.customer_id,
            expires_at=cmd.expires_at,
            reason=cmd.reason,
            now=ctx.now,
        )
        if row is not None:
            break
    else:  # pragma: no cover
        raise InvalidState("could not allocate a unique gift card code", state="exhausted")
    await _txn(ctx, row, "issue", cmd.amount.amount_minor, reason=cmd.reason)
    event = GiftCardIssued(
        giftcard_id=row["giftcard_id"],
        customer_id=row["customer_id"],
        currency=row["currency"],
        amount_minor=row["initial_minor"],
        occurred_at=ctx.now,
        last4=row["last4"],
        balance_after_minor=row["balance_minor"],
        expires_at=row["expires_at"],
        reason=cmd.reason,
    )
    await publish(
        ctx.conn,
        [
            stored_value_message(ctx.org_code, GIFTCARD_ISSUED, event, ctx.correlation_id),
            change_message(ctx.org_code, _change(row, "created", ctx), ctx.correlation_id),
        ],
    )
    return GiftCardIssueOut(
        giftcard_id=row["giftcard_id"],
        code=code,
        last4=row["last4"],
        balance_minor=row["balance_minor"],
        currency=row["currency"],
        status="active",
        expires_at=row["expires_at"],
        customer_id=row["customer_id"],
        revision=row["revision"],
    )


async def redeem(ctx: Ctx, cmd: GiftCardRedeem, secret: bytes) -> GiftCardRedeemOut:
    giftcard_id = await _by_code(ctx, cmd.code, secret)
    row = await _locked(ctx, giftcard_id)
    card = _domain(row)
    applied = card.redeem(
        cmd.amount.amount_minor, cmd.amount.currency, ctx.now, allow_partial=cmd.allow_partial
    )
    row = await repo.update_balance(
        ctx.conn,
        ctx.org_code,
        giftcard_id,
        balance_minor=card.balance_minor,
        status=card.status,
        void_reason=None,
        now=ctx.now,
    )
    redemption_id = new_id("gcr")
    await repo.insert_redemption(
        ctx.conn,
        ctx.org_code,
        {
            "redemption_id": redemption_id,
            "giftcard_id": giftcard_id,
            "order_ref": cmd.order_ref,
            "requested_minor": cmd.amount.amount_minor,
            "applied_minor": applied,
            "created_at": ctx.now,
        },
    )
    await _txn(ctx, row, "redeem", -applied, redemption_id=redemption_id, order_ref=cmd.order_ref)
    event = GiftCardRedeemed(
        giftcard_id=giftcard_id,
        customer_id=row["customer_id"],
        currency=row["currency"],
        amount_minor=applied,
        occurred_at=ctx.now,
        redemption_id=redemption_id,
        balance_after_minor=row["balance_minor"],
        order_ref=cmd.order_ref,
    )
    await publish(
        ctx.conn,
        [
            stored_value_message(ctx.org_code, GIFTCARD_REDEEMED, event, ctx.correlation_id),
            change_message(
                ctx.org_code,
                _change(row, "debited", ctx, redemption_id=redemption_id, amount_minor=applied),
                ctx.correlation_id,
            ),
        ],
    )
    return GiftCardRedeemOut(
        redemption_id=redemption_id,
        giftcard_id=giftcard_id,
        applied_minor=applied,
        balance_minor=row["balance_minor"],
        currency=row["currency"],
    )


async def reverse_redemption(ctx: Ctx, cmd: GiftCardReverse) -> GiftCardReverseOut:
    head = await repo.get_redemption(ctx.conn, ctx.org_code, cmd.redemption_id)
    if head is None:
        raise NotFound(f"gift card redemption {cmd.redemption_id} not found")
    row = await _locked(ctx, head["giftcard_id"])
    red = await repo.get_redemption(ctx.conn, ctx.org_code, cmd.redemption_id)  # re-read under the card lock
    assert red is not None
    card = _domain(row)
    amount = card.reverse(red["applied_minor"], red["reversed_minor"], cmd.amount_minor)
    await repo.add_reversed(ctx.conn, ctx.org_code, cmd.redemption_id, amount)
    row = await repo.update_balance(
        ctx.conn,
        ctx.org_code,
        row["giftcard_id"],
        balance_minor=card.balance_minor,
        status=card.status,
        void_reason=None,
        now=ctx.now,
    )
    await _txn(
        ctx,
        row,
        "reverse",
        amount,
        redemption_id=cmd.redemption_id,
        order_ref=red["order_ref"],
        reason=cmd.reason,
    )
    event = GiftCardRedemptionReversed(
        giftcard_id=row["giftcard_id"],
        customer_id=row["customer_id"],
        currency=row["currency"],
        amount_minor=amount,
        occurred_at=ctx.now,
        redemption_id=cmd.redemption_id,
        balance_after_minor=row["balance_minor"],
        order_ref=red["order_ref"],
        reason=cmd.reason,
    )
    await publish(
        ctx.conn,
        [
            stored_value_message(ctx.org_code, GIFTCARD_REDEMPTION_REVERSED, event, ctx.correlation_id),
            change_message(
                ctx.org_code,
                _change(row, "credited", ctx, redemption_id=cmd.redemption_id, amount_minor=amount),
                ctx.correlation_id,
            ),
        ],
    )
    return GiftCardReverseOut(
        redemption_id=cmd.redemption_id,
        giftcard_id=row["giftcard_id"],
        reversed_minor=amount,
        balance_minor=row["balance_minor"],
        currency=row["currency"],
    )


async def void(ctx: Ctx, cmd: GiftCardVoid) -> GiftCardOut:
    row = await _locked(ctx, cmd.giftcard_id)
    check_revision(
        expected=cmd.expected_revision, current=row["revision"], what=f"gift card {cmd.giftcard_id}"
    )
    card = _domain(row)
    forfeited = card.void()
    row = await repo.update_balance(
        ctx.conn,
        ctx.org_code,
        cmd.giftcard_id,
        balance_minor=0,
        status="void",
        void_reason=cmd.reason,
        now=ctx.now,
    )
    await _txn(ctx, row, "void", -forfeited, reason=cmd.reason)
    event = GiftCardVoided(
        giftcard_id=cmd.giftcard_id,
        customer_id=row["customer_id"],
        currency=row["currency"],
        amount_minor=forfeited,
        occurred_at=ctx.now,
        reason=cmd.reason,
    )
    await publish(
        ctx.conn,
        [
            stored_value_message(ctx.org_code, GIFTCARD_VOIDED, event, ctx.correlation_id),
            change_message(
                ctx.org_code,
                _change(row, "status_changed", ctx, forfeited_minor=forfeited),
                ctx.correlation_id,
            ),
        ],
    )
    return card_out(row, ctx)


async def get(ctx: Ctx, cmd: GiftCardGet, secret: bytes) -> GiftCardOut:
    exactly_one(cmd, "giftcard_id", "code")
    giftcard_id = (
        cmd.giftcard_id if cmd.giftcard_id is not None else await _by_code(ctx, str(cmd.code), secret)
    )
    row = await repo.get(ctx.conn, ctx.org_code, giftcard_id)
    if row is None:
        raise NotFound(f"gift card {giftcard_id} not found")
    return card_out(row, ctx, await repo.history(ctx.conn, ctx.org_code, giftcard_id))


async def list_(ctx: Ctx, cmd: GiftCardList) -> GiftCardPage:
    scope = "giftcard.list"
    cursor = start_cursor(cmd, scope=scope)
    cond, args = keyset_condition(cursor, first_param=5, id_col="giftcard_id")
    rows = await repo.list_page(
        ctx.conn,
        ctx.org_code,
        customer_id=cmd.customer_id,
        status=cmd.status,
        now=ctx.now,
        keyset=cond,
        keyset_args=args,
        limit=cmd.limit,
    )
    items, token = page_of(
        rows, req=cmd, cursor_of=lambda r: Cursor(r["created_at"], r["giftcard_id"]), scope=scope
    )
    return GiftCardPage(items=[card_out(r, ctx) for r in items], next_token=token)
