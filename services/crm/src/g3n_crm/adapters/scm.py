"""SCM bookkeeping: what each sale / return did to loyalty, sale lines, parked returns (SQL, set-based)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from g3n_kit.db import json_rows

Key = tuple[str, str]  # (org_code, order_id)


@dataclass(slots=True)
class LineState:
    line_id: str
    sku: str
    qty: int
    net_amount_minor: int
    points: int
    returned_qty: int = 0
    reversed_points: int = 0


@dataclass(slots=True)
class SaleState:
    """What loyalty knows of an order's sale (loaded, or recorded in this batch)."""

    org_code: str
    order_id: str
    sale_id: str
    status: str
    reason: str | None
    customer_id: str | None
    earn_entry_id: str | None
    earn_lot_id: str | None
    redemption_id: str | None
    lines: dict[str, LineState] = field(default_factory=dict)
    lines_changed: bool = False
    new: bool = False  # recorded by this batch (inserted whole, never updated)


@dataclass(slots=True)
class SaleRecord:
    """A row of ``scm_sales`` to insert (its lines are taken from ``state``)."""

    org_code: str
    sale_id: str
    order_id: str
    status: str
    reason: str | None
    customer_id: str | None
    ref: tuple[str | None, str | None, str | None]  # identifiers of a skipped sale (id, email, ext ref)
    currency: str
    eligible_minor: int
    points_earned: int
    earn_entry_id: str | None
    tender_points: int
    redemption_id: str | None
    occurred_at: datetime
    state: SaleState | None = None


@dataclass(slots=True)
class ReturnRecord:
    org_code: str
    return_id: str
    order_id: str
    status: str
    reason: str | None
    payload: dict[str, Any]
    reversed_points: int = 0
    restored_points: int = 0
    notes: list[dict[str, Any]] = field(default_factory=list)
    new: bool = True


# The distinct (org_code, order_id) keys of a batch, passed as ``json_rows`` (see there).
ORDERS = "(SELECT k->>0 AS org_code, k->>1 AS order_id FROM jsonb_array_elements($1::text::jsonb) AS k)"


async def load_sales(conn: asyncpg.Connection, keys: Sequence[Key]) -> dict[Key, SaleState]:
    """The recorded sale of each order (an applied one wins over skipped duplicates), with its lines."""
    orders = sorted(set(keys))
    if not orders:
        return {}
    rows = await conn.fetch(
        # One index probe per order (LATERAL … LIMIT 1 is never flattened into a hash or merge
        # join, which the planner picked for a batch of orders once the table held a few
        # thousand sales: a scan and a sort of the whole table per batch).
        f"""SELECT k.org_code, k.order_id, s.sale_id, s.status, s.reason, s.customer_id, s.earn_entry_id,
                  s.redemption_id, e.lot_id AS earn_lot_id, s.lines
           FROM {ORDERS} AS k
           CROSS JOIN LATERAL (
               SELECT * FROM scm_sales s WHERE s.org_code = k.org_code AND s.order_id = k.order_id
               ORDER BY (s.status = 'applied') DESC, s.processed_at, s.sale_id LIMIT 1
           ) s
           LEFT JOIN loyalty_entries e ON e.org_code = s.org_code AND e.entry_id = s.earn_entry_id""",
        json_rows(orders),
    )
    out: dict[Key, SaleState] = {}
    for r in rows:
        state = SaleState(
            org_code=r["org_code"],
            order_id=r["order_id"],
            sale_id=r["sale_id"],
            status=r["status"],
            reason=r["reason"],
            customer_id=r["customer_id"],
            earn_entry_id=r["earn_entry_id"],
            earn_lot_id=r["earn_lot_id"],
            redemption_id=r["redemption_id"],
        )
        for line in orjson.loads(r["lines"]):
            state.lines[line[0]] = LineState(*line)
        out[(r["org_code"], r["order_id"])] = state
    return out


async def load_parked(conn: asyncpg.Connection, keys: Sequence[Key]) -> dict[Key, list[ReturnRecord]]:
    orders = sorted(set(keys))
    if not orders:
        return {}
    rows = await conn.fetch(
        f"""SELECT r.org_code, r.return_id, r.order_id, r.payload
           FROM {ORDERS} AS k
           JOIN scm_returns r ON r.org_code = k.org_code AND r.order_id = k.order_id AND r.status = 'parked'
           ORDER BY r.received_at, r.return_id""",
        json_rows(orders),
    )
    out: dict[Key, list[ReturnRecord]] = {}
    for r in rows:
        out.setdefault((r["org_code"], r["order_id"]), []).append(
            ReturnRecord(
                r["org_code"], r["return_id"], r["order_id"], "parked", None, dict(r["payload"]), new=False
            )
        )
    return out


