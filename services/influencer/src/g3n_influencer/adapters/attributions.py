"""Attributions with their lines, parked and applied returns (set-based SQL: unnest arrays, few
statements per batch, so the SCM consumer applies thousands of events per second)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, TypedDict

import asyncpg
import orjson
from g3n_kit.db import json_rows
from g3n_kit.errors import InvalidState, NotFound
from g3n_kit.outbox import PackItem
from g3n_kit.paging import Cursor, keyset_condition, page_of, start_cursor

from g3n_influencer.adapters import earnings as earnings_repo
from g3n_influencer.adapters import events, ledger
from g3n_influencer.adapters import lines as lines_repo
from g3n_influencer.adapters.earnings import EarningState, state_of
from g3n_influencer.domain.earnings import OrderLine
from g3n_influencer.domain.profiles import check_can_earn
from g3n_influencer.service.models import (
    Attribution,
    AttributionList,
    Earning,
    HistoryEntry,
    TierOut,
)

MemberKey = tuple[str, str, str]  # (org, campaign_id, profile_id)


def _json(value: Any) -> str:
    """JSON text for a ``jsonb`` element of an unnest array (a list value would become an
    array dimension if passed as a Python list)."""
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class MemberState:
    status: str
    profile_status: str


Content = tuple[str, datetime, str, tuple[OrderLine, ...]]
"""What identifies an attribution's content: profile, order time, currency and the order's lines
(id, sku, quantity, net amount, in order). A repeat of the same order and campaign replays the
attribution when its content is equal, and conflicts otherwise."""


async def existing(
    conn: asyncpg.Connection, keys: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], tuple[str, Content]]:
    """``(org, campaign_id, order_id)`` → ``(attribution_id, content)`` of recorded ones."""
    if not keys:
        return {}
    rows = await conn.fetch(
        # One index probe per key: LATERAL … LIMIT 1 is never turned into a hash join, which the
        # planner picked once the table held a few thousand rows (a scan of it per batch). The
        # keys stay text arrays here: as one jsonb parameter (g3n_kit.db.json_rows) the HTTP
        # call's p99 at 500 requests/s measured 11-12 ms against 6-7 ms (bench/ifm_http.py,
        # alternating runs), and the consumer's CPU did not change measurably.
        """SELECT k.org_code, k.campaign_id, k.order_id, a.attribution_id, a.profile_id, a.occurred_at,
               a.currency, a.lines
           FROM unnest($1::text[], $2::text[], $3::text[]) AS k(org_code, campaign_id, order_id)
           CROSS JOIN LATERAL (
               SELECT a.attribution_id, a.profile_id, a.occurred_at, a.currency, a.lines
               FROM ifm_attributions a
               WHERE a.org_code = k.org_code AND a.campaign_id = k.campaign_id AND a.order_id = k.order_id
               LIMIT 1
           ) a""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return {
        (r["org_code"], r["campaign_id"], r["order_id"]): (
            r["attribution_id"],
            (r["profile_id"], r["occurred_at"], r["currency"], lines_repo.order_lines(r["lines"])),
        )
        for r in rows
    }


async def read_members(conn: asyncpg.Connection, keys: Sequence[MemberKey]) -> dict[MemberKey, MemberState]:
    """The members' and their profiles' status, to check a batch's attributions against.

    Nothing is locked here, so the batches of every partition read a popular influencer's rows at
    once: :func:`bump_members` locks them, as late as possible, and checks them again.
    """
    ordered = sorted(set(keys))
    if not ordered:
        return {}
    rows = await conn.fetch(
        """SELECT m.org_code, m.campaign_id, m.profile_id, m.status, p.status AS profile_status
           FROM ifm_campaign_members m
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(org_code, campaign_id, profile_id)
             ON m.org_code = k.org_code AND m.campaign_id = k.campaign_id AND m.profile_id = k.profile_id
           JOIN ifm_profiles p ON p.org_code = m.org_code AND p.profile_id = m.profile_id""",
        [k[0] for k in ordered],
        [k[1] for k in ordered],
        [k[2] for k in ordered],
    )
    return {
        (r["org_code"], r["campaign_id"], r["profile_id"]): MemberState(r["status"], r["profile_status"])
        for r in rows
    }


