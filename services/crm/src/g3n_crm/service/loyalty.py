"""Use cases: the loyalty policy and the ledger calls (earn, redeem, restore, reverse, adjust, list).

Each write locks the customer's loyalty account row first (the one lock of the ledger), loads
the lots with points left, lets the domain decide, saves what it did and publishes a change
event for the account (plus the stored-value event of a redeem / restore) through the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from g3n_contracts import LOYALTY_REDEEMED, LOYALTY_RESTORED, LoyaltyRedeemed, LoyaltyRestored
from g3n_kit.errors import Conflict, InvalidState, NotFound, ValidationFailed, check_revision
from g3n_kit.outbox import OutgoingMessage
from g3n_kit.paging import Cursor, page_of, start_cursor

from g3n_crm.adapters import customers as customer_repo
from g3n_crm.adapters import loyalty as repo
from g3n_crm.adapters.events import Change, change_message, publish, stored_value_message
from g3n_crm.domain.customer import require_active, require_writable
from g3n_crm.domain.loyalty import Balance, Entry, Lot, LoyaltyAccount, Redemption
from g3n_crm.domain.policy import LoyaltyPolicy, points_for_amount
from g3n_crm.service.checks import exactly_one
from g3n_crm.service.context import Ctx
from g3n_crm.service.customers import balance_out
from g3n_crm.service.schemas import (
    Adjust,
    Earn,
    EarnOut,
    EntryOut,
    LedgerList,
    LedgerPage,
    LedgerWriteOut,
    LotMove,
    LotOut,
    PolicyGet,
    PolicyOut,
    PolicySet,
    Redeem,
    RedeemOut,
    Restore,
    Reverse,
)

# ---- policy --------------------------------------------------------------------------------------


def _policy_out(stored: repo.StoredPolicy) -> PolicyOut:
    p = stored.policy
    return PolicyOut(
        points_per_currency_unit=p.points_per_currency_unit,
        currency=p.currency,
        pending_days=p.pending_days,
        expiry_days=p.expiry_days,
        min_redeem_points=p.min_redeem_points,
        point_value_minor=p.point_value_minor,
        excluded_skus=list(p.excluded_skus),
        is_default=stored.is_default,
        revision=stored.revision,
        updated_at=stored.updated_at,
    )


async def policy_of(conn: asyncpg.Connection, org_code: str) -> LoyaltyPolicy:
    return (await repo.get_policies(conn, [org_code]))[org_code].policy


async def get_policy(ctx: Ctx, _cmd: PolicyGet) -> PolicyOut:
    return _policy_out((await repo.get_policies(ctx.conn, [ctx.org_code]))[ctx.org_code])


async def set_policy(ctx: Ctx, cmd: PolicySet) -> PolicyOut:
    await repo.lock_policy_row(ctx.conn, ctx.org_code)
    current = (await repo.get_policies(ctx.conn, [ctx.org_code], lock=True))[ctx.org_code]
    check_revision(expected=cmd.expected_revision, current=current.revision, what="loyalty policy")
    policy = LoyaltyPolicy(
        points_per_currency_unit=cmd.points_per_currency_unit,
        currency=cmd.currency,
        pending_days=cmd.pending_days,
        expiry_days=cmd.expiry_days,
        min_redeem_points=cmd.min_redeem_points,
        point_value_minor=cmd.point_value_minor,
        excluded_skus=tuple(dict.fromkeys(cmd.excluded_skus)),
    )
    policy.validate()
    revision = current.revision + 1
    await repo.put_policy(ctx.conn, ctx.org_code, policy, revision, ctx.now)
    out = _policy_out(repo.StoredPolicy(policy, revision, False, ctx.now))
    data = out.model_dump(mode="json")
    await publish(
        ctx.conn,
        [
            change_message(
                ctx.org_code,
                Change("loyalty_policy", ctx.org_code, "updated", data, revision),
                ctx.correlation_id,
            )
        ],
    )
    return out


# ---- helpers -------------------------------------------------------------------------------------


def lot_out(lot: Lot) -> LotOut:
    return LotOut(
        lot_id=lot.lot_id,
        points=lot.points,
        remaining=lot.remaining,
        available_at=lot.available_at,
        expires_at=lot.expires_at,
    )


def entry_out(e: Entry) -> EntryOut:
    return EntryOut(
        entry_id=e.entry_id,
        customer_id=e.customer_id,
        kind=e.kind,
        points=e.points,
        reason=e.reason,
        source_ref=e.source_ref,
        lot_id=e.lot_id,
        lots=[LotMove(lot_id=m.lot_id, points=m.points) for m in e.movements],
        debt_change=e.debt_change,
        ref_entry_id=e.ref_entry_id,
        created_at=e.created_at,
        balance_after=e.balance_after,
    )


def _movements(r: asyncpg.Record) -> list[LotMove]:
    """A one-lot entry keeps only ``lot_id`` (it moved ``points + debt_change``); see migration 0004."""
    if r["lot_id"] is not None:
        return [LotMove(lot_id=r["lot_id"], points=r["points"] + r["debt_change"])]
    return [LotMove(lot_id=i, points=p) for i, p in zip(r["lot_ids"], r["lot_points"], strict=True)]


def entry_row_out(r: asyncpg.Record) -> EntryOut:
    return EntryOut(
        entry_id=r["entry_id"],
        customer_id=r["customer_id"],
        kind=r["kind"],
        points=r["points"],
        reason=r["reason"],
        source_ref=r["source_ref"],
        lot_id=r["lot_id"],
        lots=_movements(r),
        debt_change=r["debt_change"],
        ref_entry_id=r["ref_entry_id"],
        created_at=r["created_at"],
        balance_after=r["balance_after"],
    )


def account_change(account: LoyaltyAccount, balance: Balance | None = None) -> Change:
    """The change event of a ledger write: the entries it added, the ledger total and debt after
    them, and (when the writer holds every open lot) the available / pending split."""
    data: dict[str, Any] = {
        "customer_id": account.customer_id,
        "total": account.total,
        "debt": account.debt,
        "entries": [
            {
                "entry_id": e.entry_id,
                "kind": e.kind,
                "points": e.points,
                "source_ref": e.source_ref,
                "balance_after": e.balance_after,
            }
            for e in account.new_entries
        ],
    }
    if balance is not None:
        data["balance"] = {"available": balance.available, "pending": balance.pending, "debt": balance.debt}
    return Change("loyalty_account", account.customer_id, "changed", data)


def loyalty_event(
    org_code: str,
    kind: str,
    *,
    redemption_id: str,
    customer_id: str,
    points: int,
    available_after: int,
    source_ref: str | None,
    reason: str | None,
    ctx_now: Any,
    correlation_id: str | None,
    value: Any = None,
) -> OutgoingMessage:
    model = LoyaltyRedeemed if kind == LOYALTY_REDEEMED else LoyaltyRestored
    payload = model(
        redemption_id=redemption_id,
        customer_id=customer_id,
        points=points,
        balance_after=max(available_after, 0),
        value=value,
        source_ref=source_ref,
        reason=reason,
        occurred_at=ctx_now,
    )
    return stored_value_message(org_code, kind, payload, correlation_id)


async def _lock(ctx: Ctx, customer_id: str, *, lots: bool = True) -> tuple[str, LoyaltyAccount]:
    """Lock the account (and load its open lots for a debit); ``(status, account)``.

    A credit needs no other lot: debt is settled from the new lot and expiry is the job's (a
    debit expires due lots itself), so earns stay O(1) however many lots a customer holds.
    """
    locked = await repo.lock_accounts(ctx.conn, [(ctx.org_code, customer_id)])
    found = locked.get((ctx.org_code, customer_id))
    if found is None or found.status is None:  # (status is read here: None only narrows the type)
        raise NotFound(f"customer {customer_id} not found")
    if lots:
        await repo.load_open_lots(ctx.conn, locked)
    return found.status, found.account


async def _balance(ctx: Ctx, customer_id: str) -> Balance:
    found = await repo.balances(ctx.conn, [(ctx.org_code, customer_id)], ctx.now)
    return found.get((ctx.org_code, customer_id), Balance(0, 0, 0))


async def _save(
    ctx: Ctx,
    account: LoyaltyAccount,
    redemptions: Sequence[Redemption] = (),
    extra: Sequence[OutgoingMessage] = (),
    *,
    all_lots: bool = True,
) -> Balance:
    """Persist; the balance after comes from the lots in hand, or from SQL when not all are loaded."""
    if all_lots:
        account.check(ctx.now)
    await repo.save(
        ctx.conn,
        [(ctx.org_code, account)],
        [(ctx.org_code, r) for r in redemptions],
        actor=ctx.actor,
        now=ctx.now,
        cc_code=ctx.cc_code,
        channel_code=ctx.channel_code,
    )
    if all_lots:
        balance = account.balance(ctx.now)
    else:
        found = await repo.balances(ctx.conn, [(ctx.org_code, account.customer_id)], ctx.now)
        balance = found[(ctx.org_code, account.customer_id)]
    await publish(
        ctx.conn, [*extra, change_message(ctx.org_code, account_change(account, balance), ctx.correlation_id)]
    )
    return balance


# ---- ledger calls --------------------------------------------------------------------------------


async def earn(ctx: Ctx, cmd: Earn) -> EarnOut:
    exactly_one(cmd, "points", "amount")
    status, account = await _lock(ctx, cmd.customer_id, lots=False)
    if cmd.source_ref is not None:
        first = await repo.find_earn(ctx.conn, ctx.org_code, source_ref=cmd.source_ref)
        if first is not None:
            if first["customer_id"] != cmd.customer_id:
                raise Conflict(
                    f"source_ref {cmd.source_ref} already earned points for another customer",
                    {
                        "fields": [
                            {"path": "source_ref", "message": "already used by another customer's earn"}
                        ]
                    },
                )
            lot = (
                (await repo.load_lots(ctx.conn, ctx.org_code, [first["lot_id"]]))[0]
                if first["lot_id"]
                else None
            )
            return EarnOut(
                entry_id=first["entry_id"],
                points=first["points"],
                lot=lot_out(lot) if lot else None,
                balance=balance_out(await _balance(ctx, cmd.customer_id)),
            )
    require_active(cmd.customer_id, status, "earn points")
    policy = await policy_of(ctx.conn, ctx.org_code)
    if cmd.points is not None:
        points = cmd.points
    else:
        assert cmd.amount is not None
        points = points_for_amount(cmd.amount.amount_minor, cmd.amount.currency, policy)
    entry, lot = account.earn(points, ctx.now, policy, reason=cmd.reason, source_ref=cmd.source_ref)
    balance = await _save(ctx, account, all_lots=False)
    return EarnOut(
        entry_id=entry.entry_id,
        points=entry.points,
        lot=lot_out(lot) if lot else None,
        balance=balance_out(balance),
    )


async def redeem(ctx: Ctx, cmd: Redeem) -> RedeemOut:
    status, account = await _lock(ctx, cmd.customer_id)
    require_active(cmd.customer_id, status, "redeem points")
    policy = await policy_of(ctx.conn, ctx.org_code)
    _, redemption = account.redeem(cmd.points, ctx.now, policy, reason=cmd.reason, source_ref=cmd.source_ref)
    balance = account.balance(ctx.now)
    event = loyalty_event(
        ctx.org_code,
        LOYALTY_REDEEMED,
        redemption_id=redemption.redemption_id,
        customer_id=cmd.customer_id,
        points=cmd.points,
        available_after=balance.available,
        source_ref=cmd.source_ref,
        reason=cmd.reason,
        ctx_now=ctx.now,
        correlation_id=ctx.correlation_id,
    )
    balance = await _save(ctx, account, [redemption], [event])
    return RedeemOut(
        redemption_id=redemption.redemption_id,
        points=cmd.points,
        lots=[LotMove(lot_id=a.lot_id, points=a.points) for a in redemption.allocations],
        balance=balance_out(balance),
    )


async def restore(ctx: Ctx, cmd: Restore) -> LedgerWriteOut:
    head = (await repo.get_redemptions(ctx.conn, [(ctx.org_code, cmd.redemption_id)])).get(
        (ctx.org_code, cmd.redemption_id)
    )
    if head is None:
        raise NotFound(f"redemption {cmd.redemption_id} not found")
    status, account = await _lock(ctx, head.customer_id)
    require_writable(head.customer_id, status)
    # Re-read under the account lock: every change to a redemption happens under it.
    redemption = (await repo.get_redemptions(ctx.conn, [(ctx.org_code, cmd.redemption_id)]))[
        (ctx.org_code, cmd.redemption_id)
    ]
    await _load_missing_lots(ctx, account, [a.lot_id for a in redemption.allocations])
    policy = await policy_of(ctx.conn, ctx.org_code)
    entries = account.restore(redemption, cmd.points, ctx.now, policy, reason=cmd.reason)
    restored = entries[0].points
    balance = account.balance(ctx.now)
    event = loyalty_event(
        ctx.org_code,
        LOYALTY_RESTORED,
        redemption_id=redemption.redemption_id,
        customer_id=head.customer_id,
        points=restored,
        available_after=balance.available,
        source_ref=redemption.source_ref,
        reason=cmd.reason,
        ctx_now=ctx.now,
        correlation_id=ctx.correlation_id,
    )
    balance = await _save(ctx, account, [redemption], [event])
    return _write_out(account, entries[0], balance)


async def _load_missing_lots(ctx: Ctx, account: LoyaltyAccount, lot_ids: Sequence[str]) -> None:
    missing = [i for i in dict.fromkeys(lot_ids) if i not in account.lots]
    for lot in await repo.load_lots(ctx.conn, ctx.org_code, missing):
        account.lots[lot.lot_id] = lot


def _write_out(account: LoyaltyAccount, main: Entry, balance: Balance) -> LedgerWriteOut:
    return LedgerWriteOut(
        entry_id=main.entry_id,
        points=main.points,
        entries=[entry_out(e) for e in account.new_entries],
        balance=balance_out(balance),
    )


async def reverse(ctx: Ctx, cmd: Reverse) -> LedgerWriteOut:
    exactly_one(cmd, "earn_entry_id", "source_ref")
    earn_row = await repo.find_earn(
        ctx.conn, ctx.org_code, entry_id=cmd.earn_entry_id, source_ref=cmd.source_ref
    )
    if earn_row is None:
        what = cmd.earn_entry_id or f"for source_ref {cmd.source_ref}"
        raise NotFound(f"earn entry {what} not found")
    status, account = await _lock(ctx, earn_row["customer_id"])
    require_writable(earn_row["customer_id"], status)
    if earn_row["lot_id"] is None:
        raise InvalidState(
            f"earn {earn_row['entry_id']} credited no points", state="empty", required="earned points"
        )
    await _load_missing_lots(ctx, account, [earn_row["lot_id"]])
    entry = account.reverse(
        account.lots[earn_row["lot_id"]],
        cmd.points,
        ctx.now,
        reason=cmd.reason,
        source_ref=earn_row["source_ref"],
    )
    balance = await _save(ctx, account)
    return _write_out(account, entry, balance)


async def adjust(ctx: Ctx, cmd: Adjust) -> LedgerWriteOut:
    if cmd.points == 0:
        raise ValidationFailed("points must not be 0", [{"path": "points", "message": "must not be 0"}])
    status, account = await _lock(ctx, cmd.customer_id, lots=cmd.points < 0)
    require_writable(cmd.customer_id, status)
    policy = await policy_of(ctx.conn, ctx.org_code)
    entry = account.adjust(cmd.points, ctx.now, policy, reason=cmd.reason, allow_debt=cmd.allow_debt)
    balance = await _save(ctx, account, all_lots=cmd.points < 0)
    return _write_out(account, entry, balance)


async def list_ledger(ctx: Ctx, cmd: LedgerList) -> tuple[LedgerPage, Balance]:
    if await customer_repo.get(ctx.conn, ctx.org_code, customer_id=cmd.customer_id) is None:
        raise NotFound(f"customer {cmd.customer_id} not found")
    scope = "loyalty.ledger.list"
    cursor = start_cursor(cmd, scope=scope)
    before = int(cursor.id) if cursor is not None else None
    rows = await repo.list_entries(ctx.conn, ctx.org_code, cmd.customer_id, before, cmd.limit + 1)
    items, token = page_of(
        rows, req=cmd, cursor_of=lambda r: Cursor(r["created_at"], int(r["seq"])), scope=scope
    )
    bal = await repo.balances(ctx.conn, [(ctx.org_code, cmd.customer_id)], ctx.now)
    return LedgerPage(items=[entry_row_out(r) for r in items], next_token=token), bal.get(
        (ctx.org_code, cmd.customer_id), Balance(0, 0, 0)
    )
