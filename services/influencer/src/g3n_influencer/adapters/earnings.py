"""Earnings, their lines and history (SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from g3n_kit.errors import NotFound
from g3n_kit.paging import Cursor, keyset_condition, page_of, start_cursor

from g3n_influencer.adapters import ledger
from g3n_influencer.adapters import lines as lines_repo
from g3n_influencer.service.models import (
    Earning,
    EarningLineOut,
    EarningsList,
    HistoryEntry,
    HoldOut,
    StatusTotal,
    TierOut,
)

COLUMNS = """e.earning_id, e.attribution_id, e.profile_id, e.campaign_id, e.order_id, e.currency,
    e.occurred_at,
    e.basis_minor, e.amount_minor, e.clawed_back_minor, e.rule, e.rate_bps, e.flat_amount_minor, e.tier,
    e.prior_orders, e.holding_days, e.status, e.held_from, e.hold_reason, e.hold_until, e.hold_dispute_id,
    e.held_at, e.available_at, e.released_at, e.payout_id, e.revision, e.created_at, e.updated_at"""


@dataclass
class EarningState:
    """A locked earning row, mutated in memory and written back in one statement."""

    org_code: str
    earning_id: str
    attribution_id: str
    profile_id: str
    campaign_id: str
    currency: str
    amount_minor: int
    clawed_back_minor: int
    status: str
    held_from: str | None
    hold_reason: str | None
    hold_until: datetime | None
    hold_dispute_id: str | None
    held_at: datetime | None
    available_at: datetime
    released_at: datetime | None
    payout_id: str | None
    revision: int
    dirty: bool = False

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.clawed_back_minor

    def clear_hold(self) -> None:
        self.held_from = self.hold_reason = self.hold_until = self.hold_dispute_id = self.held_at = None

    def move(
        self,
        kind: str,
        *,
        status_from: str,
        status_to: str,
        source: str,
        actor: str | None,
        reason: str | None = None,
        dispute_id: str | None = None,
    ) -> ledger.Entry:
        """The ledger entry of a status move of this earning, for its net amount."""
        return ledger.move(
            self.org_code,
            self.profile_id,
            self.currency,
            self.earning_id,
            kind,
            self.net_minor,
            status_from=status_from,
            status_to=status_to,
            source=source,
            actor=actor,
            reason=reason,
            dispute_id=dispute_id,
        )


def state_of(org: str, r: asyncpg.Record) -> EarningState:
    return EarningState(
        org_code=org,
        earning_id=r["earning_id"],
        attribution_id=r["attribution_id"],
        profile_id=r["profile_id"],
        campaign_id=r["campaign_id"],
        currency=r["currency"],
        amount_minor=r["amount_minor"],
        clawed_back_minor=r["clawed_back_minor"],
        status=r["status"],
        held_from=r["held_from"],
        hold_reason=r["hold_reason"],
        hold_until=r["hold_until"],
        hold_dispute_id=r["hold_dispute_id"],
        held_at=r["held_at"],
        available_at=r["available_at"],
        released_at=r["released_at"],
        payout_id=r["payout_id"],
        revision=r["revision"],
    )


async def lock(conn: asyncpg.Connection, org: str, earning_ids: Sequence[str]) -> list[EarningState]:
    """Lock earnings in id order (the fixed lock order); ``not-found`` names any absent id."""
    ids = sorted(set(earning_ids))
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM ifm_earnings e WHERE e.org_code = $1 AND e.earning_id = ANY($2::text[])"
        " ORDER BY e.earning_id FOR UPDATE",
        org,
        ids,
    )
    found = {r["earning_id"] for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"earning {missing[0]} not found", {"earning_ids": missing})
    return [state_of(org, r) for r in rows]


async def save(conn: asyncpg.Connection, states: Sequence[EarningState]) -> None:
    """Write back the dirty earnings (one statement), bumping each one's revision."""
    dirty = [s for s in states if s.dirty]
    if not dirty:
        return
    await conn.execute(
        """UPDATE ifm_earnings e SET clawed_back_minor = u.clawed, status = u.status, held_from = u.held_from,
                  hold_reason = u.hold_reason, hold_until = u.hold_until, hold_dispute_id = u.hold_dispute_id,
                  held_at = u.held_at, released_at = u.released_at, payout_id = u.payout_id,
                  revision = e.revision + 1, updated_at = now()
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
               $7::timestamptz[],
                       $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[])
                AS u(org_code, earning_id, clawed, status, held_from, hold_reason, hold_until,
                    hold_dispute_id,
                     held_at, released_at, payout_id)
           WHERE e.org_code = u.org_code AND e.earning_id = u.earning_id""",
        [s.org_code for s in dirty],
        [s.earning_id for s in dirty],
        [s.clawed_back_minor for s in dirty],
        [s.status for s in dirty],
        [s.held_from for s in dirty],
        [s.hold_reason for s in dirty],
        [s.hold_until for s in dirty],
        [s.hold_dispute_id for s in dirty],
        [s.held_at for s in dirty],
        [s.released_at for s in dirty],
        [s.payout_id for s in dirty],
    )
    for s in dirty:
        s.revision += 1
        s.dirty = False


