"""Statements (SQL). Rows are immutable (a trigger forbids UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from g3n_kit.errors import NotFound

_COLUMNS = """s.statement_id, s.profile_id, p.handle, s.currency, s.period_start, s.period_end,
    s.opening_balance_minor, s.earned_minor, s.clawed_back_minor, s.paid_minor, s.closing_balance_minor,
        s.lines,
    s.previous_statement_id, s.created_at, s.revision"""


async def load(conn: asyncpg.Connection, org: str, statement_id: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""SELECT {_COLUMNS} FROM ifm_statements s
            JOIN ifm_profiles p ON p.org_code = s.org_code AND p.profile_id = s.profile_id
            WHERE s.org_code = $1 AND s.statement_id = $2""",
        org,
        statement_id,
    )
    if row is None:
        raise NotFound(f"statement {statement_id} not found")
    return row


async def previous(
    conn: asyncpg.Connection, org: str, profile_id: str, currency: str, period_start: datetime
) -> str | None:
    """The latest statement that ends exactly where this one starts (the chain)."""
    value = await conn.fetchval(
        """SELECT statement_id FROM ifm_statements
           WHERE org_code = $1 AND profile_id = $2 AND currency = $3 AND period_end = $4
           ORDER BY created_at DESC, statement_id DESC LIMIT 1""",
        org,
        profile_id,
        currency,
        period_start,
    )
    return str(value) if value is not None else None


async def insert(conn: asyncpg.Connection, org: str, values: dict[str, Any]) -> None:
    cols = ["org_code", *values]
    params = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
    await conn.execute(
        f"INSERT INTO ifm_statements ({', '.join(cols)}) VALUES ({params})",
        org,
        *values.values(),
    )
