"""Campaigns, members and discount-tier ladders (SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from g3n_kit.errors import NotFound
from g3n_kit.paging import Cursor, keyset_condition, page_of, start_cursor

from g3n_influencer.domain.campaigns import Commission, Tier
from g3n_influencer.service.models import (
    Campaign,
    CampaignList,
    CampaignTotals,
    CommissionOut,
    DiscountTierList,
    Ladder,
    MemberOut,
    StatusTotal,
    TierOut,
)

_COLUMNS = """c.campaign_id, c.name, c.currency, c.starts_at, c.ends_at, c.commission_type, c.rate_bps,
    c.flat_amount_minor, c.holding_days, c.eligible_skus, c.excluded_skus, c.status, c.revision,
    c.created_at, c.updated_at"""


@dataclass(frozen=True)
class CampaignRule:
    """What attribution needs to know about a campaign (its rule in force right now)."""

    campaign_id: str
    status: str
    currency: str
    starts_at: datetime
    ends_at: datetime | None
    commission: Commission
    holding_days: int
    eligible_skus: frozenset[str]
    excluded_skus: frozenset[str]
    ladder: tuple[Tier, ...]
    created_at: datetime


def commission_of(row: asyncpg.Record) -> Commission:
    if row["commission_type"] == "percent":
        return Commission("percent", rate_bps=row["rate_bps"])
    return Commission("flat", amount_minor=row["flat_amount_minor"])


def rule_of(row: asyncpg.Record, ladder: Sequence[Tier]) -> CampaignRule:
    return CampaignRule(
        campaign_id=row["campaign_id"],
        status=row["status"],
        currency=row["currency"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        commission=commission_of(row),
        holding_days=row["holding_days"],
        eligible_skus=frozenset(row["eligible_skus"]),
        excluded_skus=frozenset(row["excluded_skus"]),
        ladder=tuple(ladder),
        created_at=row["created_at"],
    )


async def load(
    conn: asyncpg.Connection, org: str, campaign_id: str, *, lock: str | None = None
) -> asyncpg.Record:
    """The campaign row; ``lock`` is ``"update"`` or ``"share"``; ``not-found`` when absent."""
    suffix = {None: "", "update": " FOR UPDATE", "share": " FOR SHARE"}[lock]
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM ifm_campaigns c WHERE c.org_code = $1 AND c.campaign_id = $2{suffix}",
        org,
        campaign_id,
    )
    if row is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return row


async def ladders(conn: asyncpg.Connection, org: str, campaign_ids: Sequence[str]) -> dict[str, list[Tier]]:
    rows = await conn.fetch(
        """SELECT campaign_id, name, min_orders, discount_bps, commission_bps FROM ifm_discount_tiers
           WHERE org_code = $1 AND campaign_id = ANY($2::text[]) ORDER BY campaign_id, position""",
        org,
        list(campaign_ids),
    )
    out: dict[str, list[Tier]] = {cid: [] for cid in campaign_ids}
    for r in rows:
        out[r["campaign_id"]].append(Tier(r["name"], r["min_orders"], r["discount_bps"], r["commission_bps"]))
    return out


_LADDER = """(SELECT json_agg(json_build_array(t.name, t.min_orders, t.discount_bps, t.commission_bps)
                      ORDER BY t.position)
      FROM ifm_discount_tiers t WHERE t.org_code = c.org_code AND t.campaign_id = c.campaign_id) AS ladder"""


async def rule_and_profile(
    conn: asyncpg.Connection, org: str, campaign_id: str, *, profile_id: str | None, code_key: str | None
) -> tuple[CampaignRule, str | None]:
    """For an attribution call, in one round trip: the campaign's rule (share-locked, so its
    status cannot change before commit) and the profile named by id or code (None: no such
    profile in this org). ``not-found`` when the campaign is absent."""
    row = await conn.fetchrow(
        f"""SELECT {_COLUMNS}, {_LADDER},
                   CASE WHEN $3::text IS NOT NULL
                        THEN (SELECT p.profile_id FROM ifm_profiles p
                              WHERE p.org_code = $1 AND p.profile_id = $3)
                        ELSE (SELECT k.profile_id FROM ifm_profile_codes k
                              WHERE k.org_code = $1 AND k.code_key = $4)
                   END AS resolved_profile_id
            FROM ifm_campaigns c WHERE c.org_code = $1 AND c.campaign_id = $2 FOR SHARE OF c""",
        org,
        campaign_id,
        profile_id,
        code_key,
    )
    if row is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return rule_of(row, [Tier(*t) for t in row["ladder"] or ()]), row["resolved_profile_id"]


async def rules_for_orgs(
    conn: asyncpg.Connection, keys: Sequence[tuple[str, str]], *, lock_share: bool = False
) -> dict[tuple[str, str], CampaignRule]:
    """Rules of many campaigns across orgs, ``(org, campaign_id)`` → rule (one query each)."""
    if not keys:
        return {}
    orgs = [k[0] for k in keys]
    ids = [k[1] for k in keys]
    rows = await conn.fetch(
        f"""SELECT c.org_code, {_COLUMNS} FROM ifm_campaigns c
            JOIN unnest($1::text[], $2::text[]) AS k(org_code, campaign_id)
              ON c.org_code = k.org_code AND c.campaign_id = k.campaign_id
            ORDER BY c.org_code, c.campaign_id"""
        + (" FOR SHARE OF c" if lock_share else ""),
        orgs,
        ids,
    )
    tiers = await conn.fetch(
        """SELECT t.org_code, t.campaign_id, t.name, t.min_orders, t.discount_bps, t.commission_bps
           FROM ifm_discount_tiers t JOIN unnest($1::text[], $2::text[]) AS k(org_code, campaign_id)
             ON t.org_code = k.org_code AND t.campaign_id = k.campaign_id
           ORDER BY t.org_code, t.campaign_id, t.position""",
        orgs,
        ids,
    )
    by_key: dict[tuple[str, str], list[Tier]] = {}
    for t in tiers:
        by_key.setdefault((t["org_code"], t["campaign_id"]), []).append(
            Tier(t["name"], t["min_orders"], t["discount_bps"], t["commission_bps"])
        )
    return {
        (r["org_code"], r["campaign_id"]): rule_of(r, by_key.get((r["org_code"], r["campaign_id"]), []))
        for r in rows
    }


async def insert(
    conn: asyncpg.Connection,
    org: str,
    *,
    campaign_id: str,
    name: str,
    currency: str,
    starts_at: datetime,
    ends_at: datetime | None,
    commission: Commission,
    holding_days: int,
    eligible_skus: Sequence[str],
    excluded_skus: Sequence[str],
    actor: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO ifm_campaigns (org_code, campaign_id, name, currency, starts_at, ends_at,
            commission_type,
                                      rate_bps, flat_amount_minor, holding_days, eligible_skus, excluded_skus,
                                      created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        org,
        campaign_id,
        name,
        currency,
        starts_at,
        ends_at,
        commission.type,
        commission.rate_bps,
        commission.amount_minor,
        holding_days,
        list(eligible_skus),
        list(excluded_skus),
        actor,
    )


async def bump(
    conn: asyncpg.Connection, org: str, campaign_id: str, fields: dict[str, Any] | None = None
) -> None:
    fields = fields or {}
    assignments = "".join(f"{name} = ${i}, " for i, name in enumerate(fields, start=3))
    await conn.execute(
        f"UPDATE ifm_campaigns SET {assignments}revision = revision + 1, updated_at = now()"
        " WHERE org_code = $1 AND campaign_id = $2",
        org,
        campaign_id,
        *fields.values(),
    )


async def member(
    conn: asyncpg.Connection, org: str, campaign_id: str, profile_id: str, *, lock: bool = False
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT profile_id, status, counted_orders FROM ifm_campaign_members
           WHERE org_code = $1 AND campaign_id = $2 AND profile_id = $3"""
        + (" FOR UPDATE" if lock else ""),
        org,
        campaign_id,
        profile_id,
    )


