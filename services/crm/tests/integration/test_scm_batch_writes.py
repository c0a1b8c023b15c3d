"""A consumer-sized batch takes the bulk write paths (binary COPY of ledger rows, one packed outbox row,
batch-minted ids): same rows, same events, same balances as the small-batch paths."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from crm_support import CrmEnv, encoded, line, sale
from g3n_contracts import SALE_RECORDED, parse_event
from g3n_crm.service import scm
from g3n_crm.service.context import utcnow
from g3n_kit.outbox import outbox_messages

pytestmark = pytest.mark.asyncio(loop_scope="session")

SALES = 45  # above the COPY thresholds (32 rows) of the ledger and outbox writers


async def test_large_batch_earns_and_publishes_one_change_event_per_account(crm_env: CrmEnv) -> None:
    env = crm_env
    run = uuid.uuid4().hex[:8]
    customers = [
        (await env.ok("customer.create", {"email": f"bulk-{run}-{i}@example.com"}))["customer_id"]
        for i in range(SALES)
    ]
    envelopes = []
    for i in range(SALES):
        payload = sale(
            f"bs-{run}-{i}",
            f"bo-{run}-{i}",
            [line("1", 1, 1000 + 100 * i), line("2", 2, 250)],
            customer={"customer_id": None, "email": f"BULK-{run}-{i}@example.com", "external_ref": None},
        )
        envelopes.append(parse_event(encoded(SALE_RECORDED, payload)[1]))
    async with env.db.transaction() as conn:
        first_outbox = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
        await scm.apply_batch(conn, envelopes, utcnow())

    for i, cid in enumerate(customers):
        bal = (await env.ok("customer.get", {"customer_id": cid}))["loyalty"]
        assert (bal["available"], bal["pending"], bal["debt"]) == (10 + i + 5, 0, 0)
    async with env.db.connection() as conn:
        rows = await outbox_messages(conn, after_id=first_outbox)
        entries = await conn.fetch(
            "SELECT entry_id, lot_id FROM loyalty_entries WHERE source_ref LIKE $1", f"bo-{run}-%"
        )
    changes: dict[str, Any] = {}
    assert len({r.row_id for r in rows}) == 1, "a batch's change events share one outbox row"
    for r in rows:
        assert r.topic == "crm.events.v1"
        env_ = parse_event(r.value)
        assert r.headers == [("event_type", env_.event_type.encode()), ("content-type", b"application/json")]
        assert env_.event_id.version == 4
        changes[env_.payload.object_id] = env_  # type: ignore[attr-defined]
    assert sorted(changes) == sorted(customers)  # one change event per touched account
    assert len(entries) == SALES
    ids = [e["entry_id"] for e in entries] + [e["lot_id"] for e in entries]
    assert len(set(ids)) == 2 * SALES and all(len(i) == 4 + 26 for i in ids)
