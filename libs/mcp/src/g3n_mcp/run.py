"""Run a service's MCP server over stdio or streamable HTTP.

The server process opens the service's database itself (``G3N_<SHORT>_DATABASE_URL``, migrated
like the HTTP process does) and calls the operations in-process through
:func:`g3n_kit.operations.invoke`; it does not go through the service's HTTP process.
Logs go to stderr (stdout is the stdio transport's channel).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import anyio
from g3n_kit.db import Database
from g3n_kit.logging import configure_logging
from g3n_kit.paging import set_paging_secret
from g3n_kit.runtime import ServiceDefinition, open_database
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from starlette.applications import Starlette

from g3n_mcp.server import CallerDefaults, build_server

Transport = Literal["stdio", "http"]
MCP_PATH = "/mcp"

log = logging.getLogger(__name__)


def server_for(defn: ServiceDefinition, db: Database, defaults: CallerDefaults) -> Server[Any]:
    return build_server(
        name=f"g3n-{defn.name}",
        operations=list(defn.operations),
        db_provider=lambda: db,
        defaults=defaults,
        version=defn.version,
    )


def http_app(server: Server[Any], *, host: str = "127.0.0.1", json_response: bool = True) -> Starlette:
    """The streamable-HTTP ASGI app (endpoint ``/mcp``); stateless, one request per call."""
    return server.streamable_http_app(
        streamable_http_path=MCP_PATH, json_response=json_response, stateless_http=True, host=host
    )


async def serve(
    defn: ServiceDefinition,
    *,
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = 8765,
    defaults: CallerDefaults = CallerDefaults(),
    log_level: str = "WARNING",
) -> None:
    """Serve until stdin closes (stdio) or the process is told to stop (http)."""
    configure_logging(defn.name, f"mcp-{transport}", log_level)
    set_paging_secret(defn.settings.paging_secret)
    db = await open_database(defn, max_size=5)
    try:
        server = server_for(defn, db, defaults)
        if transport == "stdio":
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())
            return
        import uvicorn

        config = uvicorn.Config(
            http_app(server, host=host), host=host, port=port, log_config=None, access_log=False
        )
        log.info("mcp http listening", extra={"url": f"http://{host}:{port}{MCP_PATH}"})
        await uvicorn.Server(config).serve()
    finally:
        await db.close()


def run(defn: ServiceDefinition, **kwargs: Any) -> None:
    anyio.run(lambda: serve(defn, **kwargs))