async def upsert_members(
    conn: asyncpg.Connection, org: str, campaign_id: str, profile_ids: Sequence[str]
) -> None:
    await conn.execute(
        """INSERT INTO ifm_campaign_members (org_code, campaign_id, profile_id)
           SELECT $1, $2, p FROM unnest($3::text[]) AS p
           ON CONFLICT (org_code, campaign_id, profile_id)
           DO UPDATE SET status = 'active', removed_at = NULL, updated_at = now()""",
        org,
        campaign_id,
        list(profile_ids),
    )


async def remove_member(conn: asyncpg.Connection, org: str, campaign_id: str, profile_id: str) -> None:
    await conn.execute(
        """UPDATE ifm_campaign_members SET status = 'removed', removed_at = now(), updated_at = now()
           WHERE org_code = $1 AND campaign_id = $2 AND profile_id = $3""",
        org,
        campaign_id,
        profile_id,
    )


async def replace_ladder(conn: asyncpg.Connection, org: str, campaign_id: str, tiers: Sequence[Tier]) -> None:
    await conn.execute(
        "DELETE FROM ifm_discount_tiers WHERE org_code = $1 AND campaign_id = $2", org, campaign_id
    )
    if tiers:
        await conn.execute(
            """INSERT INTO ifm_discount_tiers (org_code, campaign_id, position, name, min_orders,
                discount_bps,
                                               commission_bps)
               SELECT $1, $2, p - 1, n, m, d, c
               FROM unnest($3::text[], $4::int[], $5::int[], $6::int[]) WITH ORDINALITY AS u(n, m, d, c,
                   p)""",
            org,
            campaign_id,
            [t.name for t in tiers],
            [t.min_orders for t in tiers],
            [t.discount_bps for t in tiers],
            [t.commission_bps for t in tiers],
        )


