"""THE operation table of the influencer service: every call of spec/influencer.md, once.

Each row names the call, its input and output models, the role it needs and the service function
it runs; the kit mounts it on HTTP (``POST /ifm/<path>``), the CLI and MCP. Roles follow the spec:
a section's write role for its writes; reads need ``inf_view`` where the spec says "reads
inf_view" (profiles, campaigns, earnings) and the section's role otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from g3n_kit.operations import CallContext, Operation, OpResult
from g3n_kit.paging import Page
from pydantic import BaseModel

from g3n_influencer.service import attribution, campaigns, disputes, earnings, payouts, profiles, statements
from g3n_influencer.service import models as m
from g3n_influencer.service.context import Actor

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)

VIEW, MANAGE, CAMPAIGN, FINANCE = "inf_view", "inf_manage", "inf_campaign_admin", "inf_finance"


def actor_of(ctx: CallContext) -> Actor:
    return Actor(org_code=ctx.org_code, actor=ctx.actor, source="api", correlation_id=ctx.correlation_id)


def _call(
    name: str,
    input_model: type[In],
    output_model: type[Out],
    role: str,
    fn: Callable[[asyncpg.Connection, Actor, In], Awaitable[Out]],
    *,
    write: bool = True,
    summary: str = "",
    revision: Callable[[Out], int | None] | None = None,
) -> Operation[In, Out]:
    async def handler(ctx: CallContext, inp: In) -> OpResult[Out]:
        result = await fn(ctx.conn, actor_of(ctx), inp)
        rev = revision(result) if revision else getattr(result, "revision", None)
        return OpResult(result, revision=rev)

    return Operation(
        name, "/" + name.replace(".", "/"), input_model, output_model, role, handler, write, summary
    )


def _list(
    name: str,
    input_model: type[In],
    item_model: type[Out],
    role: str,
    fn: Callable[[asyncpg.Connection, Actor, In], Awaitable[Any]],
    *,
    summary: str = "",
) -> Operation[In, Page[Out]]:
    page_model = Page[item_model]  # type: ignore[valid-type]

    async def handler(ctx: CallContext, inp: In) -> OpResult[Page[Out]]:
        result = await fn(ctx.conn, actor_of(ctx), inp)
        items, token, *rest = result
        return OpResult(page_model(items=items, next_token=token), stats=rest[0] if rest else None)

    return Operation(
        name, "/" + name.replace(".", "/"), input_model, page_model, role, handler, False, summary
    )


def _no_revision(_: Any) -> None:
    return None


OPERATIONS: list[Operation[Any, Any]] = [
    # profiles
    _call(
        "profile.create",
        m.ProfileCreate,
        m.Profile,
        MANAGE,
        profiles.create_profile,
        summary="create an influencer profile with its referral/promo codes",
    ),
    _call("profile.get", m.ProfileGet, m.Profile, VIEW, profiles.get_profile, write=False),
    _list("profile.list", m.ProfileList, m.Profile, VIEW, profiles.list_profiles),
    _call("profile.update", m.ProfileUpdate, m.Profile, MANAGE, profiles.update_profile),
    _call("profile.status.set", m.ProfileStatusSet, m.Profile, MANAGE, profiles.set_profile_status),
    # campaigns
    _call("campaign.create", m.CampaignCreate, m.Campaign, CAMPAIGN, campaigns.create_campaign),
    _call(
        "campaign.get",
        m.CampaignGet,
        m.Campaign,
        VIEW,
        campaigns.get_campaign,
        write=False,
        summary="campaign with members, tiers and totals",
    ),
    _list("campaign.list", m.CampaignList, m.Campaign, VIEW, campaigns.list_campaigns),
    _call("campaign.status.set", m.CampaignStatusSet, m.Campaign, CAMPAIGN, campaigns.set_campaign_status),
    _call("campaign.member.add", m.CampaignMember, m.Campaign, CAMPAIGN, campaigns.add_member),
    _call("campaign.member.remove", m.CampaignMember, m.Campaign, CAMPAIGN, campaigns.remove_member),
    # discount tiers
    _call(
        "discount-tier.set",
        m.DiscountTierSet,
        m.Ladder,
        CAMPAIGN,
        campaigns.set_discount_tiers,
        summary="replace a campaign's tier ladder",
    ),
    _call(
        "discount-tier.get", m.DiscountTierGet, m.Ladder, CAMPAIGN, campaigns.get_discount_tiers, write=False
    ),
    _list("discount-tier.list", m.DiscountTierList, m.Ladder, CAMPAIGN, campaigns.list_discount_tiers),
    # attribution
    _call(
        "attribution.record",
        m.AttributionRecord,
        m.Attribution,
        MANAGE,
        attribution.record_attribution,
        summary="attribute an order to a profile in a campaign and compute its earning",
    ),
    _call(
        "attribution.get", m.AttributionGet, m.Attribution, MANAGE, attribution.get_attribution, write=False
    ),
    _list("attribution.list", m.AttributionList, m.Attribution, MANAGE, attribution.list_attributions),
    # earnings
    _list(
        "earnings.list",
        m.EarningsList,
        m.Earning,
        VIEW,
        earnings.list_earnings,
        summary="earnings with totals per status and currency in stats",
    ),
    _call("earnings.hold", m.EarningsHold, m.Earnings, FINANCE, earnings.hold_earnings),
    _call("earnings.hold.clear", m.EarningsHoldClear, m.Earnings, FINANCE, earnings.clear_earning_holds),
    _call("earnings.release", m.EarningsRelease, m.Earnings, FINANCE, earnings.release_earnings),
    _call(
        "earnings.clawback",
        m.EarningsClawback,
        m.ClawbackResult,
        FINANCE,
        earnings.clawback_earning,
        revision=lambda r: r.earning.revision,
    ),
    # disputes
    _call("dispute.create", m.DisputeCreate, m.Dispute, FINANCE, disputes.create_dispute),
    _call("dispute.get", m.DisputeGet, m.Dispute, FINANCE, disputes.get_dispute, write=False),
    _list("dispute.list", m.DisputeList, m.Dispute, FINANCE, disputes.list_disputes),
    _call("dispute.status.set", m.DisputeStatusSet, m.Dispute, FINANCE, disputes.resolve_dispute),
    # payouts
    _call(
        "payout.ready.set",
        m.PayoutReadySet,
        m.Profile,
        FINANCE,
        profiles.set_payout_ready,
        summary="finance confirms a profile is payable",
    ),
    _call(
        "payout.submit",
        m.PayoutSubmit,
        m.PayoutSubmitResult,
        FINANCE,
        payouts.submit_payouts,
        revision=_no_revision,
    ),
    _call("payout.get", m.PayoutGet, m.Payout, FINANCE, payouts.get_payout, write=False),
    _list("payout.list", m.PayoutList, m.Payout, FINANCE, payouts.list_payouts),
    # statements
    _call("statement.create", m.StatementCreate, m.Statement, FINANCE, statements.create_statement),
    _call(
        "statement.get",
        m.StatementGet,
        m.Statement,
        FINANCE,
        statements.get_statement,
        write=False,
        summary="statement as JSON, or with data.html holding a printable page (format=html)",
    ),
]