def _counter_sql(*, bump: bool) -> str:
    """Add ``delta`` to members' tier counters, locking their rows in key order first (a plain
    ``UPDATE … FROM`` locks them in whatever order its plan visits them); returns each counter
    before. ``bump`` (new attributions): only active members, each with its profile share-locked
    right after it and its status returned, as they are once locked."""
    profile = "JOIN ifm_profiles p ON p.org_code = m.org_code AND p.profile_id = m.profile_id"
    return f"""
WITH locked AS MATERIALIZED (
    SELECT m.org_code, m.campaign_id, m.profile_id, u.delta{", p.status AS profile_status" if bump else ""}
    FROM ifm_campaign_members m
    JOIN unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS u(org_code, campaign_id, profile_id, delta)
      ON m.org_code = u.org_code AND m.campaign_id = u.campaign_id AND m.profile_id = u.profile_id
    {profile + " WHERE m.status = 'active'" if bump else ""}
    ORDER BY m.org_code, m.campaign_id, m.profile_id
    FOR NO KEY UPDATE OF m{" FOR SHARE OF p" if bump else ""}
)
UPDATE ifm_campaign_members m SET counted_orders = m.counted_orders + l.delta, updated_at = now()
FROM locked l
WHERE m.org_code = l.org_code AND m.campaign_id = l.campaign_id AND m.profile_id = l.profile_id
RETURNING m.org_code, m.campaign_id, m.profile_id, m.counted_orders - l.delta AS before
    {", l.profile_status" if bump else ""}
"""


_BUMP_SQL = _counter_sql(bump=True)
_ADD_COUNTS_SQL = _counter_sql(bump=False)


def _counter_params(items: Sequence[tuple[MemberKey, int]]) -> tuple[list[Any], ...]:
    """The four array parameters of :func:`_counter_sql`."""
    return [k[0] for k, _ in items], [k[1] for k, _ in items], [k[2] for k, _ in items], [v for _, v in items]


async def bump_members(conn: asyncpg.Connection, deltas: dict[MemberKey, int]) -> dict[MemberKey, int]:
    """Add each member's new orders to its tier counter and return the counter before them (the
    ``prior_orders`` of the member's first new order).

    The member rows are locked (in key order, so the bumps of concurrent batches never wait on
    each other in a cycle), each with its profile share-locked right after it, until the
    transaction ends. A batch writes everything that does not depend on the counters first and
    calls this last but for the earnings, so the lock every batch of a popular influencer queues
    on is held for as short a time as possible; and only the batch holding a member's row holds
    its profile's share lock, so a profile update waits for that batch, not for every batch in
    flight. Both are checked again here, on their latest versions: a member removed or a profile
    no longer active since :func:`read_members` raises ``invalid-state`` (the consumer then
    applies the batch's events one at a time, and each sees them as they are now). Through the
    service that is a guard: removing a member locks its campaign, which every attributing
    transaction share-locks.
    """
    items = sorted((k, v) for k, v in deltas.items() if v)
    if not items:
        return {}
    rows = await conn.fetch(_BUMP_SQL, *_counter_params(items))
    for r in rows:
        check_can_earn(r["profile_id"], r["profile_status"])
    before = {(r["org_code"], r["campaign_id"], r["profile_id"]): r["before"] for r in rows}
    gone = [k for k, _ in items if k not in before]
    if gone:
        _, campaign_id, profile_id = gone[0]
        raise InvalidState(
            f"profile {profile_id} is no longer an active member of campaign {campaign_id}",
            state="removed",
            required="active member",
        )
    return before


async def add_member_counts(conn: asyncpg.Connection, deltas: dict[MemberKey, int]) -> None:
    """Add ``deltas`` to members' tier counters (fully refunded orders stop counting)."""
    items = sorted((k, v) for k, v in deltas.items() if v)
    if items:
        await conn.execute(_ADD_COUNTS_SQL, *_counter_params(items))


