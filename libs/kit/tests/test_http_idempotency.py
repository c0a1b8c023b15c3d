"""Idempotency keys: replay, mismatch, concurrency, stored business errors, 24 h validity."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from g3n_kit.operations import purge_expired_idempotency_keys
from test_http_support import WidgetEnv, env_fixture  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _key() -> dict[str, str]:
    return {"idempotency-key": f"k-{uuid.uuid4()}"}


async def test_same_key_and_body_replays_the_first_response_without_applying_twice(env: WidgetEnv) -> None:
    h = _key()
    first = await env.call("/ifm/widget/create", {"name": "idem-1", "qty": 2}, headers=h)
    again = await env.call("/ifm/widget/create", {"name": "idem-1", "qty": 2}, headers=h)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await env.count("SELECT count(*) FROM widgets WHERE name = 'idem-1'") == 1
    # whitespace that validation strips and key order do not make a different body
    padded = await env.call("/ifm/widget/create", {"qty": 2, "name": "  idem-1 "}, headers=h)
    assert padded.status_code == 200 and padded.content == first.content


async def test_same_key_with_a_different_body_is_422(env: WidgetEnv) -> None:
    h = _key()
    assert (await env.call("/ifm/widget/create", {"name": "idem-2", "qty": 2}, headers=h)).status_code == 200
    resp = await env.call("/ifm/widget/create", {"name": "idem-2", "qty": 3}, headers=h)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "idempotency-mismatch"
    assert await env.count("SELECT qty FROM widgets WHERE name = 'idem-2'") == 2


async def test_twenty_concurrent_requests_with_one_key_apply_once_and_agree(env: WidgetEnv) -> None:
    h = _key()
    responses = await asyncio.gather(
        *(env.call("/ifm/widget/create", {"name": "slow-idem", "qty": 5}, headers=h) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert await env.count("SELECT count(*) FROM widgets WHERE name = 'slow-idem'") == 1


async def test_business_errors_are_stored_and_replayed_with_their_effects_rolled_back(env: WidgetEnv) -> None:
    h = _key()
    first = await env.call("/ifm/widget/create", {"name": "reject-me", "qty": 1}, headers=h)
    assert first.status_code == 409 and first.json()["error"]["code"] == "invalid-state"
    assert await env.count("SELECT count(*) FROM widgets WHERE name = 'reject-me'") == 0
    again = await env.call("/ifm/widget/create", {"name": "reject-me", "qty": 1}, headers=h)
    assert again.status_code == 409 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    # concurrent duplicates of a failing request also see the one stored error
    h2 = _key()
    many = await asyncio.gather(
        *(env.call("/ifm/widget/create", {"name": "reject-too", "qty": 1}, headers=h2) for _ in range(8))
    )
    assert {r.status_code for r in many} == {409}
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in many) == 7


async def test_server_errors_are_not_stored_so_a_retry_runs_again(env: WidgetEnv) -> None:
    h = _key()
    first = await env.call("/ifm/widget/create", {"name": "flaky-1", "qty": 1}, headers=h)
    assert first.status_code == 500
    retry = await env.call("/ifm/widget/create", {"name": "flaky-1", "qty": 1}, headers=h)
    assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers
    assert await env.count("SELECT count(*) FROM widgets WHERE name = 'flaky-1'") == 1


async def test_validation_and_auth_failures_do_not_claim_the_key(env: WidgetEnv) -> None:
    h = _key()
    assert (await env.call("/ifm/widget/create", {"name": "v", "qty": -1}, headers=h)).status_code == 400
    assert (
        await env.call("/ifm/widget/create", {"name": "v", "qty": 1}, headers=h, key="acme_view")
    ).status_code == 403
    assert (await env.call("/ifm/widget/create", {"name": "idem-v", "qty": 1}, headers=h)).status_code == 200


async def test_keys_are_scoped_per_org_and_operation(env: WidgetEnv) -> None:
    h = _key()
    a = await env.call("/ifm/widget/create", {"name": "scoped", "qty": 1}, headers=h)
    b = await env.call(
        "/ifm/widget/create", {"name": "scoped", "qty": 1}, headers=h, key="globex", org="globex"
    )
    assert a.status_code == b.status_code == 200
    assert a.json()["data"]["widget_id"] != b.json()["data"]["widget_id"]
    upd = await env.call("/ifm/widget/activate", {"widget_id": a.json()["data"]["widget_id"]}, headers=h)
    assert upd.status_code == 200 and "idempotent-replayed" not in upd.headers


async def test_reads_ignore_the_key(env: WidgetEnv) -> None:
    h = _key()
    assert (await env.call("/ifm/widget/list", {"limit": 1}, headers=h)).status_code == 200
    assert (await env.call("/ifm/widget/list", {"limit": 2}, headers=h)).status_code == 200
    assert (
        await env.count("SELECT count(*) FROM idempotency_keys WHERE idem_key = $1", h["idempotency-key"])
        == 0
    )


async def test_after_24_hours_the_key_runs_afresh_and_old_records_are_purged(env: WidgetEnv) -> None:
    h = _key()
    assert (await env.call("/ifm/widget/create", {"name": "old-1", "qty": 1}, headers=h)).status_code == 200
    async with env.db.transaction() as conn:
        await conn.execute(
            "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE idem_key = $1",
            h["idempotency-key"],
        )
    fresh = await env.call("/ifm/widget/create", {"name": "old-2", "qty": 1}, headers=h)
    assert fresh.status_code == 200 and "idempotent-replayed" not in fresh.headers
    async with env.db.transaction() as conn:
        await conn.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
    assert await purge_expired_idempotency_keys(env.db, batch=3) >= 1
    assert await env.count("SELECT count(*) FROM idempotency_keys") == 0


async def test_a_secret_shown_once_is_not_kept_in_the_stored_replay(env: WidgetEnv) -> None:
    from g3n_kit.apikeys import Credential
    from g3n_kit.operations import CallContext, Operation, OpResult, RequestModel, invoke
    from pydantic import BaseModel

    class IssueIn(RequestModel):
        label: str

    class IssueOut(BaseModel):
        ref: str
        code: str | None

    secret = f"SECRET-{uuid.uuid4().hex}"

    async def issue(ctx: CallContext, inp: IssueIn) -> OpResult[IssueOut]:
        return OpResult(IssueOut(ref=f"ref-{inp.label}", code=secret))

    op = Operation(
        "secret.issue", "/secret/issue", IssueIn, IssueOut, "inf_manage", issue, redact_on_replay=("code",)
    )
    call = {
        "org_code": "acme",
        "credential": Credential(api_key=env.acme),
        "body": {"label": "a"},
        "idempotency_key": f"k-{uuid.uuid4()}",
    }
    first = await invoke(op, env.db, **call)  # type: ignore[arg-type]
    replay = await invoke(op, env.db, **call)  # type: ignore[arg-type]
    assert first.envelope["data"] == {"ref": "ref-a", "code": secret}
    assert replay.replayed and replay.envelope["data"] == {"ref": "ref-a", "code": None}
    stored = await env.count(
        "SELECT count(*) FROM idempotency_keys WHERE position($1::bytea in response_body) > 0",
        secret.encode(),
    )
    assert stored == 0
