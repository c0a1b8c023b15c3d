"""Transactional outbox: messages are rows written in the state change's transaction.

The relay (`g3n_kit.relay`) publishes them in id order with an idempotent producer and marks
them sent. Callers never talk to Kafka directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from g3n_contracts import EventEnvelope, encode_event, kafka_key, new_event
from pydantic import BaseModel

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    event_id: str | None = None
    event_type: str | None = None


def message_for(topic: str, envelope: EventEnvelope) -> OutgoingMessage:
    return OutgoingMessage(
        topic=topic,
        key=kafka_key(envelope),
        value=encode_event(envelope),
        headers=[("event_type", envelope.event_type.encode()), ("content-type", b"application/json")],
        event_id=str(envelope.event_id),
        event_type=envelope.event_type,
    )


def _headers_json(headers: Headers) -> list[list[str]]:
    return [[k, v.decode("utf-8", "backslashreplace")] for k, v in headers]


async def enqueue_messages(conn: asyncpg.Connection, messages: Sequence[OutgoingMessage]) -> None:
    if not messages:
        return
    await conn.executemany(
        "INSERT INTO outbox (topic, msg_key, msg_value, headers, event_id, event_type)"
        " VALUES ($1, $2, $3, $4, $5::uuid, $6)",
        [(m.topic, m.key, m.value, _headers_json(m.headers), m.event_id, m.event_type) for m in messages],
    )


async def enqueue(conn: asyncpg.Connection, topic: str, envelope: EventEnvelope) -> None:
    """Write one event to the outbox inside the caller's transaction."""
    await enqueue_messages(conn, [message_for(topic, envelope)])


async def publish_event(
    conn: asyncpg.Connection,
    topic: str,
    event_type: str,
    payload: BaseModel,
    *,
    org_code: str,
    source: str,
    correlation_id: str | None = None,
) -> EventEnvelope:
    """Build an envelope and enqueue it; returns the envelope (its event_id is the dedupe key)."""
    env = new_event(event_type, payload, org_code=org_code, source=source, correlation_id=correlation_id)
    await enqueue(conn, topic, env)
    return env
