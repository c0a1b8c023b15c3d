"""API keys and sessions: creation, hashing, roles, the auth cache and the operator CLI."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest
from g3n_cli.apikey import app as apikey_app
from g3n_kit.apikeys import (
    CRM_ROLES,
    IFM_ROLES,
    Authenticator,
    Credential,
    authenticate,
    authenticate_session,
    create_api_key,
    create_session,
    list_api_keys,
    parse_api_key,
    revoke_api_key,
    revoke_session,
    roles_for_service,
)
from g3n_kit.db import Database
from g3n_kit.errors import ValidationFailed
from g3n_kit.migrations import KIT_MIGRATIONS, migrate
from typer.testing import CliRunner


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _dsn(stack: Any) -> str:
    dsn: str = await stack.aensure_database(f"http_keys_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS])
    return dsn


async def _db(stack: Any) -> Database:
    return await Database.connect(await _dsn(stack), min_size=1, max_size=4)


@pytest.mark.asyncio(loop_scope="session")
async def test_keys_are_stored_hashed_and_shown_once(stack: Any) -> None:
    db = await _db(stack)
    try:
        async with db.transaction() as conn:
            key_id, plaintext = await create_api_key(
                conn, "acme", ["inf_view", "inf_finance"], "ops", allowed_roles=IFM_ROLES
            )
            assert plaintext.startswith(f"g3n_{key_id}_")
            parsed = parse_api_key(plaintext)
            assert parsed is not None and parsed[0] == key_id
            row = await conn.fetchrow("SELECT * FROM api_keys WHERE key_id = $1", key_id)
            assert row is not None
            assert bytes(row["secret_hash"]) == hashlib.sha256(parsed[1].encode()).digest()
            assert parsed[1] not in str(dict(row))
            principal = await authenticate(conn, plaintext)
            assert principal is not None
            assert principal.org_code == "acme" and principal.roles == {"inf_view", "inf_finance"}
            assert principal.actor == f"api_key:{key_id}"
            assert await authenticate(conn, plaintext[:-1] + ("x" if plaintext[-1] != "x" else "y")) is None
            [info] = await list_api_keys(conn, "acme")
            assert info.key_id == key_id and info.label == "ops" and info.revoked_at is None
            assert await revoke_api_key(conn, key_id) is True
            assert await revoke_api_key(conn, key_id) is False
            assert await authenticate(conn, plaintext) is None
            assert await list_api_keys(conn, "acme", include_revoked=False) == []
    finally:
        await db.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_roles_are_checked_against_the_services_set(stack: Any) -> None:
    db = await _db(stack)
    try:
        async with db.transaction() as conn:
            with pytest.raises(ValidationFailed) as caught:
                await create_api_key(conn, "acme", ["inf_view", "crm_view"], allowed_roles=IFM_ROLES)
            assert [f["path"] for f in caught.value.details["fields"]] == ["roles.1"]
            with pytest.raises(ValidationFailed):
                await create_api_key(conn, "acme", [], allowed_roles=CRM_ROLES)
            with pytest.raises(ValidationFailed):
                await create_api_key(conn, "bad org!", ["crm_view"], allowed_roles=CRM_ROLES)
        assert roles_for_service("influencer") == roles_for_service("ifm") == IFM_ROLES
    finally:
        await db.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_cache_serves_repeat_lookups_and_revocation_lands_within_the_ttl(stack: Any) -> None:
    dsn = await _dsn(stack)
    db = await Database.connect(dsn, min_size=1, max_size=2)
    clock = FakeClock()
    auth = Authenticator(ttl=5.0, clock=clock)
    try:
        async with db.transaction() as conn:
            key_id, plaintext = await create_api_key(conn, "acme", ["inf_view"], allowed_roles=IFM_ROLES)
        cred = Credential(api_key=plaintext)
        assert await auth.authenticate(db, cred) is not None
        await db.pool.close()  # prove the hot path needs no database while cached
        assert await auth.authenticate(db, cred) is not None
        forged = plaintext[:-1] + ("Z" if not plaintext.endswith("Z") else "Y")
        assert await auth.authenticate(db, Credential(api_key=forged)) is None
    finally:
        await db.close()
    db = await Database.connect(dsn, min_size=1, max_size=2)
    try:
        async with db.transaction() as conn:
            await revoke_api_key(conn, key_id)
        clock.now += 4.9
        assert await auth.authenticate(db, cred) is not None, "still cached inside the TTL"
        clock.now += 0.2
        assert await auth.authenticate(db, cred) is None, "revoked once the TTL passed"
    finally:
        await db.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_sessions_expire_and_can_be_revoked(stack: Any) -> None:
    db = await _db(stack)
    clock = FakeClock()
    auth = Authenticator(ttl=60.0, clock=clock)
    try:
        async with db.transaction() as conn:
            s = await create_session(
                conn, "acme", ["crm_view"], allowed_roles=CRM_ROLES, ttl=timedelta(hours=1)
            )
            principal = await authenticate_session(conn, s.guid)
            assert principal is not None and principal.actor == f"session:{s.session_id}"
            assert await authenticate_session(conn, str(uuid.uuid4())) is None
            assert await authenticate_session(conn, "nope") is None
        assert await auth.authenticate(db, Credential(session_guid=s.guid)) is not None
        async with db.transaction() as conn:
            assert await revoke_session(conn, s.session_id)
        auth.invalidate(session_guid=s.guid)
        assert await auth.authenticate(db, Credential(session_guid=s.guid)) is None
        async with db.transaction() as conn:
            short = await create_session(
                conn, "acme", ["crm_view"], allowed_roles=CRM_ROLES, ttl=timedelta(milliseconds=300)
            )
        assert await auth.authenticate(db, Credential(session_guid=short.guid)) is not None
        await asyncio.sleep(0.35)
        clock.now += 0.35
        assert await auth.authenticate(db, Credential(session_guid=short.guid)) is None, (
            "cache honours expiry"
        )
    finally:
        await db.close()


def test_cli_creates_lists_and_revokes_keys(stack: Any) -> None:
    dsn = stack.ensure_database(f"http_cli_{uuid.uuid4().hex[:8]}")
    runner = CliRunner()
    created = runner.invoke(
        apikey_app,
        [
            "create",
            "--service",
            "crm",
            "--org",
            "acme",
            "--role",
            "crm_view",
            "--role",
            "crm_loyalty",
            "--label",
            "pos",
            "--json",
            "--database-url",
            dsn,
        ],
    )
    assert created.exit_code == 0, created.output
    out = orjson.loads(created.stdout)
    assert set(out) == {"api_key", "key_id", "org", "roles", "label"}
    assert out["org"] == "acme" and out["roles"] == ["crm_loyalty", "crm_view"]
    assert out["api_key"].startswith(f"g3n_{out['key_id']}_")

    listed = runner.invoke(apikey_app, ["list", "--service", "crm", "--json", "--database-url", dsn])
    assert listed.exit_code == 0, listed.output
    [row] = orjson.loads(listed.stdout)
    assert row["key_id"] == out["key_id"] and row["active"] is True
    assert out["api_key"] not in listed.stdout

    human = runner.invoke(apikey_app, ["list", "--service", "crm", "--org", "acme", "--database-url", dsn])
    assert out["key_id"] in human.stdout

    bad_role = runner.invoke(
        apikey_app,
        ["create", "--service", "crm", "--org", "acme", "--role", "inf_view", "--database-url", dsn],
    )
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output

    revoked = runner.invoke(apikey_app, ["revoke", "--service", "crm", out["key_id"], "--database-url", dsn])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    again = runner.invoke(apikey_app, ["revoke", "--service", "crm", out["key_id"], "--database-url", dsn])
    assert again.exit_code == 1
