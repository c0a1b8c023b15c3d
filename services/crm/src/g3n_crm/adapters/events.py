"""Outgoing events, written to the outbox in the state change's transaction.

* Change events on ``crm.events.v1`` (``crm.<object_type>.<action>``), one per changed object.
  Customer change events carry no personal data (ids, status, revision and the names of the
  changed fields only): Kafka retention cannot be erased on a GDPR request, so personal data
  stays in the database, where anonymization can reach it.
* Stored-value outcomes on ``crm.stored-value.v1`` (gift card and loyalty movements).

Change events are serialised straight to the contract's JSON with orjson (no pydantic round trip:
the SCM consumer writes one per touched account, thousands per second); the unit tests prove the
bytes parse back through ``g3n_contracts.parse_event`` into the same ``ChangeEvent``. Messages
are inserted with one ``unnest`` statement per call instead of ``executemany``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from g3n_contracts import new_event, topics
from g3n_contracts.base import EventPayload
from g3n_kit.ids import uuid4_text
from g3n_kit.jsonutil import exact
from g3n_kit.outbox import OutgoingMessage, enqueue_messages, message_for
from g3n_kit.values import value_type

SOURCE = "crm"
_JSON_HEADER = ("content-type", b"application/json")


@value_type
class Change:
    object_type: str
    object_id: str
    action: str
    data: Mapping[str, Any]
    revision: int | None = None


@functools.lru_cache(maxsize=64)  # a batch stamps all its events with one time
def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def change_message(
    org_code: str, change: Change, correlation_id: str | None = None, *, at: datetime | None = None
) -> OutgoingMessage:
    event_type = f"{SOURCE}.{change.object_type}.{change.action}"
    event_id = uuid4_text()
    value = exact(  # held until the batch is written: without orjson's spare output buffer
        orjson.dumps(
            {
                "event_id": event_id,
                "event_type": event_type,
                "event_version": 1,
                "occurred_at": _iso(at or datetime.now(UTC)),
                "org_code": org_code,
                "source": SOURCE,
                "correlation_id": correlation_id,
                "payload": {
                    "object_type": change.object_type,
                    "object_id": change.object_id,
                    "action": change.action,
                    "revision": change.revision,
                    "data": change.data,
                },
            },
            option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS,
        )
    )
    return OutgoingMessage(
        topic=topics.CRM_EVENTS,
        key=f"{org_code}:{change.object_id}".encode(),
        value=value,
        headers=[("event_type", event_type.encode()), _JSON_HEADER],
        event_id=event_id,
        event_type=event_type,
    )


def stored_value_message(
    org_code: str, event_type: str, payload: EventPayload, correlation_id: str | None = None
) -> OutgoingMessage:
    env = new_event(event_type, payload, org_code=org_code, source=SOURCE, correlation_id=correlation_id)
    return message_for(topics.CRM_STORED_VALUE, env)


async def publish(conn: asyncpg.Connection, messages: Sequence[OutgoingMessage]) -> None:
    """Write ``messages`` to the kit's outbox in one statement: one packed row per topic, the
    messages in this order (the relay publishes them in it)."""
    await enqueue_messages(conn, messages)


async def publish_changes(
    conn: asyncpg.Connection, org_code: str, changes: Sequence[Change], correlation_id: str | None = None
) -> None:
    await publish(conn, [change_message(org_code, c, correlation_id) for c in changes])
