"""SCM bookkeeping: what each sale / return did to loyalty, sale lines, parked returns (SQL, set-based)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson

Key = tuple[str, str]  # (org_code, order_id)


@dataclass
class LineState:
    line_id: str
    sku: str
    qty: int
    net_amount_minor: int
    points: int
    returned_qty: int = 0
    reversed_points: int = 0
    new: bool = False
    dirty: bool = False


@dataclass
class SaleState:
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
    new: bool = False


@dataclass
class SaleRecord:
    """A row of ``scm_sales`` to insert."""

    org_code: str
    sale_id: str
    order_id: str
    status: str
    reason: str | None
    customer_id: str | None
    customer_ref: dict[str, Any] | None
    currency: str
    eligible_minor: int
    points_earned: int
    earn_entry_id: str | None
    tender_points: int
    redemption_id: str | None
    occurred_at: datetime


@dataclass
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


def _split(keys: Sequence[Key]) -> tuple[list[str], list[str]]:
    ordered = sorted(set(keys))
    return [k[0] for k in ordered], [k[1] for k in ordered]


async def load_sales(conn: asyncpg.Connection, keys: Sequence[Key]) -> dict[Key, SaleState]:
    """The recorded sale of each order (an applied one wins over skipped duplicates), with its lines."""
    orgs, orders = _split(keys)
    if not orgs:
        return {}
    rows = await conn.fetch(
        """SELECT DISTINCT ON (s.org_code, s.order_id)
                  s.org_code, s.order_id, s.sale_id, s.status, s.reason, s.customer_id, s.earn_entry_id,
                  s.redemption_id, e.lot_id AS earn_lot_id
           FROM unnest($1::text[], $2::text[]) AS k(org_code, order_id)
           JOIN scm_sales s ON s.org_code = k.org_code AND s.order_id = k.order_id
           LEFT JOIN loyalty_entries e ON e.org_code = s.org_code AND e.entry_id = s.earn_entry_id
           ORDER BY s.org_code, s.order_id, (s.status = 'applied') DESC, s.processed_at""",
        orgs,
        orders,
    )
    out = {
        (r["org_code"], r["order_id"]): SaleState(
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
        for r in rows
    }
    applied = [k for k, s in out.items() if s.status == "applied"]
    if applied:
        lines = await conn.fetch(
            """SELECT l.* FROM unnest($1::text[], $2::text[]) AS k(org_code, order_id)
               JOIN scm_sale_lines l ON l.org_code = k.org_code AND l.order_id = k.order_id""",
            [k[0] for k in applied],
            [k[1] for k in applied],
        )
        for r in lines:
            out[(r["org_code"], r["order_id"])].lines[r["line_id"]] = LineState(
                line_id=r["line_id"],
                sku=r["sku"],
                qty=r["qty"],
                net_amount_minor=r["net_amount_minor"],
                points=r["points"],
                returned_qty=r["returned_qty"],
                reversed_points=r["reversed_points"],
            )
    return out


async def load_parked(conn: asyncpg.Connection, keys: Sequence[Key]) -> dict[Key, list[ReturnRecord]]:
    orgs, orders = _split(keys)
    if not orgs:
        return {}
    rows = await conn.fetch(
        """SELECT r.org_code, r.return_id, r.order_id, r.payload
           FROM unnest($1::text[], $2::text[]) AS k(org_code, order_id)
           JOIN scm_returns r ON r.org_code = k.org_code AND r.order_id = k.order_id AND r.status = 'parked'
           ORDER BY r.received_at, r.return_id""",
        orgs,
        orders,
    )
    out: dict[Key, list[ReturnRecord]] = {}
    for r in rows:
        out.setdefault((r["org_code"], r["order_id"]), []).append(
            ReturnRecord(
                r["org_code"], r["return_id"], r["order_id"], "parked", None, dict(r["payload"]), new=False
            )
        )
    return out


async def save(
    conn: asyncpg.Connection,
    sales: Sequence[SaleRecord],
    states: Sequence[SaleState],
    returns: Sequence[ReturnRecord],
    now: datetime,
) -> None:
    if sales:
        await conn.execute(
            """INSERT INTO scm_sales (org_code, sale_id, order_id, status, reason, customer_id, customer_ref,
                                      currency, eligible_minor, points_earned, earn_entry_id, tender_points,
                                      redemption_id, occurred_at, processed_at)
               SELECT o, s, ord, st, re, c, cr::jsonb, cur, el, pe, ee, tp, rd, oc, $15
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::bigint[], $13::text[],
                           $14::timestamptz[]) AS u(o, s, ord, st, re, c, cr, cur, el, pe, ee, tp, rd, oc)
               ON CONFLICT (org_code, sale_id) DO NOTHING""",
            [x.org_code for x in sales],
            [x.sale_id for x in sales],
            [x.order_id for x in sales],
            [x.status for x in sales],
            [x.reason for x in sales],
            [x.customer_id for x in sales],
            [orjson.dumps(x.customer_ref).decode() if x.customer_ref is not None else None for x in sales],
            [x.currency for x in sales],
            [x.eligible_minor for x in sales],
            [x.points_earned for x in sales],
            [x.earn_entry_id for x in sales],
            [x.tender_points for x in sales],
            [x.redemption_id for x in sales],
            [x.occurred_at for x in sales],
            now,
        )
    new_lines = [(s, ln) for s in states for ln in s.lines.values() if ln.new]
    old_lines = [(s, ln) for s in states for ln in s.lines.values() if ln.dirty and not ln.new]
    if new_lines:
        await conn.execute(
            """INSERT INTO scm_sale_lines (org_code, order_id, line_id, sku, qty, net_amount_minor, points,
                                           returned_qty, reversed_points)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[],
                                    $7::bigint[], $8::int[], $9::bigint[])
               ON CONFLICT DO NOTHING""",
            [s.org_code for s, _ in new_lines],
            [s.order_id for s, _ in new_lines],
            [ln.line_id for _, ln in new_lines],
            [ln.sku for _, ln in new_lines],
            [ln.qty for _, ln in new_lines],
            [ln.net_amount_minor for _, ln in new_lines],
            [ln.points for _, ln in new_lines],
            [ln.returned_qty for _, ln in new_lines],
            [ln.reversed_points for _, ln in new_lines],
        )
    if old_lines:
        await conn.execute(
            """UPDATE scm_sale_lines l SET returned_qty = u.rq, reversed_points = u.rp
               FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[])
                    AS u(o, ord, li, rq, rp)
               WHERE l.org_code = u.o AND l.order_id = u.ord AND l.line_id = u.li""",
            [s.org_code for s, _ in old_lines],
            [s.order_id for s, _ in old_lines],
            [ln.line_id for _, ln in old_lines],
            [ln.returned_qty for _, ln in old_lines],
            [ln.reversed_points for _, ln in old_lines],
        )
    fresh = [r for r in returns if r.new]
    done = [r for r in returns if not r.new]
    if fresh:
        await conn.execute(
            """INSERT INTO scm_returns (org_code, return_id, order_id, status, reason, payload,
                                        reversed_points, restored_points, notes, received_at, applied_at)
               SELECT o, i, ord, st, re, p::jsonb, rv, rs, n::jsonb, $10,
                      CASE WHEN st = 'applied' THEN $10 END
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
