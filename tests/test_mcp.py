"""The MCP servers, driven by the official SDK's own client: in-process, over stdio (`g3n mcp crm`)
and over streamable HTTP (`g3n mcp crm --transport http`), against a real PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx2
import pytest
import pytest_asyncio
from g3n_cli.services import SERVICES
from g3n_cli.testing import create_key, free_port, prepare_database
from g3n_kit.db import Database
from g3n_mcp.server import CallerDefaults, build_server
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, RequestParamsMeta

pytestmark = pytest.mark.asyncio(loop_scope="session")

CRM = SERVICES["crm"]
# The SDK types `_meta` as a TypedDict; a g3n server also reads an `idempotency-key` entry.
IDEM_META = cast(RequestParamsMeta, {"idempotency-key": "mcp-http-1"})
IFM = SERVICES["influencer"]


@dataclass
class McpEnv:
    dsn: str
    db: Database
    org: str
    manager: str  # crm_manage + crm_view
    viewer: str  # crm_view only
    other_org: str  # crm_manage + crm_view on another org


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(stack: Any) -> AsyncIterator[McpEnv]:
    dsn = await prepare_database(stack, CRM, "mcp")
    org = f"mcp{uuid.uuid4().hex[:6]}"
    manager = await create_key(dsn, CRM, org, ["crm_manage", "crm_view"])
    viewer = await create_key(dsn, CRM, org, ["crm_view"])
    other = await create_key(dsn, CRM, "other-org", ["crm_manage", "crm_view"])
    db = await Database.connect(dsn, min_size=1, max_size=4)
    try:
        yield McpEnv(dsn, db, org, manager, viewer, other)
    finally:
        await db.close()


def envelope(result: CallToolResult) -> dict[str, Any]:
    assert isinstance(result.structured_content, dict), result
    env: dict[str, Any] = result.structured_content
    assert env["success"] is (not result.is_error)
    return env


def _server(env: McpEnv, key: str) -> Any:
    defn = CRM.definition()
    return build_server(
        name="g3n-crm",
        operations=list(defn.operations),
        db_provider=lambda: env.db,
        defaults=CallerDefaults(api_key=key, org_code=env.org),
    )


async def test_every_operation_is_a_tool_with_its_schema_and_description(env: McpEnv) -> None:
    for info in (CRM, IFM):
        ops = info.operations()
        server = build_server(name=info.name, operations=ops, db_provider=lambda: env.db)
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {op.tool_name for op in ops}
        for op in ops:
            tool = tools[op.tool_name]
            assert tool.input_schema == op.input_model.model_json_schema(mode="validation")
            assert tool.input_schema["type"] == "object"
            assert op.role in (tool.description or "") and (op.summary or op.name) in (tool.description or "")
            assert tool.annotations is not None and tool.annotations.read_only_hint is (not op.write)


async def test_a_client_creates_a_customer_and_reads_it_back(env: McpEnv) -> None:
    email = f"ann-{uuid.uuid4().hex[:6]}@example.com"
    async with Client(_server(env, env.manager)) as client:
        created = envelope(
            await client.call_tool("customer_create", {"email": email, "given_name": "Ann", "tags": ["vip"]})
        )
        customer_id = created["data"]["customer_id"]
        assert customer_id.startswith("cus_") and created["revision"] == 1
        read = envelope(await client.call_tool("customer_get", {"customer_id": customer_id}))
        assert read["data"]["email"] == email and read["data"]["tags"] == ["vip"]
        by_email = envelope(await client.call_tool("customer_get", {"email": email}))
        assert by_email["data"]["customer_id"] == customer_id
        bad = await client.call_tool("customer_create", {"email": email, "colour": "red"})
        assert bad.is_error and envelope(bad)["error"]["code"] == "validation-error"
        assert {"path": "colour", "message": "unknown field"} in envelope(bad)["error"]["details"]["fields"]
        dup = await client.call_tool("customer_create", {"email": email.upper()})
        assert dup.is_error and envelope(dup)["error"]["code"] == "conflict"


async def test_a_key_without_the_role_is_refused_and_another_org_sees_nothing(env: McpEnv) -> None:
    async with Client(_server(env, env.manager)) as client:
        created = envelope(await client.call_tool("customer_create", {"phone": "+4930123456"}))
    customer_id = created["data"]["customer_id"]
    async with Client(_server(env, env.viewer)) as client:
        refused = await client.call_tool("customer_create", {"phone": "+4930999999"})
        assert refused.is_error
        assert envelope(refused)["error"]["code"] == "forbidden"
        assert envelope(refused)["error"]["details"] == {"required_role": "crm_manage"}
        readable = envelope(await client.call_tool("customer_get", {"customer_id": customer_id}))
        assert readable["data"]["customer_id"] == customer_id  # the view role reads
    other = _server(env, env.other_org)
    async with Client(other) as client:  # a key of another org naming this org: not-found, no hint
        hidden = await client.call_tool("customer_get", {"customer_id": customer_id})
        assert hidden.is_error and envelope(hidden)["error"]["code"] == "not-found"
    async with Client(_server(env, "g3n_nope_nope")) as client:
        unknown = await client.call_tool("customer_get", {"customer_id": customer_id})
        assert unknown.is_error and envelope(unknown)["error"]["code"] == "unauthorized"


def _cli_env(env: McpEnv, key: str) -> dict[str, str]:
    return {
        "G3N_CRM_DATABASE_URL": env.dsn,
        "G3N_API_KEY": key,
        "G3N_ORG": env.org,
        "G3N_CONFIG": "/nonexistent/g3n-config.toml",
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
    }


async def test_stdio_transport_via_g3n_mcp_crm(env: McpEnv) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "g3n_cli.main", "mcp", "crm"], env=_cli_env(env, env.viewer)
    )
    async with Client(params, read_timeout_seconds=60) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {op.tool_name for op in CRM.operations()}
        listed = envelope(await client.call_tool("customer_list", {"limit": 2}))
        assert isinstance(listed["data"]["items"], list)
        refused = await client.call_tool("customer_create", {"email": "stdio@example.com"})
        assert refused.is_error and envelope(refused)["error"]["code"] == "forbidden"


@pytest.fixture(scope="module")
def http_server(env: McpEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("mcp") / "mcp-http.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "g3n_cli.main", "mcp", "crm", "--transport", "http", "--port", str(port)],
        env={**_cli_env(env, ""), "G3N_API_KEY": ""},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, Path(log.name).read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, Path(log.name).read_text()
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@asynccontextmanager
async def http_client(url: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def test_streamable_http_transport_takes_the_key_from_each_request(
    env: McpEnv, http_server: str
) -> None:
    email = f"http-{uuid.uuid4().hex[:6]}@example.com"
    async with http_client(http_server, {"x-api-key": env.manager, "x-orgcode": env.org}) as client:
        assert len((await client.list_tools()).tools) == len(CRM.operations())
        created = envelope(await client.call_tool("customer_create", {"email": email}, meta=IDEM_META))
        again = envelope(await client.call_tool("customer_create", {"email": email}, meta=IDEM_META))
        assert again == created  # replayed, not a conflict
        read = envelope(
            await client.call_tool("customer_get", {"customer_id": created["data"]["customer_id"]})
        )
        assert read["data"]["email"] == email
    async with http_client(
        http_server, {"authorization": f"Bearer {env.viewer}", "x-orgcode": env.org}
    ) as client:
        refused = await client.call_tool("customer_create", {"email": f"x{email}"})
        assert refused.is_error and envelope(refused)["error"]["code"] == "forbidden"
        assert envelope(await client.call_tool("customer_get", {"email": email}))["data"]["email"] == email
    async with http_client(http_server, {"x-orgcode": env.org}) as client:
        anonymous = await client.call_tool("customer_get", {"email": email})
        assert anonymous.is_error and envelope(anonymous)["error"]["code"] == "unauthorized"
