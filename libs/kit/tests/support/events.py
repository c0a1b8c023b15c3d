"""Builders of realistic SCM events for tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from g3n_contracts import EventEnvelope, encode_event, event_types, kafka_key, parse_event


def sale_payload(
    sale_id: str,
    order_id: str | None = None,
    *,
    qty: int = 2,
    unit: int = 2500,
    discount: int = 500,
    promo_codes: list[str] | None = None,
    customer_id: str | None = None,
    currency: str = "USD",
) -> dict[str, Any]:
    return {
        "sale_id": sale_id,
        "order_id": order_id or f"o-{sale_id}",
        "channel": "web",
        "store_id": None,
        "occurred_at": "2026-11-20T14:03:11Z",
        "currency": currency,
        "customer": {"customer_id": customer_id, "email": None, "external_ref": None}
        if customer_id
        else None,
        "promo_codes": promo_codes or [],
        "referral_code": None,
        "lines": [
            {
                "line_id": "1",
                "sku": "TSHIRT-M",
                "qty": qty,
                "unit_price_minor": unit,
                "discount_minor": discount,
                "net_amount_minor": qty * unit - discount,
                "category": "apparel",
            }
        ],
        "tenders": [{"type": "card", "amount_minor": qty * unit - discount}],
    }


def envelope_bytes(
    event_type: str, payload: dict[str, Any], *, org: str = "acme", event_id: str | None = None
) -> tuple[bytes, bytes]:
    """(key, value) for a valid event; validated by parsing it back through the contracts."""
    raw: dict[str, Any] = {
        "event_id": event_id or _uuid(),
        "event_type": event_type,
        "event_version": 1,
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "org_code": org,
        "source": "scm",
        "correlation_id": None,
        "payload": payload,
    }
    import orjson

    env: EventEnvelope = parse_event(orjson.dumps(raw))
    return kafka_key(env), encode_event(env)


def sale_bytes(sale_id: str, **kw: Any) -> tuple[bytes, bytes]:
    return envelope_bytes(event_types.SALE_RECORDED, sale_payload(sale_id, **kw))


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())
