"""Base classes: the one place the strictness policy of every contract model is set."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """Base of every contract model.

    - ``extra="forbid"``: an unknown field is a typo or a version skew; silently dropping it would
      lose data, so it is rejected and names the field.
    - ``frozen=True``: an event is a fact; nothing may edit it after validation (containers are
      tuples for the same reason).
    - lax mode with strict scalar types (see :mod:`g3n_contracts.primitives`) so that nested
      dicts/lists are accepted from Python while numbers and strings are never coerced.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        hide_input_in_errors=True,  # payloads carry e-mails; errors end up in DLQ headers and logs
        use_attribute_docstrings=True,  # field docstrings become JSON Schema descriptions
    )


class EventPayload(Contract):
    """Base of every event payload: it knows the entity it is about (its partition key)."""

    def partition_key(self) -> str:
        """Return the id that orders this event on its topic (``kafka_key`` prefixes the org)."""
        raise NotImplementedError(f"{type(self).__name__} does not define a partition key")