class NewAttribution(TypedDict):
    org_code: str
    attribution_id: str
    campaign_id: str
    profile_id: str
    order_id: str
    code: str | None
    source: str
    sale_id: str | None
    occurred_at: datetime
    currency: str
    net_sales_minor: int
    created_by: str | None
    lines: str  # JSON text: adapters/lines.py


class NewEarning(TypedDict):
    org_code: str
    earning_id: str
    attribution_id: str
    profile_id: str
    campaign_id: str
    order_id: str
    currency: str
    occurred_at: datetime
    basis_minor: int
    amount_minor: int
    rule: str
    rate_bps: int | None
    flat_amount_minor: int | None
    tier: dict[str, Any] | None
    prior_orders: int
    holding_days: int
    status: str
    available_at: datetime


@dataclass(frozen=True)
class ParkedReturn:
    org_code: str
    return_id: str
    order_id: str
    occurred_at: datetime
    currency: str
    lines: list[dict[str, Any]]  # [{line_id, qty, refund_amount_minor}]
    event_id: str


def _cols(model: Any) -> str:
    return ", ".join(model.__annotations__)


_ATT_COLUMNS = tuple(NewAttribution.__annotations__)
_EARN_COLUMNS = tuple(NewEarning.__annotations__)
_att_row = itemgetter(*_ATT_COLUMNS)
_earn_row = itemgetter(*_EARN_COLUMNS)
_ledger_row = attrgetter(*ledger.COLUMNS)

#: From this many new attributions on, a batch writes with :func:`copy_rows`; one attribution (the
#: HTTP call) goes by :func:`record_one`.
COPY_FROM = 2

_RECORD_SQL = f"""
WITH a AS (
    INSERT INTO ifm_attributions ({_cols(NewAttribution)})
    SELECT {_cols(NewAttribution)} FROM json_populate_recordset(NULL::ifm_attributions, $1::json)
), e AS (
    INSERT INTO ifm_earnings ({_cols(NewEarning)})
    SELECT {_cols(NewEarning)} FROM json_populate_recordset(NULL::ifm_earnings, $2::json)
), g AS (
    INSERT INTO ifm_ledger ({", ".join(ledger.COLUMNS)})
    SELECT {", ".join(ledger.COLUMNS)} FROM json_populate_recordset(NULL::ifm_ledger, $3::json)
), o AS (
    {events.OUTBOX_CTE.format("$5", "$6", "$7")}
), p AS (
    DELETE FROM ifm_parked_returns pr USING json_to_recordset($4::json) AS k(org_code text, order_id text)
    WHERE pr.org_code = k.org_code AND pr.order_id = k.order_id
    RETURNING pr.org_code, pr.return_id, pr.order_id, pr.occurred_at, pr.currency, pr.lines, pr.event_id,
              pr.parked_at
)
SELECT now() AS now, p.* FROM (VALUES (1)) AS one(x) LEFT JOIN p ON true
"""

# The returns parked for the new orders of a batch, taken.
_TAKE_PARKED_SQL = """
DELETE FROM ifm_parked_returns pr USING jsonb_array_elements($1::text::jsonb) AS k(v)
WHERE pr.org_code = k.v->>0 AND pr.order_id = k.v->>1
RETURNING pr.org_code, pr.return_id, pr.order_id, pr.occurred_at, pr.currency, pr.lines, pr.event_id,
          pr.parked_at
"""


async def copy_rows(
    conn: asyncpg.Connection,
    atts: Sequence[NewAttribution] = (),
    earns: Sequence[NewEarning] = (),
    entries: Sequence[ledger.Entry] = (),
    outbox: Sequence[PackItem] = (),
) -> None:
    """Write new attributions (with their lines), earnings, accrual ledger rows and change events
    of a batch by binary ``COPY`` (one round trip per table, PostgreSQL's cheapest bulk path)."""
    copy = conn.copy_records_to_table
    if atts:
        await copy("ifm_attributions", columns=_ATT_COLUMNS, records=[_att_row(a) for a in atts])
    if earns:
        await copy("ifm_earnings", columns=_EARN_COLUMNS, records=[_earn_row(e) for e in earns])
    if entries:
        await copy("ifm_ledger", columns=ledger.COLUMNS, records=[_ledger_row(e) for e in entries])
    if outbox:
        await events.copy_outbox(conn, outbox)


