"""Payouts (SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from g3n_kit.errors import NotFound
from g3n_kit.paging import Cursor, keyset_condition, page_of, start_cursor

from g3n_influencer.adapters import earnings as earnings_repo
from g3n_influencer.adapters.earnings import EarningState
from g3n_influencer.service.models import Payout, PayoutList

_COLUMNS = """payout_id, profile_id, currency, amount_minor, released_minor, carry_over_minor, earning_ids,
    payee,
    status, submitted_at, settled_at, settlement_reference, failed_at, failure_reason, history, created_at,
    updated_at, revision"""


def to_payout(r: asyncpg.Record) -> Payout:
    return Payout(
        **{k: r[k] for k in Payout.model_fields if k not in ("earning_ids", "history")},
        earning_ids=list(r["earning_ids"]),
        history=list(r["history"]),
    )


async def load(
    conn: asyncpg.Connection, org: str, payout_id: str, *, lock: bool = False
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM ifm_payouts WHERE org_code = $1 AND payout_id = $2"
        + (" FOR UPDATE" if lock else ""),
        org,
        payout_id,
    )


async def get(conn: asyncpg.Connection, org: str, payout_id: str) -> Payout:
    row = await load(conn, org, payout_id)
    if row is None:
        raise NotFound(f"payout {payout_id} not found")
    return to_payout(row)


async def candidate_profiles(conn: asyncpg.Connection, org: str, currency: str) -> list[str]:
    """Profiles with released, positive earnings in ``currency`` (who a payout run considers)."""
    rows = await conn.fetch(
        """SELECT DISTINCT profile_id FROM ifm_earnings
           WHERE org_code = $1 AND currency = $2 AND status = 'released' AND amount_minor > clawed_back_minor
           ORDER BY profile_id""",
        org,
        currency,
    )
    return [r["profile_id"] for r in rows]


async def lock_profiles(
    conn: asyncpg.Connection, org: str, profile_ids: Sequence[str]
) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        """SELECT profile_id, handle, status, payout_ready, payout_method FROM ifm_profiles
           WHERE org_code = $1 AND profile_id = ANY($2::text[]) ORDER BY profile_id FOR UPDATE""",
        org,
        sorted(set(profile_ids)),
    )
    return {r["profile_id"]: r for r in rows}


async def lock_released(
    conn: asyncpg.Connection, org: str, profile_id: str, currency: str
) -> list[EarningState]:
    rows = await conn.fetch(
        f"""SELECT {earnings_repo.COLUMNS} FROM ifm_earnings e
            WHERE e.org_code = $1 AND e.profile_id = $2 AND e.currency = $3 AND e.status = 'released'
              AND e.amount_minor > e.clawed_back_minor
            ORDER BY e.earning_id FOR UPDATE""",
        org,
        profile_id,
        currency,
    )
    return [earnings_repo.state_of(org, r) for r in rows]


async def insert(
    conn: asyncpg.Connection,
    org: str,
    *,
    payout_id: str,
    profile_id: str,
    currency: str,
    amount: int,
    released: int,
    carry_over: int,
    earning_ids: list[str],
    payee: dict[str, Any],
    submitted_at: datetime,
    actor: str | None,
) -> None:
    history = [{"at": submitted_at.isoformat(), "status": "submitted", "note": "submitted", "actor": actor}]
    await conn.execute(
        """INSERT INTO ifm_payouts (org_code, payout_id, profile_id, currency, amount_minor, released_minor,
                                    carry_over_minor, earning_ids, payee, submitted_at, history, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        org,
        payout_id,
        profile_id,
        currency,
        amount,
        released,
        carry_over,
        earning_ids,
        payee,
        submitted_at,
        history,
        actor,
    )


async def set_status(
    conn: asyncpg.Connection, org: str, payout_id: str, fields: dict[str, Any], history: dict[str, Any]
) -> None:
    """Update fields (status etc.), append a history entry and bump the revision."""
    assignments = "".join(f"{name} = ${i}, " for i, name in enumerate(fields, start=4))
    await conn.execute(
        f"""UPDATE ifm_payouts SET {assignments}history = history || jsonb_build_array($3::jsonb),
                   revision = revision + 1, updated_at = now()
            WHERE org_code = $1 AND payout_id = $2""",
        org,
        payout_id,
        history,
        *fields.values(),
    )


async def lock_paid_earnings(conn: asyncpg.Connection, org: str, payout_id: str) -> list[EarningState]:
    rows = await conn.fetch(
        f"""SELECT {earnings_repo.COLUMNS} FROM ifm_earnings e
            WHERE e.org_code = $1 AND e.payout_id = $2 ORDER BY e.earning_id FOR UPDATE""",
        org,
        payout_id,
    )
    return [earnings_repo.state_of(org, r) for r in rows]


# The payout's 'paid' entries through ifm_ledger_payout (migration 0008), then each earning's later
# clawbacks through ifm_ledger_earning: two index probes, never a read of the organisation's ledger.
CLAWED_WHILE_PAID_SQL = """
SELECT c.earning_id, sum(c.amount_minor) AS clawed
FROM ifm_ledger p JOIN ifm_ledger c
  ON c.org_code = p.org_code AND c.earning_id = p.earning_id AND c.kind = 'clawback'
 AND c.status_from = 'paid' AND c.entry_id > p.entry_id
WHERE p.org_code = $1 AND p.payout_id = $2 AND p.kind = 'paid'
GROUP BY c.earning_id"""


async def clawed_while_paid(conn: asyncpg.Connection, org: str, payout_id: str) -> dict[str, int]:
    """Per earning of ``payout_id``: what clawbacks took after it was paid in this payout (the
    carry-over those clawbacks booked)."""
    rows = await conn.fetch(CLAWED_WHILE_PAID_SQL, org, payout_id)
    return {r["earning_id"]: int(r["clawed"]) for r in rows}


async def list_page(conn: asyncpg.Connection, org: str, req: PayoutList) -> tuple[list[Payout], str | None]:
    scope = "payout.list"
    cursor = start_cursor(req, scope=scope)
    cond, args = keyset_condition(cursor, first_param=4, id_col="payout_id")
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM ifm_payouts
            WHERE org_code = $1 AND ($2::text IS NULL OR profile_id = $2)
                AND ($3::text IS NULL OR status = $3)
              AND {cond}
            ORDER BY created_at DESC, payout_id DESC LIMIT {req.limit + 1}""",
        org,
        req.profile_id,
        req.status,
        *args,
    )
    items, token = page_of(
        rows, req=req, cursor_of=lambda r: Cursor(r["created_at"], r["payout_id"]), scope=scope
    )
    return [to_payout(r) for r in items], token
