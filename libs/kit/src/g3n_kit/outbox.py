"""Transactional outbox: messages are written in the state change's transaction.

Every message a transaction writes to one topic goes into ONE outbox row, packed in order
(`pack`; `message_count` says how many): a consumer batch of 1,000 sales writes one row per topic,
not 1,000 rows with their index entries, and the relay fetches and marks one row for them. The
relay (`g3n_kit.relay`) publishes rows in id order, each row's messages in their order, with an
idempotent producer, and marks the row sent. Callers never talk to Kafka directly.

Pack format (version 1): the byte 0x01, then per message: key length as a signed 32-bit integer
(-1: no key), value length (unsigned 32-bit), the key, the value, the header count (16-bit) and
per header its name length (16-bit), value length (32-bit), name (UTF-8) and value; big-endian.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson
from g3n_contracts import EventEnvelope, encode_event, kafka_key, new_event
from pydantic import BaseModel

from g3n_kit.values import value_type

Headers = list[tuple[str, bytes]]


@value_type
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


PackItem = tuple[bytes | None, bytes, tuple[tuple[str, bytes | None], ...]]
"""One message to pack: key, value, headers (a tuple, so packed header blocks can be cached)."""

_PACK_VERSION = b"\x01"
_LENGTHS = struct.Struct(">iI")
_COUNT = struct.Struct(">H")
_HEADER = struct.Struct(">Hi")  # name length, value length (-1: a null header value)


@functools.lru_cache(maxsize=1024)  # a service sends a handful of header sets (event type, content type)
def _packed_headers(headers: tuple[tuple[str, bytes | None], ...]) -> bytes:
    parts = [_COUNT.pack(len(headers))]
    for name, value in headers:
        raw = name.encode()
        parts += [_HEADER.pack(len(raw), -1 if value is None else len(value)), raw, value or b""]
    return b"".join(parts)


def pack(items: Iterable[PackItem]) -> bytes:
    """Frame messages for one outbox row (see the module docstring)."""
    parts = [_PACK_VERSION]
    append, lengths = parts.append, _LENGTHS.pack
    for key, value, headers in items:
        if key is None:
            append(lengths(-1, len(value)))
        else:
            append(lengths(len(key), len(value)))
            append(key)
        append(value)
        append(_packed_headers(headers))
    return b"".join(parts)


def unpack(blob: bytes) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes | None]]]]:
    """The messages of a packed outbox row, in order (``ValueError`` if it is not one)."""
    if blob[:1] != _PACK_VERSION:
        raise ValueError(f"unknown outbox pack version {blob[:1]!r}")
    try:
        return _unpack(blob)
    except struct.error as exc:
        raise ValueError(f"truncated outbox pack: {exc}") from None


def _unpack(blob: bytes) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes | None]]]]:
    out: list[tuple[bytes | None, bytes, list[tuple[str, bytes | None]]]] = []
    pos, end = 1, len(blob)
    while pos < end:
        key_len, value_len = _LENGTHS.unpack_from(blob, pos)
        pos += _LENGTHS.size
        key = None
        if key_len >= 0:
            key, pos = blob[pos : pos + key_len], pos + key_len
        value, pos = blob[pos : pos + value_len], pos + value_len
        (count,) = _COUNT.unpack_from(blob, pos)
        pos += _COUNT.size
        headers: list[tuple[str, bytes | None]] = []
        for _ in range(count):
            name_len, hv_len = _HEADER.unpack_from(blob, pos)
            pos += _HEADER.size
            name = blob[pos : pos + name_len].decode()
            pos += name_len
            if hv_len < 0:
                headers.append((name, None))
            else:
                headers.append((name, blob[pos : pos + hv_len]))
                pos += hv_len
        if pos > end:
            raise ValueError("truncated outbox pack")
        out.append((key, value, headers))
    return out


def packed_rows(messages: Iterable[OutgoingMessage]) -> tuple[list[str], list[bytes], list[int]]:
    """``(topics, packs, counts)``: one outbox row per topic, in order of first appearance."""
    by_topic: dict[str, list[PackItem]] = {}
    for m in messages:
        by_topic.setdefault(m.topic, []).append((m.key, m.value, tuple(m.headers)))
    return list(by_topic), [pack(items) for items in by_topic.values()], [len(i) for i in by_topic.values()]


INSERT_PACKED_SQL = (
    "INSERT INTO outbox (topic, messages, message_count, headers)"  # NULL headers: see migration 0003
    " SELECT t, m, n, NULL FROM unnest({0}::text[], {1}::bytea[], {2}::int[])"
    " WITH ORDINALITY AS u(t, m, n, i) ORDER BY i"
)
"""The outbox write as SQL (``.format`` the three parameter names, e.g. ``"$1", "$2", "$3"``),
for services that write it inside a larger statement; parameters as :func:`packed_rows` or
:func:`packed_row` give."""
_INSERT_PACKED = INSERT_PACKED_SQL.format("$1", "$2", "$3")


def packed_row(topic: str, items: Sequence[PackItem]) -> tuple[list[str], list[bytes], list[int]]:
    """``(topics, packs, counts)`` of one outbox row of ``topic`` (none when ``items`` is empty)."""
    if not items:
        return [], [], []
    return [topic], [pack(items)], [len(items)]


async def enqueue_messages(conn: asyncpg.Connection, messages: Sequence[OutgoingMessage]) -> None:
    """Write ``messages`` to the outbox in the caller's transaction: one row per topic."""
    if messages:
        await conn.execute(_INSERT_PACKED, *packed_rows(messages))


async def enqueue_packed(conn: asyncpg.Connection, topic: str, items: Sequence[PackItem]) -> None:
    """Write messages already reduced to pack items (a consumer batch's change events) to one
    outbox row of ``topic``."""
    if items:
        await conn.execute(_INSERT_PACKED, *packed_row(topic, items))


@dataclass(frozen=True)
class StoredMessage:
    """A message as the outbox holds it (operators' and tests' view: ``outbox_messages``)."""

    row_id: int
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes | None]]
    sent_at: datetime | None


def stored_messages(row: asyncpg.Record) -> list[StoredMessage]:
    """The messages of one outbox row (packed or a single pre-0003 message), in order."""
    if row["messages"] is None:
        stored = row["headers"]
        stored = orjson.loads(stored) if isinstance(stored, str) else stored  # no jsonb codec set
        headers = [(k, v.encode()) for k, v in stored]
        items = [(row["msg_key"], row["msg_value"], headers)]
    else:
        items = unpack(row["messages"])
        if len(items) != row["message_count"]:  # a pack cut at a message boundary unpacks cleanly
            raise ValueError(
                f"outbox row {row['id']}: {len(items)} messages in its pack, {row['message_count']} recorded"
            )
    return [StoredMessage(row["id"], row["topic"], k, v, h, row["sent_at"]) for k, v, h in items]


async def outbox_messages(
    conn: asyncpg.Connection, *, topic: str | None = None, after_id: int = 0
) -> list[StoredMessage]:
    """Every message in the outbox (of ``topic``; in rows after ``after_id``), in publishing order."""
    rows = await conn.fetch(
        "SELECT id, topic, msg_key, msg_value, headers, messages, message_count, sent_at FROM outbox"
        " WHERE ($1::text IS NULL OR topic = $1) AND id > $2 ORDER BY id",
        topic,
        after_id,
    )
    return [m for row in rows for m in stored_messages(row)]


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