_SALE_COPY_COLS = (
    "org_code",
    "sale_id",
    "order_id",
    "status",
    "reason",
    "customer_id",
    "ref_customer_id",
    "ref_email",
    "ref_external_ref",
    "currency",
    "eligible_minor",
    "points_earned",
    "earn_entry_id",
    "tender_points",
    "redemption_id",
    "occurred_at",
    "processed_at",
    "lines",
)


def lines_json(state: SaleState | None) -> str:
    """``[[line_id, sku, qty, net, points, returned_qty, reversed_points], ...]`` (column ``lines``)."""
    if state is None:
        return "[]"
    return orjson.dumps(
        [
            (ln.line_id, ln.sku, ln.qty, ln.net_amount_minor, ln.points, ln.returned_qty, ln.reversed_points)
            for ln in state.lines.values()
        ]
    ).decode()


async def save(
    conn: asyncpg.Connection,
    sales: Sequence[SaleRecord],
    changed: Sequence[SaleState],
    returns: Sequence[ReturnRecord],
    now: datetime,
) -> None:
    """Insert the batch's sales (binary COPY), write back returned lines, upsert returns."""
    if sales:
        await conn.copy_records_to_table(
            "scm_sales",
            columns=_SALE_COPY_COLS,
            records=[
                (
                    x.org_code,
                    x.sale_id,
                    x.order_id,
                    x.status,
                    x.reason,
                    x.customer_id,
                    *x.ref,
                    x.currency,
                    x.eligible_minor,
                    x.points_earned,
                    x.earn_entry_id,
                    x.tender_points,
                    x.redemption_id,
                    x.occurred_at,
                    now,
                    lines_json(x.state),
                )
                for x in sales
            ],
        )
    if changed:
        # Lines of sales recorded before this batch (a sale of this batch is inserted complete).
        await conn.execute(
            """UPDATE scm_sales s SET lines = u.lines
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(o, ord, sid, lines)
               WHERE s.org_code = u.o AND s.order_id = u.ord AND s.sale_id = u.sid""",
            [st.org_code for st in changed],
            [st.order_id for st in changed],
            [st.sale_id for st in changed],
            [lines_json(st) for st in changed],
        )
    fresh = [r for r in returns if r.new]
    done = [r for r in returns if not r.new]
    if fresh:
        await conn.execute(
            """INSERT INTO scm_returns (org_code, return_id, order_id, status, reason, payload,
                                        reversed_points, restored_points, notes, received_at, applied_at)
               SELECT o, i, ord, st, re, p::jsonb, rv, rs, n::jsonb, $10::timestamptz,
                      CASE WHEN st = 'applied' THEN $10::timestamptz END
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                           $7::bigint[], $8::bigint[], $9::text[]) AS u(o, i, ord, st, re, p, rv, rs, n)
               ON CONFLICT (org_code, return_id) DO NOTHING""",
            [r.org_code for r in fresh],
            [r.return_id for r in fresh],
            [r.order_id for r in fresh],
            [r.status for r in fresh],
            [r.reason for r in fresh],
            [orjson.dumps(r.payload).decode() for r in fresh],
            [r.reversed_points for r in fresh],
            [r.restored_points for r in fresh],
            [orjson.dumps(r.notes).decode() for r in fresh],
            now,
        )
    if done:
        await conn.execute(
            """UPDATE scm_returns r SET status = u.st, reason = u.re, reversed_points = u.rv,
                      restored_points = u.rs, notes = u.n::jsonb, applied_at = $8
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[],
                           $7::text[]) AS u(o, i, st, re, rv, rs, n)
               WHERE r.org_code = u.o AND r.return_id = u.i""",
            [r.org_code for r in done],
            [r.return_id for r in done],
            [r.status for r in done],
            [r.reason for r in done],
            [r.reversed_points for r in done],
            [r.restored_points for r in done],
            [orjson.dumps(r.notes).decode() for r in done],
            now,
        )