async def take_parked(conn: asyncpg.Connection, orders: Sequence[tuple[str, str]]) -> list[ParkedReturn]:
    """Take the returns parked for these new orders (oldest first)."""
    return _parked(await conn.fetch(_TAKE_PARKED_SQL, json_rows(list(orders))))


async def record_one(
    conn: asyncpg.Connection,
    att: NewAttribution,
    earn: NewEarning,
    entry: ledger.Entry,
    outbox: Sequence[PackItem],
) -> tuple[datetime, list[ParkedReturn]]:
    """Write one new attribution (the HTTP call) and take the returns parked for its order, in ONE
    statement with the rows as JSON (one round trip: the call's latency). Returns the transaction
    time (the rows' ``created_at``) and the parked returns, oldest first."""
    rows = await conn.fetch(
        _RECORD_SQL,
        [att],
        [earn],
        [entry.as_dict()],
        [{"org_code": att["org_code"], "order_id": att["order_id"]}],
        *events.outbox_params(outbox),
    )
    return rows[0]["now"], _parked(rows)


def _parked(rows: Sequence[asyncpg.Record]) -> list[ParkedReturn]:
    """The parked returns of ``rows`` (a row without one: none), oldest first."""
    parked = sorted(
        (r for r in rows if r["return_id"] is not None),
        key=lambda r: (r["parked_at"], r["occurred_at"], r["return_id"]),
    )
    return [
        ParkedReturn(
            r["org_code"],
            r["return_id"],
            r["order_id"],
            r["occurred_at"],
            r["currency"],
            list(r["lines"]),
            str(r["event_id"]),
        )
        for r in parked
    ]


# --- returns ----------------------------------------------------------------------------------


@dataclass
class OrderAttribution:
    org_code: str
    attribution_id: str
    campaign_id: str
    profile_id: str
    order_id: str
    fully_refunded: bool
    earning: EarningState
    lines: dict[str, lines_repo.LineRow]


async def lock_orders(conn: asyncpg.Connection, keys: Sequence[tuple[str, str]]) -> None:
    """Serialise, until the transaction ends, every writer of these (org, order) pairs.

    Attributing an order picks up the returns parked for it, and a return parks when its order
    has no attribution yet. Without a shared lock the two can pass each other in READ COMMITTED
    (the return parks while the attribution is being written and is never picked up). Locks are
    taken in key order, so two batches never wait on each other in a cycle.
    """
    if not keys:
        return
    orgs, orders = zip(*sorted(set(keys)), strict=True)
    await conn.execute(
        """SELECT pg_advisory_xact_lock(k) FROM (
               SELECT DISTINCT hashtextextended(o || ':' || id, 7331) AS k
               FROM unnest($1::text[], $2::text[]) AS t(o, id) ORDER BY 1) ordered""",
        list(orgs),
        list(orders),
    )


