"""GDPR: anonymize erases personal data everywhere the CRM stored it and keeps ledgers correct."""

from __future__ import annotations

import pytest
from crm_support import CrmEnv
from g3n_kit.outbox import outbox_messages

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_anonymize_erases_fields_proofs_and_stored_responses_but_keeps_balances(
    crm_env: CrmEnv,
) -> None:
    env = crm_env
    created = await env.ok(
        "customer.create",
        {
            "email": "erase.me@example.com",
            "phone": "+1 555 0100",
            "given_name": "Erin",
            "family_name": "Rase",
            "external_ref": "EXT-77",
            "locale": "en-US",
            "tags": ["newsletter"],
        },
        idem="create-erin",
    )
    cid = created["customer_id"]
    await env.ok(
        "customer.consent.set",
        {
            "customer_id": cid,
            "expected_revision": 1,
            "channel": "email",
            "purpose": "marketing",
            "status": "granted",
            "source": "web",
            "proof": {"ip": "198.51.100.7", "ua": "Firefox"},
        },
    )
    earn = await env.ok(
        "loyalty.earn", {"customer_id": cid, "points": 300, "reason": "x", "source_ref": "o-erin"}
    )
    await env.ok("loyalty.redeem", {"customer_id": cid, "points": 100, "reason": "x"})
    card = await env.ok(
        "giftcard.issue",
        {"amount": {"amount_minor": 700, "currency": "USD"}, "customer_id": cid, "reason": "x"},
    )

    anon = await env.ok("customer.anonymize", {"customer_id": cid, "reason": "art. 17 request"})
    for name in ("email", "phone", "given_name", "family_name", "external_ref", "locale"):
        assert anon[name] is None
    assert anon["tags"] == [] and anon["status"] == "anonymized" and anon["customer_id"] == cid
    assert anon["loyalty"] == {"available": 200, "pending": 0, "debt": 0}

    log = await env.ok("customer.consent.list", {"customer_id": cid})
    assert log["items"][0]["proof"] is None and log["items"][0]["proof_erased"] is True
    assert log["items"][0]["status"] == "granted"
    assert (await env.call("customer.get", {"email": "erase.me@example.com"})).status == 404
    ledger = await env.ok("loyalty.ledger.list", {"customer_id": cid})
    assert [e["kind"] for e in ledger["items"]] == ["redeem", "earn"] and ledger["items"][1][
        "entry_id"
    ] == earn["entry_id"]
    assert (await env.ok("giftcard.get", {"giftcard_id": card["giftcard_id"]}))["balance_minor"] == 700

    # the email can be used by a new customer; the replayed create no longer shows personal data
    replay = await env.ok(
        "customer.create",
        {
            "email": "erase.me@example.com",
            "phone": "+1 555 0100",
            "given_name": "Erin",
            "family_name": "Rase",
            "external_ref": "EXT-77",
            "locale": "en-US",
            "tags": ["newsletter"],
        },
        idem="create-erin",
    )
    assert replay["customer_id"] == cid and replay["email"] is None and replay["given_name"] is None

    async with env.db.connection() as conn:
        rows = await conn.fetch("SELECT response_body FROM idempotency_keys")
        outbox = await outbox_messages(conn)
        dump = await conn.fetchval("SELECT string_agg(t::text, ' ') FROM (SELECT * FROM customers) t")
        consent_dump = await conn.fetchval(
            "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM consent_log) t"
        )
    for needle in (b"erase.me", b"Erin", b"Rase", b"EXT-77", b"0100", b"198.51.100.7"):
        assert all(needle not in bytes(r["response_body"]) for r in rows), needle
        assert all(needle not in m.value for m in outbox), needle
        assert needle.decode() not in dump and needle.decode() not in consent_dump


class _Rollback(Exception):
    pass


async def test_erasing_the_identifiers_of_skipped_sales_probes_an_index_per_identifier(
    crm_env: CrmEnv,
) -> None:
    """Anonymize finds the skipped sales naming the customer (by id, e-mail or external ref) through
    one index per identifier, never by reading every sale: over 5,000 skipped sales (inserted, then
    rolled back), the plan is a bitmap OR of the three partial indexes."""
    from g3n_crm.adapters.customers import ERASE_SALE_REFS_SQL

    plan = ""
    with pytest.raises(_Rollback):
        async with crm_env.db.connection() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO scm_sales (org_code, sale_id, order_id, status, reason, ref_customer_id,
                                          ref_email, ref_external_ref, currency, occurred_at, processed_at)
                   SELECT 'plan-org', 's-' || i, 'o-' || i, 'skipped', 'unknown-customer', 'cus_' || i,
                          'c' || i || '@example.com', 'EXT-' || i, 'USD', now(), now()
                   FROM generate_series(1, 5000) AS i"""
            )
            await conn.execute("ANALYZE scm_sales")
            args = ("plan-org", "cus_7", "c7@example.com", "ext-7")
            plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + ERASE_SALE_REFS_SQL, *args))
            raise _Rollback
    for index in ("scm_sales_ref_customer", "scm_sales_ref_email", "scm_sales_ref_external"):
        assert f"Bitmap Index Scan on {index}" in plan, plan
