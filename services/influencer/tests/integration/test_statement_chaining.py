"""A statement waits for writes that began before its period's end, so statements always chain."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
from g3n_influencer.service import statements
from ifm_support import Ifm


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def _profile(ifm: Ifm, handle: str) -> str:
    prof = await ifm.data(
        "/profile/create",
        {"handle": handle, "display_name": handle, "payout_currency": "USD", "codes": [handle.upper()]},
    )
    return str(prof["profile_id"])


async def test_a_statement_waits_for_a_write_that_began_before_period_end(ifm: Ifm) -> None:
    profile_id = await _profile(ifm, "chain1")
    writer = await asyncpg.connect(ifm.dsn)
    try:
        await writer.execute("BEGIN; SELECT 1")  # a write transaction that is still open
        await asyncio.sleep(0.05)
        end = _now()
        body = {
            "profile_id": profile_id,
            "currency": "USD",
            "period_start": "2026-01-01T00:00:00Z",
            "period_end": end,
        }
        create = asyncio.create_task(ifm.data("/statement/create", body))
        await asyncio.sleep(0.5)
        assert not create.done(), "the statement must not be made while an earlier writer is open"
        await writer.execute("COMMIT")
        stm = await asyncio.wait_for(create, 10)
        assert stm["closing_balance_minor"] == stm["opening_balance_minor"] + stm["earned_minor"] - (
            stm["clawed_back_minor"] + stm["paid_minor"]
        )
    finally:
        await writer.close()


async def test_a_writer_that_stays_open_makes_the_statement_invalid_state(
    ifm: Ifm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statements, "WRITERS_WAIT_S", 0.3)
    profile_id = await _profile(ifm, "chain2")
    writer = await asyncpg.connect(ifm.dsn)
    try:
        await writer.execute("BEGIN; SELECT 1")
        await asyncio.sleep(0.05)
        body = {
            "profile_id": profile_id,
            "currency": "USD",
            "period_start": "2026-01-01T00:00:00Z",
            "period_end": _now(),
        }
        err = await ifm.error("/statement/create", body, "invalid-state")
        assert err["details"]["state"] == "writes-in-flight"
    finally:
        await writer.execute("ROLLBACK")
        await writer.close()
