"""Change events serialised without pydantic still parse as the contract's ChangeEvent."""

from __future__ import annotations

from datetime import UTC, datetime

from g3n_contracts import ChangeEvent, kafka_key, parse_event, topics
from g3n_crm.adapters.events import Change, change_message


def test_fast_change_event_bytes_parse_back_through_the_contract() -> None:
    at = datetime(2026, 11, 20, 14, 3, 11, 123456, tzinfo=UTC)
    change = Change(
        "loyalty_account",
        "cus_01ABC",
        "changed",
        {"customer_id": "cus_01ABC", "balance": {"available": 5, "pending": 0, "debt": 0}, "when": at},
        None,
    )
    msg = change_message("acme", change, "corr-1", at=at)
    env = parse_event(msg.value)
    payload = env.payload_as(ChangeEvent)
    assert env.event_type == "crm.loyalty_account.changed" and env.org_code == "acme" and env.source == "crm"
    assert env.correlation_id == "corr-1" and env.occurred_at == at
    assert payload.object_id == "cus_01ABC" and payload.data["balance"] == {
        "available": 5,
        "pending": 0,
        "debt": 0,
    }
    assert payload.data["when"] == "2026-11-20T14:03:11.123456Z"
    assert msg.key == kafka_key(env) and msg.topic == topics.CRM_EVENTS
    assert (
        msg.event_id == str(env.event_id)
        and dict(msg.headers)["event_type"] == b"crm.loyalty_account.changed"
    )


def test_versioned_object_change_carries_its_revision() -> None:
    msg = change_message("acme", Change("customer", "cus_1", "updated", {"changed_fields": ["email"]}, 3))
    assert parse_event(msg.value).payload_as(ChangeEvent).revision == 3
