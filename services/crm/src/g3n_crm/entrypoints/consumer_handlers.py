"""Batch handlers for the events this service consumes (group ``crm.scm`` on ``scm.sales.v1``).

The kit's consumer loop calls a handler inside the partition batch's transaction with only the
events the inbox has not seen; the handler applies them set-based (see ``service/scm.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from g3n_kit.consumer import InboundEvent

from g3n_crm.service import scm
from g3n_crm.service.context import utcnow


async def handle_scm_sales(conn: asyncpg.Connection, events: Sequence[InboundEvent]) -> None:
    await scm.apply_batch(conn, [e.envelope for e in events], utcnow())
