"""g3n event contracts: the pydantic models every Kafka message of g3n is validated against.

Both services and the CLI import these; nobody re-declares a payload. The package does no I/O
(apart from the explicit schema export tool). Typical use::

    env = new_event(SALE_RECORDED, sale, org_code="acme", source="scm")
    topic, value, key = topic_for(env.event_type), encode_event(env), kafka_key(env)
    producer.send(topic, value, key=key, headers=kafka_headers(env))
    ...
    env = parse_event(message.value)  # ContractError(reason, detail) -> dead-letter
    sale = env.payload_as(SaleRecorded)
"""

from g3n_contracts import event_types, topics
from g3n_contracts.base import Contract, EventPayload
from g3n_contracts.change import ChangeEvent
from g3n_contracts.codec import (
    encode_event,
    envelope_model,
    kafka_headers,
    kafka_key,
    new_event,
    parse_event,
)
from g3n_contracts.currencies import CURRENCY_CODES, CURRENCY_EXPONENTS, minor_unit_exponent
from g3n_contracts.envelope import Event, EventEnvelope
from g3n_contracts.errors import (
    INVALID_ENVELOPE,
    INVALID_PAYLOAD,
    NOT_JSON,
    REASONS,
    UNKNOWN_EVENT_TYPE,
    UNSUPPORTED_VERSION,
    ContractError,
)
from g3n_contracts.event_types import (
    GIFTCARD_ISSUED,
    GIFTCARD_REDEEMED,
    GIFTCARD_REDEMPTION_REVERSED,
    GIFTCARD_VOIDED,
    LOYALTY_REDEEMED,
    LOYALTY_RESTORED,
    PAYOUT_FAILED,
    PAYOUT_RECORDED,
    PAYOUT_SETTLED,
    RETURN_RECORDED,
    SALE_RECORDED,
    change_event_type,
)
from g3n_contracts.json_schema import export_json_schemas
from g3n_contracts.money import Money
from g3n_contracts.payouts import Payee, PayoutFailed, PayoutMethod, PayoutRecorded, PayoutSettled
from g3n_contracts.registry import REGISTRY, is_change_event_type, payload_model, topic_for
from g3n_contracts.scm import (
    TENDER_LOYALTY,
    ReturnLine,
    ReturnRecorded,
    SaleCustomer,
    SaleLine,
    SaleRecorded,
    Tender,
)
from g3n_contracts.stored_value import (
    GiftCardIssued,
    GiftCardRedeemed,
    GiftCardRedemptionReversed,
    GiftCardVoided,
    LoyaltyRedeemed,
    LoyaltyRestored,
)
from g3n_contracts.topics import ALL_TOPICS, dlq_topic

__all__ = [
    "ALL_TOPICS",
    "CURRENCY_CODES",
    "CURRENCY_EXPONENTS",
    "GIFTCARD_ISSUED",
    "GIFTCARD_REDEEMED",
    "GIFTCARD_REDEMPTION_REVERSED",
    "GIFTCARD_VOIDED",
    "INVALID_ENVELOPE",
    "INVALID_PAYLOAD",
    "LOYALTY_REDEEMED",
    "LOYALTY_RESTORED",
    "NOT_JSON",
    "PAYOUT_FAILED",
    "PAYOUT_RECORDED",
    "PAYOUT_SETTLED",
    "REASONS",
    "REGISTRY",
    "RETURN_RECORDED",
    "SALE_RECORDED",
    "TENDER_LOYALTY",
    "UNKNOWN_EVENT_TYPE",
    "UNSUPPORTED_VERSION",
    "ChangeEvent",
    "Contract",
    "ContractError",
    "Event",
    "EventEnvelope",
    "EventPayload",
    "GiftCardIssued",
    "GiftCardRedeemed",
    "GiftCardRedemptionReversed",
    "GiftCardVoided",
    "LoyaltyRedeemed",
    "LoyaltyRestored",
    "Money",
    "Payee",
    "PayoutFailed",
    "PayoutMethod",
    "PayoutRecorded",
    "PayoutSettled",
    "ReturnLine",
    "ReturnRecorded",
    "SaleCustomer",
    "SaleLine",
    "SaleRecorded",
    "Tender",
    "change_event_type",
    "dlq_topic",
    "encode_event",
    "envelope_model",
    "event_types",
    "export_json_schemas",
    "is_change_event_type",
    "kafka_headers",
    "kafka_key",
    "minor_unit_exponent",
    "new_event",
    "parse_event",
    "payload_model",
    "topic_for",
    "topics",
]