def summary(s: EarningState) -> dict[str, Any]:
    """Compact earning data for change events."""
    return {
        "earning_id": s.earning_id,
        "profile_id": s.profile_id,
        "campaign_id": s.campaign_id,
        "attribution_id": s.attribution_id,
        "amount_minor": s.amount_minor,
        "clawed_back_minor": s.clawed_back_minor,
        "net_minor": s.net_minor,
        "currency": s.currency,
        "status": s.status,
        "payout_id": s.payout_id,
    }


# --- reads ----------------------------------------------------------------------------------


async def _lines(
    conn: asyncpg.Connection, org: str, attribution_ids: Sequence[str]
) -> dict[str, list[EarningLineOut]]:
    rows = await conn.fetch(
        """SELECT attribution_id, lines FROM ifm_attributions
           WHERE org_code = $1 AND attribution_id = ANY($2::text[])""",
        org,
        list(attribution_ids),
    )
    return {
        r["attribution_id"]: [
            lines_repo.earning_view(ln) for ln in lines_repo.parse(r["lines"]) if ln.eligible
        ]
        for r in rows
    }


async def _history(
    conn: asyncpg.Connection, org: str, earning_ids: Sequence[str]
) -> dict[str, list[HistoryEntry]]:
    rows = await conn.fetch(
        """SELECT earning_id, created_at, kind, amount_minor, status_from, status_to, reason, ref, payout_id,
                  dispute_id, source, actor
           FROM ifm_ledger WHERE org_code = $1 AND earning_id = ANY($2::text[]) ORDER BY earning_id,
               entry_id""",
        org,
        list(earning_ids),
    )
    out: dict[str, list[HistoryEntry]] = {}
    for r in rows:
        out.setdefault(r["earning_id"], []).append(
            HistoryEntry(
                at=r["created_at"],
                kind=r["kind"],
                amount_minor=r["amount_minor"],
                status_from=r["status_from"],
                status_to=r["status_to"],
                reason=r["reason"],
                ref=r["ref"],
                payout_id=r["payout_id"],
                dispute_id=r["dispute_id"],
                source=r["source"],
                actor=r["actor"],
            )
        )
    return out


