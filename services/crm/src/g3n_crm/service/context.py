"""What every service function gets besides its command: the open transaction and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Ctx:
    """``conn`` is inside the call's transaction; ``now`` is the one clock reading of the call
    (every row written by one call carries the same time)."""

    conn: asyncpg.Connection
    org_code: str
    actor: str | None = None
    correlation_id: str | None = None
    now: datetime = field(default_factory=utcnow)
    cc_code: str | None = None  # x-cccode: recorded on the rows a write appends
    channel_code: str | None = None  # x-channel-code
