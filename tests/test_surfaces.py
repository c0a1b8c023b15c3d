"""Every operation of both services exists on every surface: the operation table, the HTTP
routes (and OpenAPI), the generated CLI commands and the MCP tools are the same set."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from fastapi.routing import APIRoute
from g3n_cli.apidocs import openapi_document
from g3n_cli.calls import command_table, command_words, service_app
from g3n_cli.main import app as g3n_app
from g3n_cli.services import SERVICES, ServiceInfo
from g3n_kit.http import create_app
from g3n_mcp.server import build_server
from mcp import Client

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _http_routes(info: ServiceInfo) -> dict[str, str]:
    defn = info.definition()

    async def stat() -> dict[str, Any]:
        return {}

    http = create_app(
        service=defn.short,
        prefix=f"/{defn.short}",
        operations=defn.operations,
        db_provider=lambda: None,  # type: ignore[arg-type,return-value]
        stat_provider=stat,
        title="t",
        version="0",
        roles=defn.roles,
    )
    return {
        route.path: route.name
        for route in http.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or set())
    }


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_table_routes_cli_and_mcp_tools_agree(name: str) -> None:
    info = SERVICES[name]
    ops = info.operations()
    assert ops, f"{name} has an empty operation table"
    names = {op.name for op in ops}
    assert len(names) == len(ops)

    routes = _http_routes(info)
    assert routes == {f"/{info.short}{op.path}": op.name for op in ops}
    openapi = openapi_document(info)
    assert {p for p, item in openapi["paths"].items() if "post" in item} == set(routes)

    commands = command_table(service_app(info))
    assert {key: op.name for key, op in commands.items()} == {command_words(op): op.name for op in ops}

    root = typer.main.get_command(g3n_app)
    ctx = root.make_context("g3n", [name, "--help"], resilient_parsing=True)
    group = root.get_command(ctx, name)  # type: ignore[attr-defined]
    listed = {
        (noun, action)
        for noun in group.list_commands(ctx)
        for action in group.get_command(ctx, noun).list_commands(ctx)
    }
    assert listed == set(commands)

    server = build_server(name=name, operations=ops, db_provider=lambda: None)  # type: ignore[arg-type,return-value]
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {op.tool_name for op in ops}
    for op in ops:
        assert tools[op.tool_name].input_schema == op.input_model.model_json_schema(mode="validation")
