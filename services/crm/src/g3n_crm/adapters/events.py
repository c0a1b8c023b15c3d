"""Outgoing events, written to the outbox in the state change's transaction.

* Change events on ``crm.events.v1`` (``crm.<object_type>.<action>``), one per changed object.
  Customer change events carry no personal data (ids, status, revision and the names of the
  changed fields only): Kafka retention cannot be erased on a GDPR request, so personal data
  stays in the database, where anonymization can reach it.
* Stored-value outcomes on ``crm.stored-value.v1`` (gift card and loyalty movements).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from g3n_contracts import ChangeEvent, change_event_type, new_event, topics
from g3n_contracts.base import EventPayload
from g3n_kit.outbox import OutgoingMessage, enqueue_messages, message_for
from pydantic import JsonValue
from pydantic_core import to_jsonable_python

SOURCE = "crm"


@dataclass(frozen=True)
class Change:
    object_type: str
    object_id: str
    action: str
    data: Mapping[str, Any]
    revision: int | None = None


def change_message(org_code: str, change: Change, correlation_id: str | None = None) -> OutgoingMessage:
    data: dict[str, JsonValue] = to_jsonable_python(dict(change.data))
    payload = ChangeEvent(
        object_type=change.object_type,
        object_id=change.object_id,
        action=change.action,
        revision=change.revision,
        data=data,
    )
    env = new_event(
        change_event_type(SOURCE, change.object_type, change.action),
        payload,
        org_code=org_code,
        source=SOURCE,
        correlation_id=correlation_id,
    )
    return message_for(topics.CRM_EVENTS, env)


def stored_value_message(
    org_code: str, event_type: str, payload: EventPayload, correlation_id: str | None = None
) -> OutgoingMessage:
    env = new_event(event_type, payload, org_code=org_code, source=SOURCE, correlation_id=correlation_id)
    return message_for(topics.CRM_STORED_VALUE, env)


async def publish(conn: asyncpg.Connection, messages: Sequence[OutgoingMessage]) -> None:
    await enqueue_messages(conn, messages)


async def publish_changes(
    conn: asyncpg.Connection, org_code: str, changes: Sequence[Change], correlation_id: str | None = None
) -> None:
    await enqueue_messages(conn, [change_message(org_code, c, correlation_id) for c in changes])
