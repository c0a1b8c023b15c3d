"""Gift cards, their redemptions and append-only transactions (SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

_COLS = (
    "org_code, giftcard_id, last4, currency, initial_minor, balance_minor, status, customer_id, expires_at,"
    " reason, void_reason, revision, created_at, updated_at"
)


async def insert(
    conn: asyncpg.Connection,
    org_code: str,
    *,
    giftcard_id: str,
    code_hash: bytes,
    last4: str,
    currency: str,
    amount_minor: int,
    customer_id: str | None,
    expires_at: datetime | None,
    reason: str,
    now: datetime,
) -> asyncpg.Record | None:
    row = await conn.fetchrow(
        f"""INSERT INTO giftcards (org_code, giftcard_id, code_hash, last4, currency, initial_minor,
                                   balance_minor, status, customer_id, expires_at, reason, created_at,
                                   updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $6, 'active', $7, $8, $9, $10, $10)
            ON CONFLICT (code_hash) DO NOTHING
            RETURNING {_COLS}""",
        org_code,
        giftcard_id,
        code_hash,
        last4,
        currency,
        amount_minor,
        customer_id,
        expires_at,
        reason,
        now,
    )
    return row


async def org_of_code(conn: asyncpg.Connection, code_hash: bytes) -> asyncpg.Record | None:
    """The one index probe of a code lookup; the caller compares the org (anti-enumeration)."""
    return await conn.fetchrow("SELECT org_code, giftcard_id FROM giftcards WHERE code_hash = $1", code_hash)


async def get(
    conn: asyncpg.Connection, org_code: str, giftcard_id: str, *, lock: bool = False
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLS} FROM giftcards WHERE org_code = $1 AND giftcard_id = $2"
        + (" FOR UPDATE" if lock else ""),
        org_code,
        giftcard_id,
    )


async def update_balance(
    conn: asyncpg.Connection,
    org_code: str,
    giftcard_id: str,
    *,
    balance_minor: int,
    status: str,
    void_reason: str | None,
    now: datetime,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""UPDATE giftcards SET balance_minor = $3, status = $4, void_reason = COALESCE($5, void_reason),
                   revision = revision + 1, updated_at = $6
            WHERE org_code = $1 AND giftcard_id = $2 RETURNING {_COLS}""",
        org_code,
        giftcard_id,
        balance_minor,
        status,
        void_reason,
        now,
    )
    assert row is not None
    return row


async def insert_txn(conn: asyncpg.Connection, org_code: str, values: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO giftcard_transactions (org_code, txn_id, giftcard_id, kind, amount_minor,
                                              balance_after_minor, redemption_id, order_ref, reason, actor,
                                              cc_code, channel_code, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        org_code,
        values["txn_id"],
        values["giftcard_id"],
        values["kind"],
        values["amount_minor"],
        values["balance_after_minor"],
        values.get("redemption_id"),
        values.get("order_ref"),
        values.get("reason"),
        values.get("actor"),
        values.get("cc_code"),
        values.get("channel_code"),
        values["created_at"],
    )


async def insert_redemption(conn: asyncpg.Connection, org_code: str, values: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO giftcard_redemptions (org_code, redemption_id, giftcard_id, order_ref, requested_minor,
                                             applied_minor, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        org_code,
        values["redemption_id"],
        values["giftcard_id"],
        values["order_ref"],
        values["requested_minor"],
        values["applied_minor"],
        values["created_at"],
    )


async def get_redemption(
    conn: asyncpg.Connection, org_code: str, redemption_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM giftcard_redemptions WHERE org_code = $1 AND redemption_id = $2",
        org_code,
        redemption_id,
    )


async def add_reversed(conn: asyncpg.Connection, org_code: str, redemption_id: str, amount: int) -> None:
    await conn.execute(
        """UPDATE giftcard_redemptions SET reversed_minor = reversed_minor + $3
           WHERE org_code = $1 AND redemption_id = $2""",
        org_code,
        redemption_id,
        amount,
    )


async def history(conn: asyncpg.Connection, org_code: str, giftcard_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM giftcard_transactions WHERE org_code = $1 AND giftcard_id = $2
           ORDER BY created_at, txn_id""",
        org_code,
        giftcard_id,
    )


async def list_page(
    conn: asyncpg.Connection,
    org_code: str,
    *,
    customer_id: str | None,
    status: str | None,
    now: datetime,
    keyset: str,
    keyset_args: Sequence[Any],
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {_COLS} FROM giftcards
            WHERE org_code = $1 AND ($2::text IS NULL OR customer_id = $2)
              AND ($3::text IS NULL
                   OR ($3 = 'void' AND status = 'void')
                   OR ($3 = 'expired' AND status = 'active' AND expires_at <= $4)
                   OR ($3 = 'active' AND status = 'active' AND (expires_at IS NULL OR expires_at > $4)))
              AND {keyset}
            ORDER BY created_at DESC, giftcard_id DESC LIMIT {int(limit) + 1}""",
        org_code,
        customer_id,
        status,
        now,
        *keyset_args,
    )


async def of_customers(conn: asyncpg.Connection, org_code: str, customer_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {_COLS} FROM giftcards WHERE org_code = $1 AND customer_id = $2
            ORDER BY created_at DESC, giftcard_id DESC LIMIT 100""",
        org_code,
        customer_id,
    )