def _tier_out(t: Tier) -> TierOut:
    return TierOut(
        name=t.name, min_orders=t.min_orders, discount_bps=t.discount_bps, commission_bps=t.commission_bps
    )


async def _members(
    conn: asyncpg.Connection, org: str, campaign_ids: Sequence[str]
) -> dict[str, list[MemberOut]]:
    rows = await conn.fetch(
        """SELECT campaign_id, profile_id, status, counted_orders, added_at,
            removed_at FROM ifm_campaign_members
           WHERE org_code = $1 AND campaign_id = ANY($2::text[]) ORDER BY campaign_id, added_at,
               profile_id""",
        org,
        list(campaign_ids),
    )
    out: dict[str, list[MemberOut]] = {cid: [] for cid in campaign_ids}
    for r in rows:
        out[r["campaign_id"]].append(
            MemberOut(
                profile_id=r["profile_id"],
                status=r["status"],
                counted_orders=r["counted_orders"],
                added_at=r["added_at"],
                removed_at=r["removed_at"],
            )
        )
    return out


async def totals(conn: asyncpg.Connection, org: str, campaign_id: str, currency: str) -> CampaignTotals:
    att = await conn.fetchrow(
        """SELECT count(*) AS orders, COALESCE(sum(net_sales_minor), 0) AS net_sales
           FROM ifm_attributions WHERE org_code = $1 AND campaign_id = $2""",
        org,
        campaign_id,
    )
    assert att is not None
    rows = await conn.fetch(
        """SELECT status, count(*) AS n, COALESCE(sum(amount_minor), 0) AS amount,
                  COALESCE(sum(amount_minor - clawed_back_minor), 0) AS net
           FROM ifm_earnings WHERE org_code = $1 AND campaign_id = $2 GROUP BY status""",
        org,
        campaign_id,
    )
    return CampaignTotals(
        attributed_orders=att["orders"],
        net_sales_minor=int(att["net_sales"]),
        currency=currency,
        earnings={
            r["status"]: StatusTotal(count=r["n"], amount_minor=int(r["amount"]), net_minor=int(r["net"]))
            for r in rows
        },
    )


