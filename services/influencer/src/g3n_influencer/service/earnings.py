"""Earning use cases: list, hold, clear holds, release, clawback, and the scheduled moves.

Batch calls (``earning_ids``) are all-or-nothing: every earning is locked (id order) and checked
first; if one cannot make the move the call fails with ``invalid-state`` naming it and nothing
changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from g3n_kit.db import Database
from g3n_kit.errors import InvalidState, ValidationFailed

from g3n_influencer.adapters import earnings as repo
from g3n_influencer.adapters import events, ledger
from g3n_influencer.adapters import lines as lines_repo
from g3n_influencer.adapters.earnings import EarningState
from g3n_influencer.adapters.events import Change
from g3n_influencer.domain.earnings import (
    check_hold,
    check_hold_clear,
    check_release,
    resolve_manual_clawback,
    spread_clawback,
    status_after_clawback,
)
from g3n_influencer.service.context import Actor
from g3n_influencer.service.models import (
    ClawbackResult,
    Earning,
    Earnings,
    EarningsClawback,
    EarningsHold,
    EarningsHoldClear,
    EarningsList,
    EarningsRelease,
)

JOB_BATCH = 500


def _now() -> datetime:
    return datetime.now(UTC)


async def list_earnings(
    conn: asyncpg.Connection, actor: Actor, cmd: EarningsList
) -> tuple[list[Earning], str | None, dict[str, Any]]:
    return await repo.list_page(conn, actor.org_code, cmd)


async def _changed(
    conn: asyncpg.Connection, actor: Actor, states: Sequence[EarningState], action: str
) -> Earnings:
    await repo.save(conn, states)
    await events.emit(
        conn,
        actor,
        [Change("earning", s.earning_id, action, repo.summary(s), s.revision, s.org_code) for s in states],
    )
    return Earnings(earnings=await repo.get_many(conn, actor.org_code, [s.earning_id for s in states]))


def hold_states(
    states: Sequence[EarningState],
    *,
    reason: str,
    until: datetime | None,
    dispute_id: str | None,
    actor: Actor,
) -> list[ledger.Entry]:
    """Put locked earnings on hold (checked first, all or nothing); returns the ledger entries."""
    for s in states:
        check_hold(s.earning_id, s.status)
    entries = []
    now = _now()
    for s in states:
        entries.append(
            s.move(
                "hold",
                status_from=s.status,
                status_to="held",
                source=actor.source,
                actor=actor.actor,
                reason=reason,
                dispute_id=dispute_id,
            )
        )
        s.held_from, s.status = s.status, "held"
        s.hold_reason, s.hold_until, s.hold_dispute_id, s.held_at = reason, until, dispute_id, now
        s.dirty = True
    return entries


def clear_states(
    states: Sequence[EarningState], *, note: str | None, actor: Actor, dispute_id: str | None = None
) -> list[ledger.Entry]:
    """Clear holds of locked earnings (back to where each came from)."""
    for s in states:
        check_hold_clear(s.earning_id, s.status)
        if s.hold_dispute_id is not None and s.hold_dispute_id != dispute_id:
            raise InvalidState(
                f"earning {s.earning_id} is held by dispute {s.hold_dispute_id}: resolve the dispute first",
                state="held",
                required=f"dispute {s.hold_dispute_id} resolved",
                earning_id=s.earning_id,
            )
    entries = []
    for s in states:
        assert s.held_from is not None
        entries.append(
            s.move(
                "hold_clear",
                status_from="held",
                status_to=s.held_from,
                source=actor.source,
                actor=actor.actor,
                reason=note,
                dispute_id=dispute_id,
            )
        )
        s.status = s.held_from
        s.clear_hold()
        s.dirty = True
    return entries


def clawback_state(
    s: EarningState, amount: int, *, reason: str, actor: Actor, dispute_id: str | None = None
) -> tuple[ledger.Entry, int]:
    """Take ``amount`` off a locked earning; returns the ledger entry and the carry-over booked."""
    before = s.status
    s.clawed_back_minor += amount
    s.status = status_after_clawback(before, s.net_minor)
    if s.status == "reversed":
        s.clear_hold()
    s.dirty = True
    entry = ledger.clawback(
        s.org_code,
        s.profile_id,
        s.currency,
        s.earning_id,
        amount,
        status_from=before,
        status_to=s.status,
        reason=reason,
        source=actor.source,
        actor=actor.actor,
        dispute_id=dispute_id,
    )
    return entry, entry.carry_over_delta_minor


async def spread_to_lines(conn: asyncpg.Connection, org: str, attribution_id: str, amount: int) -> None:
    """Record a manual clawback on the earning's lines (largest remainder over what remains)."""
    lines = await lines_repo.load(conn, org, attribution_id)
    parts = spread_clawback(amount, [ln.amount_minor - ln.clawed_back_minor for ln in lines])
    for ln, part in zip(lines, parts, strict=True):
        ln.clawed_back_minor += part
    await lines_repo.store(conn, [(org, attribution_id, lines)])


async def hold_earnings(conn: asyncpg.Connection, actor: Actor, cmd: EarningsHold) -> Earnings:
    if cmd.until is not None and cmd.until <= _now():
        raise ValidationFailed(
            "until must be in the future", [{"path": "until", "message": "must be in the future"}]
        )
    states = await repo.lock(conn, actor.org_code, cmd.earning_ids)
    await ledger.append(
        conn, hold_states(states, reason=cmd.reason, until=cmd.until, dispute_id=None, actor=actor)
    )
    return await _changed(conn, actor, states, "held")


