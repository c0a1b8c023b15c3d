"""Use cases: customers and consent."""

from __future__ import annotations

from typing import Any

import asyncpg
from g3n_kit.errors import Conflict, NotFound, ValidationFailed, check_revision
from g3n_kit.ids import new_id
from g3n_kit.paging import Cursor, keyset_condition, page_of, start_cursor

from g3n_crm.adapters import customers as repo
from g3n_crm.adapters import giftcards as gift_repo
from g3n_crm.adapters import loyalty as loyalty_repo
from g3n_crm.adapters import privacy
from g3n_crm.adapters.events import Change, publish_changes
from g3n_crm.domain import consent as consent_rules
from g3n_crm.domain.customer import (
    require_identifier,
    require_writable,
)
from g3n_crm.domain.loyalty import Balance
from g3n_crm.service.checks import exactly_one
from g3n_crm.service.context import Ctx
from g3n_crm.service.schemas import (
    BalanceOut,
    ConsentEntryOut,
    ConsentList,
    ConsentPage,
    ConsentSet,
    CustomerAnonymize,
    CustomerCreate,
    CustomerGet,
    CustomerList,
    CustomerOut,
    CustomerPage,
    CustomerStatusSet,
    CustomerUpdate,
    GiftCardSummary,
)

ZERO = Balance(0, 0, 0)


def balance_out(b: Balance) -> BalanceOut:
    return BalanceOut(available=b.available, pending=b.pending, debt=b.debt)


