"""An MCP server for one service, generated from its operation table.

Every :class:`~g3n_kit.operations.Operation` becomes a tool: its name is ``op.tool_name``
(``campaign_create``), its input schema is the JSON schema of ``op.input_model`` (the same
schema the HTTP API publishes), its description is the summary plus the role it needs. A call
runs through :func:`g3n_kit.operations.invoke` -- the one path HTTP uses too -- so
authentication, org isolation, roles, validation and idempotency are identical on both surfaces.

Credentials: over streamable HTTP each request may carry ``x-api-key`` (or ``Authorization:
Bearer <key>``), ``x-orgcode``, ``idempotency-key`` and ``x-logical-guid`` headers; whatever a
request does not carry falls back to the server's defaults (``--api-key``/``G3N_API_KEY`` and
``--org``/``G3N_ORG``), which are the only source over stdio. A tool call may also pass an
idempotency key in its request ``_meta`` as ``idempotency-key``.

The tool result is the g3n envelope: ``structuredContent`` holds it as JSON, the text content
holds the same JSON, and ``isError`` is true exactly when ``success`` is false (the error code
and message are in the envelope, as on HTTP).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mcp_types as types
import orjson
from g3n_kit.apikeys import Credential
from g3n_kit.db import Database
from g3n_kit.operations import Operation, invoke
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

log = logging.getLogger(__name__)

DbProvider = Callable[[], Database]

#: Request ``_meta`` key a client may use to send an idempotency key with a write.
IDEMPOTENCY_META_KEY = "idempotency-key"


@dataclass(frozen=True)
class CallerDefaults:
    """What a call uses when its transport does not say (always the case over stdio)."""

    api_key: str | None = None
    org_code: str | None = None


def tool_for(op: Operation[Any, Any]) -> types.Tool:
    """The MCP tool of one operation (schema = the operation's input model, as on HTTP)."""
    schema = op.input_model.model_json_schema(mode="validation")
    kind = "write (accepts an idempotency key)" if op.write else "read-only"
    summary = op.summary or op.name
    return types.Tool(
        name=op.tool_name,
        title=summary,
        description=f"{summary}\n\nOperation `{op.name}`; requires role `{op.role}`; {kind}.",
        input_schema=schema,
        annotations=types.ToolAnnotations(
            title=summary,
            read_only_hint=not op.write,
            destructive_hint=False if not op.write else None,
            open_world_hint=False,
        ),
    )


def _header(request: Any, name: str) -> str | None:
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    value = headers.get(name)
    return str(value) if value else None


def _bearer(request: Any) -> str | None:
    auth = _header(request, "authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None


def _meta_value(meta: Any, key: str) -> str | None:
    if meta is None:
        return None
    if isinstance(meta, Mapping):
        value = meta.get(key)
    else:
        extra = getattr(meta, "model_extra", None) or {}
        value = extra.get(key, getattr(meta, key, None))
    return value if isinstance(value, str) and value else None


def _result(status: int, envelope: dict[str, Any], body: bytes) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=body.decode())],
        structured_content=envelope,
        is_error=status >= 400,
    )


def build_server(
    *,
    name: str,
    operations: Sequence[Operation[Any, Any]],
    db_provider: DbProvider,
    defaults: CallerDefaults = CallerDefaults(),
    version: str = "0.1.0",
    instructions: str | None = None,
) -> Server[Any]:
    """The low-level MCP server exposing ``operations`` as tools."""
    by_tool = {op.tool_name: op for op in operations}
    if len(by_tool) != len(operations):
        raise ValueError("two operations share a tool name")
    tools = [tool_for(op) for op in operations]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        op = by_tool.get(params.name)
        if op is None:
            envelope = {
                "success": False,
                "error": {"code": "not-found", "message": f"no tool {params.name}", "details": {}},
            }
            return _result(404, envelope, orjson.dumps(envelope))
        request = ctx.request
        api_key = _header(request, "x-api-key") or _bearer(request) or defaults.api_key
        org = _header(request, "x-orgcode") or defaults.org_code
        idem = _header(request, "idempotency-key") or _meta_value(params.meta, IDEMPOTENCY_META_KEY)
        outcome = await invoke(
            op,
            db_provider(),
            org_code=org,
            credential=Credential(api_key=api_key, session_guid=_header(request, "x-session-guid")),
            body=dict(params.arguments or {}),
            correlation_id=_header(request, "x-logical-guid"),
            idempotency_key=idem if op.write else None,
            cc_code=_header(request, "x-cccode"),
            channel_code=_header(request, "x-channel-code"),
        )
        return _result(outcome.status, outcome.envelope, outcome.body)

    return Server(
        name,
        version=version,
        instructions=instructions
        or (
            f"g3n {name}: every tool is one API operation. Results are the g3n envelope "
            '{"success", "data", "revision"?} or {"success": false, "error": {code, message, details}}.'
        ),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
