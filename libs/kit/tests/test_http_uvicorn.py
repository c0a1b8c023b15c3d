"""The app behind a real uvicorn server on a free port: wire format, headers, latency."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from g3n_devstack.testing import serve_app
from g3n_kit.logging import configure_logging
from test_http_support import WidgetEnv, env_fixture  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(env: WidgetEnv) -> AsyncIterator[str]:
    async with serve_app(env.app, start_timeout=4, stop_timeout=10) as base_url:
        yield base_url


async def test_calls_over_real_http(env: WidgetEnv, server: str) -> None:
    headers = {
        "x-orgcode": "acme",
        "x-api-key": env.acme,
        "x-logical-guid": "wire-1",
        "idempotency-key": "wire-key-1",
    }
    async with httpx.AsyncClient(base_url=server) as client:
        created = await client.post("/ifm/widget/create", json={"name": "wire", "qty": 4}, headers=headers)
        assert created.status_code == 200
        assert created.headers["x-logical-guid"] == "wire-1"
        assert created.headers["content-type"] == "application/json"
        replay = await client.post("/ifm/widget/create", json={"name": "wire", "qty": 4}, headers=headers)
        assert replay.content == created.content and replay.headers["idempotent-replayed"] == "true"
        missing = await client.post("/ifm/nothing", json={}, headers=headers)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not-found"
        assert missing.headers["x-logical-guid"] == "wire-1"
        bad_json = await client.post("/ifm/widget/create", content=b"{oops", headers=headers)
        assert (
            bad_json.status_code == 400 and bad_json.json()["error"]["details"]["fields"][0]["path"] == "body"
        )
        stat = await client.get("/ifm/stat")
        assert stat.status_code == 200 and stat.json()["ok"] is True
        metrics = await client.get("/metrics")
        assert "g3n_http_request_seconds_bucket" in metrics.text


async def test_json_log_lines_carry_the_correlation_id(env: WidgetEnv, server: str) -> None:
    stream = io.StringIO()
    handler = configure_logging("ifm", "http", "INFO", stream=stream)
    try:
        async with httpx.AsyncClient(base_url=server) as client:
            resp = await client.post(
                "/ifm/widget/create",
                json={"name": "boom-log", "qty": 1},
                headers={"x-orgcode": "acme", "x-api-key": env.acme, "x-logical-guid": "log-corr-1"},
            )
        assert resp.status_code == 500
    finally:
        import logging

        logging.getLogger().removeHandler(handler)
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    failed = [x for x in lines if x["msg"] == "operation failed"]
    assert failed, lines
    rec: dict[str, Any] = failed[0]
    assert rec["correlation_id"] == "log-corr-1" and rec["operation"] == "widget.create"
    assert rec["level"] == "ERROR" and rec["service"] == "ifm" and rec["process"] == "http"
    assert rec["ts"].endswith("Z") and "RuntimeError" in rec["exc"]


async def test_400_concurrent_reads_over_uvicorn_all_succeed_with_cached_auth(
    env: WidgetEnv, server: str
) -> None:
    """Latency is a benchmark's job (bench/), not a test's: this checks correctness under load."""
    headers = {"x-orgcode": "acme", "x-api-key": env.acme}
    async with httpx.AsyncClient(base_url=server, limits=httpx.Limits(max_connections=20)) as client:
        wid = (
            await client.post("/ifm/widget/create", json={"name": "fast", "qty": 1}, headers=headers)
        ).json()
        body = {"widget_id": wid["data"]["widget_id"]}
        seen: list[dict[str, object]] = []

        async def one() -> None:
            r = await client.post("/ifm/widget/get", json=body, headers=headers)
            assert r.status_code == 200
            seen.append(r.json()["data"])

        for _ in range(20):
            await asyncio.gather(*(one() for _ in range(20)))
    assert len(seen) == 400
    assert all(d["widget_id"] == body["widget_id"] and d["name"] == "fast" for d in seen)
