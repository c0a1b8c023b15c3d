"""Loyalty ledger persistence: account locks, lots, entries, redemptions — set-based.

Every function takes many customers at once so that the HTTP path (one customer) and the SCM
consumer (a whole batch) run the same few statements. Lock order is fixed: loyalty accounts in
``(org_code, customer_id)`` order; lots, entries and redemptions of a customer are only written
while its account row is locked, so they need no locks of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from g3n_kit.db import json_rows

from g3n_crm.domain.loyalty import Allocation, Balance, Entry, Lot, LoyaltyAccount, Redemption
from g3n_crm.domain.policy import DEFAULT_POLICY, LoyaltyPolicy

Key = tuple[str, str]  # (org_code, customer_id)


@dataclass
class Locked:
    org_code: str
    status: str | None  # None: not read (``lock_accounts(with_status=False)``)
    account: LoyaltyAccount


def _keys(keys: Iterable[Key]) -> list[Key]:
    """The distinct ``(org_code, id)`` keys, sorted; passed as ``json_rows`` and read as
    ``CUSTOMERS`` (see ``g3n_kit.db.json_rows``)."""
    return sorted(set(keys))


CUSTOMERS = (
    "(SELECT k->>0 AS org_code, k->>1 AS customer_id, n"
    " FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS j(k, n))"
)


async def create_accounts(conn: asyncpg.Connection, keys: Sequence[Key], now: datetime) -> None:
    await conn.execute(
        f"""INSERT INTO loyalty_accounts (org_code, customer_id, updated_at)
            SELECT k.org_code, k.customer_id, $2 FROM {CUSTOMERS} AS k
            ON CONFLICT DO NOTHING""",
        json_rows(_keys(keys)),
        now,
    )


async def lock_accounts(
    conn: asyncpg.Connection, keys: Iterable[Key], *, skip_locked: bool = False, with_status: bool = True
) -> dict[Key, Locked]:
    """Lock the accounts (sorted, so concurrent batches never deadlock), with the customer's
    status unless ``with_status`` is false: callers that know it (the SCM consumer, from
    ``customers.resolve``) or need none (expiry) skip a join that cost PostgreSQL ~3 µs a sale in
    the consumer benchmark (docs/benchmarks.md); ``status`` is then None."""
    ordered = _keys(keys)
    if not ordered:
        return {}
    status, customers = (
        ("c.status", "JOIN customers c ON c.org_code = a.org_code AND c.customer_id = a.customer_id")
        if with_status
        else ("NULL::text AS status", "")
    )
    rows = await conn.fetch(
        # One index probe per key, in the (sorted) order of the keys: rows are locked in that order.
        f"""SELECT a.org_code, a.customer_id, a.debt, a.total, a.seq, a.status
            FROM {CUSTOMERS} AS k
            CROSS JOIN LATERAL (
                SELECT a.org_code, a.customer_id, a.debt, a.total, a.seq, {status}
                FROM loyalty_accounts a {customers}
                WHERE a.org_code = k.org_code AND a.customer_id = k.customer_id
                FOR UPDATE OF a{" SKIP LOCKED" if skip_locked else ""}) a
            ORDER BY k.n""",
        json_rows(ordered),
    )
    return {
        (r["org_code"], r["customer_id"]): Locked(
            r["org_code"],
            r["status"],
            LoyaltyAccount(r["customer_id"], debt=r["debt"], total=r["total"], seq=r["seq"]),
        )
        for r in rows
    }


def _lot(r: asyncpg.Record) -> Lot:
    return Lot(
        lot_id=r["lot_id"],
        customer_id=r["customer_id"],
        origin_entry_id=r["origin_entry_id"],
        points=r["points"],
        remaining=r["remaining"],
        reversed=r["reversed"],
        available_at=r["available_at"],
        expires_at=r["expires_at"],
        created_at=r["created_at"],
    )


_LOT_COLS = (
    "l.org_code, l.lot_id, l.customer_id, l.origin_entry_id, l.points, l.remaining, l.reversed,"
    " l.available_at, l.expires_at, l.created_at"
)


async def load_open_lots(conn: asyncpg.Connection, locked: dict[Key, Locked]) -> None:
    """Put every lot with points left into its (locked) account."""
    ordered = _keys(locked)
    if not ordered:
        return
    rows = await conn.fetch(
        f"""SELECT {_LOT_COLS}
            FROM {CUSTOMERS} AS k
            JOIN loyalty_lots l ON l.org_code = k.org_code AND l.customer_id = k.customer_id
            WHERE l.remaining > 0""",
        json_rows(ordered),
    )
    for r in rows:
        locked[(r["org_code"], r["customer_id"])].account.lots[r["lot_id"]] = _lot(r)


async def load_lots(conn: asyncpg.Connection, org_code: str, lot_ids: Sequence[str]) -> list[Lot]:
    rows = await conn.fetch(
        f"SELECT {_LOT_COLS} FROM loyalty_lots l WHERE l.org_code = $1 AND l.lot_id = ANY($2::text[])",
        org_code,
        list(lot_ids),
    )
    return [_lot(r) for r in rows]


async def load_lots_of(conn: asyncpg.Connection, pairs: Sequence[Key]) -> list[tuple[str, Lot]]:
    """Lots by ``(org_code, lot_id)`` (whatever their remaining points)."""
    if not pairs:
        return []
    rows = await conn.fetch(
        f"""SELECT {_LOT_COLS} FROM unnest($1::text[], $2::text[]) AS k(org_code, lot_id)
            JOIN loyalty_lots l ON l.org_code = k.org_code AND l.lot_id = k.lot_id""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return [(r["org_code"], _lot(r)) for r in rows]


