"""The append-only earning ledger (SQL). Balances derive from it; see migrations/0002_core.sql."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

import asyncpg
from g3n_kit.values import value_type


@value_type
class Entry:
    org_code: str
    profile_id: str
    currency: str
    kind: str
    amount_minor: int
    balance_delta_minor: int = 0
    carry_over_delta_minor: int = 0
    earning_id: str | None = None
    payout_id: str | None = None
    dispute_id: str | None = None
    status_from: str | None = None
    status_to: str | None = None
    reason: str | None = None
    ref: str | None = None
    source: str = "api"
    actor: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The fields by name (a JSON object for ``json_populate_recordset``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def accrual(
    org: str,
    profile_id: str,
    currency: str,
    earning_id: str,
    amount: int,
    *,
    source: str,
    actor: str | None,
    ref: str | None = None,
) -> Entry:
    return Entry(
        org,
        profile_id,
        currency,
        "accrual",
        amount,
        amount,
        earning_id=earning_id,
        status_to="pending",
        source=source,
        actor=actor,
        ref=ref,
    )


def clawback(
    org: str,
    profile_id: str,
    currency: str,
    earning_id: str,
    amount: int,
    *,
    status_from: str,
    status_to: str,
    reason: str,
    source: str,
    actor: str | None,
    ref: str | None = None,
    dispute_id: str | None = None,
) -> Entry:
    """A clawback lowers the balance; on a paid earning it also books a carry-over."""
    carry = amount if status_from == "paid" else 0
    return Entry(
        org,
        profile_id,
        currency,
        "clawback",
        amount,
        -amount,
        carry,
        earning_id=earning_id,
        status_from=status_from,
        status_to=status_to,
        reason=reason,
        source=source,
        actor=actor,
        ref=ref,
        dispute_id=dispute_id,
    )


def move(
    org: str,
    profile_id: str,
    currency: str,
    earning_id: str,
    kind: str,
    amount: int,
    *,
    status_from: str,
    status_to: str,
    source: str,
    actor: str | None,
    reason: str | None = None,
    payout_id: str | None = None,
    dispute_id: str | None = None,
) -> Entry:
    """A status move of an earning (no balance effect): release, hold, hold_clear, paid, unpaid."""
    return Entry(
        org,
        profile_id,
        currency,
        kind,
        amount,
        earning_id=earning_id,
        payout_id=payout_id,
        dispute_id=dispute_id,
        status_from=status_from,
        status_to=status_to,
        reason=reason,
        source=source,
        actor=actor,
    )


COLUMNS = (
    "org_code",
    "profile_id",
    "currency",
    "kind",
    "amount_minor",
    "balance_delta_minor",
    "carry_over_delta_minor",
    "earning_id",
    "payout_id",
    "dispute_id",
    "status_from",
    "status_to",
    "reason",
    "ref",
    "source",
    "actor",
)
_INSERT = (
    f"INSERT INTO ifm_ledger ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)}"
    " FROM json_populate_recordset(NULL::ifm_ledger, $1::json)"
)


async def append(conn: asyncpg.Connection, entries: Sequence[Entry]) -> None:
    """Append entries (one statement; rows as a JSON array, see attributions._insert_rows)."""
    if not entries:
        return
    await conn.execute(_INSERT, [e.as_dict() for e in entries])


async def add_carry_over(conn: asyncpg.Connection, deltas: dict[tuple[str, str, str], int]) -> None:
    """Apply carry-over deltas keyed ``(org, profile_id, currency)`` (rows locked in key order)."""
    items = sorted((k, v) for k, v in deltas.items() if v)
    if not items:
        return
    await conn.execute(
        """INSERT INTO ifm_carry_overs (org_code, profile_id, currency, carry_over_minor)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
           ON CONFLICT (org_code, profile_id, currency) DO UPDATE
             SET carry_over_minor = ifm_carry_overs.carry_over_minor + EXCLUDED.carry_over_minor,
                 updated_at = now()""",
        [k[0] for k, _ in items],
        [k[1] for k, _ in items],
        [k[2] for k, _ in items],
        [v for _, v in items],
    )


async def carry_over(
    conn: asyncpg.Connection, org: str, profile_id: str, currency: str, *, lock: bool
) -> int:
    value = await conn.fetchval(
        "SELECT carry_over_minor FROM ifm_carry_overs"
        " WHERE org_code = $1 AND profile_id = $2 AND currency = $3" + (" FOR UPDATE" if lock else ""),
        org,
        profile_id,
        currency,
    )
    return int(value or 0)


@dataclass(frozen=True)
class LedgerRow:
    created_at: datetime
    kind: str
    amount_minor: int
    balance_delta_minor: int
    earning_id: str | None
    payout_id: str | None
    reason: str | None
    ref: str | None


async def writers_started_before(conn: asyncpg.Connection, at: datetime) -> int:
    """Transactions on this database, other than ours, that began before ``at`` and are still open.

    Ledger rows carry their transaction's start time, so until these finish, rows dated before
    ``at`` may still appear: a statement covering a period ending at ``at`` must wait for them.
    """
    # The activity view is a per-transaction snapshot: drop it so each poll sees the present.
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return int(
        await conn.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()
                 AND xact_start IS NOT NULL AND xact_start < $1 AND state <> 'idle'""",
            at,
        )
    )


async def balance_before(
    conn: asyncpg.Connection, org: str, profile_id: str, currency: str, at: datetime
) -> int:
    return int(
        await conn.fetchval(
            """SELECT COALESCE(sum(balance_delta_minor), 0) FROM ifm_ledger
               WHERE org_code = $1 AND profile_id = $2 AND currency = $3 AND created_at < $4""",
            org,
            profile_id,
            currency,
            at,
        )
    )


async def money_entries(
    conn: asyncpg.Connection, org: str, profile_id: str, currency: str, start: datetime, end: datetime
) -> list[LedgerRow]:
    rows = await conn.fetch(
        """SELECT created_at, kind, amount_minor, balance_delta_minor, earning_id, payout_id, reason, ref
           FROM ifm_ledger
           WHERE org_code = $1 AND profile_id = $2 AND currency = $3 AND created_at >= $4 AND created_at < $5
             AND balance_delta_minor <> 0
           ORDER BY created_at, entry_id""",
        org,
        profile_id,
        currency,
        start,
        end,
    )
    return [
        LedgerRow(
            r["created_at"],
            r["kind"],
            r["amount_minor"],
            r["balance_delta_minor"],
            r["earning_id"],
            r["payout_id"],
            r["reason"],
            r["ref"],
        )
        for r in rows
    ]
