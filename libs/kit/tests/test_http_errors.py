"""The envelope and every error code with its HTTP status, through the real app and database."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from g3n_kit.apikeys import IFM_ROLES, create_session, revoke_api_key
from test_http_support import SECRET_IN_ERROR, WidgetEnv, env_fixture  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False
    assert set(body) == {"success", "error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    assert resp.headers["content-type"].startswith("application/json")
    return dict(body["error"])


def _field_paths(err: dict[str, Any]) -> set[str]:
    return {f["path"] for f in err["details"]["fields"]}


async def _create(env: WidgetEnv, name: str, **kw: Any) -> dict[str, Any]:
    resp = await env.call("/ifm/widget/create", {"name": name, "qty": 1, **kw})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_success_envelope_carries_data_and_revision(env: WidgetEnv) -> None:
    resp = await env.call(
        "/ifm/widget/create", {"name": "alpha", "qty": 3, "color": "red"}, headers={"x-channel-code": "web"}
    )
    body = resp.json()
    assert resp.status_code == 200
    assert set(body) == {"success", "data", "revision"}
    assert body["success"] is True and body["revision"] == 1
    data = body["data"]
    assert data["widget_id"].startswith("wdg_") and data["qty"] == 3 and data["status"] == "draft"
    assert data["created_by"].startswith("api_key:")
    assert data["created_at"].endswith("Z")
    got = await env.call("/ifm/widget/get", {"widget_id": data["widget_id"]}, key="acme_view")
    assert got.json() == {"success": True, "data": data, "revision": 1}


async def test_correlation_id_is_echoed_or_generated(env: WidgetEnv) -> None:
    resp = await env.call("/ifm/widget/list", {}, headers={"x-logical-guid": "req-42"})
    assert resp.headers["x-logical-guid"] == "req-42"
    generated = await env.call("/ifm/widget/list", {})
    assert len(generated.headers["x-logical-guid"]) == 36
    err = await env.call("/ifm/nope", {}, headers={"x-logical-guid": "req-43"})
    assert err.headers["x-logical-guid"] == "req-43"
    bad = await env.call("/ifm/widget/list", {}, headers={"x-logical-guid": "x" * 200})
    assert _field_paths(_error(bad, 400, "validation-error")) == {"header.x-logical-guid"}


async def test_400_names_each_bad_field_including_unknown_ones(env: WidgetEnv) -> None:
    resp = await env.call("/ifm/widget/create", {"name": "b", "qty": 2.5, "colour": "red"})
    err = _error(resp, 400, "validation-error")
    fields = {f["path"]: f["message"] for f in err["details"]["fields"]}
    assert set(fields) == {"qty", "colour"}
    assert fields["colour"] == "unknown field"
    missing = _error(await env.call("/ifm/widget/create", {"qty": 1}), 400, "validation-error")
    assert _field_paths(missing) == {"name"}
    money_as_float = _error(
        await env.call("/ifm/widget/create", {"name": "c", "qty": 1.0}), 400, "validation-error"
    )
    assert _field_paths(money_as_float) == {"qty"}


async def test_400_for_malformed_json_and_bad_headers(env: WidgetEnv) -> None:
    malformed = await env.call("/ifm/widget/create", content=b'{"name": "x", ')
    assert _field_paths(_error(malformed, 400, "validation-error")) == {"body"}
    array = await env.call("/ifm/widget/create", content=b"[]")
    assert _field_paths(_error(array, 400, "validation-error")) == {"body"}
    no_org = await env.call("/ifm/widget/list", {}, org=None)
    assert _field_paths(_error(no_org, 400, "validation-error")) == {"header.x-orgcode"}
    bad_idem = await env.call(
        "/ifm/widget/create", {"name": "d", "qty": 1}, headers={"idempotency-key": "a b"}
    )
    assert _field_paths(_error(bad_idem, 400, "validation-error")) == {"header.idempotency-key"}
    limit = await env.call("/ifm/widget/list", {"limit": 0})
    assert _field_paths(_error(limit, 400, "validation-error")) == {"limit"}
    huge = await env.call("/ifm/widget/create", content=b'{"name": "' + b"x" * 2_000_000 + b'"}')
    assert _field_paths(_error(huge, 400, "validation-error")) == {"body"}


async def test_401_for_missing_unknown_or_forged_credentials(env: WidgetEnv) -> None:
    _error(await env.call("/ifm/widget/list", {}, key=None), 401, "unauthorized")
    _error(
        await env.call("/ifm/widget/list", {}, key="g3n_0123456789abcdef_" + "A" * 43), 401, "unauthorized"
    )
    _error(await env.call("/ifm/widget/list", {}, key="not-a-key"), 401, "unauthorized")
    forged = env.acme[:-4] + ("aaaa" if not env.acme.endswith("aaaa") else "bbbb")
    _error(await env.call("/ifm/widget/list", {}, key=forged), 401, "unauthorized")
    # auth comes before validation: an unauthenticated caller learns nothing about the schema
    _error(await env.call("/ifm/widget/create", {"bogus": 1}, key=None), 401, "unauthorized")


async def test_403_when_the_key_lacks_the_role(env: WidgetEnv) -> None:
    err = _error(
        await env.call("/ifm/widget/create", {"name": "e", "qty": 1}, key="acme_view"), 403, "forbidden"
    )
    assert err["details"] == {"required_role": "inf_manage"}
    assert (await env.call("/ifm/widget/list", {}, key="acme_view")).status_code == 200


async def test_404_for_another_orgs_key_and_another_orgs_object(env: WidgetEnv) -> None:
    # acme's key claiming to act in globex: not-found, before any role or body check
    _error(await env.call("/ifm/widget/list", {}, key="acme", org="globex"), 404, "not-found")
    _error(
        await env.call("/ifm/widget/create", {"bogus": 1}, key="acme_view", org="globex"), 404, "not-found"
    )
    mine = await _create(env, "acme-only")
    theirs = await env.call(
        "/ifm/widget/get", {"widget_id": mine["data"]["widget_id"]}, key="globex", org="globex"
    )
    err = _error(theirs, 404, "not-found")
    absent = _error(
        await env.call("/ifm/widget/get", {"widget_id": "wdg_nope"}, key="globex", org="globex"),
        404,
        "not-found",
    )
    assert err["message"].replace(mine["data"]["widget_id"], "X") == absent["message"].replace(
        "wdg_nope", "X"
    )


async def test_409_invalid_state_conflict_and_revision_mismatch_and_428(env: WidgetEnv) -> None:
    w = (await _create(env, "gamma"))["data"]
    assert (await env.call("/ifm/widget/activate", {"widget_id": w["widget_id"]})).status_code == 200
    err = _error(await env.call("/ifm/widget/activate", {"widget_id": w["widget_id"]}), 409, "invalid-state")
    assert err["details"] == {"state": "active", "required": "draft"}

    _error(await env.call("/ifm/widget/create", {"name": "gamma", "qty": 1}), 409, "conflict")

    stale = await env.call(
        "/ifm/widget/update", {"widget_id": w["widget_id"], "expected_revision": 1, "qty": 9}
    )
    assert _error(stale, 409, "revision-mismatch")["details"] == {"current_revision": 2}
    _error(
        await env.call("/ifm/widget/update", {"widget_id": w["widget_id"], "qty": 9}),
        428,
        "revision-required",
    )
    ok = await env.call("/ifm/widget/update", {"widget_id": w["widget_id"], "expected_revision": 2, "qty": 9})
    assert ok.status_code == 200 and ok.json()["revision"] == 3 and ok.json()["data"]["qty"] == 9


async def test_500_is_internal_logged_with_the_correlation_id_and_leaks_nothing(
    env: WidgetEnv, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        resp = await env.call(
            "/ifm/widget/create", {"name": "boom", "qty": 1}, headers={"x-logical-guid": "corr-500"}
        )
    err = _error(resp, 500, "internal")
    assert (
        SECRET_IN_ERROR not in resp.text and "Traceback" not in resp.text and "RuntimeError" not in resp.text
    )
    assert err["details"] == {"correlation_id": "corr-500"}
    logged = [r for r in caplog.records if getattr(r, "correlation_id", None) == "corr-500"]
    assert logged and logged[0].exc_info is not None and SECRET_IN_ERROR in str(logged[0].exc_info[1])
    assert await env.count("SELECT count(*) FROM widgets WHERE name = 'boom'") == 0


async def test_framework_errors_use_the_envelope(env: WidgetEnv) -> None:
    assert _error(await env.call("/ifm/no/such/call", {}), 404, "not-found")["message"].startswith(
        "no such call"
    )
    wrong_method = await env.client.get("/ifm/widget/list")
    _error(wrong_method, 405, "method-not-allowed")
    assert wrong_method.headers["allow"] == "POST"
    _error(await env.call("/ifm/widget/list/", {}), 404, "not-found")


async def test_session_guid_authenticates_like_a_key_until_it_expires(env: WidgetEnv) -> None:
    async with env.db.transaction() as conn:
        live = await create_session(conn, "acme", ["inf_view"], allowed_roles=IFM_ROLES)
    headers = {"x-session-guid": live.guid}
    resp = await env.call("/ifm/widget/list", {}, key=None, headers=headers)
    assert resp.status_code == 200
    _error(
        await env.call("/ifm/widget/create", {"name": "s", "qty": 1}, key=None, headers=headers),
        403,
        "forbidden",
    )
    _error(
        await env.call("/ifm/widget/list", {}, key=None, headers={"x-session-guid": "not-a-uuid"}),
        401,
        "unauthorized",
    )
    async with env.db.transaction() as conn:
        await conn.execute(
            "UPDATE api_sessions SET created_at = now() - interval '2 hours', "
            "expires_at = now() - interval '1 hour'"
        )
    env.app.state.authenticator.invalidate()
    _error(await env.call("/ifm/widget/list", {}, key=None, headers=headers), 401, "unauthorized")


async def test_revoked_key_is_refused_once_its_cache_entry_is_gone(env: WidgetEnv) -> None:
    async with env.db.transaction() as conn:
        from g3n_kit.apikeys import create_api_key

        key_id, plaintext = await create_api_key(conn, "acme", ["inf_view"], allowed_roles=IFM_ROLES)
    assert (await env.call("/ifm/widget/list", {}, key=plaintext)).status_code == 200
    async with env.db.transaction() as conn:
        assert await revoke_api_key(conn, key_id)
    # still cached in this process (documented: revocation takes effect within the TTL)
    assert (await env.call("/ifm/widget/list", {}, key=plaintext)).status_code == 200
    env.app.state.authenticator.invalidate(key_id=key_id)
    _error(await env.call("/ifm/widget/list", {}, key=plaintext), 401, "unauthorized")


async def test_stat_metrics_and_openapi(env: WidgetEnv) -> None:
    stat = await env.client.get("/ifm/stat")
    assert stat.status_code == 200 and stat.json() == {"service": "demo", "ok": True}
    metrics = await env.client.get("/metrics")
    assert metrics.status_code == 200
    assert 'g3n_http_request_seconds_count{operation="widget.create",status="200"}' in metrics.text
    spec = (await env.client.get("/openapi.json")).json()
    assert spec == (await env.client.get("/ifm/openapi.json")).json()
    create = spec["paths"]["/ifm/widget/create"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WidgetCreate"
    }
    ok_schema = create["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok_schema["properties"]["data"] == {"$ref": "#/components/schemas/Widget"}
    assert {"400", "401", "403", "404", "409", "422", "428", "500"} <= set(create["responses"])
    params = {p["name"]: p for p in create["parameters"]}
    assert params["x-orgcode"]["required"] is True
    assert {"x-cccode", "x-channel-code", "x-logical-guid", "idempotency-key"} <= set(params)
    assert "idempotency-key" not in {
        p["name"] for p in spec["paths"]["/ifm/widget/get"]["post"]["parameters"]
    }
    assert {"WidgetCreate", "Widget", "ErrorEnvelope", "Page_Widget_"} <= set(spec["components"]["schemas"])
    assert set(spec["components"]["securitySchemes"]) == {"ApiKey", "Session"}
    assert "/ifm/stat" in spec["paths"]
    docs = await env.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
