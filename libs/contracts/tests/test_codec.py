"""Envelope, encoding, decoding, keys and routing: what producers and consumers rely on."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from g3n_contracts import (
    ALL_TOPICS,
    INVALID_ENVELOPE,
    INVALID_PAYLOAD,
    NOT_JSON,
    REASONS,
    REGISTRY,
    UNKNOWN_EVENT_TYPE,
    UNSUPPORTED_VERSION,
    ChangeEvent,
    ContractError,
    Event,
    EventEnvelope,
    EventPayload,
    PayoutSettled,
    SaleRecorded,
    dlq_topic,
    encode_event,
    kafka_headers,
    kafka_key,
    new_event,
    parse_event,
    topic_for,
    topics,
)
from g3n_contracts import event_types as et

Data = Callable[..., dict[str, Any]]
RawFactory = Callable[..., bytes]
Sample = tuple[str, EventPayload]
AT = datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)
EVENT_ID = "0b5f3c1e-8a2b-4c7d-9e0f-123456789abc"


def reject(raw: bytes) -> ContractError:
    with pytest.raises(ContractError) as err:
        parse_event(raw)
    assert err.value.reason in REASONS
    return err.value


# --- round trips -------------------------------------------------------------------------------


def test_every_event_type_round_trips_through_bytes(sample: Sample) -> None:
    event_type, payload = sample
    env = new_event(event_type, payload, org_code="acme", source=event_type.split(".")[0])
    raw = encode_event(env)
    parsed = parse_event(raw)
    assert parsed == env
    assert type(parsed.payload) is type(payload)
    assert encode_event(parsed) == raw


def test_parsed_event_payload_is_the_registered_model(raw_sale: RawFactory) -> None:
    env = parse_event(raw_sale())
    assert isinstance(env, Event) and isinstance(env.payload, SaleRecorded)
    assert env.payload_as(SaleRecorded).order_id == "o-1001"
    with pytest.raises(TypeError):
        env.payload_as(PayoutSettled)


def test_encoding_is_compact_utf8_json_with_z_datetimes(sale_data: Data) -> None:
    sale = SaleRecorded.model_validate(sale_data(channel="café", occurred_at="2026-11-20T16:03:11+02:00"))
    occurred = datetime(2026, 11, 20, 9, 3, 11, 5, tzinfo=timezone(timedelta(hours=-5)))
    env = new_event(et.SALE_RECORDED, sale, org_code="acme", source="scm", occurred_at=occurred)
    raw = encode_event(env)
    assert b" " not in raw and "café".encode() in raw
    decoded = json.loads(raw)
    assert decoded["occurred_at"] == "2026-11-20T14:03:11.000005Z"
    assert decoded["payload"]["occurred_at"] == "2026-11-20T14:03:11Z"
    assert decoded["event_id"] == str(env.event_id)


def test_new_event_defaults_to_a_fresh_uuid4_and_now_in_utc(sample: Sample) -> None:
    event_type, payload = sample
    before = datetime.now(UTC)
    first = new_event(event_type, payload, org_code="acme", source="crm", correlation_id="req-1")
    second = new_event(event_type, payload, org_code="acme", source="crm")
    assert first.event_id.version == 4 and first.event_id != second.event_id
    assert before <= first.occurred_at <= datetime.now(UTC) and first.occurred_at.tzinfo is UTC
    assert (first.event_version, first.correlation_id) == (1, "req-1")


def test_new_event_keeps_given_id_and_time(sample: Sample) -> None:
    event_type, payload = sample
    env = new_event(
        event_type, payload, org_code="acme", source="ifm", event_id=UUID(EVENT_ID), occurred_at=AT
    )
    assert (env.event_id, env.occurred_at) == (UUID(EVENT_ID), AT)


# --- ContractError reasons ---------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"a":1}}', b"\xff\xfe", b'{"a": NaN}'])
def test_bytes_that_are_not_json_are_rejected_as_not_json(raw: bytes) -> None:
    assert reject(raw).reason == NOT_JSON


@pytest.mark.parametrize("raw", [b"[]", b'"scm.sale.recorded"', b"42", b"null"])
def test_json_that_is_not_an_object_is_an_invalid_envelope(raw: bytes) -> None:
    assert reject(raw).reason == INVALID_ENVELOPE


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"org_code": "ACME"}, "org_code"),
        ({"org_code": "acme:eu"}, "org_code"),
        ({"occurred_at": "2026-11-20T14:03:11"}, "occurred_at"),
        ({"source": ""}, "source"),
        ({"correlation_id": 7}, "correlation_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_envelope_field_is_an_invalid_envelope_naming_the_field(
    raw_sale: RawFactory, overrides: dict[str, Any], field: str
) -> None:
    error = reject(raw_sale(envelope=overrides))
    assert error.reason == INVALID_ENVELOPE
    assert error.fields == (field,)
    assert error.detail.startswith(f"{field}: ")


@pytest.mark.parametrize(
    "overrides", [{"event_type": None}, {"event_type": 5}, {"event_version": "1"}, {"event_version": True}]
)
def test_missing_or_mistyped_routing_fields_are_an_invalid_envelope(
    raw_sale: RawFactory, overrides: dict[str, Any]
) -> None:
    assert reject(raw_sale(envelope=overrides)).reason == INVALID_ENVELOPE


def test_envelope_errors_win_over_payload_errors(raw_sale: RawFactory) -> None:
    error = reject(raw_sale(envelope={"org_code": "ACME"}, currency="XYZ"))
    assert error.reason == INVALID_ENVELOPE
    assert set(error.fields) == {"org_code", "payload.currency"}


@pytest.mark.parametrize(
    "event_type", ["scm.sale.deleted", "accounting.payout.lost", "nope", "SCM.SALE.RECORDED"]
)
def test_unregistered_event_type_is_an_unknown_event_type(raw_sale: RawFactory, event_type: str) -> None:
    error = reject(raw_sale(envelope={"event_type": event_type}))
    assert (error.reason, error.fields) == (UNKNOWN_EVENT_TYPE, ("event_type",))


@pytest.mark.parametrize("version", [0, 2, 99])
def test_unknown_version_of_a_known_type_is_unsupported(raw_sale: RawFactory, version: int) -> None:
    error = reject(raw_sale(envelope={"event_version": version}))
    assert (error.reason, error.fields) == (UNSUPPORTED_VERSION, ("event_version",))


def test_change_event_version_two_is_unsupported(make_raw: RawFactory) -> None:
    change = {"object_type": "campaign", "object_id": "cmp_1", "action": "created", "revision": 1, "data": {}}
    error = reject(make_raw("ifm.campaign.created", change, event_version=2))
    assert error.reason == UNSUPPORTED_VERSION


def test_sale_with_unknown_field_is_rejected_naming_the_field(raw_sale: RawFactory) -> None:
    error = reject(raw_sale(coupon="ANNA10"))
    assert (error.reason, error.fields) == (INVALID_PAYLOAD, ("payload.coupon",))
    assert "payload.coupon: Extra inputs are not permitted" in error.detail


def test_negative_qty_is_an_invalid_payload_naming_the_line(raw_sale: RawFactory, sale_data: Data) -> None:
    line = {**sale_data()["lines"][0], "qty": -2}
    error = reject(raw_sale(lines=[line]))
    assert error.reason == INVALID_PAYLOAD
    assert error.fields == ("payload.lines.0.qty",)  # no echo of the emptied tuple's "too short"


def test_line_sum_mismatch_is_an_invalid_payload(raw_sale: RawFactory, sale_data: Data) -> None:
    line = {**sale_data()["lines"][0], "net_amount_minor": 5000}
    error = reject(raw_sale(lines=[line]))
    assert (error.reason, error.fields) == (INVALID_PAYLOAD, ("payload.lines.0",))
    assert "net_amount_minor 5000 != qty * unit_price_minor - discount_minor (4500)" in error.detail


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"currency": "usd"}, "payload.currency"),
        ({"occurred_at": "2026-11-20T14:03:11"}, "payload.occurred_at"),
        ({"lines": []}, "payload.lines"),
        ({"tenders": [{"type": "loyalty", "amount_minor": 1}]}, "payload.tenders.0"),
        ({"store_id": 12}, "payload.store_id"),
    ],
)
def test_payload_rule_violations_are_invalid_payloads(
    raw_sale: RawFactory, payload: dict[str, Any], field: str
) -> None:
    error = reject(raw_sale(**payload))
    assert (error.reason, error.fields) == (INVALID_PAYLOAD, (field,))


@pytest.mark.parametrize("qty", ["2", 2.0, True])
def test_json_numbers_are_never_coerced(raw_sale: RawFactory, sale_data: Data, qty: Any) -> None:
    line = {**sale_data()["lines"][0], "qty": qty}
    assert reject(raw_sale(lines=[line])).fields == ("payload.lines.0.qty",)


def test_error_detail_names_fields_but_never_echoes_values(raw_sale: RawFactory) -> None:
    error = reject(raw_sale(customer={"email": "not-an-email secret@x"}, envelope={"org_code": "Secret Org"}))
    assert "secret" not in error.detail.lower()
    assert "payload.customer.email" in error.fields


def test_error_detail_is_bounded(raw_sale: RawFactory, sale_data: Data) -> None:
    lines = [{**sale_data()["lines"][0], "line_id": str(i), "qty": 0} for i in range(300)]
    error = reject(raw_sale(lines=lines))
    assert len(error.detail) <= 1000 and "more" in error.detail


# --- change events -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_type", ["ifm.campaign.status_changed", "crm.customer.consent_set", "crm.loyalty.earned"]
)
def test_change_events_are_accepted_for_any_ifm_or_crm_object(make_raw: RawFactory, event_type: str) -> None:
    _, object_type, action = event_type.split(".")
    change = {
        "object_type": object_type,
        "object_id": "x_1",
        "action": action,
        "revision": None,
        "data": {"a": [1]},
    }
    env = parse_event(make_raw(event_type, change, source=event_type[:3]))
    assert isinstance(env.payload, ChangeEvent)
    assert env.payload.data == {"a": [1]} and kafka_key(env) == b"acme:x_1"


def test_change_event_type_must_name_its_object_type_and_action(make_raw: RawFactory) -> None:
    change = {"object_type": "campaign", "object_id": "cmp_1", "action": "updated", "data": {}}
    error = reject(make_raw("ifm.campaign.created", change))
    assert error.reason == INVALID_ENVELOPE
    assert "does not match" in error.detail


def test_change_events_of_other_producers_are_unknown(make_raw: RawFactory) -> None:
    change = {"object_type": "campaign", "object_id": "cmp_1", "action": "created", "data": {}}
    assert reject(make_raw("scm.campaign.created", change)).reason == UNKNOWN_EVENT_TYPE


def test_named_event_types_cannot_be_reused_by_change_events() -> None:
    change = ChangeEvent(object_type="giftcard", object_id="gfc_1", action="voided", data={})
    with pytest.raises(ContractError) as err:
        new_event(et.GIFTCARD_VOIDED, change, org_code="acme", source="crm")
    assert err.value.reason == INVALID_PAYLOAD


# --- new_event guards --------------------------------------------------------------------------


def test_new_event_rejects_a_payload_of_another_event_type(sample: Sample) -> None:
    event_type, payload = sample
    other = et.PAYOUT_SETTLED if event_type != et.PAYOUT_SETTLED else et.PAYOUT_FAILED
    with pytest.raises(ContractError) as err:
        new_event(other, payload, org_code="acme", source="ifm")
    assert (err.value.reason, err.value.fields) == (INVALID_PAYLOAD, ("payload",))


def test_new_event_rejects_unknown_type_and_version(sample: Sample) -> None:
    _, payload = sample
    with pytest.raises(ContractError) as err:
        new_event("scm.sale.voided", payload, org_code="acme", source="scm")
    assert err.value.reason == UNKNOWN_EVENT_TYPE
    with pytest.raises(ContractError) as err:
        new_event(et.SALE_RECORDED, payload, org_code="acme", source="scm", event_version=2)
    assert err.value.reason == UNSUPPORTED_VERSION


@pytest.mark.parametrize(
    "kwargs",
    [
        {"org_code": "Acme"},
        {"org_code": ""},
        {"source": "SCM"},
        {"occurred_at": datetime(2026, 1, 1)},
        {"correlation_id": ""},
    ],
)
def test_new_event_rejects_invalid_envelope_fields(sale_data: Data, kwargs: dict[str, Any]) -> None:
    sale = SaleRecorded.model_validate(sale_data())
    args: dict[str, Any] = {"org_code": "acme", "source": "scm", **kwargs}
    with pytest.raises(ContractError) as err:
        new_event(et.SALE_RECORDED, sale, **args)
    assert err.value.reason == INVALID_ENVELOPE


def test_hand_built_envelope_must_carry_the_registered_payload(sale_data: Data) -> None:
    sale = SaleRecorded.model_validate(sale_data())
    with pytest.raises(ValueError, match="carries PayoutRecorded, not SaleRecorded"):
        EventEnvelope(
            event_id=UUID(EVENT_ID),
            event_type=et.PAYOUT_RECORDED,
            event_version=1,
            occurred_at=AT,
            org_code="acme",
            source="ifm",
            payload=sale,
        )


# --- keys, headers, topics ---------------------------------------------------------------------


EXPECTED_KEYS = {
    et.SALE_RECORDED: b"acme:o-1001",
    et.RETURN_RECORDED: b"acme:o-1001",
    et.PAYOUT_RECORDED: b"acme:pay_1",
    et.PAYOUT_SETTLED: b"acme:pay_1",
    et.PAYOUT_FAILED: b"acme:pay_1",
    et.GIFTCARD_ISSUED: b"acme:gfc_1",
    et.GIFTCARD_REDEEMED: b"acme:gfc_1",
    et.GIFTCARD_REDEMPTION_REVERSED: b"acme:gfc_1",
    et.GIFTCARD_VOIDED: b"acme:gfc_1",
    et.LOYALTY_REDEEMED: b"acme:cus_1",
    et.LOYALTY_RESTORED: b"acme:cus_1",
    "ifm.campaign.status_changed": b"acme:cmp_1",
}


def test_kafka_key_keeps_one_order_payout_card_customer_or_object_on_one_partition(sample: Sample) -> None:
    event_type, payload = sample
    env = new_event(event_type, payload, org_code="acme", source="x")
    assert kafka_key(env) == EXPECTED_KEYS[event_type]


def test_kafka_headers_carry_event_type_and_content_type(raw_sale: RawFactory) -> None:
    env = parse_event(raw_sale())
    assert kafka_headers(env) == [("event_type", b"scm.sale.recorded"), ("content-type", b"application/json")]


def test_topics_and_dead_letter_names_follow_events_md() -> None:
    assert ALL_TOPICS == (
        "scm.sales.v1",
        "accounting.payouts.v1",
        "accounting.payout-status.v1",
        "crm.stored-value.v1",
        "ifm.events.v1",
        "crm.events.v1",
    )
    assert dlq_topic(topics.SCM_SALES, "ifm.scm") == "scm.sales.v1.ifm.scm.dlq"


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [
        (et.SALE_RECORDED, topics.SCM_SALES),
        (et.RETURN_RECORDED, topics.SCM_SALES),
        (et.PAYOUT_RECORDED, topics.ACCOUNTING_PAYOUTS),
        (et.PAYOUT_SETTLED, topics.ACCOUNTING_PAYOUT_STATUS),
        (et.PAYOUT_FAILED, topics.ACCOUNTING_PAYOUT_STATUS),
        *((event_type, topics.CRM_STORED_VALUE) for event_type in et.STORED_VALUE_EVENT_TYPES),
        ("ifm.campaign.created", topics.IFM_EVENTS),
        ("crm.customer.updated", topics.CRM_EVENTS),
    ],
)
def test_each_event_type_is_published_on_its_topic(event_type: str, topic: str) -> None:
    assert topic_for(event_type) == topic


def test_topic_of_an_unknown_event_type_is_an_error() -> None:
    with pytest.raises(ContractError):
        topic_for("scm.sale.voided")


def test_event_type_names_are_those_of_events_md() -> None:
    assert {event_type for event_type, _ in REGISTRY} == {
        "scm.sale.recorded",
        "scm.return.recorded",
        "ifm.payout.recorded",
        "accounting.payout.settled",
        "accounting.payout.failed",
        "crm.giftcard.issued",
        "crm.giftcard.redeemed",
        "crm.giftcard.redemption.reversed",
        "crm.giftcard.voided",
        "crm.loyalty.redeemed",
        "crm.loyalty.restored",
    }
    assert et.change_event_type("ifm", "campaign", "status_changed") == "ifm.campaign.status_changed"
