"""Why a message breaks the contract: the reasons a consumer dead-letters with."""

from __future__ import annotations

from typing import Final

NOT_JSON: Final = "not-json"
INVALID_ENVELOPE: Final = "invalid-envelope"
UNKNOWN_EVENT_TYPE: Final = "unknown-event-type"
UNSUPPORTED_VERSION: Final = "unsupported-version"
INVALID_PAYLOAD: Final = "invalid-payload"

REASONS: Final = (NOT_JSON, INVALID_ENVELOPE, UNKNOWN_EVENT_TYPE, UNSUPPORTED_VERSION, INVALID_PAYLOAD)


class ContractError(ValueError):
    """A message (or an event being built) violates the contract.

    ``reason`` is one of :data:`REASONS` (the DLQ ``dlq-reason`` header); ``detail`` is a bounded,
    human-readable description naming the failing fields by their path (``payload.lines.0.qty``),
    never echoing input values, so it is safe for headers and logs; ``fields`` lists those paths.
    """

    def __init__(self, reason: str, detail: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.fields = fields
