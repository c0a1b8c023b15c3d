"""Disputes (SQL)."""

from __future__ import annotations

import asyncpg
from g3n_kit.errors import NotFound
from g3n_kit.paging import Cursor, keyset_condition, page_of, start_cursor

from g3n_influencer.service.models import Dispute, DisputeList

_COLUMNS = """dispute_id, earning_ids, reason, note, status, resolution_note, resolved_at, created_at,
    updated_at,
    revision"""


def to_dispute(r: asyncpg.Record) -> Dispute:
    return Dispute(**{k: (list(r[k]) if k == "earning_ids" else r[k]) for k in Dispute.model_fields})


async def load(conn: asyncpg.Connection, org: str, dispute_id: str, *, lock: bool = False) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM ifm_disputes WHERE org_code = $1 AND dispute_id = $2"
        + (" FOR UPDATE" if lock else ""),
        org,
        dispute_id,
    )
    if row is None:
        raise NotFound(f"dispute {dispute_id} not found")
    return row


async def insert(
    conn: asyncpg.Connection,
    org: str,
    dispute_id: str,
    earning_ids: list[str],
    reason: str,
    note: str | None,
    actor: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO ifm_disputes (org_code, dispute_id, earning_ids, reason, note, created_by)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        org,
        dispute_id,
        earning_ids,
        reason,
        note,
        actor,
    )


async def resolve(conn: asyncpg.Connection, org: str, dispute_id: str, status: str, note: str) -> None:
    await conn.execute(
        """UPDATE ifm_disputes SET status = $3, resolution_note = $4, resolved_at = now(),
            revision = revision + 1,
                  updated_at = now() WHERE org_code = $1 AND dispute_id = $2""",
        org,
        dispute_id,
        status,
        note,
    )


async def list_page(conn: asyncpg.Connection, org: str, req: DisputeList) -> tuple[list[Dispute], str | None]:
    scope = "dispute.list"
    cursor = start_cursor(req, scope=scope)
    cond, args = keyset_condition(cursor, first_param=3, id_col="dispute_id")
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM ifm_disputes WHERE org_code = $1
            AND ($2::text IS NULL OR status = $2) AND {cond}
            ORDER BY created_at DESC, dispute_id DESC LIMIT {req.limit + 1}""",
        org,
        req.status,
        *args,
    )
    items, token = page_of(
        rows, req=req, cursor_of=lambda r: Cursor(r["created_at"], r["dispute_id"]), scope=scope
    )
    return [to_dispute(r) for r in items], token
