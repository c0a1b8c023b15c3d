"""Which payload model an ``(event_type, event_version)`` carries, and on which topic it travels.

Adding a version means adding a row here (and a model); consumers that do not know the row
dead-letter the message as ``unsupported-version`` instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from g3n_contracts import event_types as et
from g3n_contracts import topics
from g3n_contracts.base import EventPayload
from g3n_contracts.change import ChangeEvent
from g3n_contracts.errors import UNKNOWN_EVENT_TYPE, UNSUPPORTED_VERSION, ContractError
from g3n_contracts.payouts import PayoutFailed, PayoutRecorded, PayoutSettled
from g3n_contracts.scm import ReturnRecorded, SaleRecorded
from g3n_contracts.stored_value import (
    GiftCardIssued,
    GiftCardRedeemed,
    GiftCardRedemptionReversed,
    GiftCardVoided,
    LoyaltyRedeemed,
    LoyaltyRestored,
)

REGISTRY: Final[Mapping[tuple[str, int], type[EventPayload]]] = MappingProxyType(
    {
        (et.SALE_RECORDED, 1): SaleRecorded,
        (et.RETURN_RECORDED, 1): ReturnRecorded,
        (et.PAYOUT_RECORDED, 1): PayoutRecorded,
        (et.PAYOUT_SETTLED, 1): PayoutSettled,
        (et.PAYOUT_FAILED, 1): PayoutFailed,
        (et.GIFTCARD_ISSUED, 1): GiftCardIssued,
        (et.GIFTCARD_REDEEMED, 1): GiftCardRedeemed,
        (et.GIFTCARD_REDEMPTION_REVERSED, 1): GiftCardRedemptionReversed,
        (et.GIFTCARD_VOIDED, 1): GiftCardVoided,
        (et.LOYALTY_REDEEMED, 1): LoyaltyRedeemed,
        (et.LOYALTY_RESTORED, 1): LoyaltyRestored,
    }
)
"""Every named event type and version with its payload model (change events are open-ended)."""

CHANGE_EVENT_VERSION: Final = 1
"""The only version of :class:`~g3n_contracts.change.ChangeEvent`."""

CHANGE_EVENT_TYPE_PATTERN: Final = r"^(ifm|crm)\.[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_]{0,63}$"
"""``<service>.<object_type>.<action>`` for the services in ``event_types.CHANGE_EVENT_SERVICES``."""

_CHANGE_EVENT_TYPE = re.compile(CHANGE_EVENT_TYPE_PATTERN)
_NAMED_TYPES: Final = frozenset(event_type for event_type, _ in REGISTRY)

_TOPICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        et.SALE_RECORDED: topics.SCM_SALES,
        et.RETURN_RECORDED: topics.SCM_SALES,
        et.PAYOUT_RECORDED: topics.ACCOUNTING_PAYOUTS,
        et.PAYOUT_SETTLED: topics.ACCOUNTING_PAYOUT_STATUS,
        et.PAYOUT_FAILED: topics.ACCOUNTING_PAYOUT_STATUS,
        **dict.fromkeys(et.STORED_VALUE_EVENT_TYPES, topics.CRM_STORED_VALUE),
    }
)
_CHANGE_TOPICS: Final[Mapping[str, str]] = MappingProxyType(
    {"ifm": topics.IFM_EVENTS, "crm": topics.CRM_EVENTS}
)


def _unknown(event_type: str) -> ContractError:
    shown = event_type if len(event_type) <= 100 else event_type[:100] + "…"  # bounded for headers
    return ContractError(UNKNOWN_EVENT_TYPE, f"event_type: unknown event type {shown!r}", ("event_type",))


def is_change_event_type(event_type: str) -> bool:
    """True for ``ifm.*``/``crm.*`` three-part types that are not a named (registered) event type."""
    return event_type not in _NAMED_TYPES and _CHANGE_EVENT_TYPE.match(event_type) is not None


def payload_model(event_type: str, event_version: int) -> type[EventPayload]:
    """Return the payload model of ``event_type`` at ``event_version``.

    Raises :class:`ContractError` ``unknown-event-type`` or ``unsupported-version``.
    """
    model = REGISTRY.get((event_type, event_version))
    if model is not None:
        return model
    if event_type in _NAMED_TYPES:
        supported = sorted(version for name, version in REGISTRY if name == event_type)
        raise ContractError(
            UNSUPPORTED_VERSION,
            f"event_version: {event_type} v{event_version} is not supported (supported: {supported})",
            ("event_version",),
        )
    if _CHANGE_EVENT_TYPE.match(event_type):
        if event_version == CHANGE_EVENT_VERSION:
            return ChangeEvent
        raise ContractError(
            UNSUPPORTED_VERSION,
            f"event_version: change event v{event_version} is not supported (supported: [1])",
            ("event_version",),
        )
    raise _unknown(event_type)


def topic_for(event_type: str) -> str:
    """Return the topic an event of ``event_type`` is published on (the table in ``events.md``)."""
    topic = _TOPICS.get(event_type)
    if topic is not None:
        return topic
    if is_change_event_type(event_type):
        return _CHANGE_TOPICS[event_type.split(".", 1)[0]]
    raise _unknown(event_type)
