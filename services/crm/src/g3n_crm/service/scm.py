"""SCM drives loyalty: sales earn (and loyalty tenders redeem), returns reverse and restore.

Applied set-based, a whole partition batch at a time, in a fixed number of statements: look up
the batch's orders, parked returns, customers, policies and earlier earns; lock the touched
loyalty accounts (sorted); load lots only for customers whose points are debited; run the domain
for every event in Kafka order in memory; write everything back with one statement per table.

Rules (documented in docs):

* A sale with a known customer (customer id, else e-mail, else external ref; case-insensitive)
  earns once per order (``source_ref`` = order id) on the net amount of its lines whose SKU the
  policy does not exclude, rounded down once, allocated to the lines by largest remainder. The
  earn's pending and expiry periods start at the sale's ``occurred_at`` (never in the future).
* A loyalty tender redeems its points (``source_ref`` = order id). The till already accepted it,
  so the policy minimum does not apply and a shortfall takes pending points, then becomes debt.
* A sale in another currency than the policy's earns nothing (recorded with the reason) but its
  loyalty tender is still redeemed.
* Guest sales, unknown customers, blocked or anonymized customers, and a second sale of an order
  already recorded are recorded as skipped with the reason (table ``scm_sales``), never
  dead-lettered. The identifiers of an unknown customer are kept for a later claim (and erased
  by anonymization).
* A return restores the points of its loyalty refund tender to the sale's redemption (to the
  same lots, capped at what is left to restore) and reverses, per returned line, the cumulative
  share of that line's points (policy module), never more than the line earned.
* A return whose sale has not been seen is parked and applied right after the sale arrives; a
  return of a skipped sale is recorded as skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from g3n_contracts import (
    LOYALTY_REDEEMED,
    LOYALTY_RESTORED,
    RETURN_RECORDED,
    SALE_RECORDED,
    TENDER_LOYALTY,
    EventEnvelope,
    Money,
    ReturnRecorded,
    SaleRecorded,
)
from g3n_kit.outbox import OutgoingMessage

from g3n_crm.adapters import customers as customer_repo
from g3n_crm.adapters import loyalty as loyalty_repo
from g3n_crm.adapters import scm as repo
from g3n_crm.adapters.events import change_message, publish
from g3n_crm.adapters.scm import LineState, ReturnRecord, SaleRecord, SaleState
from g3n_crm.domain.idpool import IdPool
from g3n_crm.domain.loyalty import LoyaltyAccount, Redemption
from g3n_crm.domain.policy import allocate, cumulative_reversal, points_for_amount
from g3n_crm.service.loyalty import account_change, loyalty_event

Key = tuple[str, str]
ACTOR = "consumer:crm.scm"


@dataclass
class _Batch:
    now: datetime
    states: dict[Key, SaleState]
    parked: dict[Key, list[ReturnRecord]]
    policies: dict[str, loyalty_repo.StoredPolicy]
    accounts: dict[Key, loyalty_repo.Locked]
    redemptions: dict[Key, Redemption]
    prior_earns: dict[Key, asyncpg.Record]
    sale_records: list[SaleRecord] = field(default_factory=list)
    returns: list[ReturnRecord] = field(default_factory=list)
    touched: dict[Key, LoyaltyAccount] = field(default_factory=dict)
    messages: list[OutgoingMessage] = field(default_factory=list)
    correlation: dict[Key, str | None] = field(default_factory=dict)


def _tender_points(tenders: Sequence[Any]) -> tuple[int, int]:
    points = minor = 0
    for t in tenders:
        if t.type == TENDER_LOYALTY:
            points += t.points or 0
            minor += t.amount_minor
    return points, minor


def _order_id(env: EventEnvelope) -> str:
    payload = env.payload
    if type(payload) is SaleRecorded or type(payload) is ReturnRecorded:  # no ABCMeta isinstance
        return payload.order_id
    raise TypeError(f"{env.event_type} carries no order")


def _customer_ref(sale: SaleRecorded) -> tuple[str | None, str | None, str | None]:
    c = sale.customer
    if c is None:
        return (None, None, None)
    return (c.customer_id, c.email, c.external_ref)


async def apply_batch(conn: asyncpg.Connection, envelopes: Sequence[EventEnvelope], now: datetime) -> None:
    sales = [e for e in envelopes if e.event_type == SALE_RECORDED]
    orders = {(e.org_code, _order_id(e)) for e in envelopes}
    sale_orders = [(e.org_code, e.payload_as(SaleRecorded).order_id) for e in sales]

    states = await repo.load_sales(conn, list(orders))
    parked = await repo.load_parked(conn, sale_orders)
    refs: list[tuple[str, str | None, str | None, str | None]] = []
    ref_of: list[int] = []  # index into refs per sale (-1: guest)
    for e in sales:
        c = e.payload_as(SaleRecorded).customer
        if c is None:
            ref_of.append(-1)
        else:
            ref_of.append(len(refs))
            refs.append((e.org_code, c.customer_id, c.email, c.external_ref))
    resolved = await customer_repo.resolve(conn, refs)
    policies = await loyalty_repo.get_policies(conn, sorted({e.org_code for e in envelopes}))
    prior_earns = await loyalty_repo.find_earns_by_source(conn, sale_orders)

    # Which accounts to lock, and which need their lots (debits: tenders, returns).
    return_orders = {(e.org_code, _order_id(e)) for e in envelopes if e.event_type == RETURN_RECORDED}
    return_orders |= set(parked)
    lock_keys: set[Key] = set()
    need_lots: set[Key] = set()
    for e, idx in zip(sales, ref_of, strict=True):
        found = resolved[idx] if idx >= 0 else None
        if found is None:
            continue
        key = (e.org_code, found[0])
        lock_keys.add(key)
        sale = e.payload_as(SaleRecorded)
        if _tender_points(sale.tenders)[0] or (e.org_code, sale.order_id) in return_orders:
            need_lots.add(key)
    for k in return_orders:
        st = states.get(k)
        if st is not None and st.customer_id is not None:
            lock_keys.add((k[0], st.customer_id))
            need_lots.add((k[0], st.customer_id))
    for k, earn in prior_earns.items():
        lock_keys.add((k[0], earn["customer_id"]))
    # The sales' customers come with their status from `resolve`; the others need none.
    accounts = await loyalty_repo.lock_accounts(conn, lock_keys, with_status=False)
    id_pool = IdPool()  # the batch's ledger entry and lot ids, minted a chunk at a time
    for held in accounts.values():
        held.account.new_id = id_pool
    await loyalty_repo.load_open_lots(conn, {k: v for k, v in accounts.items() if k in need_lots})

    # Redemptions and lots named by already recorded sales that this batch returns.
    red_keys = [
        (k[0], st.redemption_id) for k, st in states.items() if k in return_orders and st.redemption_id
    ]
    redemptions = await loyalty_repo.get_redemptions(conn, red_keys)
    lot_keys: list[Key] = []
    lot_owner: dict[Key, Key] = {}
    for k, st in states.items():
        if k not in return_orders or st.customer_id is None:
            continue
        owner = (k[0], st.customer_id)
        ids = [st.earn_lot_id] if st.earn_lot_id else []
        red = redemptions.get((k[0], st.redemption_id or ""))
        if red is not None:
            ids += [a.lot_id for a in red.allocations]
        for lot_id in ids:
            lot_keys.append((k[0], lot_id))
            lot_owner[(k[0], lot_id)] = owner
    for k, earn in prior_earns.items():  # an order earned before its sale was seen (e.g. by the API)
        if k in return_orders and earn["lot_id"]:
            lot_keys.append((k[0], earn["lot_id"]))
            lot_owner[(k[0], earn["lot_id"])] = (k[0], earn["customer_id"])
    for org, lot in await loyalty_repo.load_lots_of(conn, lot_keys):
        locked = accounts.get(lot_owner[(org, lot.lot_id)])
        if locked is not None and lot.lot_id not in locked.account.lots:
            locked.account.lots[lot.lot_id] = lot

    batch = _Batch(now, states, parked, policies, accounts, redemptions, prior_earns)
    sale_i = 0
    for env in envelopes:
        if env.event_type == SALE_RECORDED:
            idx = ref_of[sale_i]
            sale_i += 1
            _apply_sale(batch, env, resolved[idx] if idx >= 0 else None)
        else:
            _apply_return(batch, env)

    touched = [(k[0], acc) for k, acc in batch.touched.items()]
    await loyalty_repo.save(
        conn,
        touched,
        [(k[0], r) for k, r in batch.redemptions.items() if r.new or r.dirty],
        actor=ACTOR,
        now=now,
    )
    changed = [s for s in batch.states.values() if s.lines_changed and not s.new]
    await repo.save(conn, batch.sale_records, changed, batch.returns, now)
    # One change event per touched account (its lots are not all loaded: no available/pending split).
    batch.messages.extend(
        change_message(org, account_change(acc), batch.correlation.get((org, acc.customer_id)), at=now)
        for org, acc in touched
    )
    await publish(conn, batch.messages)


def _skip(
    batch: _Batch,
    env: EventEnvelope,
    sale: SaleRecorded,
    reason: str,
    ref: tuple[str | None, str | None, str | None] = (None, None, None),
) -> None:
    key = (env.org_code, sale.order_id)
    batch.sale_records.append(
        SaleRecord(
            env.org_code,
            sale.sale_id,
            sale.order_id,
            "skipped",
            reason,
            None,
            ref,
            sale.currency,
            0,
            0,
            None,
            _tender_points(sale.tenders)[0],
            None,
            sale.occurred_at,
        )
    )
    if key not in batch.states:
        batch.states[key] = SaleState(
            env.org_code, sale.order_id, sale.sale_id, "skipped", reason, None, None, None, None
        )
        for parked in batch.parked.pop(key, []):
            _apply_return_to(batch, key, parked, env.correlation_id)


def _apply_sale(batch: _Batch, env: EventEnvelope, found: tuple[str, str] | None) -> None:
    sale = env.payload_as(SaleRecorded)
    org = env.org_code
    key = (org, sale.order_id)
    if key in batch.states:
        _skip(batch, env, sale, "duplicate-order")
        return
    if sale.customer is None:
        _skip(batch, env, sale, "guest")
        return
    if found is None:
        _skip(batch, env, sale, "unknown-customer", _customer_ref(sale))
        return
    customer_id, status = found
    locked = batch.accounts.get((org, customer_id))
    if locked is None:  # the customer has no account row: cannot happen for customers made by the API
        _skip(batch, env, sale, "unknown-customer", _customer_ref(sale))
        return
    if status != "active":
        _skip(batch, env, sale, f"customer-{status}")
        return
    account = locked.account
    policy = batch.policies[org].policy
    batch.touched[(org, customer_id)] = account
    batch.correlation[(org, customer_id)] = env.correlation_id
    reason = f"scm sale {sale.sale_id}"

    # The loyalty tender first: those points were spent at the till, before this sale earned any.
    tender_points, tender_minor = _tender_points(sale.tenders)
    redemption_id = None
    if tender_points:
        _, red = account.redeem(
            tender_points,
            batch.now,
            None,
            reason=reason,
            source_ref=sale.order_id,
            force=True,
            as_of=sale.occurred_at,
        )
        batch.redemptions[(org, red.redemption_id)] = red
        redemption_id = red.redemption_id
        batch.messages.append(
            loyalty_event(
                org,
                LOYALTY_REDEEMED,
                redemption_id=red.redemption_id,
                customer_id=customer_id,
                points=tender_points,
                available_after=account.balance(batch.now).available,
                source_ref=sale.order_id,
                reason=reason,
                ctx_now=batch.now,
                correlation_id=env.correlation_id,
                value=Money(amount_minor=tender_minor, currency=sale.currency),
            )
        )

    eligible = [ln for ln in sale.lines if policy.is_eligible_sku(ln.sku)]
    eligible_minor = sum(ln.net_amount_minor for ln in eligible)
    note: str | None = None
    prior = batch.prior_earns.get(key)
    earn_entry_id: str | None = None
    earn_lot_id: str | None = None
    if prior is not None:
        # An earn for this order was already made (e.g. by the API): one earn per order.
        points = int(prior["points"])
        earn_entry_id, earn_lot_id = prior["entry_id"], prior["lot_id"]
        note = "already-earned"
    elif sale.currency != policy.currency:
        points = 0
        note = "currency-mismatch"
    else:
        points = points_for_amount(eligible_minor, sale.currency, policy)
        entry, lot = account.earn(
            points, batch.now, policy, reason=reason, source_ref=sale.order_id, earned_at=sale.occurred_at
        )
        earn_entry_id, earn_lot_id = entry.entry_id, lot.lot_id if lot else None
    shares = allocate(points, [ln.net_amount_minor for ln in eligible]) if eligible else []
    share_of = {ln.line_id: s for ln, s in zip(eligible, shares, strict=True)}
    state = SaleState(
        org,
        sale.order_id,
        sale.sale_id,
        "applied",
        note,
        customer_id,
        earn_entry_id,
        earn_lot_id,
        redemption_id,
        new=True,
    )
    for ln in sale.lines:
        state.lines[ln.line_id] = LineState(
            ln.line_id, ln.sku, ln.qty, ln.net_amount_minor, share_of.get(ln.line_id, 0)
        )
    batch.states[key] = state
    batch.sale_records.append(
        SaleRecord(
            org,
            sale.sale_id,
            sale.order_id,
            "applied",
            note,
            customer_id,
            (None, None, None),
            sale.currency,
            eligible_minor,
            points if prior is None else 0,
            earn_entry_id,
            tender_points,
            redemption_id,
            sale.occurred_at,
            state,
        )
    )
    for parked in batch.parked.pop(key, []):
        _apply_return_to(batch, key, parked, env.correlation_id)


def _apply_return(batch: _Batch, env: EventEnvelope) -> None:
    ret = env.payload_as(ReturnRecorded)
    key = (env.org_code, ret.order_id)
    record = ReturnRecord(
        env.org_code, ret.return_id, ret.order_id, "parked", None, ret.model_dump(mode="json")
    )
    batch.returns.append(record)
    if key not in batch.states:
        batch.parked.setdefault(key, []).append(record)  # applied when (if) the sale arrives in this batch
        return
    _apply_return_to(batch, key, record, env.correlation_id)


def _apply_return_to(batch: _Batch, key: Key, record: ReturnRecord, correlation_id: str | None) -> None:
    if not any(r is record for r in batch.returns):
        batch.returns.append(record)
    state = batch.states[key]
    if state.status != "applied" or state.customer_id is None:
        record.status, record.reason = "skipped", f"sale-skipped:{state.reason}"
        return
    ret = ReturnRecorded.model_validate(record.payload)
    org = key[0]
    locked = batch.accounts.get((org, state.customer_id))
    if locked is None:  # pragma: no cover - the account was locked when the batch began
        record.status, record.reason = "skipped", "no-loyalty-account"
        return
    account = locked.account
    batch.touched[(org, state.customer_id)] = account
    batch.correlation.setdefault((org, state.customer_id), correlation_id)
    reason = f"scm return {ret.return_id}"
    record.status = "applied"

    tender_points, tender_minor = _tender_points(ret.tenders)
    if tender_points:
        red = batch.redemptions.get((org, state.redemption_id or ""))
        if red is None:
            record.notes.append({"note": "no-loyalty-redemption", "points": tender_points})
        else:
            give = min(tender_points, red.restorable)
            if give < tender_points:
                record.notes.append({"note": "restore-capped", "asked": tender_points, "restored": give})
            if give:
                policy = batch.policies[org].policy
                account.restore(red, give, batch.now, policy, reason=reason, source_ref=ret.return_id)
                record.restored_points += give
                batch.messages.append(
                    loyalty_event(
                        org,
                        LOYALTY_RESTORED,
                        redemption_id=red.redemption_id,
                        customer_id=state.customer_id,
                        points=give,
                        available_after=account.balance(batch.now).available,
                        source_ref=ret.order_id,
                        reason=reason,
                        ctx_now=batch.now,
                        correlation_id=correlation_id,
                        value=Money(amount_minor=tender_minor, currency=ret.currency),
                    )
                )

    reversal = 0
    for rl in ret.lines:
        line = state.lines.get(rl.line_id)
        if line is None:
            record.notes.append({"note": "unknown-line", "line_id": rl.line_id})
            continue
        if line.returned_qty + rl.qty > line.qty:
            record.notes.append({"note": "over-return", "line_id": rl.line_id, "qty": rl.qty})
        pts = cumulative_reversal(line.points, line.qty, line.returned_qty, rl.qty)
        line.returned_qty = min(line.qty, line.returned_qty + rl.qty)
        line.reversed_points += pts
        state.lines_changed = True
        reversal += pts
    if reversal and state.earn_lot_id and state.earn_lot_id in account.lots:
        lot = account.lots[state.earn_lot_id]
        take = min(reversal, lot.points - lot.reversed)
        if take < reversal:
            record.notes.append({"note": "reversal-capped", "asked": reversal, "reversed": take})
        if take:
            account.reverse(lot, take, batch.now, reason=reason, source_ref=ret.return_id)
            record.reversed_points += take
