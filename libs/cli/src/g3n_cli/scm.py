"""SCM events for `g3n scm emit`: read from a file, or generated (realistic and reproducible).

Every event is built and validated by the contracts (``g3n_contracts``) before anything is
produced, so a file with one bad event emits nothing. Keys and headers come from the contracts
too (``{org}:{order_id}``, ``event_type``), so all events of one order land on one partition.

Generated sales (``--generate N --seed S``) are a pure function of their options: order ``i`` of
seed ``S`` is always the same sale. ``g3n scm emit return --generate N --seed S`` regenerates the
first N sales of that seed and returns one unit of each sale's first line, with the exact share
of its net amount as the refund, so sales and returns can be emitted in two steps.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from g3n_contracts import (
    RETURN_RECORDED,
    SALE_RECORDED,
    ContractError,
    EventEnvelope,
    ReturnLine,
    ReturnRecorded,
    SaleCustomer,
    SaleLine,
    SaleRecorded,
    Tender,
    new_event,
    parse_event,
)
from pydantic import ValidationError

Kind = Literal["sale", "return"]
EVENT_TYPE: dict[str, str] = {"sale": SALE_RECORDED, "return": RETURN_RECORDED}

#: (sku, unit price in minor units, category): a small apparel shop.
CATALOG: tuple[tuple[str, int, str], ...] = (
    ("TSHIRT-S", 1999, "apparel"),
    ("TSHIRT-M", 2500, "apparel"),
    ("TSHIRT-L", 2500, "apparel"),
    ("HOODIE-M", 5900, "apparel"),
    ("HOODIE-L", 5900, "apparel"),
    ("CAP-ONE", 1500, "accessories"),
    ("SOCKS-3PK", 1200, "accessories"),
    ("MUG-CLASSIC", 1400, "home"),
    ("TOTE-BAG", 1800, "accessories"),
    ("STICKER-SET", 500, "gifts"),
)
CHANNELS = ("web", "web", "web", "app", "store")


class EventInputError(Exception):
    """An event in a file (or built from options) that the contract rejects."""


@dataclass(frozen=True)
class GenerateOptions:
    count: int
    seed: int = 1
    currency: str = "USD"
    order_prefix: str = "o-gen"
    promo_codes: Sequence[str] = ()
    promo_share: float = 1.0
    customer_ids: Sequence[str] = ()
    customer_emails: Sequence[str] = ()
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def generate_sale(opts: GenerateOptions, i: int) -> SaleRecorded:
    """Sale ``i`` of ``opts.seed``: 1-3 lines, a card tender, a promo code and a customer if given."""
    rng = random.Random(f"{opts.seed}:{i}")
    lines: list[SaleLine] = []
    for n, (sku, price, category) in enumerate(rng.sample(CATALOG, rng.randint(1, 3)), start=1):
        qty = rng.choice((1, 1, 1, 2, 3))
        gross = qty * price
        discount = gross // 10 if rng.random() < 0.25 else 0
        lines.append(
            SaleLine(
                line_id=str(n),
                sku=sku,
                qty=qty,
                unit_price_minor=price,
                discount_minor=discount,
                net_amount_minor=gross - discount,
                category=category,
            )
        )
    customer: SaleCustomer | None = None
    if opts.customer_ids:
        customer = SaleCustomer(customer_id=rng.choice(list(opts.customer_ids)))
    elif opts.customer_emails:
        customer = SaleCustomer(email=rng.choice(list(opts.customer_emails)))
    promo: tuple[str, ...] = ()
    if opts.promo_codes and rng.random() < opts.promo_share:
        promo = (rng.choice(list(opts.promo_codes)),)
    channel = rng.choice(CHANNELS)
    total = sum(line.net_amount_minor for line in lines)
    order_id = f"{opts.order_prefix}-{opts.seed}-{i}"
    return SaleRecorded(
        sale_id=f"s-{order_id}",
        order_id=order_id,
        channel=channel,
        store_id=f"store-{rng.randint(1, 12)}" if channel == "store" else None,
        occurred_at=opts.occurred_at,
        currency=opts.currency,
        customer=customer,
        promo_codes=promo,
        lines=tuple(lines),
        tenders=(Tender(type="card", amount_minor=total),),
    )


def generate_return(opts: GenerateOptions, i: int) -> ReturnRecorded:
    """One unit of sale ``i``'s first line back, refunded at that unit's exact share of the net."""
    sale = generate_sale(opts, i)
    line = sale.lines[0]
    refund = line.net_amount_minor // line.qty
    return ReturnRecorded(
        return_id=f"r-{sale.order_id}",
        order_id=sale.order_id,
        occurred_at=opts.occurred_at,
        currency=sale.currency,
        lines=(ReturnLine(line_id=line.line_id, qty=1, refund_amount_minor=refund),),
        tenders=(Tender(type="card", amount_minor=refund),),
    )


def generated(kind: Kind, opts: GenerateOptions, org: str) -> Iterator[EventEnvelope]:
    for i in range(1, opts.count + 1):
        payload: SaleRecorded | ReturnRecorded = (
            generate_sale(opts, i) if kind == "sale" else generate_return(opts, i)
        )
        yield new_event(EVENT_TYPE[kind], payload, org_code=org, source="scm")


def _documents(text: str) -> list[Any]:
    """A JSON object, a JSON array of objects, or JSON lines."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        doc = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        out: list[Any] = []
        for n, line in enumerate(stripped.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise EventInputError(f"line {n}: not valid JSON ({exc})") from None
        return out
    return list(doc) if isinstance(doc, list) else [doc]


def from_documents(kind: Kind, docs: Iterable[Any], org: str | None) -> list[EventEnvelope]:
    """Envelopes from full envelopes (``event_type`` present) or bare payloads (``--org`` needed)."""
    event_type = EVENT_TYPE[kind]
    model = SaleRecorded if kind == "sale" else ReturnRecorded
    out: list[EventEnvelope] = []
    for n, doc in enumerate(docs, start=1):
        if not isinstance(doc, dict):
            raise EventInputError(f"event {n}: expected a JSON object")
        try:
            if "event_type" in doc:
                env = parse_event(orjson.dumps(doc))
                if env.event_type != event_type:
                    raise EventInputError(f"event {n}: is {env.event_type}, not {event_type}")
            else:
                if not org:
                    raise EventInputError(f"event {n}: a bare payload needs --org (or G3N_ORG)")
                env = new_event(event_type, model.model_validate(doc), org_code=org, source="scm")
        except ContractError as exc:
            raise EventInputError(f"event {n}: {exc.reason}: {exc.detail}") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
                for e in exc.errors(include_url=False)[:5]
            )
            raise EventInputError(f"event {n}: invalid-payload: {problems}") from None
        out.append(env)
    return out


def from_file(kind: Kind, text: str, org: str | None) -> list[EventEnvelope]:
    return from_documents(kind, _documents(text), org)