def _campaign(row: asyncpg.Record, members: list[MemberOut], tiers: list[Tier]) -> Campaign:
    c = commission_of(row)
    return Campaign(
        campaign_id=row["campaign_id"],
        name=row["name"],
        currency=row["currency"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        commission=CommissionOut(type=c.type, rate_bps=c.rate_bps, amount_minor=c.amount_minor),
        holding_days=row["holding_days"],
        eligible_skus=list(row["eligible_skus"]),
        excluded_skus=list(row["excluded_skus"]),
        status=row["status"],
        members=members,
        tiers=[_tier_out(t) for t in tiers],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        revision=row["revision"],
    )


async def get(conn: asyncpg.Connection, org: str, campaign_id: str, *, with_totals: bool = True) -> Campaign:
    row = await load(conn, org, campaign_id)
    members = await _members(conn, org, [campaign_id])
    tiers = await ladders(conn, org, [campaign_id])
    out = _campaign(row, members[campaign_id], tiers[campaign_id])
    if with_totals:
        out.totals = await totals(conn, org, campaign_id, row["currency"])
    return out


async def list_page(
    conn: asyncpg.Connection, org: str, req: CampaignList
) -> tuple[list[Campaign], str | None]:
    scope = "campaign.list"
    cursor = start_cursor(req, scope=scope)
    cond, args = keyset_condition(cursor, first_param=4, created_col="c.created_at", id_col="c.campaign_id")
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM ifm_campaigns c
            WHERE c.org_code = $1 AND ($2::text IS NULL OR c.status = $2)
              AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM ifm_campaign_members m
                  WHERE m.org_code = c.org_code
                   AND m.campaign_id = c.campaign_id AND m.profile_id = $3))
              AND {cond}
            ORDER BY c.created_at DESC, c.campaign_id DESC LIMIT {req.limit + 1}""",
        org,
        req.status,
        req.profile_id,
        *args,
    )
    items, token = page_of(
        rows, req=req, cursor_of=lambda r: Cursor(r["created_at"], r["campaign_id"]), scope=scope
    )
    ids = [r["campaign_id"] for r in items]
    members = await _members(conn, org, ids)
    tiers = await ladders(conn, org, ids)
    return [_campaign(r, members[r["campaign_id"]], tiers[r["campaign_id"]]) for r in items], token


async def ladder_of(conn: asyncpg.Connection, org: str, campaign_id: str) -> Ladder:
    row = await load(conn, org, campaign_id)
    tiers = (await ladders(conn, org, [campaign_id]))[campaign_id]
    return Ladder(
        campaign_id=campaign_id,
        campaign_name=row["name"],
        campaign_status=row["status"],
        revision=row["revision"],
        tiers=[_tier_out(t) for t in tiers],
    )


async def ladder_page(
    conn: asyncpg.Connection, org: str, req: DiscountTierList
) -> tuple[list[Ladder], str | None]:
    """Ladders of the org's campaigns that have one (or of ``campaign_id``), newest campaign first."""
    scope = "discount-tier.list"
    cursor = start_cursor(req, scope=scope)
    cond, args = keyset_condition(cursor, first_param=3, created_col="c.created_at", id_col="c.campaign_id")
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM ifm_campaigns c
            WHERE c.org_code = $1 AND ($2::text IS NULL OR c.campaign_id = $2)
              AND EXISTS (SELECT 1 FROM ifm_discount_tiers t WHERE t.org_code = c.org_code
                          AND t.campaign_id = c.campaign_id)
              AND {cond}
            ORDER BY c.created_at DESC, c.campaign_id DESC LIMIT {req.limit + 1}""",
        org,
        req.campaign_id,
        *args,
    )
    items, token = page_of(
        rows, req=req, cursor_of=lambda r: Cursor(r["created_at"], r["campaign_id"]), scope=scope
    )
    tiers = await ladders(conn, org, [r["campaign_id"] for r in items])
    return [
        Ladder(
            campaign_id=r["campaign_id"],
            campaign_name=r["name"],
            campaign_status=r["status"],
            revision=r["revision"],
            tiers=[_tier_out(t) for t in tiers[r["campaign_id"]]],
        )
        for r in items
    ], token
