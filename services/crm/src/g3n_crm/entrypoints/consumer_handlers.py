"""Batch handlers for the events this service consumes."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from g3n_kit.consumer import InboundEvent


async def handle_scm_sales(conn: asyncpg.Connection, events: Sequence[InboundEvent]) -> None:
    """Skeleton: events are recorded in the inbox only; the service issue adds the effects."""
    return None
