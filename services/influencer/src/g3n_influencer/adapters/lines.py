"""An attribution's order lines: one JSON text value on its row (``ifm_attributions.lines``,
migration 0005), ``[[line_id, sku, qty, net_amount_minor, eligible, basis_minor, amount_minor,
returned_qty, clawed_back_minor], ...]`` in order.

A sale writes them once with its attribution; returns and manual clawbacks rewrite the value
under the earning's row lock, which guards the attribution and its lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

import asyncpg
import orjson

from g3n_influencer.domain.earnings import LineEarning, OrderLine
from g3n_influencer.service.models import AttributionLineOut, EarningLineOut


@dataclass
class LineRow:
    line_id: str
    sku: str
    qty: int
    net_amount_minor: int
    eligible: bool
    basis_minor: int
    amount_minor: int
    returned_qty: int = 0
    clawed_back_minor: int = 0
    dirty: bool = False  # changed since it was read


#: A line's values in a ``lines`` value, in order; a new line's first seven, then two zeros.
FIELDS = (
    "line_id",
    "sku",
    "qty",
    "net_amount_minor",
    "eligible",
    "basis_minor",
    "amount_minor",
    "returned_qty",
    "clawed_back_minor",
)
_values = attrgetter(*FIELDS)
_new_values = attrgetter(*FIELDS[:7])


def new_lines(lines: Sequence[LineEarning]) -> str:
    """The ``lines`` value of a new attribution (nothing returned or clawed back yet)."""
    return orjson.dumps([(*_new_values(ln), 0, 0) for ln in lines]).decode()


def parse(text: str) -> list[LineRow]:
    """The lines of a ``lines`` value, in order."""
    return [LineRow(*values) for values in orjson.loads(text)]


def order_lines(text: str) -> tuple[OrderLine, ...]:
    """The order lines (id, sku, quantity, net amount) of a ``lines`` value, in order."""
    return tuple(OrderLine(*values[:4]) for values in orjson.loads(text))


def dumps(lines: Iterable[LineRow]) -> str:
    """The ``lines`` value of these lines."""
    return orjson.dumps([_values(ln) for ln in lines]).decode()


def attribution_view(ln: LineRow) -> AttributionLineOut:
    return AttributionLineOut(
        line_id=ln.line_id,
        sku=ln.sku,
        qty=ln.qty,
        net_amount_minor=ln.net_amount_minor,
        eligible=ln.eligible,
        returned_qty=ln.returned_qty,
    )


def earning_view(ln: LineRow) -> EarningLineOut:
    return EarningLineOut(
        line_id=ln.line_id,
        sku=ln.sku,
        qty=ln.qty,
        returned_qty=ln.returned_qty,
        basis_minor=ln.basis_minor,
        amount_minor=ln.amount_minor,
        clawed_back_minor=ln.clawed_back_minor,
    )


async def load(conn: asyncpg.Connection, org: str, attribution_id: str) -> list[LineRow]:
    text = await conn.fetchval(
        "SELECT lines FROM ifm_attributions WHERE org_code = $1 AND attribution_id = $2", org, attribution_id
    )
    return parse(text) if text is not None else []


async def store(conn: asyncpg.Connection, rows: Sequence[tuple[str, str, Iterable[LineRow]]]) -> None:
    """Rewrite the lines of ``(org, attribution_id, lines)``."""
    if not rows:
        return
    await conn.execute(
        """UPDATE ifm_attributions a SET lines = u.lines
           FROM unnest($1::text[], $2::text[], $3::text[]) AS u(org_code, attribution_id, lines)
           WHERE a.org_code = u.org_code AND a.attribution_id = u.attribution_id""",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [dumps(r[2]) for r in rows],
    )
