"""Customers and their consent log (SQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from g3n_kit.db import json_rows

_COLS = (
    "org_code, customer_id, status, status_reason, email, phone, given_name, family_name, external_ref,"
    " locale, tags, consents, revision, created_at, updated_at, anonymized_at"
)
EDITABLE = ("email", "phone", "given_name", "family_name", "external_ref", "locale", "tags")


async def insert(
    conn: asyncpg.Connection, org_code: str, customer_id: str, fields: Mapping[str, Any], now: datetime
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""INSERT INTO customers (org_code, customer_id, email, phone, given_name, family_name, external_ref,
                                   locale, tags, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
            RETURNING {_COLS}""",
        org_code,
        customer_id,
        fields.get("email"),
        fields.get("phone"),
        fields.get("given_name"),
        fields.get("family_name"),
        fields.get("external_ref"),
        fields.get("locale"),
        list(fields.get("tags") or []),
        now,
    )
    assert row is not None
    return row


async def get(
    conn: asyncpg.Connection,
    org_code: str,
    *,
    customer_id: str | None = None,
    email: str | None = None,
    external_ref: str | None = None,
    lock: bool = False,
) -> asyncpg.Record | None:
    if customer_id is not None:
        cond, arg = "customer_id = $2", customer_id
    elif email is not None:
        cond, arg = "email_norm = lower($2)", email
    else:
        cond, arg = "external_ref_norm = lower($2)", str(external_ref)
    return await conn.fetchrow(
        f"SELECT {_COLS} FROM customers WHERE org_code = $1 AND {cond}" + (" FOR UPDATE" if lock else ""),
        org_code,
        arg,
    )


async def taken(
    conn: asyncpg.Connection, org_code: str, email: str | None, external_ref: str | None, exclude: str | None
) -> list[str]:
    """Which of ``email`` / ``external_ref`` another customer of the org already uses."""
    rows = await conn.fetch(
        """SELECT (email_norm = lower($2)) AS email_taken, (external_ref_norm = lower($3)) AS ref_taken
           FROM customers
           WHERE org_code = $1 AND customer_id IS DISTINCT FROM $4
             AND ((email_norm = lower($2)) OR (external_ref_norm = lower($3)))""",
        org_code,
        email,
        external_ref,
        exclude,
    )
    out: list[str] = []
    if any(r["email_taken"] for r in rows):
        out.append("email")
    if any(r["ref_taken"] for r in rows):
        out.append("external_ref")
    return out


async def update_fields(
    conn: asyncpg.Connection, org_code: str, customer_id: str, fields: Mapping[str, Any], now: datetime
) -> asyncpg.Record:
    names = [f for f in EDITABLE if f in fields]
    sets = ", ".join(f"{name} = ${i + 4}" for i, name in enumerate(names))
    values = [list(fields[n] or []) if n == "tags" else fields[n] for n in names]
    row = await conn.fetchrow(
        f"""UPDATE customers SET {sets + ", " if sets else ""}revision = revision + 1, updated_at = $3
            WHERE org_code = $1 AND customer_id = $2 RETURNING {_COLS}""",
        org_code,
        customer_id,
        now,
        *values,
    )
    assert row is not None
    return row


async def set_status(
    conn: asyncpg.Connection, org_code: str, customer_id: str, status: str, reason: str, now: datetime
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""UPDATE customers SET status = $3, status_reason = $4, revision = revision + 1, updated_at = $5
            WHERE org_code = $1 AND customer_id = $2 RETURNING {_COLS}""",
        org_code,
        customer_id,
        status,
        reason,
        now,
    )
    assert row is not None
    return row


async def set_consents(
    conn: asyncpg.Connection, org_code: str, customer_id: str, consents: Mapping[str, Any], now: datetime
) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""UPDATE customers SET consents = $3, revision = revision + 1, updated_at = $4
            WHERE org_code = $1 AND customer_id = $2 RETURNING {_COLS}""",
        org_code,
        customer_id,
        dict(consents),
        now,
    )
    assert row is not None
    return row


async def list_page(
    conn: asyncpg.Connection,
    org_code: str,
    *,
    status: str | None,
    email_prefix: str | None,
    tag: str | None,
    keyset: str,
    keyset_args: Sequence[Any],
    limit: int,
) -> list[asyncpg.Record]:
    prefix = None
    if email_prefix is not None:
        prefix = email_prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return await conn.fetch(
        f"""SELECT {_COLS} FROM customers
            WHERE org_code = $1 AND ($2::text IS NULL OR status = $2)
              AND ($3::text IS NULL OR email_norm LIKE $3)
              AND ($4::text IS NULL OR tags @> ARRAY[$4::text])
              AND {keyset}
            ORDER BY created_at DESC, customer_id DESC LIMIT {int(limit) + 1}""",
        org_code,
        status,
        prefix,
        tag,
        *keyset_args,
    )