async def get_redemptions(conn: asyncpg.Connection, pairs: Sequence[Key]) -> dict[Key, Redemption]:
    """Redemptions by ``(org_code, redemption_id)`` with their lot allocations in taking order."""
    if not pairs:
        return {}
    orgs = [p[0] for p in pairs]
    ids = [p[1] for p in pairs]
    heads = await conn.fetch(
        """SELECT r.* FROM unnest($1::text[], $2::text[]) AS k(org_code, redemption_id)
           JOIN loyalty_redemptions r ON r.org_code = k.org_code AND r.redemption_id = k.redemption_id""",
        orgs,
        ids,
    )
    out = {
        (h["org_code"], h["redemption_id"]): Redemption(
            redemption_id=h["redemption_id"],
            customer_id=h["customer_id"],
            points=h["points"],
            allocations=[],
            debt_points=h["debt_points"],
            debt_restored=h["debt_restored"],
            source_ref=h["source_ref"],
        )
        for h in heads
    }
    if out:
        allocs = await conn.fetch(
            """SELECT a.org_code, a.redemption_id, a.lot_id, a.points, a.restored
               FROM unnest($1::text[], $2::text[]) AS k(org_code, redemption_id)
               JOIN loyalty_redemption_lots a
                 ON a.org_code = k.org_code AND a.redemption_id = k.redemption_id
               ORDER BY a.org_code, a.redemption_id, a.position""",
            orgs,
            ids,
        )
        for a in allocs:
            out[(a["org_code"], a["redemption_id"])].allocations.append(
                Allocation(a["lot_id"], a["points"], a["restored"])
            )
    return out


async def find_redemption_by_source(conn: asyncpg.Connection, org_code: str, source_ref: str) -> str | None:
    """The latest redemption recorded for ``source_ref`` (e.g. an SCM order's loyalty tender)."""
    found = await conn.fetchval(
        """SELECT redemption_id FROM loyalty_redemptions WHERE org_code = $1 AND source_ref = $2
           ORDER BY created_at DESC, redemption_id DESC LIMIT 1""",
        org_code,
        source_ref,
    )
    return str(found) if found is not None else None


async def find_earn(
    conn: asyncpg.Connection, org_code: str, *, entry_id: str | None = None, source_ref: str | None = None
) -> asyncpg.Record | None:
    # Two statements, not one with an OR: each must hit its own index (the primary key, or the
    # partial unique index of earns by source_ref).
    if entry_id is not None:
        return await conn.fetchrow(
            """SELECT entry_id, customer_id, points, lot_id, source_ref, created_at FROM loyalty_entries
               WHERE org_code = $1 AND entry_id = $2 AND kind = 'earn'""",
            org_code,
            entry_id,
        )
    return await conn.fetchrow(
        """SELECT entry_id, customer_id, points, lot_id, source_ref, created_at FROM loyalty_entries
           WHERE org_code = $1 AND source_ref = $2 AND kind = 'earn'""",
        org_code,
        source_ref,
    )


