"""Kafka topic names (versioned in the name) and the dead-letter convention (``events.md``)."""

from __future__ import annotations

from typing import Final

SCM_SALES: Final = "scm.sales.v1"
ACCOUNTING_PAYOUTS: Final = "accounting.payouts.v1"
ACCOUNTING_PAYOUT_STATUS: Final = "accounting.payout-status.v1"
CRM_STORED_VALUE: Final = "crm.stored-value.v1"
IFM_EVENTS: Final = "ifm.events.v1"
CRM_EVENTS: Final = "crm.events.v1"

ALL_TOPICS: Final = (
    SCM_SALES,
    ACCOUNTING_PAYOUTS,
    ACCOUNTING_PAYOUT_STATUS,
    CRM_STORED_VALUE,
    IFM_EVENTS,
    CRM_EVENTS,
)
"""The fixed topics (dead-letter topics are derived per consumer group, see :func:`dlq_topic`)."""

# Headers of every published message.
HEADER_EVENT_TYPE: Final = "event_type"
HEADER_CONTENT_TYPE: Final = "content-type"
CONTENT_TYPE_JSON: Final = "application/json"

# Headers a consumer adds when it dead-letters a message (the value keeps the original bytes).
HEADER_DLQ_REASON: Final = "dlq-reason"
HEADER_DLQ_ERROR: Final = "dlq-error"
HEADER_DLQ_ORIGINAL_TOPIC: Final = "dlq-original-topic"
HEADER_DLQ_ORIGINAL_PARTITION: Final = "dlq-original-partition"
HEADER_DLQ_ORIGINAL_OFFSET: Final = "dlq-original-offset"
HEADER_DLQ_GROUP: Final = "dlq-group"


def dlq_topic(topic: str, group: str) -> str:
    """Return the dead-letter topic of consumer ``group`` on ``topic``: ``<topic>.<group>.dlq``.

    One DLQ per (topic, group) so that one consumer's poison message never reaches another
    group's operators, and a replay targets exactly one consumer.
    """
    return f"{topic}.{group}.dlq"
