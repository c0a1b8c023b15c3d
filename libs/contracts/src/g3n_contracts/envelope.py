"""The envelope every Kafka message carries, and ``Event[P]``: the same envelope typed by payload."""

from __future__ import annotations

from typing import Annotated, Generic, Self, TypeVar
from uuid import UUID

from pydantic import Field, SerializeAsAny, StrictInt, StringConstraints, model_validator

from g3n_contracts.base import Contract, EventPayload
from g3n_contracts.change import ChangeEvent
from g3n_contracts.primitives import INT32_MAX, Slug, UtcDatetime
from g3n_contracts.registry import payload_model

PayloadT = TypeVar("PayloadT", bound=EventPayload)
ModelT = TypeVar("ModelT", bound=EventPayload)

EventTypeName = Annotated[
    str,
    StringConstraints(strict=True, max_length=200, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2,}$"),
]
"""``<producer>.<object>.<fact>`` in lowercase, e.g. ``scm.sale.recorded``."""


class EventEnvelope(Contract):
    """One event: identity, provenance and the payload registered for ``(event_type, event_version)``.

    ``event_id`` is the deduplication key of every consumer's inbox; ``occurred_at`` is when the
    producer recorded the fact (UTC); ``correlation_id`` carries the caller's ``x-logical-guid``.
    Envelopes returned by :func:`g3n_contracts.parse_event` and :func:`g3n_contracts.new_event`
    are :class:`Event` instances, so ``payload`` is always the registered model; narrow it with
    :meth:`payload_as` or ``isinstance``.
    """

    event_id: UUID
    event_type: EventTypeName
    event_version: Annotated[StrictInt, Field(ge=1, le=INT32_MAX)]
    occurred_at: UtcDatetime
    org_code: Slug
    source: Slug
    correlation_id: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256)] | None = None
    payload: SerializeAsAny[EventPayload]

    @model_validator(mode="after")
    def _payload_fits_event_type(self) -> Self:
        # Guards hand-built envelopes: a sale payload under a payout type would be keyed and routed
        # as a payout. parse_event/new_event already route by the registry, so this is a re-check.
        expected = payload_model(self.event_type, self.event_version)
        if type(self.payload) is not expected:
            raise ValueError(
                f"{self.event_type} v{self.event_version} carries {expected.__name__}, "
                f"not {type(self.payload).__name__}"
            )
        payload = self.payload
        if type(payload) is ChangeEvent:  # exact type, as checked above (no ABCMeta isinstance)
            subject = f"{payload.object_type}.{payload.action}"
            if self.event_type.split(".", 1)[1] != subject:
                raise ValueError(f"event_type {self.event_type} does not match the change's {subject}")
        return self

    def payload_as(self, model: type[ModelT]) -> ModelT:
        """Return the payload typed as ``model`` (``TypeError`` if it is another model)."""
        payload = self.payload
        if type(payload) is model:  # the usual case, without ABCMeta's isinstance (on hot paths)
            return payload
        if not isinstance(payload, model):
            raise TypeError(f"{self.event_type} carries {type(payload).__name__}, not {model.__name__}")
        return payload


class Event(EventEnvelope, Generic[PayloadT]):
    """An envelope whose ``payload`` is statically and at run time a ``PayloadT``.

    ``Event[SaleRecorded].model_validate_json(raw)`` validates a sale event in one pass, and
    type-checkers see ``event.payload`` as :class:`~g3n_contracts.scm.SaleRecorded`.
    """

    payload: PayloadT
