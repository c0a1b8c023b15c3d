"""Campaign and discount-tier use cases."""

from __future__ import annotations

import asyncpg
from g3n_kit.errors import InvalidState, NotFound, ValidationFailed, check_revision
from g3n_kit.ids import new_id

from g3n_influencer.adapters import campaigns as repo
from g3n_influencer.adapters import events
from g3n_influencer.domain.campaigns import Commission, Tier, check_campaign_transition, ladder_problems
from g3n_influencer.service.context import Actor
from g3n_influencer.service.models import (
    Campaign,
    CampaignCreate,
    CampaignGet,
    CampaignList,
    CampaignMember,
    CampaignStatusSet,
    DiscountTierGet,
    DiscountTierList,
    DiscountTierSet,
    Ladder,
    PercentCommission,
)


async def _check_profiles(conn: asyncpg.Connection, org: str, profile_ids: list[str]) -> None:
    """Every profile must exist in the org (``not-found``) and not be closed (``invalid-state``)."""
    rows = await conn.fetch(
        "SELECT profile_id, status FROM ifm_profiles WHERE org_code = $1 AND profile_id = ANY($2::text[])",
        org,
        profile_ids,
    )
    found = {r["profile_id"]: r["status"] for r in rows}
    missing = [p for p in profile_ids if p not in found]
    if missing:
        raise NotFound(f"profile {missing[0]} not found", {"profile_ids": missing})
    closed = [p for p in profile_ids if found[p] == "closed"]
    if closed:
        raise InvalidState(f"profile {closed[0]} is closed", state="closed", required="active or suspended")


async def create_campaign(conn: asyncpg.Connection, actor: Actor, cmd: CampaignCreate) -> Campaign:
    profile_ids = list(dict.fromkeys(cmd.profile_ids))
    await _check_profiles(conn, actor.org_code, profile_ids)
    commission = (
        Commission("percent", rate_bps=cmd.commission.rate_bps)
        if isinstance(cmd.commission, PercentCommission)
        else Commission("flat", amount_minor=cmd.commission.amount_minor)
    )
    campaign_id = new_id("cmp")
    await repo.insert(
        conn,
        actor.org_code,
        campaign_id=campaign_id,
        name=cmd.name,
        currency=cmd.currency,
        starts_at=cmd.starts_at,
        ends_at=cmd.ends_at,
        commission=commission,
        holding_days=cmd.holding_days,
        eligible_skus=list(dict.fromkeys(cmd.eligible_skus)),
        excluded_skus=list(dict.fromkeys(cmd.excluded_skus)),
        actor=actor.actor,
    )
    await repo.upsert_members(conn, actor.org_code, campaign_id, profile_ids)
    campaign = await repo.get(conn, actor.org_code, campaign_id, with_totals=False)
    await events.emit_one(conn, actor, "campaign", campaign_id, "created", campaign, campaign.revision)
    return campaign


async def get_campaign(conn: asyncpg.Connection, actor: Actor, cmd: CampaignGet) -> Campaign:
    return await repo.get(conn, actor.org_code, cmd.campaign_id)


async def list_campaigns(
    conn: asyncpg.Connection, actor: Actor, cmd: CampaignList
) -> tuple[list[Campaign], str | None]:
    return await repo.list_page(conn, actor.org_code, cmd)


async def set_campaign_status(conn: asyncpg.Connection, actor: Actor, cmd: CampaignStatusSet) -> Campaign:
    row = await repo.load(conn, actor.org_code, cmd.campaign_id, lock="update")
    check_revision(
        expected=cmd.expected_revision, current=row["revision"], what=f"campaign {cmd.campaign_id}"
    )
    check_campaign_transition(row["status"], cmd.status, campaign_id=cmd.campaign_id)
    await repo.bump(conn, actor.org_code, cmd.campaign_id, {"status": cmd.status})
    campaign = await repo.get(conn, actor.org_code, cmd.campaign_id, with_totals=False)
    await events.emit_one(
        conn, actor, "campaign", cmd.campaign_id, "status_changed", campaign, campaign.revision
    )
    return campaign


