"""Payout use cases: submit (netting carry-over, published once to accounting through the
outbox), get/list, and accounting's settlement / failure."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
from g3n_contracts import (
    Payee,
    PayoutFailed,
    PayoutMethod,
    PayoutRecorded,
    PayoutSettled,
    event_types,
    topics,
)
from g3n_kit.errors import NotFound
from g3n_kit.ids import new_id
from g3n_kit.outbox import publish_event

from g3n_influencer.adapters import earnings as earnings_repo
from g3n_influencer.adapters import events, ledger
from g3n_influencer.adapters import payouts as repo
from g3n_influencer.adapters.events import Change
from g3n_influencer.domain import payouts as rules
from g3n_influencer.domain.earnings import status_after_payout_failure
from g3n_influencer.service.context import Actor
from g3n_influencer.service.models import (
    Payout,
    PayoutGet,
    PayoutList,
    PayoutSubmit,
    PayoutSubmitResult,
    SkippedProfile,
)

log = logging.getLogger(__name__)

PRODUCER = "ifm"


async def submit_payouts(conn: asyncpg.Connection, actor: Actor, cmd: PayoutSubmit) -> PayoutSubmitResult:
    org = actor.org_code
    named = cmd.profile_ids is not None
    profile_ids = (
        sorted(set(cmd.profile_ids))
        if cmd.profile_ids
        else await repo.candidate_profiles(conn, org, cmd.currency)
    )
    profiles = await repo.lock_profiles(conn, org, profile_ids)
    missing = [p for p in profile_ids if p not in profiles]
    if missing:
        raise NotFound(f"profile {missing[0]} not found", {"profile_ids": missing})
    single = named and len(profile_ids) == 1
    paid: list[Payout] = []
    skipped: list[SkippedProfile] = []
    for profile_id in profile_ids:
        prof = profiles[profile_id]
        outcome = await _pay_one(conn, actor, prof, cmd)
        if isinstance(outcome, rules.Skip):
            if single:
                rules.check_payable_single(profile_id, outcome)
            skipped.append(
                SkippedProfile(profile_id=profile_id, reason=outcome.reason, message=outcome.message)
            )
        else:
            paid.append(outcome)
    return PayoutSubmitResult(payouts=paid, skipped=skipped)


async def _pay_one(
    conn: asyncpg.Connection, actor: Actor, prof: asyncpg.Record, cmd: PayoutSubmit
) -> Payout | rules.Skip:
    org, profile_id = actor.org_code, prof["profile_id"]
    if prof["status"] != "active":
        return rules.Skip(rules.SKIP_NOT_ACTIVE, f"profile is {prof['status']}")
    if not prof["payout_ready"]:
        return rules.Skip(rules.SKIP_NOT_READY, "finance has not marked the profile payout-ready")
    states = await repo.lock_released(conn, org, profile_id, cmd.currency)
    carry = await ledger.carry_over(conn, org, profile_id, cmd.currency, lock=True)
    plan = rules.plan_payout(
        released_nets=[s.net_minor for s in states],
        carry_over_minor=carry,
        min_amount_minor=cmd.min_amount_minor,
    )
    if isinstance(plan, rules.Skip):
        return plan
    payout_id = new_id("pay")
    now = datetime.now(UTC)
    method = prof["payout_method"]
    payee = Payee(handle=prof["handle"], payout_method=PayoutMethod(**method) if method else None)
    earning_ids = [s.earning_id for s in states]
    entries: list[ledger.Entry] = []
    for s in states:
        entries.append(
            ledger.move(
                org,
                profile_id,
                s.currency,
                s.earning_id,
                "paid",
                s.net_minor,
                status_from="released",
                status_to="paid",
                source=actor.source,
                actor=actor.actor,
                payout_id=payout_id,
            )
        )
        s.status, s.payout_id, s.dirty = "paid", payout_id, True
    entries.append(
        ledger.Entry(
            org,
            profile_id,
            cmd.currency,
            "payout",
            plan.amount_minor,
            -plan.amount_minor,
            -plan.carry_over_netted_minor,
            payout_id=payout_id,
            source=actor.source,
            actor=actor.actor,
            reason="payout submitted",
        )
    )
    await earnings_repo.save(conn, states)
    await ledger.append(conn, entries)
    await ledger.add_carry_over(conn, {(org, profile_id, cmd.currency): -plan.carry_over_netted_minor})
    await repo.insert(
        conn,
        org,
        payout_id=payout_id,
        profile_id=profile_id,
        currency=cmd.currency,
        amount=plan.amount_minor,
        released=plan.released_minor,
        carry_over=plan.carry_over_netted_minor,
        earning_ids=earning_ids,
        payee=payee.model_dump(mode="json"),
        submitted_at=now,
        actor=actor.actor,
    )
    record = PayoutRecorded(
        payout_id=payout_id,
        profile_id=profile_id,
        payee=payee,
        currency=cmd.currency,
        amount_minor=plan.amount_minor,
        earning_ids=tuple(earning_ids),
        carry_over_minor=max(0, plan.carry_over_netted_minor),
        submitted_at=now,
    )
    # Exactly once: this row commits with the payout or not at all; its event_id never changes,
    # so a relay crash that republishes it is deduplicated by accounting.
    await publish_event(
        conn,
        topics.ACCOUNTING_PAYOUTS,
        event_types.PAYOUT_RECORDED,
        record,
        org_code=org,
        source=PRODUCER,
        correlation_id=actor.correlation_id,
    )
    payout = await repo.get(conn, org, payout_id)
    await events.emit(
        conn,
        actor,
        [Change("payout", payout_id, "submitted", payout, payout.revision)]
        + [Change("earning", s.earning_id, "paid", earnings_repo.summary(s), s.revision) for s in states],
    )
    return payout


async def get_payout(conn: asyncpg.Connection, actor: Actor, cmd: PayoutGet) -> Payout:
    return await repo.get(conn, actor.org_code, cmd.payout_id)


async def list_payouts(
    conn: asyncpg.Connection, actor: Actor, cmd: PayoutList
) -> tuple[list[Payout], str | None]:
    return await repo.list_page(conn, actor.org_code, cmd)


# --- accounting ---------------------------------------------------------------------------------


def _history(status: str, note: str, **extra: Any) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC).isoformat(),
        "status": status,
        "note": note,
        "actor": "accounting",
        **extra,
    }


async def settle_payout(conn: asyncpg.Connection, actor: Actor, event: PayoutSettled) -> bool:
    """Accounting settled a payout; False (logged, nothing changed) when unknown or not submitted."""
    row = await repo.load(conn, actor.org_code, event.payout_id, lock=True)
    if row is None:
        log.warning(
            "settlement for unknown payout", extra={"org_code": actor.org_code, "payout_id": event.payout_id}
        )
        return False
    outcome = rules.settle(row["status"])
    if not outcome.changed:
        log.info("settlement ignored", extra={"payout_id": event.payout_id, "status": row["status"]})
        return False
    await repo.set_status(
        conn,
        actor.org_code,
        event.payout_id,
        {"status": "settled", "settled_at": event.settled_at, "settlement_reference": event.reference},
        _history("settled", outcome.note, reference=event.reference),
    )
    payout = await repo.get(conn, actor.org_code, event.payout_id)
    await events.emit_one(conn, actor, "payout", payout.payout_id, "settled", payout, payout.revision)
    return True


async def fail_payout(conn: asyncpg.Connection, actor: Actor, event: PayoutFailed) -> bool:
    """Accounting failed a payout: its earnings go back to ``released`` (``reversed`` when clawed
    back to zero meanwhile), the paid amount and the netted carry-over are restored, and
    carry-over booked by clawbacks while paid is cancelled (that money never left)."""
    org = actor.org_code
    row = await repo.load(conn, org, event.payout_id, lock=True)
    if row is None:
        log.warning("failure for unknown payout", extra={"org_code": org, "payout_id": event.payout_id})
        return False
    outcome = rules.fail(row["status"])
    if not outcome.changed:
        log.warning("payout failure ignored", extra={"payout_id": event.payout_id, "status": row["status"]})
        if row["status"] == "settled":
            await repo.set_status(
                conn, org, event.payout_id, {}, _history(row["status"], outcome.note, reason=event.reason)
            )
        return False
    profile_id, currency = row["profile_id"], row["currency"]
    states = await repo.lock_paid_earnings(conn, org, event.payout_id)
    clawed = await repo.clawed_while_paid(conn, org, event.payout_id)
    entries: list[ledger.Entry] = []
    cancelled = 0
    for s in states:
        to = status_after_payout_failure(s.net_minor)
        entries.append(
            ledger.move(
                org,
                profile_id,
                currency,
                s.earning_id,
                "unpaid",
                s.net_minor,
                status_from="paid",
                status_to=to,
                source=actor.source,
                actor=actor.actor,
                payout_id=event.payout_id,
                reason=f"payout failed: {event.reason}",
            )
        )
        s.status, s.payout_id, s.dirty = to, None, True
        c = clawed.get(s.earning_id, 0)
        if c:
            cancelled += c
            entries.append(
                ledger.Entry(
                    org,
                    profile_id,
                    currency,
                    "carry_over_cancelled",
                    c,
                    0,
                    -c,
                    earning_id=s.earning_id,
                    payout_id=event.payout_id,
                    source=actor.source,
                    actor=actor.actor,
                    reason="clawback after a payout that failed",
                )
            )
    netted = int(row["carry_over_minor"])
    entries.append(
        ledger.Entry(
            org,
            profile_id,
            currency,
            "payout_failed",
            row["amount_minor"],
            row["amount_minor"],
            netted,
            payout_id=event.payout_id,
            source=actor.source,
            actor=actor.actor,
            reason=event.reason,
        )
    )
    await earnings_repo.save(conn, states)
    await ledger.append(conn, entries)
    await ledger.add_carry_over(conn, {(org, profile_id, currency): netted - cancelled})
    await repo.set_status(
        conn,
        org,
        event.payout_id,
        {"status": "failed", "failed_at": event.failed_at, "failure_reason": event.reason},
        _history("failed", outcome.note, reason=event.reason),
    )
    payout = await repo.get(conn, org, event.payout_id)
    await events.emit(
        conn,
        actor,
        [Change("payout", payout.payout_id, "failed", payout, payout.revision)]
        + [
            Change("earning", s.earning_id, "payout_failed", earnings_repo.summary(s), s.revision)
            for s in states
        ],
    )
    return True