async def find_earns_by_source(conn: asyncpg.Connection, pairs: Sequence[Key]) -> dict[Key, asyncpg.Record]:
    """Earns by ``(org_code, source_ref)``."""
    if not pairs:
        return {}
    rows = await conn.fetch(
        # One probe of the unique earn index per key (LATERAL … LIMIT 1: never a hash join).
        """SELECT k.org_code, e.entry_id, e.customer_id, e.points, e.lot_id, k.source_ref
           FROM (SELECT k->>0 AS org_code, k->>1 AS source_ref
                 FROM jsonb_array_elements($1::text::jsonb) AS k) AS k
           CROSS JOIN LATERAL (
               SELECT e.entry_id, e.customer_id, e.points, e.lot_id FROM loyalty_entries e
               WHERE e.org_code = k.org_code AND e.source_ref = k.source_ref AND e.kind = 'earn'
               LIMIT 1
           ) e""",
        json_rows(list(pairs)),
    )
    return {(r["org_code"], r["source_ref"]): r for r in rows}


_LOT_COPY_COLS = (
    "org_code",
    "lot_id",
    "customer_id",
    "origin_entry_id",
    "points",
    "remaining",
    "reversed",
    "available_at",
    "expires_at",
    "created_at",
)
_ENTRY_COPY_COLS = (
    "org_code",
    "entry_id",
    "customer_id",
    "seq",
    "kind",
    "points",
    "reason",
    "source_ref",
    "ref_entry_id",
    "lot_id",
    "debt_change",
    "balance_after",
    "actor",
    "cc_code",
    "channel_code",
    "created_at",
)


COPY_FROM = 32  # below this many rows a prepared INSERT (one round trip) beats binary COPY


async def _insert(
    conn: asyncpg.Connection, table: str, columns: Sequence[str], records: Sequence[Sequence[object]]
) -> None:
    if len(records) >= COPY_FROM:
        await conn.copy_records_to_table(table, columns=list(columns), records=records)
        return
    placeholders = ", ".join(f"${i + 1}" for i in range(len(columns)))
    await conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", records)


async def save(
    conn: asyncpg.Connection,
    accounts: Sequence[tuple[str, LoyaltyAccount]],
    redemptions: Sequence[tuple[str, Redemption]] = (),
    *,
    actor: str | None,
    now: datetime,
    cc_code: str | None = None,
    channel_code: str | None = None,
) -> None:
    """Write what the domain did to ``accounts`` (and the redemptions it created or restored);
    ``actor`` / ``cc_code`` / ``channel_code`` of the call are recorded on every new entry."""
    new_lots = [(org, lot) for org, acc in accounts for lot in acc.new_lots]
    new_ids = {(org, lot.lot_id) for org, lot in new_lots}
    changed = [
        (org, acc.lots[lot_id])
        for org, acc in accounts
        for lot_id in sorted(acc.changed_lots)
        if (org, lot_id) not in new_ids
    ]
    entries = [(org, e) for org, acc in accounts for e in acc.new_entries]
    if new_lots:
        await _insert(
            conn,
            "loyalty_lots",
            _LOT_COPY_COLS,
            [
                (
                    o,
                    lot.lot_id,
                    lot.customer_id,
                    lot.origin_entry_id,
                    lot.points,
                    lot.remaining,
                    lot.reversed,
                    lot.available_at,
                    lot.expires_at,
                    lot.created_at,
                )
                for o, lot in new_lots
            ],
        )
    if changed:
        await conn.execute(
            """UPDATE loyalty_lots l SET remaining = u.remaining, reversed = u.reversed
               FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
                    AS u(org_code, lot_id, remaining, reversed)
               WHERE l.org_code = u.org_code AND l.lot_id = u.lot_id""",
            [o for o, _ in changed],
            [lot.lot_id for _, lot in changed],
            [lot.remaining for _, lot in changed],
            [lot.reversed for _, lot in changed],
        )

    def row(o: str, e: Entry) -> tuple[object, ...]:
        return (
            o,
            e.entry_id,
            e.customer_id,
            e.seq,
            e.kind,
            e.points,
            e.reason,
            e.source_ref,
            e.ref_entry_id,
            e.lot_id,
            e.debt_change,
            e.balance_after,
            actor,
            cc_code,
            channel_code,
            e.created_at,
        )

    single = [row(o, e) for o, e in entries if len(e.movements) <= 1]
    multi = [
        (*row(o, e), [m.lot_id for m in e.movements], [m.points for m in e.movements])
        for o, e in entries
        if len(e.movements) > 1
    ]
    if single:  # the common case (earns, one-lot debits): no array columns to encode
        await _insert(conn, "loyalty_entries", _ENTRY_COPY_COLS, single)
    if multi:
        await _insert(conn, "loyalty_entries", (*_ENTRY_COPY_COLS, "lot_ids", "lot_points"), multi)
    await _save_redemptions(conn, redemptions, now)
    touched = [(org, acc) for org, acc in accounts if acc.new_entries]
    if touched:
        await conn.execute(
            # The new values as one jsonb parameter of arrays (cheaper to encode than five arrays).
            """UPDATE loyalty_accounts a
               SET debt = (u.v->>2)::bigint, total = (u.v->>3)::bigint, seq = (u.v->>4)::bigint,
                   updated_at = $2
               FROM jsonb_array_elements($1::text::jsonb) AS u(v)
               WHERE a.org_code = u.v->>0 AND a.customer_id = u.v->>1""",
            json_rows([(o, a.customer_id, a.debt, a.total, a.seq) for o, a in touched]),
            now,
        )