async def build(conn: asyncpg.Connection, org: str, rows: Sequence[asyncpg.Record]) -> list[Earning]:
    lines = await _lines(conn, org, [r["attribution_id"] for r in rows])
    history = await _history(conn, org, [r["earning_id"] for r in rows])
    out: list[Earning] = []
    for r in rows:
        tier = r["tier"]
        out.append(
            Earning(
                earning_id=r["earning_id"],
                profile_id=r["profile_id"],
                campaign_id=r["campaign_id"],
                attribution_id=r["attribution_id"],
                order_id=r["order_id"],
                amount_minor=r["amount_minor"],
                clawed_back_minor=r["clawed_back_minor"],
                net_minor=r["amount_minor"] - r["clawed_back_minor"],
                currency=r["currency"],
                basis_minor=r["basis_minor"],
                rule=r["rule"],
                rate_bps=r["rate_bps"],
                flat_amount_minor=r["flat_amount_minor"],
                tier=TierOut(**tier) if tier else None,
                prior_orders=r["prior_orders"],
                lines=lines.get(r["attribution_id"], []),
                status=r["status"],
                hold=HoldOut(
                    reason=r["hold_reason"],
                    until=r["hold_until"],
                    dispute_id=r["hold_dispute_id"],
                    held_at=r["held_at"],
                    held_from=r["held_from"],
                )
                if r["status"] == "held"
                else None,
                available_at=r["available_at"],
                released_at=r["released_at"],
                payout_id=r["payout_id"],
                occurred_at=r["occurred_at"],
                history=history.get(r["earning_id"], []),
                created_at=r["created_at"],
                updated_at=r["updated_at"],
                revision=r["revision"],
            )
        )
    return out


async def get_many(conn: asyncpg.Connection, org: str, earning_ids: Sequence[str]) -> list[Earning]:
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM ifm_earnings e WHERE e.org_code = $1 AND e.earning_id = ANY($2::text[])"
        " ORDER BY e.earning_id",
        org,
        list(earning_ids),
    )
    return await build(conn, org, rows)


async def for_attributions(
    conn: asyncpg.Connection, org: str, attribution_ids: Sequence[str]
) -> dict[str, list[Earning]]:
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM ifm_earnings e WHERE e.org_code = $1 AND e.attribution_id = ANY($2::text[])"
        " ORDER BY e.earning_id",
        org,
        list(attribution_ids),
    )
    out: dict[str, list[Earning]] = {}
    for e in await build(conn, org, rows):
        out.setdefault(e.attribution_id, []).append(e)
    return out


_FILTERS = """e.org_code = $1 AND ($2::text IS NULL OR e.profile_id = $2)
    AND ($3::text IS NULL OR e.campaign_id = $3)
      AND ($4::text IS NULL OR e.status = $4) AND ($5::timestamptz IS NULL OR e.occurred_at >= $5)
      AND ($6::timestamptz IS NULL OR e.occurred_at < $6)"""


async def list_page(
    conn: asyncpg.Connection, org: str, req: EarningsList
) -> tuple[list[Earning], str | None, dict[str, Any]]:
    scope = "earnings.list"
    cursor = start_cursor(req, scope=scope)
    cond, args = keyset_condition(cursor, first_param=7, created_col="e.created_at", id_col="e.earning_id")
    filters = (org, req.profile_id, req.campaign_id, req.status, req.from_, req.to)
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM ifm_earnings e WHERE {_FILTERS} AND {cond}
            ORDER BY e.created_at DESC, e.earning_id DESC LIMIT {req.limit + 1}""",
        *filters,
        *args,
    )
    items, token = page_of(
        rows, req=req, cursor_of=lambda r: Cursor(r["created_at"], r["earning_id"]), scope=scope
    )
    totals = await conn.fetch(
        f"""SELECT e.currency, e.status, count(*) AS n, COALESCE(sum(e.amount_minor), 0) AS amount,
                   COALESCE(sum(e.amount_minor - e.clawed_back_minor), 0) AS net
            FROM ifm_earnings e WHERE {_FILTERS} GROUP BY e.currency, e.status ORDER BY e.currency,
                e.status""",
        *filters,
    )
    stats: dict[str, Any] = {"totals": {}}
    for t in totals:
        stats["totals"].setdefault(t["currency"], {})[t["status"]] = StatusTotal(
            count=t["n"], amount_minor=int(t["amount"]), net_minor=int(t["net"])
        ).model_dump()
    return await build(conn, org, items), token, stats
