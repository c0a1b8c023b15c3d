"""Profiles and their referral/promo codes (SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from g3n_kit.errors import Conflict, NotFound
from g3n_kit.paging import Cursor, keyset_condition, page_of, start_cursor

from g3n_influencer.domain.profiles import normalize_code
from g3n_influencer.service.models import PayoutMethodOut, Profile, ProfileList

_COLUMNS = """p.profile_id, p.handle, p.display_name, p.email, p.country, p.payout_currency, p.status,
    p.status_reason, p.payout_ready, p.payout_method, p.payout_note, p.revision, p.created_at, p.updated_at,
    COALESCE((SELECT array_agg(c.code ORDER BY c.position) FROM ifm_profile_codes c
              WHERE c.org_code = p.org_code AND c.profile_id = p.profile_id), '{}') AS codes"""


def to_profile(row: asyncpg.Record) -> Profile:
    method = row["payout_method"]
    return Profile(
        profile_id=row["profile_id"],
        handle=row["handle"],
        display_name=row["display_name"],
        email=row["email"],
        country=row["country"],
        payout_currency=row["payout_currency"],
        status=row["status"],
        status_reason=row["status_reason"],
        codes=list(row["codes"]),
        payout_ready=row["payout_ready"],
        payout_method=PayoutMethodOut(**method) if method else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        revision=row["revision"],
    )


async def load(conn: asyncpg.Connection, org: str, profile_id: str, *, lock: bool = False) -> asyncpg.Record:
    """The profile row (``FOR UPDATE`` when ``lock``); ``not-found`` when absent in this org."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM ifm_profiles p WHERE p.org_code = $1 AND p.profile_id = $2"
        + (" FOR UPDATE OF p" if lock else ""),
        org,
        profile_id,
    )
    if row is None:
        raise NotFound(f"profile {profile_id} not found")
    return row


async def get(conn: asyncpg.Connection, org: str, profile_id: str) -> Profile:
    return to_profile(await load(conn, org, profile_id))


async def insert(
    conn: asyncpg.Connection,
    org: str,
    *,
    profile_id: str,
    handle: str,
    display_name: str,
    email: str | None,
    country: str | None,
    payout_currency: str,
    actor: str | None,
) -> None:
    try:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO ifm_profiles (org_code, profile_id, handle, display_name, email, country,
                                             payout_currency, created_by)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                org,
                profile_id,
                handle,
                display_name,
                email,
                country,
                payout_currency,
                actor,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"handle {handle} is already taken in this org", {"field": "handle"}) from None


async def replace_codes(conn: asyncpg.Connection, org: str, profile_id: str, codes: Sequence[str]) -> None:
    """Set the profile's codes; a code held by another profile (case-insensitively) → conflict."""
    keys = [normalize_code(c) for c in codes]
    taken = await conn.fetch(
        """SELECT code, profile_id FROM ifm_profile_codes
           WHERE org_code = $1 AND code_key = ANY($2::text[]) AND profile_id <> $3""",
        org,
        keys,
        profile_id,
    )
    if taken:
        raise Conflict(
            f"code {taken[0]['code']} is already used by another profile",
            {"field": "codes", "codes": sorted(r["code"] for r in taken)},
        )
    await conn.execute(
        "DELETE FROM ifm_profile_codes WHERE org_code = $1 AND profile_id = $2", org, profile_id
    )
    try:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO ifm_profile_codes (org_code, code_key, code, profile_id, position)
                   SELECT $1, k, c, $2, p - 1 FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(k,
                       c, p)""",
                org,
                profile_id,
                keys,
                list(codes),
            )
    except asyncpg.UniqueViolationError:  # a concurrent writer took one meanwhile
        raise Conflict("a code is already used by another profile", {"field": "codes"}) from None


async def update(conn: asyncpg.Connection, org: str, profile_id: str, fields: dict[str, Any]) -> None:
    """Set ``fields`` and bump the revision (the caller holds the row lock)."""
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=3))
    sets = f"{assignments}, " if assignments else ""
    await conn.execute(
        f"UPDATE ifm_profiles SET {sets}revision = revision + 1, updated_at = now()"
        " WHERE org_code = $1 AND profile_id = $2",
        org,
        profile_id,
        *fields.values(),
    )


async def list_page(conn: asyncpg.Connection, org: str, req: ProfileList) -> tuple[list[Profile], str | None]:
    scope = "profile.list"
    cursor = start_cursor(req, scope=scope)
    cond, args = keyset_condition(cursor, first_param=4, created_col="p.created_at", id_col="p.profile_id")
    prefix = req.handle_prefix.lower() if req.handle_prefix else None
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM ifm_profiles p
            WHERE p.org_code = $1 AND ($2::text IS NULL OR p.status = $2)
              AND ($3::text IS NULL OR lower(p.handle) LIKE replace(replace(replace($3, '\\', '\\\\'),
                   '%', '\\%'), '_', '\\_') || '%')
              AND {cond}
            ORDER BY p.created_at DESC, p.profile_id DESC LIMIT {req.limit + 1}""",
        org,
        req.status,
        prefix,
        *args,
    )
    items, token = page_of(
        rows, req=req, cursor_of=lambda r: Cursor(r["created_at"], r["profile_id"]), scope=scope
    )
    return [to_profile(r) for r in items], token