async def _save_redemptions(
    conn: asyncpg.Connection, redemptions: Sequence[tuple[str, Redemption]], now: datetime
) -> None:
    fresh = [(o, r) for o, r in redemptions if r.new]
    old = [(o, r) for o, r in redemptions if not r.new]
    if fresh:
        await conn.execute(
            """INSERT INTO loyalty_redemptions (org_code, redemption_id, customer_id, points, debt_points,
                                                debt_restored, source_ref, created_at)
               SELECT o, i, c, p, d, dr, s, $8
               FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
                           $7::text[]) AS u(o, i, c, p, d, dr, s)""",
            [o for o, _ in fresh],
            [r.redemption_id for _, r in fresh],
            [r.customer_id for _, r in fresh],
            [r.points for _, r in fresh],
            [r.debt_points for _, r in fresh],
            [r.debt_restored for _, r in fresh],
            [r.source_ref for _, r in fresh],
            now,
        )
        allocs = [(o, r.redemption_id, i, a) for o, r in fresh for i, a in enumerate(r.allocations)]
        if allocs:
            await conn.execute(
                """INSERT INTO loyalty_redemption_lots (org_code, redemption_id, position, lot_id, points,
                                                        restored)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[],
                                        $6::bigint[])""",
                [x[0] for x in allocs],
                [x[1] for x in allocs],
                [x[2] for x in allocs],
                [x[3].lot_id for x in allocs],
                [x[3].points for x in allocs],
                [x[3].restored for x in allocs],
            )
        for _, r in fresh:
            r.new = False
    if old:
        await conn.execute(
            """UPDATE loyalty_redemptions r SET debt_restored = u.dr
               FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(o, i, dr)
               WHERE r.org_code = u.o AND r.redemption_id = u.i""",
            [o for o, _ in old],
            [r.redemption_id for _, r in old],
            [r.debt_restored for _, r in old],
        )
        allocs = [(o, r.redemption_id, i, a) for o, r in old for i, a in enumerate(r.allocations)]
        if allocs:
            await conn.execute(
                """UPDATE loyalty_redemption_lots a SET restored = u.restored
                   FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[])
                        AS u(o, i, pos, restored)
                   WHERE a.org_code = u.o AND a.redemption_id = u.i AND a.position = u.pos""",
                [x[0] for x in allocs],
                [x[1] for x in allocs],
                [x[2] for x in allocs],
                [x[3].restored for x in allocs],
            )


async def balances(conn: asyncpg.Connection, keys: Sequence[Key], now: datetime) -> dict[Key, Balance]:
    """Available / pending (lots' remaining points split at ``now``) and debt per customer."""
    ordered = _keys(keys)
    if not ordered:
        return {}
    rows = await conn.fetch(
        f"""SELECT a.org_code, a.customer_id, a.debt,
                  COALESCE(SUM(l.remaining) FILTER (WHERE l.available_at <= $2), 0)::bigint AS available,
                  COALESCE(SUM(l.remaining) FILTER (WHERE l.available_at > $2), 0)::bigint AS pending
           FROM {CUSTOMERS} AS k
           JOIN loyalty_accounts a ON a.org_code = k.org_code AND a.customer_id = k.customer_id
           LEFT JOIN loyalty_lots l ON l.org_code = a.org_code AND l.customer_id = a.customer_id
                                   AND l.remaining > 0
           GROUP BY a.org_code, a.customer_id, a.debt""",
        json_rows(ordered),
        now,
    )
    return {(r["org_code"], r["customer_id"]): Balance(r["available"], r["pending"], r["debt"]) for r in rows}


