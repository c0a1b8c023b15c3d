"""The SCM fast path of ``parse_event`` accepts, rejects and returns exactly what the models do.

``parse_event`` validates sales and returns without pydantic's calls into Python and applies
their Python rules afterwards (``codec._settle_scm``). Each case here is decided twice: by
``parse_event`` and by the models alone (``Event[Model].model_validate_json``, the precise path);
both must agree on the envelope, or on the reason, fields and detail of the rejection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

import pytest
from g3n_contracts import ContractError, ReturnRecorded, SaleRecorded, parse_event
from g3n_contracts import event_types as et
from g3n_contracts.codec import _parse_and_explain, _stripped, _without_python_calls, envelope_model
from g3n_contracts.primitives import UtcDatetime
from pydantic import TypeAdapter
from pydantic_core import core_schema

Data = Callable[..., dict[str, Any]]
RawFactory = Callable[..., bytes]
Case = tuple[str, dict[str, Any], dict[str, Any]]  # event type, payload overrides, envelope overrides
LINE = {"line_id": "1", "sku": "TSHIRT-M", "qty": 2, "unit_price_minor": 2500, "discount_minor": 500}
RETURN_LINE = {"line_id": "1", "qty": 1, "refund_amount_minor": 1}
LOYALTY_5 = {"type": "loyalty", "amount_minor": 5}
SALE, RETURN = et.SALE_RECORDED, et.RETURN_RECORDED

VALID: dict[str, Case] = {
    "sale as in events.md": (SALE, {}, {}),
    "sale, offsets normalised to UTC": (
        SALE,
        {"occurred_at": "2026-11-20T16:03:11+02:00"},
        {"occurred_at": "2026-11-20T09:03:11.5-05:00"},
    ),
    "sale, customer by e-mail": (SALE, {"customer": {"email": "ann@example.com"}}, {}),
    "sale, customer by external ref": (SALE, {"customer": {"external_ref": "crm-77"}}, {}),
    "guest sale, no tenders": (SALE, {"customer": None, "tenders": []}, {}),
    "sale, a line without unit price": (
        SALE,
        {
            "lines": [
                {"line_id": "1", "sku": "A", "qty": 3, "net_amount_minor": 999},
                {**LINE, "line_id": "2", "net_amount_minor": 4500},
            ]
        },
        {},
    ),
    "return as in events.md": (RETURN, {}, {}),
    "return, offset and no tenders": (
        RETURN,
        {"occurred_at": "2026-11-22T10:00:00+01:00", "tenders": []},
        {},
    ),
}

INVALID: dict[str, Case] = {
    "repeated sale line ids": (SALE, {"lines": [{**LINE, "net_amount_minor": 4500}] * 2}, {}),
    "net amount off by one": (SALE, {"lines": [{**LINE, "net_amount_minor": 4501}]}, {}),
    "discount above the gross": (
        SALE,
        {"lines": [{**LINE, "discount_minor": 5001, "net_amount_minor": 0}]},
        {},
    ),
    "customer without an identifier": (SALE, {"customer": {}}, {}),
    "loyalty tender without points": (SALE, {"tenders": [{"type": "loyalty", "amount_minor": 100}]}, {}),
    "points on a card tender": (SALE, {"tenders": [{"type": "card", "amount_minor": 100, "points": 5}]}, {}),
    "unknown currency": (SALE, {"currency": "XYZ"}, {}),
    "naive sale time": (SALE, {"occurred_at": "2026-11-20T14:03:11"}, {}),
    "digits as a sale time": (SALE, {"occurred_at": "1700000000"}, {}),
    "a date without a time": (SALE, {"occurred_at": "2026-11-20"}, {}),
    "a number as the envelope time": (SALE, {}, {"occurred_at": 1_700_000_000}),
    "naive envelope time": (SALE, {}, {"occurred_at": "2026-11-20T14:03:11"}),
    "repeated return line ids": (RETURN, {"lines": [RETURN_LINE, RETURN_LINE]}, {}),
    "return, unknown currency": (RETURN, {"currency": "ABC"}, {}),
    "return, loyalty refund without points": (RETURN, {"tenders": [LOYALTY_5]}, {}),
    "return, naive time": (RETURN, {"occurred_at": "2026-11-22T09:00:00"}, {}),
    "a sale time before year 1 in UTC": (SALE, {"occurred_at": "0001-01-01T00:00:00+01:00"}, {}),
    "an envelope time after year 9999 in UTC": (SALE, {}, {"occurred_at": "9999-12-31T23:59:59-01:00"}),
    "a return time before year 1 in UTC": (RETURN, {"occurred_at": "0001-01-01T00:30:00+00:45"}, {}),
}


@pytest.fixture
def build(sale_data: Data, return_data: Data, make_raw: RawFactory) -> Callable[[Case], bytes]:
    def raw(case: Case) -> bytes:
        event_type, payload, envelope = case
        data = sale_data if event_type == SALE else return_data
        return make_raw(event_type, data(**payload), **envelope)

    return raw


@pytest.mark.parametrize("case", VALID.values(), ids=VALID.keys())
def test_fast_path_returns_what_the_models_return(case: Case, build: Callable[[Case], bytes]) -> None:
    raw = build(case)
    model = SaleRecorded if case[0] == SALE else ReturnRecorded
    precise = envelope_model(model).model_validate_json(raw)
    parsed = parse_event(raw)
    assert type(parsed) is type(precise)
    assert parsed == precise
    assert parsed.occurred_at.tzinfo is UTC
    assert parsed.payload_as(model).occurred_at.tzinfo is UTC


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_fast_path_rejects_what_the_models_reject_with_their_error(
    case: Case, build: Callable[[Case], bytes]
) -> None:
    raw = build(case)
    with pytest.raises(ContractError) as precise:
        _parse_and_explain(raw)
    with pytest.raises(ContractError) as fast:
        parse_event(raw)
    assert (fast.value.reason, fast.value.fields, fast.value.detail) == (
        precise.value.reason,
        precise.value.fields,
        precise.value.detail,
    )


def test_a_known_rule_on_a_new_field_stops_the_import() -> None:
    class LaterSale(SaleRecorded):  # a new date-time field: _settle_scm would not normalise it
        paid_at: UtcDatetime | None = None

    branch = TypeAdapter(envelope_model(LaterSale)).core_schema
    with pytest.raises(RuntimeError, match=r"does not know every Python rule of scm\.sale\.recorded"):
        _stripped(SALE, branch)
    assert _stripped(SALE, TypeAdapter(envelope_model(SaleRecorded)).core_schema)  # as registered


def test_a_python_rule_the_fast_path_does_not_know_stops_the_import() -> None:
    def new_rule(value: int) -> int:
        return value

    schema = core_schema.no_info_after_validator_function(new_rule, core_schema.int_schema())
    with pytest.raises(RuntimeError, match="new_rule"):
        _without_python_calls(schema)
