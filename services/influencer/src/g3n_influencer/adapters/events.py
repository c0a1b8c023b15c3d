"""Change events on ``ifm.events.v1`` through the transactional outbox.

Every state change of every object writes one :class:`~g3n_contracts.ChangeEvent`
(``ifm.<object_type>.<action>``) in the same transaction as the change; the relay publishes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from g3n_contracts import ChangeEvent, change_event_type, new_event, topics
from g3n_kit.outbox import enqueue_messages, message_for
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from g3n_influencer.service.context import Actor

SERVICE = "ifm"
SOURCE = "ifm"


@dataclass(frozen=True)
class Change:
    object_type: str
    object_id: str
    action: str
    data: dict[str, Any] | BaseModel
    revision: int | None = None
    org_code: str | None = None  # batch handlers span orgs; default: the actor's org


def _json(data: dict[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    out = to_jsonable_python(data)
    assert isinstance(out, dict)
    return out


async def emit(conn: asyncpg.Connection, actor: Actor, changes: Sequence[Change]) -> None:
    """Write the change events of one transaction to the outbox (in order)."""
    if not changes:
        return
    messages = []
    for ch in changes:
        payload = ChangeEvent(
            object_type=ch.object_type,
            object_id=ch.object_id,
            action=ch.action,
            revision=ch.revision,
            data=_json(ch.data),
        )
        env = new_event(
            change_event_type(SERVICE, ch.object_type, ch.action),
            payload,
            org_code=ch.org_code or actor.org_code,
            source=SOURCE,
            correlation_id=actor.correlation_id,
        )
        messages.append(message_for(topics.IFM_EVENTS, env))
    await enqueue_messages(conn, messages)


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
