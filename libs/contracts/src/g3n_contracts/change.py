"""Change events (``ifm.events.v1``, ``crm.events.v1``): one per state change of any object.

The event type is ``<service>.<object_type>.<action>`` (e.g. ``ifm.campaign.status_changed``);
the envelope checks it agrees with the payload. Keyed ``{org_code}:{object_id}`` so an object's
changes stay in order.
"""

from __future__ import annotations

from pydantic import JsonValue

from g3n_contracts.base import EventPayload
from g3n_contracts.primitives import Id, Name, Revision


class ChangeEvent(EventPayload):
    """A state change of ``object_type`` ``object_id``.

    ``revision`` is the object's revision after the change (``None`` for unversioned objects such
    as ledger entries). ``data`` is the object's public representation after the change and must
    already be JSON (build it with ``model_dump(mode="json")``) so a round trip is lossless.
    """

    object_type: Name
    object_id: Id
    action: Name
    revision: Revision | None = None
    data: dict[str, JsonValue]

    def partition_key(self) -> str:
        return self.object_id
