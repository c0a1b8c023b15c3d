"""Statements: an immutable, reconciled account of a profile's balance over a period.

``opening`` is the balance (earned - clawed back - paid, from the ledger) before
``period_start``; ``closing = opening + earned - clawed_back - paid`` over ``[period_start,
period_end)``. Both come from the same append-only ledger, so a period's closing is the next
period's opening. Ledger rows are stamped with their transaction's start time, so a statement may
only cover a period that has ended (``period_end`` not in the future), and it is made only once no
transaction that began before ``period_end`` is still open (it waits up to a few seconds, then
answers ``invalid-state``): a write that started before the period's end and committed after the
statement would otherwise be missing from it yet counted in the next opening, breaking the chain.
"""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime

import asyncpg
from g3n_contracts import minor_unit_exponent
from g3n_kit.errors import InvalidState, ValidationFailed
from g3n_kit.ids import new_id

from g3n_influencer.adapters import events, ledger
from g3n_influencer.adapters import profiles as profiles_repo
from g3n_influencer.adapters import statements as repo
from g3n_influencer.domain.payouts import StatementTotals
from g3n_influencer.service.context import Actor
from g3n_influencer.service.models import Statement, StatementCreate, StatementGet, StatementLine

WRITERS_WAIT_S = 5.0


