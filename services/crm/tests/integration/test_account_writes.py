"""Loyalty accounts are written back to the row version their lock returned (a TID scan, not a key
lookup): after waiting on another writer's lock, after a write of its own transaction, and never
onto a row the lock did not return."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from crm_support import CrmEnv
from g3n_crm.adapters import loyalty as repo
from g3n_crm.domain.loyalty import LoyaltyAccount
from g3n_crm.domain.policy import DEFAULT_POLICY
from g3n_crm.service.context import utcnow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _customer(env: CrmEnv) -> tuple[str, str]:
    body = {"email": f"acct-{uuid.uuid4().hex[:10]}@example.com"}
    return ("acme", (await env.ok("customer.create", body))["customer_id"])


async def _earn(conn: asyncpg.Connection, key: tuple[str, str], points: int) -> LoyaltyAccount:
    account = (await repo.lock_accounts(conn, [key], with_status=False))[key].account
    assert account.row_ref is not None
    now = utcnow()
    account.earn(points, now, DEFAULT_POLICY, reason="test")
    await repo.save(conn, [(key[0], account)], actor="test", now=now)
    return account


async def _ledger(env: CrmEnv, key: tuple[str, str]) -> tuple[tuple[int, int, int], list[tuple[int, int]]]:
    async with env.db.connection() as conn:
        acc = await conn.fetchrow(
            "SELECT seq, total, debt FROM loyalty_accounts WHERE org_code = $1 AND customer_id = $2", *key
        )
        entries = await conn.fetch(
            "SELECT seq, balance_after FROM loyalty_entries WHERE org_code = $1 AND customer_id = $2"
            " ORDER BY seq",
            *key,
        )
    assert acc is not None
    return (acc["seq"], acc["total"], acc["debt"]), [(e["seq"], e["balance_after"]) for e in entries]


async def test_a_lock_taken_after_waiting_returns_the_row_the_other_writer_left(crm_env: CrmEnv) -> None:
    key = await _customer(crm_env)
    async with crm_env.db.connection() as first, crm_env.db.connection() as second:
        tx = first.transaction()
        await tx.start()
        locked = (await repo.lock_accounts(first, [key], with_status=False))[key].account

        async def waiter() -> None:
            async with second.transaction():
                await _earn(second, key, 7)  # waits for the first transaction's lock

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.3)
        assert not task.done()
        now = utcnow()
        locked.earn(5, now, DEFAULT_POLICY, reason="test")
        await repo.save(first, [(key[0], locked)], actor="test", now=now)
        await tx.commit()
        await asyncio.wait_for(task, 10)
    assert await _ledger(crm_env, key) == ((2, 12, 0), [(1, 5), (2, 12)])


async def test_a_second_lock_in_one_transaction_returns_the_row_its_first_write_left(crm_env: CrmEnv) -> None:
    key = await _customer(crm_env)
    async with crm_env.db.transaction() as conn:
        first = await _earn(conn, key, 3)
        assert first.row_ref is None  # the version it was locked at is gone once written
        await _earn(conn, key, 4)
    assert await _ledger(crm_env, key) == ((2, 7, 0), [(1, 3), (2, 7)])


async def test_a_row_not_where_it_was_locked_fails_the_write_and_nothing_lands(crm_env: CrmEnv) -> None:
    key = await _customer(crm_env)
    with pytest.raises(RuntimeError, match="UPDATE 0 of 1 loyalty accounts"):
        async with crm_env.db.transaction() as conn:
            account = (await repo.lock_accounts(conn, [key], with_status=False))[key].account
            account.row_ref = "(0,9999)"  # a version the lock did not return
            now = utcnow()
            account.earn(5, now, DEFAULT_POLICY, reason="test")
            await repo.save(conn, [(key[0], account)], actor="test", now=now)
    assert await _ledger(crm_env, key) == ((0, 0, 0), [])
