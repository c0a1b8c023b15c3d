"""GDPR erasure in places the service writes besides its own tables.

The HTTP kit keeps the response of every write called with an ``idempotency-key`` for 24 h so a
retry replays it byte for byte; for `/customer/create`, `/customer/update` … that response holds
the customer's personal data. On anonymization those stored responses are rewritten with the
personal fields set to null (a replay then shows the erased customer, which is the truth now).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from g3n_crm.domain.customer import PERSONAL_FIELDS


def _scrub(value: Any, customer_id: str) -> Any:
    if isinstance(value, dict):
        out = {k: _scrub(v, customer_id) for k, v in value.items()}
        if out.get("customer_id") == customer_id:
            for name in PERSONAL_FIELDS:
                if name in out:
                    out[name] = [] if name == "tags" else None
            if isinstance(out.get("consents"), dict):
                out["consents"] = {
                    ch: {
                        pu: {**st, "proof": None} if isinstance(st, dict) and "proof" in st else st
                        for pu, st in per.items()
                    }
                    if isinstance(per, dict)
                    else per
                    for ch, per in out["consents"].items()
                }
            if "proof" in out:
                out["proof"] = None
        return out
    if isinstance(value, list):
        return [_scrub(v, customer_id) for v in value]
    return value


async def scrub_stored_responses(conn: asyncpg.Connection, org_code: str, customer_id: str) -> int:
    rows = await conn.fetch(
        """SELECT operation, idem_key, response_body FROM idempotency_keys
           WHERE org_code = $1 AND response_body IS NOT NULL AND position($2::bytea IN response_body) > 0""",
        org_code,
        customer_id.encode(),
    )
    for r in rows:
        body = orjson.dumps(_scrub(orjson.loads(bytes(r["response_body"])), customer_id))
        await conn.execute(
            """UPDATE idempotency_keys SET response_body = $4
               WHERE org_code = $1 AND operation = $2 AND idem_key = $3""",
            org_code,
            r["operation"],
            r["idem_key"],
            body,
        )
    return len(rows)
