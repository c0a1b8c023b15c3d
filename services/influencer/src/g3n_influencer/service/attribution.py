"""Attribution and returns: the one code path for HTTP calls and SCM events.

:func:`apply_attributions` records a batch of resolved attributions (one for an HTTP call,
thousands for a consumer batch) with a fixed number of statements; :func:`apply_returns` claws
back returns per line and unit, parking those whose order has no attribution yet. The HTTP call
(:func:`record_attribution`) and the SCM consumer (:func:`record_sales`, :func:`record_returns`)
only differ in how they resolve the campaign and profile.

Lock order (everywhere in the service): campaign (share) → order (advisory, attribution and
returns) → profile (share/update) → campaign member → earnings in id order → carry-over → payout.
The earning row lock also guards its attribution and lines. One exception: an SCM batch applies
its returns after its sales, so it takes their order and earning locks (and, for fully refunded
orders, member locks) after its sales' member locks; PostgreSQL detects a deadlock that allows
(another batch or call holding one of those and waiting for one of ours) and the consumer
retries the batch (a transient error).

Matching SCM sales: a sale's ``referral_code`` and ``promo_codes`` are looked up (case-
insensitively) among the codes of active profiles that are active members of active campaigns
whose window contains the sale's time and whose currency is the sale's. When several campaigns
match, the one created last wins; within it the referral code beats promo codes, and promo codes
count in the order given. Within one consumer batch, sales are applied before returns (a return
never needs more than its own sale, which is then already recorded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

import asyncpg
from g3n_contracts import ReturnRecorded, SaleRecorded
from g3n_kit.errors import AppError, Conflict, InvalidState, NotFound, ValidationFailed
from g3n_kit.ids import new_id
from g3n_kit.outbox import PackItem
from g3n_kit.values import value_type

from g3n_influencer.adapters import attributions as repo
from g3n_influencer.adapters import campaigns as campaigns_repo
from g3n_influencer.adapters import earnings as earnings_repo
from g3n_influencer.adapters import events, ledger
from g3n_influencer.adapters import lines as lines_repo
from g3n_influencer.adapters.campaigns import CampaignRule
from g3n_influencer.adapters.events import Change
from g3n_influencer.domain.campaigns import Tier, check_attributable, in_window, tier_for
from g3n_influencer.domain.earnings import (
    EarningCalc,
    LineState,
    OrderLine,
    clawback_for_return,
    compute_earning,
    status_after_clawback,
)
from g3n_influencer.domain.profiles import check_can_earn, normalize_code
from g3n_influencer.service.context import Actor
from g3n_influencer.service.models import Attribution, AttributionGet, AttributionList, AttributionRecord


class Draft(NamedTuple):
    """An attribution resolved to a campaign and profile, not yet checked against state
    (a named tuple: the SCM consumer builds one per sale)."""

    org_code: str
    campaign: CampaignRule
    profile_id: str
    code: str | None
    order_id: str
    sale_id: str | None
    occurred_at: datetime
    currency: str
    lines: tuple[OrderLine, ...]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.org_code, self.campaign.campaign_id, self.order_id)

    @property
    def content(self) -> repo.Content:
        """What a repeat must match to replay the recorded attribution (else it conflicts)."""
        return (self.profile_id, self.occurred_at, self.currency, self.lines)


@dataclass
class Outcome:
    kind: Literal["created", "existing", "conflict", "invalid"]
    attribution_id: str | None = None
    error: AppError | None = None
    created: Attribution | None = None  # the new attribution as written (no parked return touched it)


# available_at = occurred_at + holding_days (at most 180, models.py) must stay a datetime.
_LATEST_OCCURRED_AT = datetime(9000, 1, 1, tzinfo=UTC)


def _check_state(d: Draft, member: repo.MemberState | None) -> AppError | None:
    return _check_campaign(d) or _check_member(d, member)


def _check_campaign(d: Draft) -> AppError | None:
    try:
        if d.occurred_at > _LATEST_OCCURRED_AT:  # its earning's available_at would not be a date
            raise ValidationFailed(
                "occurred_at is too far in the future",
                [{"path": "occurred_at", "message": f"must be before {_LATEST_OCCURRED_AT:%Y-%m-%d}"}],
            )
        check_attributable(
            campaign_id=d.campaign.campaign_id,
            status=d.campaign.status,
            starts_at=d.campaign.starts_at,
            ends_at=d.campaign.ends_at,
            occurred_at=d.occurred_at,
        )
        if d.currency != d.campaign.currency:
            raise InvalidState(
                f"order currency {d.currency} differs from campaign {d.campaign.campaign_id}'s"
                f" {d.campaign.currency}",
                state=d.campaign.status,
                required=f"currency {d.campaign.currency}",
            )
    except AppError as exc:
        return exc
    return None


def _check_member(d: Draft, member: repo.MemberState | None) -> AppError | None:
    try:
        if member is None or member.status != "active":
            raise InvalidState(
                f"profile {d.profile_id} is not an active member of campaign {d.campaign.campaign_id}",
                state=member.status if member else "not-a-member",
                required="active member",
            )
        check_can_earn(d.profile_id, member.profile_status)
    except AppError as exc:
        return exc
    return None


_Calc = tuple[EarningCalc, dict[str, Any] | None]  # the calculation and its tier as JSON


def _tier_json(tier: Tier | None) -> dict[str, Any] | None:
    if tier is None:
        return None
    return {
        "name": tier.name,
        "min_orders": tier.min_orders,
        "discount_bps": tier.discount_bps,
        "commission_bps": tier.commission_bps,
    }


class _Rows(NamedTuple):
    """What one new attribution writes (its earning's ``prior_orders`` is set once the member's
    counter is locked)."""

    att: repo.NewAttribution
    earn: repo.NewEarning
    entry: ledger.Entry
    changes: tuple[PackItem, PackItem]


def _rows(
    d: Draft,
    att_id: str,
    calc: EarningCalc,
    tier: dict[str, Any] | None,
    changes: events.ChangeEncoder,
) -> _Rows:
    campaign = d.campaign
    org, campaign_id, profile_id, order_id = d.org_code, campaign.campaign_id, d.profile_id, d.order_id
    source, created_by = changes.actor.source, changes.actor.actor
    earning_id = "ern_" + att_id[4:]  # one earning per attribution: same body
    net_sales = sum(ln.net_amount_minor for ln in d.lines)
    currency, occurred_at, amount = d.currency, d.occurred_at, calc.amount_minor
    available_at = occurred_at + timedelta(days=campaign.holding_days)
    recorded: dict[str, Any] = {  # the attribution.recorded event's data (+ earning_ids below)
        "attribution_id": att_id,
        "campaign_id": campaign_id,
        "profile_id": profile_id,
        "order_id": order_id,
        "code": d.code,
        "source": source,
        "sale_id": d.sale_id,
        "occurred_at": occurred_at,
        "currency": currency,
        "net_sales_minor": net_sales,
    }
    return _Rows(
        {
            "org_code": org,
            **recorded,  # type: ignore[typeddict-item]
            "created_by": created_by,
            "lines": lines_repo.new_lines(calc.lines),
        },
        {
            "org_code": org,
            "earning_id": earning_id,
            "attribution_id": att_id,
            "profile_id": profile_id,
            "campaign_id": campaign_id,
            "order_id": order_id,
            "currency": currency,
            "occurred_at": occurred_at,
            "basis_minor": calc.basis_minor,
            "amount_minor": amount,
            "rule": calc.rule,
            "rate_bps": calc.rate_bps,
            "flat_amount_minor": calc.flat_amount_minor,
            "tier": tier,
            "prior_orders": -1,  # set under the member lock
            "holding_days": campaign.holding_days,
            "status": "pending",
            "available_at": available_at,
        },
        ledger.accrual(
            org, profile_id, currency, earning_id, amount, source=source, actor=created_by, ref=order_id
        ),
        (
            changes.encode(
                org, "attribution", att_id, "recorded", {**recorded, "earning_ids": [earning_id]}, 1
            ),
            changes.encode(
                org,
                "earning",
                earning_id,
                "created",
                {
                    "earning_id": earning_id,
                    "attribution_id": att_id,
                    "profile_id": profile_id,
                    "campaign_id": campaign_id,
                    "order_id": order_id,
                    "amount_minor": amount,
                    "currency": currency,
                    "basis_minor": calc.basis_minor,
                    "rule": calc.rule,
                    "rate_bps": calc.rate_bps,
                    "flat_amount_minor": calc.flat_amount_minor,
                    "tier": tier,
                    "status": "pending",
                    "available_at": available_at,
                },
                1,
            ),
        ),
    )


async def apply_attributions(
    conn: asyncpg.Connection, drafts: Sequence[Draft], actor: Actor
) -> list[Outcome]:
    """Record attributions and their earnings; returns one outcome per draft, in order.

    The member rows (tier counters) are the hot spot: every sale of a popular influencer, on
    every partition, bumps the same counter, whose row lock is held until the transaction
    commits. So the counters are locked last (:func:`repo.bump_members`): members and profiles
    are read and checked without a lock, then a batch writes everything that does not depend on
    the counters (the attributions, ledger rows and change events of campaigns without a tier
    ladder), bumps the counters (locking each member with its profile, and checking both again),
    and only then writes the earnings (each with its exact ``prior_orders``) and the rows of
    laddered campaigns (whose rate depends on the tier).
    """
    outcomes: list[Outcome | None] = [None] * len(drafts)
    # Writers of the same order serialise here, so a later one sees the earlier one's attribution.
    await repo.lock_orders(conn, [(d.org_code, d.order_id) for d in drafts])
    found = await repo.existing(conn, list({d.key for d in drafts}))
    members = await repo.read_members(
        conn, [(d.org_code, d.campaign.campaign_id, d.profile_id) for d in drafts]
    )
    # The commission of an order depends only on its lines, the campaign's rule and the tier in
    # force, so a batch computes it once per distinct (campaign, tier, lines).
    calcs: dict[tuple[int, Tier | None, tuple[OrderLine, ...]], _Calc] = {}

    def calc_for(d: Draft, prior_orders: int) -> _Calc:
        campaign = d.campaign
        tier_in_force = tier_for(campaign.ladder, prior_orders) if campaign.ladder else None
        memo_key = (id(campaign), tier_in_force, d.lines)
        memo = calcs.get(memo_key)
        if memo is None:
            calc = compute_earning(
                d.lines,
                commission=campaign.commission,
                ladder=campaign.ladder,
                prior_orders=prior_orders,
                eligible_skus=campaign.eligible_skus,
                excluded_skus=campaign.excluded_skus,
            )
            memo = calcs[memo_key] = (calc, _tier_json(calc.tier))
        return memo

    changes = events.ChangeEncoder(actor, expected=2 * len(drafts))
    first_in_batch: dict[tuple[str, str, str], tuple[str, repo.Content]] = {}
    deltas: dict[repo.MemberKey, int] = {}
    # The new attributions in order: (draft, id, member, its rank among the member's new orders
    # of this batch, its rows when they do not depend on the counter).
    new: list[tuple[Draft, str, repo.MemberKey, int, _Rows | None]] = []
    for i, d in enumerate(drafts):
        prior = found.get(d.key) or first_in_batch.get(d.key)
        if prior is not None:
            same = prior[1] == d.content
            outcomes[i] = Outcome("existing" if same else "conflict", prior[0])
            continue
        mkey = (d.org_code, d.campaign.campaign_id, d.profile_id)
        error = _check_state(d, members.get(mkey))
        if error is not None:
            outcomes[i] = Outcome("invalid", error=error)
            continue
        rank = deltas.get(mkey, 0)
        deltas[mkey] = rank + 1
        att_id = new_id("att")
        flat = None if d.campaign.ladder else _rows(d, att_id, *calc_for(d, 0), changes)
        new.append((d, att_id, mkey, rank, flat))
        first_in_batch[d.key] = (att_id, d.content)
        outcomes[i] = Outcome("created", att_id)
    if not new:
        return [o for o in outcomes if o is not None]

    def ranked(before: dict[repo.MemberKey, int]) -> list[_Rows]:
        written = []
        for d, att_id, mkey, rank, flat in new:
            prior_orders = before[mkey] + rank
            rows = flat or _rows(d, att_id, *calc_for(d, prior_orders), changes)
            rows.earn["prior_orders"] = prior_orders
            written.append(rows)
        return written

    if len(new) >= repo.COPY_FROM:
        early = [flat for *_, flat in new if flat is not None]
        await repo.copy_rows(
            conn,
            atts=[r.att for r in early],
            entries=[r.entry for r in early],
            outbox=[c for r in early for c in r.changes],
        )
        parked = await repo.take_parked(conn, [(d.org_code, d.order_id) for d, *_ in new])
        written = ranked(await repo.bump_members(conn, deltas))
        late = [r for r, (*_, flat) in zip(written, new, strict=True) if flat is None]
        await repo.copy_rows(
            conn,
            atts=[r.att for r in late],
            earns=[r.earn for r in written],
            entries=[r.entry for r in late],
            outbox=[c for r in late for c in r.changes],
        )
    else:  # one HTTP call: one statement after the counter, and the answer from what was written
        (rows,) = ranked(await repo.bump_members(conn, deltas))
        now, parked = await repo.record_one(conn, rows.att, rows.earn, rows.entry, rows.changes)
        if not parked:
            (o,) = [o for o in outcomes if o is not None and o.kind == "created"]
            o.created = repo.attribution_from_new(rows.att, rows.earn, rows.entry, now)
    if parked:
        await apply_returns(conn, [_from_parked(p) for p in parked], actor)
    return [o for o in outcomes if o is not None]


# --- returns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnCmd:
    org_code: str
    return_id: str
    order_id: str
    occurred_at: datetime
    currency: str
    lines: tuple[tuple[str, int, int], ...]  # (line_id, qty, refund_amount_minor)
    event_id: str


@dataclass
class ReturnStats:
    applied: int = 0
    parked: int = 0
    clawed_back_minor: int = 0
    ignored_units: int = 0
    unknown_lines: int = 0
    changed_earnings: set[str] = field(default_factory=set)


def _from_parked(p: repo.ParkedReturn) -> ReturnCmd:
    return ReturnCmd(
        p.org_code,
        p.return_id,
        p.order_id,
        p.occurred_at,
        p.currency,
        tuple((ln["line_id"], int(ln["qty"]), int(ln["refund_amount_minor"])) for ln in p.lines),
        p.event_id,
    )


async def apply_returns(conn: asyncpg.Connection, returns: Sequence[ReturnCmd], actor: Actor) -> ReturnStats:
    """Claw back returns per line and unit; park the ones whose order has no attribution yet."""
    stats = ReturnStats()
    if not returns:
        return stats
    await repo.lock_orders(conn, [(r.org_code, r.order_id) for r in returns])
    by_order = await repo.lock_for_orders(conn, [(r.org_code, r.order_id) for r in returns])
    to_park = [r for r in returns if (r.org_code, r.order_id) not in by_order]
    await repo.park(
        conn,
        [
            repo.ParkedReturn(
                r.org_code,
                r.return_id,
                r.order_id,
                r.occurred_at,
                r.currency,
                [{"line_id": lid, "qty": q, "refund_amount_minor": amt} for lid, q, amt in r.lines],
                r.event_id,
            )
            for r in to_park
        ],
    )
    stats.parked = len(to_park)
    todo = [r for r in returns if (r.org_code, r.order_id) in by_order]
    done = await repo.applied_already(
        conn,
        [
            (r.org_code, r.return_id, a.attribution_id)
            for r in todo
            for a in by_order[(r.org_code, r.order_id)]
        ],
    )
    entries: list[ledger.Entry] = []
    carry: dict[tuple[str, str, str], int] = {}
    applied_rows: list[tuple[str, str, str, str, int, list[dict[str, Any]]]] = []
    refunded: list[tuple[str, str]] = []
    member_deltas: dict[repo.MemberKey, int] = {}
    changes: list[Change] = []
    touched: dict[str, repo.OrderAttribution] = {}
    for r in todo:
        for att in by_order[(r.org_code, r.order_id)]:
            key = (r.org_code, r.return_id, att.attribution_id)
            if key in done:
                continue
            done.add(key)
            earning = att.earning
            claw_total = 0
            detail: list[dict[str, Any]] = []
            for line_id, qty, _refund in r.lines:
                line = att.lines.get(line_id)
                if line is None:
                    stats.unknown_lines += 1
                    continue
                rc = clawback_for_return(
                    LineState(
                        line.line_id, line.qty, line.amount_minor, line.returned_qty, line.clawed_back_minor
                    ),
                    qty,
                )
                stats.ignored_units += rc.ignored_qty
                if rc.returned_qty:
                    line.returned_qty += rc.returned_qty
                    line.clawed_back_minor += rc.clawback_minor
                    line.dirty = True
                claw_total += rc.clawback_minor
                detail.append(
                    {
                        "line_id": line_id,
                        "qty": rc.returned_qty,
                        "ignored_qty": rc.ignored_qty,
                        "clawback_minor": rc.clawback_minor,
                    }
                )
            claw_total = min(claw_total, earning.net_minor)  # lines and earning agree; belt and braces
            applied_rows.append((r.org_code, r.return_id, att.attribution_id, r.order_id, claw_total, detail))
            stats.applied += 1
            if claw_total:
                before = earning.status
                earning.clawed_back_minor += claw_total
                earning.status = status_after_clawback(before, earning.net_minor)
                if earning.status == "reversed":
                    earning.clear_hold()
                earning.dirty = True
                stats.clawed_back_minor += claw_total
                stats.changed_earnings.add(earning.earning_id)
                entries.append(
                    ledger.clawback(
                        r.org_code,
                        att.profile_id,
                        earning.currency,
                        earning.earning_id,
                        claw_total,
                        status_from=before,
                        status_to=earning.status,
                        reason=f"return {r.return_id}",
                        source=actor.source,
                        actor=actor.actor,
                        ref=r.return_id,
                    )
                )
                if before == "paid":
                    ck = (r.org_code, att.profile_id, earning.currency)
                    carry[ck] = carry.get(ck, 0) + claw_total
                touched[earning.earning_id] = att
            if (
                not att.fully_refunded
                and att.lines
                and all(ln.returned_qty >= ln.qty for ln in att.lines.values())
            ):
                att.fully_refunded = True
                refunded.append((r.org_code, att.attribution_id))
                mk = (r.org_code, att.campaign_id, att.profile_id)
                member_deltas[mk] = member_deltas.get(mk, 0) - 1
    all_atts = [a for atts in by_order.values() for a in atts]
    await repo.save_lines(conn, all_atts)
    await earnings_repo.save(conn, [a.earning for a in all_atts])
    await ledger.append(conn, entries)
    await ledger.add_carry_over(conn, carry)
    await repo.mark_fully_refunded(conn, refunded)
    await repo.add_member_counts(conn, member_deltas)
    await repo.record_applied(conn, applied_rows)
    for att in touched.values():
        e = att.earning
        changes.append(
            Change("earning", e.earning_id, "clawed_back", earnings_repo.summary(e), e.revision, e.org_code)
        )
    await events.emit(conn, actor, changes)
    return stats


# --- HTTP -----------------------------------------------------------------------------------


async def record_attribution(conn: asyncpg.Connection, actor: Actor, cmd: AttributionRecord) -> Attribution:
    org = actor.org_code
    code_key = normalize_code(cmd.code) if cmd.code is not None else None
    rule, profile_id = await campaigns_repo.rule_and_profile(
        conn, org, cmd.campaign_id, profile_id=cmd.profile_id, code_key=code_key
    )
    if profile_id is None:
        raise NotFound(
            f"profile {cmd.profile_id} not found" if cmd.profile_id else f"no profile has code {cmd.code}"
        )
    draft = Draft(
        org_code=org,
        campaign=rule,
        profile_id=profile_id,
        code=cmd.code,
        order_id=cmd.order_id,
        sale_id=None,
        occurred_at=cmd.occurred_at,
        currency=cmd.currency,
        lines=tuple(OrderLine(ln.line_id, ln.sku, ln.qty, ln.net_amount_minor) for ln in cmd.lines),
    )
    (outcome,) = await apply_attributions(conn, [draft], actor)
    if outcome.kind == "invalid":
        assert outcome.error is not None
        raise outcome.error
    if outcome.kind == "conflict":
        raise Conflict(
            f"order {cmd.order_id} is already attributed in campaign {cmd.campaign_id}"
            " with different content",
            {"attribution_id": outcome.attribution_id},
        )
    assert outcome.attribution_id is not None
    return outcome.created or await repo.get(conn, org, outcome.attribution_id)


async def get_attribution(conn: asyncpg.Connection, actor: Actor, cmd: AttributionGet) -> Attribution:
    return await repo.get(conn, actor.org_code, cmd.attribution_id)


async def list_attributions(
    conn: asyncpg.Connection, actor: Actor, cmd: AttributionList
) -> tuple[list[Attribution], str | None]:
    return await repo.list_page(conn, actor.org_code, cmd)


# --- SCM --------------------------------------------------------------------------------------


@value_type
class SaleIn:
    org_code: str
    sale: SaleRecorded


@dataclass
class SalesResult:
    created: int = 0
    existing: int = 0
    unmatched: dict[str, int] = field(default_factory=dict)
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (index, message)


def _codes_of(sale: SaleRecorded) -> list[str]:
    codes = ([sale.referral_code] if sale.referral_code else []) + list(sale.promo_codes)
    return list(dict.fromkeys(normalize_code(c) for c in codes))


_MATCH_SQL = """
SELECT k.org_code, k.code_key, c.profile_id, cp.campaign_id, cp.created_at, cp.starts_at, cp.ends_at,
    cp.currency