def _statement(row: asyncpg.Record) -> Statement:
    return Statement(
        statement_id=row["statement_id"],
        profile_id=row["profile_id"],
        handle=row["handle"],
        currency=row["currency"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        opening_balance_minor=row["opening_balance_minor"],
        earned_minor=row["earned_minor"],
        clawed_back_minor=row["clawed_back_minor"],
        paid_minor=row["paid_minor"],
        closing_balance_minor=row["closing_balance_minor"],
        lines=[StatementLine(**ln) for ln in row["lines"]],
        previous_statement_id=row["previous_statement_id"],
        created_at=row["created_at"],
        revision=row["revision"],
    )


async def create_statement(conn: asyncpg.Connection, actor: Actor, cmd: StatementCreate) -> Statement:
    org = actor.org_code
    await profiles_repo.load(conn, org, cmd.profile_id)
    if cmd.period_end > datetime.now(UTC):
        raise ValidationFailed(
            "period_end is in the future: a statement covers a period that has ended",
            [{"path": "period_end", "message": "must not be in the future"}],
        )
    await _wait_for_writers(conn, cmd.period_end)
    opening = await ledger.balance_before(conn, org, cmd.profile_id, cmd.currency, cmd.period_start)
    rows = await ledger.money_entries(
        conn, org, cmd.profile_id, cmd.currency, cmd.period_start, cmd.period_end
    )
    earned = sum(r.amount_minor for r in rows if r.kind == "accrual")
    clawed = sum(r.amount_minor for r in rows if r.kind == "clawback")
    paid = sum(r.amount_minor for r in rows if r.kind == "payout") - sum(
        r.amount_minor for r in rows if r.kind == "payout_failed"
    )
    totals = StatementTotals(opening, earned, clawed, paid)
    lines = [
        StatementLine(
            at=r.created_at,
            kind=r.kind,
            amount_minor=r.amount_minor,
            balance_effect_minor=r.balance_delta_minor,
            earning_id=r.earning_id,
            payout_id=r.payout_id,
            reason=r.reason,
            ref=r.ref,
        ).model_dump(mode="json")
        for r in rows
    ]
    statement_id = new_id("stm")
    await repo.insert(
        conn,
        org,
        {
            "statement_id": statement_id,
            "profile_id": cmd.profile_id,
            "currency": cmd.currency,
            "period_start": cmd.period_start,
            "period_end": cmd.period_end,
            "opening_balance_minor": totals.opening_balance_minor,
            "earned_minor": totals.earned_minor,
            "clawed_back_minor": totals.clawed_back_minor,
            "paid_minor": totals.paid_minor,
            "closing_balance_minor": totals.closing_balance_minor,
            "lines": lines,
            "previous_statement_id": await repo.previous(
                conn, org, cmd.profile_id, cmd.currency, cmd.period_start
            ),
            "created_by": actor.actor,
        },
    )
    statement = _statement(await repo.load(conn, org, statement_id))
    summary = statement.model_dump(mode="json", exclude={"lines", "html"})
    await events.emit_one(conn, actor, "statement", statement_id, "created", summary, statement.revision)
    return statement


async def _wait_for_writers(conn: asyncpg.Connection, period_end: datetime) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WRITERS_WAIT_S
    while (open_writers := await ledger.writers_started_before(conn, period_end)) > 0:
        if loop.time() >= deadline:
            raise InvalidState(
                f"{open_writers} write(s) that began before period_end are still in progress; retry shortly",
                state="writes-in-flight",
                required="no open transaction that began before period_end",
            )
        await asyncio.sleep(0.05)


async def get_statement(conn: asyncpg.Connection, actor: Actor, cmd: StatementGet) -> Statement:
    statement = _statement(await repo.load(conn, actor.org_code, cmd.statement_id))
    if cmd.format == "html":
        statement.html = render_html(statement)
    return statement


def _money(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    exp = minor_unit_exponent(currency)
    value = abs(amount)
    if exp == 0:
        return f"{sign}{value:,} {currency}"
    major, minor = divmod(value, 10**exp)
    return f"{sign}{major:,}.{minor:0{exp}d} {currency}"


_KIND_LABELS = {
    "accrual": "Commission earned",
    "clawback": "Clawed back",
    "payout": "Paid out",
    "payout_failed": "Payout failed (reversed)",
}


def _note(line: StatementLine) -> str:
    if line.kind == "accrual" and line.ref:
        return f"order {line.ref}"
    return line.reason or line.ref or ""


def render_html(s: Statement) -> str:
    """A self-contained printable page (no scripts, no external resources)."""
    esc = html.escape
    rows = (
        "".join(
            f"<tr><td>{esc(ln.at.strftime('%Y-%m-%d %H:%M'))}</td>"
            f"<td>{esc(_KIND_LABELS.get(ln.kind, ln.kind))}</td>"
            f"<td>{esc(ln.earning_id or ln.payout_id or '')}</td><td>{esc(_note(ln))}</td>"
            f"<td class='num'>{esc(_money(ln.balance_effect_minor, s.currency))}</td></tr>"
            for ln in s.lines
        )
        or "<tr><td colspan='5' class='empty'>No activity in this period.</td></tr>"
    )
    summary = [
        ("Opening balance", s.opening_balance_minor),
        ("Earned", s.earned_minor),
        ("Clawed back", -s.clawed_back_minor),
        ("Paid", -s.paid_minor),
        ("Closing balance", s.closing_balance_minor),
    ]
    summary_rows = "".join(
        f"<tr><th>{esc(label)}</th><td class='num'>{esc(_money(v, s.currency))}</td></tr>"
        for label, v in summary
    )
    period = f"{s.period_start:%Y-%m-%d %H:%M} to {s.period_end:%Y-%m-%d %H:%M} UTC"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Statement {esc(s.statement_id)}</title>
<style>
  @page {{ size: A4; margin: 18mm; }}
  body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #111; margin: 24px; }}
  h1 {{ font-size: 20px; margin: 0 0 4px; }}
  .meta {{ color: #555; font-size: 13px; margin-bottom: 18px; }}
  table {{ border-collapse: collapse; width: 100%; font-size: 13px; margin-bottom: 20px; }}
  th, td {{ border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left; }}
  td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
  table.summary {{ width: 50%; }}
  table.summary tr:last-child th,
      table.summary tr:last-child td {{ font-weight: bold; border-top: 2px solid #111; }}
  .empty {{ color: #777; text-align: center; }}
</style></head>
<body>
<h1>Influencer statement</h1>
<div class="meta">Statement {esc(s.statement_id)} · Profile {esc(s.handle)} ({esc(s.profile_id)}) ·
Period {esc(period)} · Currency {esc(s.currency)}</div>
<table class="summary">{summary_rows}</table>
<table><thead><tr><th>Date</th><th>Entry</th><th>Reference</th><th>Note</th>
<th class="num">Amount</th></tr></thead>
<tbody>{rows}</tbody></table>
</body></html>
"""
