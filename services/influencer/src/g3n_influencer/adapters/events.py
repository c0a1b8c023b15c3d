"""Change events on ``ifm.events.v1`` through the transactional outbox.

Every state change of every object writes one :class:`~g3n_contracts.ChangeEvent`
(``ifm.<object_type>.<action>``) in the same transaction as the change; the relay publishes it.

The SCM consumer writes thousands of these per batch, so they are encoded straight to the
envelope's JSON with orjson (about 2 µs each instead of ~25 µs through pydantic; datetimes are
written by orjson exactly as pydantic writes them, anything orjson does not know goes through
pydantic's encoder), and a batch takes them as ready pack items for one outbox row
(:class:`ChangeEncoder`) instead of :class:`~g3n_kit.outbox.OutgoingMessage` objects. The first event
of every (org, object type, action) a process encodes is validated against the contract's
envelope model, so a shape the contract rejects fails loudly instead of
reaching the topic; ``tests/unit/test_events.py`` pins the encoding to the contract's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from g3n_contracts import ChangeEvent, change_event_type, envelope_model, topics
from g3n_kit.ids import uuid4_text, uuid4_texts
from g3n_kit.jsonutil import exact
from g3n_kit.outbox import (
    INSERT_PACKED_SQL,
    OutgoingMessage,
    PackItem,
    enqueue_messages,
    enqueue_packed,
    packed_row,
)
from g3n_kit.values import value_type
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from g3n_influencer.service.context import Actor

SERVICE = "ifm"
SOURCE = "ifm"
_HEADERS_PREFIX = [("content-type", b"application/json")]
_CHANGE_ENVELOPE = envelope_model(ChangeEvent)


@value_type
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
    return data  # orjson writes it; what it does not know goes through ``_default``


def _default(value: Any) -> Any:
    return to_jsonable_python(value)


_DUMPS_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS  # as pydantic writes datetimes and keys

# (object_type, action) -> (event type, Kafka headers)
_KINDS: dict[tuple[str, str], tuple[str, tuple[tuple[str, bytes], ...]]] = {}


def _kind(object_type: str, action: str) -> tuple[str, tuple[tuple[str, bytes], ...]]:
    found = _KINDS.get((object_type, action))
    if found is None:
        event_type = change_event_type(SERVICE, object_type, action)
        headers = (("event_type", event_type.encode()), *_HEADERS_PREFIX)
        found = _KINDS[(object_type, action)] = (event_type, headers)
    return found


def _value(
    event_id: str,
    event_type: str,
    at: str,
    org: str,
    correlation_id: str | None,
    object_type: str,
    object_id: str,
    action: str,
    revision: int | None,
    data: Any,
) -> bytes:
    # orjson's result keeps its ~4 KB output buffer; a batch holds thousands of these until it is
    # written, so they are copied to their exact size (+0.15 µs; was ~40 MB of a consumer's RSS).
    return exact(
        orjson.dumps(
            {
                "event_id": event_id,
                "event_type": event_type,
                "event_version": 1,
                "occurred_at": at,
                "org_code": org,
                "source": SOURCE,
                "correlation_id": correlation_id,
                "payload": {
                    "object_type": object_type,
                    "object_id": object_id,
                    "action": action,
                    "revision": revision,
                    "data": data,
                },
            },
            default=_default,
            option=_DUMPS_OPTIONS,
        )
    )


def _at(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z")


def encode_change(actor: Actor, ch: Change, *, now: datetime | None = None) -> OutgoingMessage:
    """The outbox message of one change: envelope JSON, key ``{org}:{object_id}``, headers."""
    event_type, _ = _kind(ch.object_type, ch.action)
    org = ch.org_code or actor.org_code
    event_id = uuid4_text()
    value = _value(
        event_id,
        event_type,
        _at(now),
        org,
        actor.correlation_id,
        ch.object_type,
        ch.object_id,
        ch.action,
        ch.revision,
        _json(ch.data),
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
        _validate_first((ch.org_code or actor.org_code, ch.object_type, ch.action), msg.value)
        messages.append(msg)
    return messages


def _validate_first(kind: tuple[str, str, str], value: bytes) -> None:
    if kind not in _VALIDATED:
        _CHANGE_ENVELOPE.model_validate_json(value)  # ValidationError: a bug here, never bad input
        if len(_VALIDATED) >= _VALIDATED_MAX:
            _VALIDATED.clear()
        _VALIDATED.add(kind)


class ChangeEncoder:
    """The change events of one big transaction encoded straight to pack items for one outbox row
    on ``ifm.events.v1`` (same bytes, key, headers and validation as :func:`encode_changes`,
    without building a :class:`Change` and an :class:`~g3n_kit.outbox.OutgoingMessage` per event).
    ``data`` must be a dict of JSON-able values (datetimes are fine)."""

    def __init__(self, actor: Actor, expected: int = 0) -> None:
        self.actor = actor
        self.at = _at(None)
        self._ids = uuid4_texts(expected)

    def encode(
        self,
        org: str,
        object_type: str,
        object_id: str,
        action: str,
        data: dict[str, Any],
        revision: int | None,
    ) -> PackItem:
        """The pack item (key, value, headers) of one change event."""
        event_type, headers = _kind(object_type, action)
        event_id = self._ids.pop() if self._ids else uuid4_text()
        value = _value(
            event_id,
            event_type,
            self.at,
            org,
            self.actor.correlation_id,
            object_type,
            object_id,
            action,
            revision,
            data,
        )
        _validate_first((org, object_type, action), value)
        return (f"{org}:{object_id}".encode(), value, headers)


async def copy_outbox(conn: asyncpg.Connection, rows: Sequence[PackItem]) -> None:
    """Write the change events to one packed outbox row."""
    await enqueue_packed(conn, topics.IFM_EVENTS, rows)


#: The outbox write inside a larger statement: parameters ``{0}``-``{2}`` as :func:`outbox_params`.
OUTBOX_CTE = INSERT_PACKED_SQL


def outbox_params(rows: Sequence[PackItem]) -> tuple[list[str], list[bytes], list[int]]:
    """:class:`ChangeEncoder` items as the three parameters of :data:`OUTBOX_CTE`."""
    return packed_row(topics.IFM_EVENTS, rows)


async def emit(conn: asyncpg.Connection, actor: Actor, changes: Sequence[Change]) -> None:
    """Write the change events of one transaction to the outbox (in order)."""
    if changes:
        await enqueue_messages(conn, encode_changes(actor, changes))


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