FROM unnest($1::text[], $2::text[]) AS k(org_code, code_key)
JOIN ifm_profile_codes c ON c.org_code = k.org_code AND c.code_key = k.code_key
JOIN ifm_profiles p ON p.org_code = c.org_code AND p.profile_id = c.profile_id AND p.status = 'active'
JOIN ifm_campaign_members m ON m.org_code = c.org_code AND m.profile_id = c.profile_id AND m.status = 'active'
JOIN ifm_campaigns cp ON cp.org_code = m.org_code AND cp.campaign_id = m.campaign_id AND cp.status = 'active'
"""


async def record_sales(conn: asyncpg.Connection, sales: Sequence[SaleIn], actor: Actor) -> SalesResult:
    """Attribute SCM sales whose code matches (see the module docstring); count the others."""
    result = SalesResult()
    codes_of = [_codes_of(s.sale) for s in sales]
    wanted = sorted({(s.org_code, code) for s, codes in zip(sales, codes_of, strict=True) for code in codes})
    candidates: dict[tuple[str, str], list[asyncpg.Record]] = {}
    if wanted:
        for row in await conn.fetch(_MATCH_SQL, [w[0] for w in wanted], [w[1] for w in wanted]):
            candidates.setdefault((row["org_code"], row["code_key"]), []).append(row)
    chosen: list[tuple[int, SaleIn, asyncpg.Record]] = []
    for i, (s, codes) in enumerate(zip(sales, codes_of, strict=True)):
        if not codes:
            _count(result, "no-code")
            continue
        rows = [
            (rank, row) for rank, code in enumerate(codes) for row in candidates.get((s.org_code, code), [])
        ]
        if not rows:
            _count(result, "no-match")
            continue
        fits = [
            (rank, row)
            for rank, row in rows
            if in_window(row["starts_at"], row["ends_at"], s.sale.occurred_at)
        ]
        if not fits:
            _count(result, "outside-window")
            continue
        fits = [(rank, row) for rank, row in fits if row["currency"] == s.sale.currency]
        if not fits:
            _count(result, "currency-mismatch")
            continue
        # latest created campaign wins; within it the earliest code (referral first)
        best = max(fits, key=lambda f: (f[1]["created_at"], f[1]["campaign_id"], -f[0]))
        chosen.append((i, s, best[1]))
    rules = await campaigns_repo.rules_for_orgs(
        conn, sorted({(s.org_code, row["campaign_id"]) for _, s, row in chosen}), lock_share=True
    )
    drafts = [
        Draft(
            s.org_code,
            rules[(s.org_code, row["campaign_id"])],
            row["profile_id"],
            row["code_key"],
            sale.order_id,
            sale.sale_id,
            sale.occurred_at,
            sale.currency,
            tuple([OrderLine(ln.line_id, ln.sku, ln.qty, ln.net_amount_minor) for ln in sale.lines]),
        )
        for _, s, row in chosen
        for sale in (s.sale,)
    ]
    outcomes = await apply_attributions(conn, drafts, actor)
    for (i, s, _), outcome in zip(chosen, outcomes, strict=True):
        if outcome.kind == "created":
            result.created += 1
        elif outcome.kind == "existing":
            result.existing += 1
        elif outcome.kind == "conflict":
            result.conflicts.append(
                (
                    i,
                    f"order {s.sale.order_id} already attributed ({outcome.attribution_id})"
                    " with different content",
                )
            )
        else:
            _count(result, outcome.error.code if outcome.error else "invalid")
    return result


def _count(result: SalesResult, reason: str) -> None:
    result.unmatched[reason] = result.unmatched.get(reason, 0) + 1


def return_cmd(org_code: str, event_id: str, ret: ReturnRecorded) -> ReturnCmd:
    return ReturnCmd(
        org_code,
        ret.return_id,
        ret.order_id,
        ret.occurred_at,
        ret.currency,
        tuple((ln.line_id, ln.qty, ln.refund_amount_minor) for ln in ret.lines),
        event_id,
    )


async def record_returns(conn: asyncpg.Connection, returns: Sequence[ReturnCmd], actor: Actor) -> ReturnStats:
    return await apply_returns(conn, returns, actor)