# ---- policy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPolicy:
    policy: LoyaltyPolicy
    revision: int
    is_default: bool
    updated_at: datetime | None


DEFAULT_REVISION = 1  # the documented default counts as revision 1; the first set makes it 2


def _policy(r: asyncpg.Record) -> StoredPolicy:
    return StoredPolicy(
        LoyaltyPolicy(
            points_per_currency_unit=r["points_per_currency_unit"],
            currency=r["currency"],
            pending_days=r["pending_days"],
            expiry_days=r["expiry_days"],
            min_redeem_points=r["min_redeem_points"],
            point_value_minor=r["point_value_minor"],
            excluded_skus=tuple(r["excluded_skus"]),
        ),
        r["revision"],
        False,
        r["updated_at"],
    )


async def get_policies(
    conn: asyncpg.Connection, orgs: Sequence[str], *, lock: bool = False
) -> dict[str, StoredPolicy]:
    rows = await conn.fetch(
        "SELECT * FROM loyalty_policies WHERE org_code = ANY($1::text[])" + (" FOR UPDATE" if lock else ""),
        sorted(set(orgs)),
    )
    found = {r["org_code"]: _policy(r) for r in rows}
    for org in orgs:
        found.setdefault(org, StoredPolicy(DEFAULT_POLICY, DEFAULT_REVISION, True, None))
    return found


async def put_policy(
    conn: asyncpg.Connection, org_code: str, policy: LoyaltyPolicy, revision: int, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO loyalty_policies (org_code, points_per_currency_unit, currency, pending_days,
                                         expiry_days, min_redeem_points, point_value_minor, excluded_skus,
                                         revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
           ON CONFLICT (org_code) DO UPDATE SET
             points_per_currency_unit = EXCLUDED.points_per_currency_unit, currency = EXCLUDED.currency,
             pending_days = EXCLUDED.pending_days, expiry_days = EXCLUDED.expiry_days,
             min_redeem_points = EXCLUDED.min_redeem_points, point_value_minor = EXCLUDED.point_value_minor,
             excluded_skus = EXCLUDED.excluded_skus, revision = EXCLUDED.revision,
             updated_at = EXCLUDED.updated_at""",
        org_code,
        policy.points_per_currency_unit,
        policy.currency,
        policy.pending_days,
        policy.expiry_days,
        policy.min_redeem_points,
        policy.point_value_minor,
        list(policy.excluded_skus),
        revision,
        now,
    )


async def lock_policy_row(conn: asyncpg.Connection, org_code: str) -> None:
    """Serialise policy writers of an org even before its first row exists."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('crm.policy:' || $1))", org_code)


# ---- ledger listing ------------------------------------------------------------------------------


async def list_entries(
    conn: asyncpg.Connection, org_code: str, customer_id: str, before_seq: int | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM loyalty_entries
           WHERE org_code = $1 AND customer_id = $2 AND ($3::bigint IS NULL OR seq < $3)
           ORDER BY seq DESC LIMIT $4""",
        org_code,
        customer_id,
        before_seq,
        limit,
    )


async def entries_by_id(
    conn: asyncpg.Connection, org_code: str, entry_ids: Sequence[str]
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM loyalty_entries WHERE org_code = $1 AND entry_id = ANY($2::text[]) ORDER BY seq",
        org_code,
        list(entry_ids),
    )


async def due_customers(conn: asyncpg.Connection, now: datetime, limit: int) -> list[Key]:
    rows = await conn.fetch(
        """SELECT DISTINCT org_code, customer_id FROM (
               SELECT org_code, customer_id FROM loyalty_lots
               WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $1
               ORDER BY expires_at LIMIT $2) due""",
        now,
        limit,
    )
    return [(r["org_code"], r["customer_id"]) for r in rows]
