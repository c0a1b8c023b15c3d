"""The hand-rolled change-event encoding is exactly the contract's envelope."""

from __future__ import annotations

from datetime import UTC, datetime

from g3n_contracts import ChangeEvent, encode_event, kafka_key, parse_event
from g3n_influencer.adapters.events import Change, ChangeEncoder, encode_change
from g3n_influencer.service.context import Actor
from g3n_influencer.service.models import TierOut


def test_encoded_change_parses_as_the_contract_and_keys_by_object() -> None:
    at = datetime(2026, 11, 20, 14, 3, 11, 123456, tzinfo=UTC)
    actor = Actor("acme", "api_key:k1", correlation_id="corr-1")
    msg = encode_change(
        actor,
        Change("earning", "ern_1", "created", {"amount_minor": 450, "available_at": at, "tier": None}, 1),
        now=at,
    )
    env = parse_event(msg.value)
    payload = env.payload_as(ChangeEvent)
    assert (env.event_type, env.org_code, env.source, env.correlation_id) == (
        "ifm.earning.created",
        "acme",
        "ifm",
        "corr-1",
    )
    assert env.occurred_at == at and str(env.event_id) == msg.event_id
    assert (payload.object_id, payload.revision) == ("ern_1", 1)
    assert payload.data == {"amount_minor": 450, "available_at": "2026-11-20T14:03:11.123456Z", "tier": None}
    assert msg.key == kafka_key(env) == b"acme:ern_1"
    assert dict(msg.headers)["event_type"] == b"ifm.earning.created"
    # byte-identical to the contract's own encoder
    assert msg.value == encode_event(env)


def test_models_and_other_orgs_are_encoded() -> None:
    msg = encode_change(
        Actor("acme", None),
        Change(
            "campaign",
            "cmp_1",
            "tiers_set",
            TierOut(name="a", min_orders=0, discount_bps=1, commission_bps=2),
            3,
            org_code="other",
        ),
    )
    env = parse_event(msg.value)
    assert env.org_code == "other" and env.payload_as(ChangeEvent).data["commission_bps"] == 2


def test_outbox_rows_are_the_contracts_envelopes_with_fresh_version_4_ids() -> None:
    at = datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)
    enc = ChangeEncoder(Actor("acme", "consumer:ifm.scm", source="scm"), expected=1)
    items = [
        enc.encode("acme", "earning", "ern_1", "created", {"amount_minor": 450, "available_at": at}, 1),
        enc.encode("other", "attribution", "att_1", "recorded", {"earning_ids": ["ern_1"]}, 1),
    ]
    first, second = (parse_event(r[1]) for r in items)
    assert (first.event_type, first.org_code, first.event_id.version) == ("ifm.earning.created", "acme", 4)
    assert first.payload_as(ChangeEvent).data == {"amount_minor": 450, "available_at": "2026-11-20T14:03:11Z"}
    assert (second.org_code, items[1][0], second.event_type) == (
        "other",
        b"other:att_1",
        "ifm.attribution.recorded",
    )
    assert items[0][2] == (("event_type", b"ifm.earning.created"), ("content-type", b"application/json"))
    assert first.event_id != second.event_id
