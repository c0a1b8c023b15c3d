"""Change events on ``ifm.events.v1`` through the transactional outbox.

Every state change of every object writes one :class:`~g3n_contracts.ChangeEvent`
(``ifm.<object_type>.<action>``) in the same transaction as the change; the relay publishes it.

The SCM consumer writes thousands of these per batch, so they are encoded straight to the
envelope's JSON with orjson (about 4 µs each instead of ~25 µs through pydantic). The first event
of every (org, object type, action) a process encodes is validated against the contract's
envelope model, so a shape the contract rejects fails loudly instead of
reaching the topic; ``tests/unit/test_events.py`` pins the encoding to the contract's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import orjson
from g3n_contracts import ChangeEvent, change_event_type, envelope_model, topics
from g3n_kit.outbox import OutgoingMessage, enqueue_messages
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from g3n_influencer.service.context import Actor

SERVICE = "ifm"
SOURCE = "ifm"
_HEADERS_PREFIX = [("content-type", b"application/json")]
_CHANGE_ENVELOPE = envelope_model(ChangeEvent)


@dataclass(frozen=True)
class Change:
    object_type: str
    object_id: str
    action: str
    data: dict[str, Any] | BaseModel
    revision: int | None = None
    org_code: str | None = None  # batch handlers span orgs; default: the actor's org


def _json(data: dict[str, Any] | BaseModel) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    return to_jsonable_python(data)


def encode_change(actor: Actor, ch: Change, *, now: datetime | None = None) -> OutgoingMessage:
    """The outbox message of one change: envelope JSON, key ``{org}:{object_id}``, headers."""
    event_type = change_event_type(SERVICE, ch.object_type, ch.action)
    org = ch.org_code or actor.org_code
    event_id = str(uuid4())
    at = (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    value = orjson.dumps(
        {
            "event_id": event_id,
            "event_type": event_type,
            "event_version": 1,
            "occurred_at": at,
            "org_code": org,
            "source": SOURCE,
            "correlation_id": actor.correlation_id,
            "payload": {
                "object_type": ch.object_type,
                "object_id": ch.object_id,
                "action": ch.action,
                "revision": ch.revision,
                "data": _json(ch.data),
            },
        }
    )
    return OutgoingMessage(
        topic=topics.IFM_EVENTS,
        key=f"{org}:{ch.object_id}".encode(),
        value=value,
        headers=[("event_type", event_type.encode()), *_HEADERS_PREFIX],
        event_id=event_id,
        event_type=event_type,
    )


_VALIDATED: set[tuple[str, str, str]] = set()
_VALIDATED_MAX = 100_000


def encode_changes(actor: Actor, changes: Sequence[Change]) -> list[OutgoingMessage]:
    """The outbox messages of a transaction's changes. The first event of every (org, object
    type, action) this process encodes is validated against the contract; the shapes are fixed
    by this module's code, so later ones of the same kind need no re-check."""
    now = datetime.now(UTC)
    messages = []
    for ch in changes:
        msg = encode_change(actor, ch, now=now)
        kind = (ch.org_code or actor.org_code, ch.object_type, ch.action)
        if kind not in _VALIDATED:
            _CHANGE_ENVELOPE.model_validate_json(msg.value)  # ValidationError: a bug here, never bad input
            if len(_VALIDATED) >= _VALIDATED_MAX:
                _VALIDATED.clear()
            _VALIDATED.add(kind)
        messages.append(msg)
    return messages


async def emit(conn: asyncpg.Connection, actor: Actor, changes: Sequence[Change]) -> None:
    """Write the change events of one transaction to the outbox (in order)."""
    if changes:
        await enqueue_messages(conn, encode_changes(actor, changes))


OUTBOX_CTE = """INSERT INTO outbox (topic, msg_key, msg_value, headers, event_id, event_type)
    SELECT m.topic, decode(m.k, 'hex'), decode(m.v, 'hex'), m.h, m.e, m.t
    FROM json_to_recordset({param}::json) AS m(topic text, k text, v text, h jsonb, e uuid, t text)"""


def outbox_rows(messages: Sequence[OutgoingMessage]) -> list[dict[str, Any]]:
    """Messages as JSON rows for :data:`OUTBOX_CTE`, so a statement that writes a state change
    can write its outbox rows too (one round trip). Same table, columns and header encoding as
    :func:`g3n_kit.outbox.enqueue_messages` (which takes a round trip of its own)."""
    return [
        {
            "topic": m.topic,
            "k": m.key.hex() if m.key is not None else None,
            "v": m.value.hex(),
            "h": [[k, v.decode("utf-8", "backslashreplace")] for k, v in m.headers],
            "e": m.event_id,
            "t": m.event_type,
        }
        for m in messages
    ]


async def emit_one(
    conn: asyncpg.Connection,
    actor: Actor,
    object_type: str,
    object_id: str,
    action: str,
    data: dict[str, Any] | BaseModel,
    revision: int | None = None,
) -> None:
    await emit(conn, actor, [Change(object_type, object_id, action, data, revision)])
