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
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from g3n_contracts import new_event, topics
from g3n_contracts.base import EventPayload
from g3n_kit.outbox import OutgoingMessage, message_for

SOURCE = "crm"
_JSON_HEADER = ("content-type", b"application/json")


@dataclass(frozen=True)
class Change:
    object_type: str
    object_id: str
    action: str
    data: Mapping[str, Any]
    revision: int | None = None


def _uuid4() -> str:
    """``str(uuid.uuid4())`` without building a UUID object (a change event per touched account)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@functools.lru_cache(maxsize=64)  # a batch stamps all its events with one time
def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def change_message(
    org_code: str, change: Change, correlation_id: str | None = None, *, at: datetime | None = None
) -> OutgoingMessage:
    event_type = f"{SOURCE}.{change.object_type}.{change.action}"
    event_id = _uuid4()
    value = orjson.dumps(
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


@functools.lru_cache(maxsize=256)  # a handful of shapes: (event type, content type)
def _headers_json(headers: tuple[tuple[str, bytes], ...]) -> str:
    return orjson.dumps(_headers_list(headers)).decode()


@functools.lru_cache(maxsize=256)  # shared between rows: only ever read (by the COPY encoder)
def _headers_list(headers: tuple[tuple[str, bytes], ...]) -> list[list[str]]:
    return [[k, v.decode("utf-8", "backslashreplace")] for k, v in headers]


_OUTBOX_COLUMNS = ("topic", "msg_key", "msg_value", "headers", "event_id", "event_type")
COPY_FROM = 32  # below this many rows one unnest INSERT beats binary COPY


async def publish(conn: asyncpg.Connection, messages: Sequence[OutgoingMessage]) -> None:
    """Write ``messages`` to the kit's outbox table in one statement (the relay publishes them in
    id order, which is this order): binary COPY for a consumer batch, one unnest INSERT otherwise.
    ``conn`` comes from the kit's ``Database`` (its binary jsonb codec encodes the headers)."""
    if not messages:
        return
    if len(messages) >= COPY_FROM:
        await conn.copy_records_to_table(
            "outbox",
            columns=_OUTBOX_COLUMNS,
            records=[
                (m.topic, m.key, m.value, _headers_list(tuple(m.headers)), m.event_id, m.event_type)
                for m in messages
            ],
        )
        return
    await conn.execute(
        """INSERT INTO outbox (topic, msg_key, msg_value, headers, event_id, event_type)
           SELECT t, k, v, h::jsonb, e, et
           FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[], $5::uuid[], $6::text[])
                AS u(t, k, v, h, e, et)""",
        [m.topic for m in messages],
        [m.key for m in messages],
        [m.value for m in messages],
        [_headers_json(tuple(m.headers)) for m in messages],
        [m.event_id for m in messages],
        [m.event_type for m in messages],
    )


async def publish_changes(
    conn: asyncpg.Connection, org_code: str, changes: Sequence[Change], correlation_id: str | None = None
) -> None:
    await publish(conn, [change_message(org_code, c, correlation_id) for c in changes])