async def lock_for_orders(
    conn: asyncpg.Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[OrderAttribution]]:
    """Attributions of ``(org, order_id)`` with their lines and their earnings locked (id order).
    The attribution row is locked with its earning: a writer that waited for the lock then reads
    the lines as the previous holder left them (a manual clawback rewrites them), not the row
    version its statement first saw."""
    if not keys:
        return {}
    ordered = sorted(set(keys))
    rows = await conn.fetch(
        f"""SELECT a.org_code, a.order_id, a.fully_refunded, a.lines, {earnings_repo.COLUMNS}
            FROM ifm_attributions a
            JOIN unnest($1::text[], $2::text[]) AS k(org_code, order_id)
              ON a.org_code = k.org_code AND a.order_id = k.order_id
            JOIN ifm_earnings e ON e.org_code = a.org_code AND e.attribution_id = a.attribution_id
            ORDER BY e.org_code, e.earning_id
            FOR UPDATE OF e, a""",
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    out: dict[tuple[str, str], list[OrderAttribution]] = {}
    for r in rows:
        org = r["org_code"]
        out.setdefault((org, r["order_id"]), []).append(
            OrderAttribution(
                org_code=org,
                attribution_id=r["attribution_id"],
                campaign_id=r["campaign_id"],
                profile_id=r["profile_id"],
                order_id=r["order_id"],
                fully_refunded=r["fully_refunded"],
                earning=state_of(org, r),
                lines={ln.line_id: ln for ln in lines_repo.parse(r["lines"])},
            )
        )
    return out


async def save_lines(conn: asyncpg.Connection, atts: Sequence[OrderAttribution]) -> None:
    """Rewrite the lines of the attributions with a changed line."""
    dirty = [a for a in atts if any(ln.dirty for ln in a.lines.values())]
    await lines_repo.store(conn, [(a.org_code, a.attribution_id, a.lines.values()) for a in dirty])
    for a in dirty:
        for ln in a.lines.values():
            ln.dirty = False


async def mark_fully_refunded(conn: asyncpg.Connection, keys: Sequence[tuple[str, str]]) -> None:
    if not keys:
        return
    await conn.execute(
        """UPDATE ifm_attributions a SET fully_refunded = true
           FROM unnest($1::text[], $2::text[]) AS k(org_code, attribution_id)
           WHERE a.org_code = k.org_code AND a.attribution_id = k.attribution_id""",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )


async def park(conn: asyncpg.Connection, returns: Sequence[ParkedReturn]) -> None:
    if not returns:
        return
    await conn.execute(
        """INSERT INTO ifm_parked_returns (org_code, return_id, order_id, occurred_at, currency, lines,
                                           event_id)
           SELECT o, r, ord, occ, cur, l::jsonb, e
           FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[],
                       $7::uuid[]) AS u(o, r, ord, occ, cur, l, e)
           ON CONFLICT (org_code, return_id) DO NOTHING""",
        [r.org_code for r in returns],
        [r.return_id for r in returns],
        [r.order_id for r in returns],
        [r.occurred_at for r in returns],
        [r.currency for r in returns],
        [_json(r.lines) for r in returns],  # jsonb[] of lists would nest: pass text
        [r.event_id for r in returns],
    )


async def applied_already(
    conn: asyncpg.Connection, keys: Sequence[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Which ``(org, return_id, attribution_id)`` were applied before (HTTP-recorded orders, replays)."""
    if not keys:
        return set()
    rows = await conn.fetch(
        """SELECT r.org_code, r.return_id, r.attribution_id FROM ifm_applied_returns r
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(org_code, return_id, attribution_id)
             ON r.org_code = k.org_code AND r.return_id = k.return_id
                 AND r.attribution_id = k.attribution_id""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return {(r["org_code"], r["return_id"], r["attribution_id"]) for r in rows}


async def record_applied(
    conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str, str, int, list[dict[str, Any]]]]
) -> None:
    if not rows:
        return
    await conn.execute(
        """INSERT INTO ifm_applied_returns (org_code, return_id, attribution_id, order_id, clawback_minor,
                                            lines)
           SELECT o, r, a, ord, c, l::jsonb
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
                AS u(o, r, a, ord, c, l)""",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
        [_json(r[5]) for r in rows],
    )


# --- reads ----------------------------------------------------------------------------------

_COLUMNS = """a.attribution_id, a.campaign_id, a.profile_id, a.order_id, a.code, a.source, a.sale_id,
    a.occurred_at,
    a.currency, a.net_sales_minor, a.fully_refunded, a.created_at, a.lines"""


async def _build(conn: asyncpg.Connection, org: str, rows: Sequence[asyncpg.Record]) -> list[Attribution]:
    ids = [r["attribution_id"] for r in rows]
    earnings = await earnings_repo.for_attributions(conn, org, ids)
    return [
        Attribution(
            attribution_id=r["attribution_id"],
            campaign_id=r["campaign_id"],
            profile_id=r["profile_id"],
            order_id=r["order_id"],
            code=r["code"],
            source=r["source"],
            sale_id=r["sale_id"],
            occurred_at=r["occurred_at"],
            currency=r["currency"],
            net_sales_minor=r["net_sales_minor"],
            fully_refunded=r["fully_refunded"],
            lines=[lines_repo.attribution_view(ln) for ln in lines_repo.parse(r["lines"])],
            earnings=earnings.get(r["attribution_id"], []),
            created_at=r["created_at"],
        )
        for r in rows
    ]


def attribution_from_new(
    att: NewAttribution, earning: NewEarning, accrual: ledger.Entry, now: datetime
) -> Attribution:
    """The public view of an attribution just written by :func:`record_one` (no re-read)."""
    mine = lines_repo.parse(att["lines"])
    tier = earning["tier"]
    return Attribution(
        attribution_id=att["attribution_id"],
        campaign_id=att["campaign_id"],
        profile_id=att["profile_id"],
        order_id=att["order_id"],
        code=att["code"],
        source=att["source"],
        sale_id=att["sale_id"],
        occurred_at=att["occurred_at"],
        currency=att["currency"],
        net_sales_minor=att["net_sales_minor"],
        fully_refunded=False,
        lines=[lines_repo.attribution_view(ln) for ln in mine],
        earnings=[
            Earning(
                earning_id=earning["earning_id"],
                profile_id=earning["profile_id"],
                campaign_id=earning["campaign_id"],
                attribution_id=earning["attribution_id"],
                order_id=earning["order_id"],
                amount_minor=earning["amount_minor"],
                clawed_back_minor=0,
                net_minor=earning["amount_minor"],
                currency=earning["currency"],
                basis_minor=earning["basis_minor"],
                rule=earning["rule"],
                rate_bps=earning["rate_bps"],
                flat_amount_minor=earning["flat_amount_minor"],
                tier=TierOut(**tier) if tier else None,
                prior_orders=earning["prior_orders"],
                lines=[lines_repo.earning_view(ln) for ln in mine if ln.eligible],
                status=earning["status"],
                hold=None,
                available_at=earning["available_at"],
                released_at=None,
                payout_id=None,
                occurred_at=earning["occurred_at"],
                history=[
                    HistoryEntry(
                        at=now,
                        kind=accrual.kind,
                        amount_minor=accrual.amount_minor,
                        status_from=accrual.status_from,
                        status_to=accrual.status_to,
                        reason=accrual.reason,
                        ref=accrual.ref,
                        payout_id=None,
                        dispute_id=None,
                        source=accrual.source,
                        actor=accrual.actor,
                    )
                ],
                created_at=now,
                updated_at=now,
                revision=1,
            )
        ],
        created_at=now,
    )


async def get(conn: asyncpg.Connection, org: str, attribution_id: str) -> Attribution:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM ifm_attributions a WHERE a.org_code = $1 AND a.attribution_id = $2",
        org,
        attribution_id,
    )
    if row is None:
        raise NotFound(f"attribution {attribution_id} not found")
    return (await _build(conn, org, [row]))[0]


async def list_page(
    conn: asyncpg.Connection, org: str, req: AttributionList
) -> tuple[list[Attribution], str | None]:
    scope = "attribution.list"
    cursor = start_cursor(req, scope=scope)
    cond, args = keyset_condition(
        cursor, first_param=7, created_col="a.created_at", id_col="a.attribution_id"
    )
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM ifm_attributions a
            WHERE a.org_code = $1 AND ($2::text IS NULL OR a.campaign_id = $2)
                AND ($3::text IS NULL OR a.profile_id = $3)
              AND ($4::text IS NULL OR a.order_id = $4) AND ($5::timestamptz IS NULL OR a.occurred_at >= $5)
              AND ($6::timestamptz IS NULL OR a.occurred_at < $6) AND {cond}
            ORDER BY a.created_at DESC, a.attribution_id DESC LIMIT {req.limit + 1}""",
        org,
        req.campaign_id,
        req.profile_id,
        req.order_id,
        req.from_,
        req.to,
        *args,
    )
    items, token = page_of(
        rows, req=req, cursor_of=lambda r: Cursor(r["created_at"], r["attribution_id"]), scope=scope
    )
    return await _build(conn, org, items), token