# Each identifier has a partial index of the skipped sales that carry it (migration 0008): a bitmap
# OR of three probes, not a read of every sale.
ERASE_SALE_REFS_SQL = """
UPDATE scm_sales SET ref_customer_id = NULL, ref_email = NULL, ref_external_ref = NULL
WHERE org_code = $1 AND (ref_customer_id = $2 OR lower(ref_email) = $3 OR lower(ref_external_ref) = $4)"""


async def anonymize(
    conn: asyncpg.Connection, org_code: str, customer_id: str, reason: str, now: datetime
) -> asyncpg.Record:
    """Erase personal data of the customer and of everything the service stored about them."""
    before = await conn.fetchrow(
        "SELECT email_norm, external_ref_norm FROM customers WHERE org_code = $1 AND customer_id = $2",
        org_code,
        customer_id,
    )
    assert before is not None
    # Skipped SCM sales keep the identifiers they carried (to claim points later); erase those that
    # name this customer.
    await conn.execute(
        ERASE_SALE_REFS_SQL,
        org_code,
        customer_id,
        before["email_norm"],
        before["external_ref_norm"],
    )
    await conn.execute(
        """UPDATE consent_log SET proof = NULL, proof_erased_at = $3
           WHERE org_code = $1 AND customer_id = $2 AND proof IS NOT NULL""",
        org_code,
        customer_id,
        now,
    )
    row = await conn.fetchrow(
        f"""UPDATE customers SET status = 'anonymized', status_reason = $3, email = NULL, phone = NULL,
                   given_name = NULL, family_name = NULL, external_ref = NULL, locale = NULL, tags = '{{}}',
                   revision = revision + 1, updated_at = $4, anonymized_at = $4
            WHERE org_code = $1 AND customer_id = $2 RETURNING {_COLS}""",
        org_code,
        customer_id,
        reason,
        now,
    )
    assert row is not None
    return row


# ---- consent -------------------------------------------------------------------------------------


async def insert_consent(conn: asyncpg.Connection, org_code: str, values: Mapping[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO consent_log (org_code, consent_id, customer_id, channel, purpose, status, source,
                                    method, captured_at, proof, actor, recorded_at, cc_code, channel_code)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)""",
        org_code,
        values["consent_id"],
        values["customer_id"],
        values["channel"],
        values["purpose"],
        values["status"],
        values["source"],
        values["method"],
        values["captured_at"],
        values["proof"],
        values["actor"],
        values["recorded_at"],
        values.get("cc_code"),
        values.get("channel_code"),
    )


async def list_consents(
    conn: asyncpg.Connection,
    org_code: str,
    customer_id: str,
    keyset: str,
    keyset_args: Sequence[Any],
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT * FROM consent_log WHERE org_code = $1 AND customer_id = $2 AND {keyset}
            ORDER BY recorded_at DESC, consent_id DESC LIMIT {int(limit) + 1}""",
        org_code,
        customer_id,
        *keyset_args,
    )


async def resolve(
    conn: asyncpg.Connection, refs: Sequence[tuple[str, str | None, str | None, str | None]]
) -> list[tuple[str, str] | None]:
    """Customers for ``(org_code, customer_id, email, external_ref)`` refs, in order (None: unknown).

    A known customer id wins over an e-mail, which wins over an external ref (an unknown id falls
    back to the others); one statement per batch.
    """
    if not refs:
        return []
    rows = await conn.fetch(
        # Per key: one index probe per identifier given (a NULL one is skipped by its one-time
        # filter, not probed); the first hit in order of precedence wins.
        # The refs as one jsonb parameter of arrays (cheaper to encode than five arrays).
        """SELECT k.i, r.customer_id, r.status
           FROM (SELECT n - 1 AS i, v->>0 AS o, v->>1 AS c, v->>2 AS e, v->>3 AS x
                 FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS j(v, n)) AS k
           CROSS JOIN LATERAL (
               SELECT customer_id, status FROM (
                   SELECT customer_id, status, 1 AS pref FROM customers
                   WHERE k.c IS NOT NULL AND org_code = k.o AND customer_id = k.c
                   UNION ALL
                   SELECT customer_id, status, 2 FROM customers
                   WHERE k.e IS NOT NULL AND org_code = k.o AND email_norm = lower(k.e)
                   UNION ALL
                   SELECT customer_id, status, 3 FROM customers
                   WHERE k.x IS NOT NULL AND org_code = k.o AND external_ref_norm = lower(k.x)
               ) hits ORDER BY pref LIMIT 1) r""",
        json_rows(list(refs)),
    )
    out: list[tuple[str, str] | None] = [None] * len(refs)
    for row in rows:
        if row["customer_id"] is not None:
            out[row["i"]] = (row["customer_id"], row["status"])
    return out