def customer_out(
    row: asyncpg.Record, balance: Balance, giftcards: list[GiftCardSummary] | None = None
) -> CustomerOut:
    return CustomerOut(
        customer_id=row["customer_id"],
        status=row["status"],
        status_reason=row["status_reason"],
        email=row["email"],
        phone=row["phone"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        external_ref=row["external_ref"],
        locale=row["locale"],
        tags=list(row["tags"]),
        consents=dict(row["consents"]),
        loyalty=balance_out(balance),
        giftcards=giftcards,
        revision=row["revision"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        anonymized_at=row["anonymized_at"],
    )


def _change(row: asyncpg.Record, action: str, changed: list[str] | None = None, **extra: Any) -> Change:
    data: dict[str, Any] = {"customer_id": row["customer_id"], "status": row["status"], **extra}
    if changed is not None:
        data["changed_fields"] = changed
    return Change("customer", row["customer_id"], action, data, row["revision"])


def _not_found(what: str) -> NotFound:
    return NotFound(f"customer {what} not found")


async def _locked(ctx: Ctx, customer_id: str) -> asyncpg.Record:
    row = await repo.get(ctx.conn, ctx.org_code, customer_id=customer_id, lock=True)
    if row is None:
        raise _not_found(customer_id)
    return row


async def _balance(ctx: Ctx, customer_id: str) -> Balance:
    found = await loyalty_repo.balances(ctx.conn, [(ctx.org_code, customer_id)], ctx.now)
    return found.get((ctx.org_code, customer_id), ZERO)


async def _check_unique(ctx: Ctx, email: str | None, external_ref: str | None, exclude: str | None) -> None:
    if email is None and external_ref is None:
        return
    clash = await repo.taken(ctx.conn, ctx.org_code, email, external_ref, exclude)
    if clash:
        raise Conflict(
            f"another customer of this org already has this {' and '.join(clash)}",
            {
                "fields": [
                    {"path": f, "message": "already taken (compared case-insensitively)"} for f in clash
                ]
            },
        )


async def create(ctx: Ctx, cmd: CustomerCreate) -> CustomerOut:
    require_identifier(cmd.email, cmd.phone, cmd.external_ref)
    await _check_unique(ctx, cmd.email, cmd.external_ref, None)
    customer_id = new_id("cus")
    row = await repo.insert(ctx.conn, ctx.org_code, customer_id, cmd.model_dump(), ctx.now)
    await loyalty_repo.create_accounts(ctx.conn, [(ctx.org_code, customer_id)], ctx.now)
    await publish_changes(ctx.conn, ctx.org_code, [_change(row, "created")], ctx.correlation_id)
    return customer_out(row, ZERO)


async def get(ctx: Ctx, cmd: CustomerGet) -> CustomerOut:
    by = exactly_one(cmd, "customer_id", "email", "external_ref")
    row = await repo.get(
        ctx.conn, ctx.org_code, customer_id=cmd.customer_id, email=cmd.email, external_ref=cmd.external_ref
    )
    if row is None:
        raise _not_found(str(cmd.customer_id) if by == "customer_id" else f"with this {by}")
    cards = await gift_repo.of_customers(ctx.conn, ctx.org_code, row["customer_id"])
    summaries = [
        GiftCardSummary(
            giftcard_id=c["giftcard_id"],
            last4=c["last4"],
            currency=c["currency"],
            balance_minor=c["balance_minor"],
            status=shown_status(c, ctx),
            expires_at=c["expires_at"],
        )
        for c in cards
    ]
    return customer_out(row, await _balance(ctx, row["customer_id"]), summaries)


def shown_status(card: asyncpg.Record, ctx: Ctx) -> str:
    if card["status"] == "void":
        return "void"
    if card["expires_at"] is not None and card["expires_at"] <= ctx.now:
        return "expired"
    return "active"


async def list_(ctx: Ctx, cmd: CustomerList) -> CustomerPage:
    scope = "customer.list"
    cursor = start_cursor(cmd, scope=scope)
    cond, args = keyset_condition(cursor, first_param=5, id_col="customer_id")
    rows = await repo.list_page(
        ctx.conn,
        ctx.org_code,
        status=cmd.status,
        email_prefix=cmd.email_prefix,
        tag=cmd.tag,
        keyset=cond,
        keyset_args=args,
        limit=cmd.limit,
    )
    items, token = page_of(
        rows, req=cmd, cursor_of=lambda r: Cursor(r["created_at"], r["customer_id"]), scope=scope
    )
    bal = await loyalty_repo.balances(ctx.conn, [(ctx.org_code, r["customer_id"]) for r in items], ctx.now)
    return CustomerPage(
        items=[customer_out(r, bal.get((ctx.org_code, r["customer_id"]), ZERO)) for r in items],
        next_token=token,
    )


async def update(ctx: Ctx, cmd: CustomerUpdate) -> CustomerOut:
    row = await _locked(ctx, cmd.customer_id)
    require_writable(cmd.customer_id, row["status"])
    check_revision(
        expected=cmd.expected_revision, current=row["revision"], what=f"customer {cmd.customer_id}"
    )
    fields = {k: getattr(cmd, k) for k in cmd.model_fields_set if k in repo.EDITABLE}
    if not fields:
        raise ValidationFailed(
            "nothing to update",
            [{"path": "body", "message": f"give at least one of {', '.join(repo.EDITABLE)}"}],
        )
    merged = {k: fields.get(k, row[k]) for k in ("email", "phone", "external_ref")}
    require_identifier(merged["email"], merged["phone"], merged["external_ref"])
    await _check_unique(ctx, fields.get("email"), fields.get("external_ref"), cmd.customer_id)
    changed = sorted(k for k, v in fields.items() if (list(row[k]) if k == "tags" else row[k]) != v)
    row = await repo.update_fields(ctx.conn, ctx.org_code, cmd.customer_id, fields, ctx.now)
    await publish_changes(ctx.conn, ctx.org_code, [_change(row, "updated", changed)], ctx.correlation_id)
    return customer_out(row, await _balance(ctx, cmd.customer_id))


async def set_status(ctx: Ctx, cmd: CustomerStatusSet) -> CustomerOut:
    row = await _locked(ctx, cmd.customer_id)
    require_writable(cmd.customer_id, row["status"])
    check_revision(
        expected=cmd.expected_revision, current=row["revision"], what=f"customer {cmd.customer_id}"
    )
    previous = row["status"]
    row = await repo.set_status(ctx.conn, ctx.org_code, cmd.customer_id, cmd.status, cmd.reason, ctx.now)
    await publish_changes(
        ctx.conn,
        ctx.org_code,
        [_change(row, "status_changed", previous_status=previous, reason=cmd.reason)],
        ctx.correlation_id,
    )
    return customer_out(row, await _balance(ctx, cmd.customer_id))


async def anonymize(ctx: Ctx, cmd: CustomerAnonymize) -> CustomerOut:
    row = await _locked(ctx, cmd.customer_id)
    require_writable(cmd.customer_id, row["status"])
    row = await repo.anonymize(ctx.conn, ctx.org_code, cmd.customer_id, cmd.reason, ctx.now)
    await privacy.scrub_stored_responses(ctx.conn, ctx.org_code, cmd.customer_id)
    await publish_changes(ctx.conn, ctx.org_code, [_change(row, "anonymized")], ctx.correlation_id)
    return customer_out(row, await _balance(ctx, cmd.customer_id))


# ---- consent -------------------------------------------------------------------------------------


def consent_out(r: asyncpg.Record) -> ConsentEntryOut:
    return ConsentEntryOut(
        consent_id=r["consent_id"],
        customer_id=r["customer_id"],
        channel=r["channel"],
        purpose=r["purpose"],
        status=r["status"],
        source=r["source"],
        method=r["method"],
        captured_at=r["captured_at"],
        proof=r["proof"],
        proof_erased=r["proof_erased_at"] is not None,
        recorded_at=r["recorded_at"],
    )


async def set_consent(ctx: Ctx, cmd: ConsentSet) -> CustomerOut:
    row = await _locked(ctx, cmd.customer_id)
    require_writable(cmd.customer_id, row["status"])
    check_revision(
        expected=cmd.expected_revision, current=row["revision"], what=f"customer {cmd.customer_id}"
    )
    captured_at = consent_rules.check_captured_at(cmd.captured_at, ctx.now)
    state = consent_rules.ConsentState(
        status=cmd.status,
        source=cmd.source,
        method=cmd.method,
        captured_at=captured_at,
        recorded_at=ctx.now,
        consent_id=new_id("cns"),
    )
    await repo.insert_consent(
        ctx.conn,
        ctx.org_code,
        {
            "consent_id": state.consent_id,
            "customer_id": cmd.customer_id,
            "channel": cmd.channel,
            "purpose": cmd.purpose,
            "status": cmd.status,
            "source": cmd.source,
            "method": cmd.method,
            "captured_at": captured_at,
            "proof": cmd.proof,
            "actor": ctx.actor,
            "recorded_at": ctx.now,
            "cc_code": ctx.cc_code,
            "channel_code": ctx.channel_code,
        },
    )
    consents = consent_rules.apply(dict(row["consents"]), cmd.channel, cmd.purpose, state)
    row = await repo.set_consents(ctx.conn, ctx.org_code, cmd.customer_id, consents, ctx.now)
    await publish_changes(
        ctx.conn,
        ctx.org_code,
        [
            _change(
                row,
                "consent_recorded",
                consent_id=state.consent_id,
                channel=cmd.channel,
                purpose=cmd.purpose,
                consent_status=consents[cmd.channel][cmd.purpose]["status"],
            )
        ],
        ctx.correlation_id,
    )
    return customer_out(row, await _balance(ctx, cmd.customer_id))


async def list_consents(ctx: Ctx, cmd: ConsentList) -> ConsentPage:
    if await repo.get(ctx.conn, ctx.org_code, customer_id=cmd.customer_id) is None:
        raise _not_found(cmd.customer_id)
    scope = "customer.consent.list"
    cursor = start_cursor(cmd, scope=scope)
    cond, args = keyset_condition(cursor, first_param=3, created_col="recorded_at", id_col="consent_id")
    rows = await repo.list_consents(ctx.conn, ctx.org_code, cmd.customer_id, cond, args, cmd.limit)
    items, token = page_of(
        rows, req=cmd, cursor_of=lambda r: Cursor(r["recorded_at"], r["consent_id"]), scope=scope
    )
    return ConsentPage(items=[consent_out(r) for r in items], next_token=token)