async def add_member(conn: asyncpg.Connection, actor: Actor, cmd: CampaignMember) -> Campaign:
    row = await repo.load(conn, actor.org_code, cmd.campaign_id, lock="update")
    if row["status"] == "ended":
        raise InvalidState(
            f"campaign {cmd.campaign_id} has ended", state="ended", required="draft, active or paused"
        )
    await _check_profiles(conn, actor.org_code, [cmd.profile_id])
    existing = await repo.member(conn, actor.org_code, cmd.campaign_id, cmd.profile_id, lock=True)
    if existing is not None and existing["status"] == "active":
        return await repo.get(conn, actor.org_code, cmd.campaign_id, with_totals=False)  # already a member
    await repo.upsert_members(conn, actor.org_code, cmd.campaign_id, [cmd.profile_id])
    await repo.bump(conn, actor.org_code, cmd.campaign_id)
    campaign = await repo.get(conn, actor.org_code, cmd.campaign_id, with_totals=False)
    await events.emit_one(
        conn,
        actor,
        "campaign",
        cmd.campaign_id,
        "member_added",
        {"campaign_id": cmd.campaign_id, "profile_id": cmd.profile_id},
        campaign.revision,
    )
    return campaign


async def remove_member(conn: asyncpg.Connection, actor: Actor, cmd: CampaignMember) -> Campaign:
    await repo.load(conn, actor.org_code, cmd.campaign_id, lock="update")
    existing = await repo.member(conn, actor.org_code, cmd.campaign_id, cmd.profile_id, lock=True)
    if existing is None:
        raise NotFound(f"profile {cmd.profile_id} is not a member of campaign {cmd.campaign_id}")
    if existing["status"] == "removed":
        return await repo.get(conn, actor.org_code, cmd.campaign_id, with_totals=False)
    await repo.remove_member(conn, actor.org_code, cmd.campaign_id, cmd.profile_id)
    await repo.bump(conn, actor.org_code, cmd.campaign_id)
    campaign = await repo.get(conn, actor.org_code, cmd.campaign_id, with_totals=False)
    await events.emit_one(
        conn,
        actor,
        "campaign",
        cmd.campaign_id,
        "member_removed",
        {"campaign_id": cmd.campaign_id, "profile_id": cmd.profile_id},
        campaign.revision,
    )
    return campaign


async def set_discount_tiers(conn: asyncpg.Connection, actor: Actor, cmd: DiscountTierSet) -> Ladder:
    tiers = [Tier(t.name, t.min_orders, t.discount_bps, t.commission_bps) for t in cmd.tiers]
    problems = ladder_problems(tiers)
    if problems:
        raise ValidationFailed(f"invalid ladder: {problems[0]['path']}: {problems[0]['message']}", problems)
    row = await repo.load(conn, actor.org_code, cmd.campaign_id, lock="update")
    check_revision(
        expected=cmd.expected_revision, current=row["revision"], what=f"campaign {cmd.campaign_id}"
    )
    if row["status"] == "ended":
        raise InvalidState(
            f"campaign {cmd.campaign_id} has ended", state="ended", required="draft, active or paused"
        )
    await repo.replace_ladder(conn, actor.org_code, cmd.campaign_id, tiers)
    await repo.bump(conn, actor.org_code, cmd.campaign_id)
    ladder = await repo.ladder_of(conn, actor.org_code, cmd.campaign_id)
    await events.emit_one(conn, actor, "campaign", cmd.campaign_id, "tiers_set", ladder, ladder.revision)
    return ladder


async def get_discount_tiers(conn: asyncpg.Connection, actor: Actor, cmd: DiscountTierGet) -> Ladder:
    return await repo.ladder_of(conn, actor.org_code, cmd.campaign_id)


async def list_discount_tiers(
    conn: asyncpg.Connection, actor: Actor, cmd: DiscountTierList
) -> tuple[list[Ladder], str | None]:
    return await repo.ladder_page(conn, actor.org_code, cmd)