async def clear_earning_holds(conn: asyncpg.Connection, actor: Actor, cmd: EarningsHoldClear) -> Earnings:
    states = await repo.lock(conn, actor.org_code, cmd.earning_ids)
    await ledger.append(conn, clear_states(states, note=cmd.note, actor=actor))
    return await _changed(conn, actor, states, "hold_cleared")


async def release_earnings(conn: asyncpg.Connection, actor: Actor, cmd: EarningsRelease) -> Earnings:
    states = await repo.lock(conn, actor.org_code, cmd.earning_ids)
    for s in states:
        check_release(s.earning_id, s.status)
    now = _now()
    entries = []
    for s in states:
        early = s.available_at > now
        entries.append(
            s.move(
                "release",
                status_from="pending",
                status_to="released",
                source=actor.source,
                actor=actor.actor,
                reason="released early by finance" if early else "released by finance",
            )
        )
        s.status, s.released_at, s.dirty = "released", now, True
    await ledger.append(conn, entries)
    return await _changed(conn, actor, states, "released")


async def clawback_earning(conn: asyncpg.Connection, actor: Actor, cmd: EarningsClawback) -> ClawbackResult:
    (s,) = await repo.lock(conn, actor.org_code, [cmd.earning_id])
    amount = resolve_manual_clawback(
        earning_id=s.earning_id, status=s.status, net_minor=s.net_minor, requested=cmd.amount_minor
    )
    await spread_to_lines(conn, actor.org_code, s.attribution_id, amount)
    entry, carry = clawback_state(s, amount, reason=cmd.reason, actor=actor)
    await ledger.append(conn, [entry])
    await ledger.add_carry_over(conn, {(s.org_code, s.profile_id, s.currency): carry})
    out = await _changed(conn, actor, [s], "clawed_back")
    return ClawbackResult(earning=out.earnings[0], clawed_back_minor=amount, carry_over_minor=carry)


# --- scheduled ------------------------------------------------------------------------------


async def _job_batch(db: Database, select_sql: str, apply: str, name: str) -> int:
    """One batch of a job: lock due earnings with SKIP LOCKED (two schedulers split the work,
    never wait on each other or double-apply), move them, write ledger rows and events."""
    async with db.transaction() as conn:
        rows = await conn.fetch(select_sql, JOB_BATCH)
        if not rows:
            return 0
        states = [repo.state_of(r["org_code"], r) for r in rows]
        actor = Actor(org_code=states[0].org_code, actor=f"job:{name}", source="scheduler")
        entries = []
        now = _now()
        for s in states:
            if apply == "release":
                entries.append(
                    s.move(
                        "release",
                        status_from="pending",
                        status_to="released",
                        source="scheduler",
                        actor=actor.actor,
                        reason="holding period over",
                    )
                )
                s.status, s.released_at = "released", now
            else:
                assert s.held_from is not None
                entries.append(
                    s.move(
                        "hold_clear",
                        status_from="held",
                        status_to=s.held_from,
                        source="scheduler",
                        actor=actor.actor,
                        reason="hold expired",
                    )
                )
                s.status = s.held_from
                s.clear_hold()
            s.dirty = True
        await repo.save(conn, states)
        await ledger.append(conn, entries)
        action = "released" if apply == "release" else "hold_cleared"
        await events.emit(
            conn,
            actor,
            [
                Change("earning", s.earning_id, action, repo.summary(s), s.revision, s.org_code)
                for s in states
            ],
        )
        return len(states)


_DUE_SQL = f"""SELECT e.org_code, {repo.COLUMNS} FROM ifm_earnings e
    WHERE e.status = 'pending' AND e.available_at <= now()
    ORDER BY e.available_at, e.org_code, e.earning_id LIMIT $1 FOR UPDATE SKIP LOCKED"""

_EXPIRED_SQL = f"""SELECT e.org_code, {repo.COLUMNS} FROM ifm_earnings e
    WHERE e.status = 'held' AND e.hold_until IS NOT NULL AND e.hold_until <= now()
      AND e.hold_dispute_id IS NULL
    ORDER BY e.hold_until, e.org_code, e.earning_id LIMIT $1 FOR UPDATE SKIP LOCKED"""


async def auto_release(db: Database) -> int:
    """Release pending earnings whose holding period has passed; returns how many."""
    total = 0
    while (n := await _job_batch(db, _DUE_SQL, "release", "auto-release")) > 0:
        total += n
        if n < JOB_BATCH:
            break
    return total


async def expire_holds(db: Database) -> int:
    """Clear holds whose ``until`` has passed (dispute holds wait for the dispute)."""
    total = 0
    while (n := await _job_batch(db, _EXPIRED_SQL, "clear", "hold-expiry")) > 0:
        total += n
        if n < JOB_BATCH:
            break
    return total


async def purge_parked_returns(db: Database, *, retention_days: int) -> int:
    async with db.transaction() as conn:
        status = await conn.execute(
            "DELETE FROM ifm_parked_returns WHERE parked_at < now() - make_interval(days => $1)",
            retention_days,
        )
    return int(status.split()[-1])
