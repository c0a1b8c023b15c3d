"""Dispute use cases: an open dispute holds its earnings; ``upheld`` clears the holds,
``rejected`` claws the earnings back (all that remains)."""

from __future__ import annotations

import asyncpg
from g3n_kit.errors import check_revision
from g3n_kit.ids import new_id

from g3n_influencer.adapters import disputes as repo
from g3n_influencer.adapters import earnings as earnings_repo
from g3n_influencer.adapters import events, ledger
from g3n_influencer.adapters.events import Change
from g3n_influencer.domain.disputes import check_dispute_resolution
from g3n_influencer.service.context import Actor
from g3n_influencer.service.earnings import clawback_state, clear_states, hold_states, spread_to_lines
from g3n_influencer.service.models import Dispute, DisputeCreate, DisputeGet, DisputeList, DisputeStatusSet


async def create_dispute(conn: asyncpg.Connection, actor: Actor, cmd: DisputeCreate) -> Dispute:
    earning_ids = sorted(set(cmd.earning_ids))
    states = await earnings_repo.lock(conn, actor.org_code, earning_ids)
    dispute_id = new_id("dsp")
    entries = hold_states(
        states, reason=f"dispute: {cmd.reason}", until=None, dispute_id=dispute_id, actor=actor
    )
    await repo.insert(conn, actor.org_code, dispute_id, earning_ids, cmd.reason, cmd.note, actor.actor)
    await earnings_repo.save(conn, states)
    await ledger.append(conn, entries)
    dispute = repo.to_dispute(await repo.load(conn, actor.org_code, dispute_id))
    await events.emit(
        conn,
        actor,
        [Change("dispute", dispute_id, "opened", dispute, dispute.revision)]
        + [Change("earning", s.earning_id, "held", earnings_repo.summary(s), s.revision) for s in states],
    )
    return dispute


async def resolve_dispute(conn: asyncpg.Connection, actor: Actor, cmd: DisputeStatusSet) -> Dispute:
    row = await repo.load(conn, actor.org_code, cmd.dispute_id, lock=True)
    check_revision(expected=cmd.expected_revision, current=row["revision"], what=f"dispute {cmd.dispute_id}")
    check_dispute_resolution(cmd.dispute_id, row["status"], cmd.status)
    states = await earnings_repo.lock(conn, actor.org_code, list(row["earning_ids"]))
    # Earnings still held by this dispute move; ones clawed back to zero meanwhile stay as they are.
    held = [s for s in states if s.status == "held" and s.hold_dispute_id == cmd.dispute_id]
    carry: dict[tuple[str, str, str], int] = {}
    entries: list[ledger.Entry] = []
    if cmd.status == "upheld":
        entries = clear_states(held, note=cmd.note, actor=actor, dispute_id=cmd.dispute_id)
        action = "hold_cleared"
    else:
        for s in held:
            amount = s.net_minor
            await spread_to_lines(conn, actor.org_code, s.attribution_id, amount)
            entry, c = clawback_state(
                s,
                amount,
                reason=f"dispute {cmd.dispute_id} rejected: {cmd.note}",
                actor=actor,
                dispute_id=cmd.dispute_id,
            )
            entries.append(entry)
            key = (s.org_code, s.profile_id, s.currency)
            carry[key] = carry.get(key, 0) + c
        action = "clawed_back"
    await earnings_repo.save(conn, held)
    await ledger.append(conn, entries)
    await ledger.add_carry_over(conn, carry)
    await repo.resolve(conn, actor.org_code, cmd.dispute_id, cmd.status, cmd.note)
    dispute = repo.to_dispute(await repo.load(conn, actor.org_code, cmd.dispute_id))
    changes: list[Change] = [Change("dispute", cmd.dispute_id, cmd.status, dispute, dispute.revision)]
    changes += [Change("earning", s.earning_id, action, earnings_repo.summary(s), s.revision) for s in held]
    await events.emit(conn, actor, changes)
    return dispute


async def get_dispute(conn: asyncpg.Connection, actor: Actor, cmd: DisputeGet) -> Dispute:
    return repo.to_dispute(await repo.load(conn, actor.org_code, cmd.dispute_id))


async def list_disputes(
    conn: asyncpg.Connection, actor: Actor, cmd: DisputeList
) -> tuple[list[Dispute], str | None]:
    return await repo.list_page(conn, actor.org_code, cmd)
