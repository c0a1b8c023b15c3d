"""The FastAPI app of a service, built from its operation table.

Every operation is mounted as ``POST {prefix}{op.path}`` and runs through
:func:`g3n_kit.operations.invoke`. Besides the calls: ``GET {prefix}/stat`` (no auth; whatever
the service's ``stat_provider`` returns, 503 if it raises), ``GET /metrics`` (Prometheus text),
``GET /openapi.json`` and ``GET /docs`` (also under the prefix, so they are reachable through the
gateway). Every error -- including FastAPI/Starlette's own (unknown route, wrong method,
malformed JSON, unhandled exception) -- is rendered in the envelope. A wrong method gets
``405`` with code ``method-not-allowed`` and an ``Allow`` header: it is a transport error outside
the business code table.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Lifespan

from g3n_kit.apikeys import SERVICE_ROLES, Authenticator, Credential
from g3n_kit.db import Database
from g3n_kit.errors import ValidationFailed
from g3n_kit.http.middleware import (
    STATE_CORRELATION_ID,
    STATE_CORRELATION_INVALID,
    RequestContextMiddleware,
)
from g3n_kit.http.openapi import SECURITY_SCHEMES, component_schemas, operation_openapi
from g3n_kit.operations import Operation, error_envelope, internal_envelope, invoke
from g3n_kit.paging import set_paging_secret

log = logging.getLogger("g3n_kit.http")

DbProvider = Callable[[], Database]
StatProvider = Callable[[], Awaitable[dict[str, Any]]]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_CODES_BY_STATUS = {
    400: "validation-error",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    428: "revision-required",
}


class OrjsonResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def envelope_response(
    status: int, envelope: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(envelope), status_code=status, media_type="application/json", headers=headers
    )


class _BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _operation_endpoint(
    op: Operation[Any, Any], db_provider: DbProvider, authenticator: Authenticator, max_body_bytes: int
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state = request.scope.get("state", {})
        cid: str = state.get(STATE_CORRELATION_ID, "")
        if state.get(STATE_CORRELATION_INVALID):
            err = ValidationFailed(
                "invalid header: x-logical-guid: 1-128 visible ASCII characters",
                [{"path": "header.x-logical-guid", "message": "1-128 visible ASCII characters"}],
            )
            return envelope_response(400, error_envelope(err.code, err.message, err.details))
        try:
            body = await _read_body(request, max_body_bytes)
        except _BodyTooLarge:
            message = f"body larger than {max_body_bytes} bytes"
            err = ValidationFailed(f"invalid request: {message}", [{"path": "body", "message": message}])
            return envelope_response(400, error_envelope(err.code, err.message, err.details))
        try:
            db = db_provider()
        except Exception:
            log.exception("no database for request", extra={"operation": op.name})
            return envelope_response(500, internal_envelope(cid))
        h = request.headers
        outcome = await invoke(
            op,
            db,
            org_code=h.get("x-orgcode"),
            credential=Credential(
                api_key=h.get("x-api-key") or None, session_guid=h.get("x-session-guid") or None
            ),
            body=body,
            correlation_id=cid or None,
            idempotency_key=h.get("idempotency-key") if op.write else None,
            cc_code=h.get("x-cccode"),
            channel_code=h.get("x-channel-code"),
            authenticator=authenticator,
        )
        headers = {"idempotent-replayed": "true"} if outcome.replayed else None
        return Response(
            outcome.body, status_code=outcome.status, media_type="application/json", headers=headers
        )

    endpoint.__name__ = op.tool_name
    return endpoint


def create_app(
    *,
    service: str,
    prefix: str,
    operations: Sequence[Operation[Any, Any]],
    db_provider: DbProvider,
    stat_provider: StatProvider,
    title: str,
    version: str,
    description: str = "",
    lifespan: Lifespan[FastAPI] | None = None,
    roles: Collection[str] | None = None,
    paging_secret: str | bytes | None = None,
    auth_cache_ttl: float = 10.0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """Build the service's HTTP app.

    ``db_provider`` is called per request (set the database up in ``lifespan`` or before
    serving). ``roles`` is the service's role set (default: from ``service``); every operation's
    role must be in it. ``paging_secret`` sets the process's ``next_token`` HMAC key.
    ``auth_cache_ttl`` bounds how long a revoked key keeps working in this process.
    """
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise ValueError(f"prefix {prefix!r} must start with '/' and not end with one")
    allowed_roles = frozenset(roles) if roles else SERVICE_ROLES.get(service)
    if paging_secret:
        set_paging_secret(paging_secret)
    seen_names: set[str] = set()
    seen_paths: set[str] = set()
    for op in operations:
        if op.name in seen_names or op.path in seen_paths:
            raise ValueError(f"duplicate operation {op.name} / {op.path}")
        seen_names.add(op.name)
        seen_paths.add(op.path)
        if allowed_roles is not None and op.role not in allowed_roles:
            raise ValueError(f"operation {op.name}: role {op.role!r} is not a {service} role")

    app = FastAPI(
        title=title,
        version=version,
        description=description,
        lifespan=lifespan,
        redirect_slashes=False,
        default_response_class=OrjsonResponse,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.service = service
    authenticator = Authenticator(ttl=auth_cache_ttl)
    app.state.authenticator = authenticator

    refs, defs = component_schemas(operations)
    for op in operations:
        app.add_api_route(
            f"{prefix}{op.path}",
            _operation_endpoint(op, db_provider, authenticator, max_body_bytes),
            methods=["POST"],
            name=op.name,
            operation_id=op.tool_name,
            summary=op.summary or op.name,
            description=f"Role: `{op.role}`." + (" Write: accepts `idempotency-key`." if op.write else ""),
            tags=[op.name.split(".")[0]],
            openapi_extra=operation_openapi(
                op, refs[(op.input_model, "validation")], refs[(op.output_model, "serialization")]
            ),
        )

    async def stat() -> Response:
        try:
            return OrjsonResponse(await stat_provider())
        except Exception:
            log.exception("stat provider failed")
            return envelope_response(503, error_envelope("internal", "stat unavailable"))

    app.add_api_route(
        f"{prefix}/stat",
        stat,
        methods=["GET"],
        tags=["ops"],
        summary="liveness, readiness, lag and backlog (no auth)",
    )

    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)

    async def prefixed_openapi() -> Response:
        return OrjsonResponse(app.openapi())

    async def prefixed_docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=f"{prefix}/openapi.json", title=f"{title} - docs")

    app.add_api_route(f"{prefix}/openapi.json", prefixed_openapi, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{prefix}/docs", prefixed_docs, methods=["GET"], include_in_schema=False)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=title, version=version, description=description, routes=app.routes)
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(defs)
            components["securitySchemes"] = SECURITY_SCHEMES
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _CODES_BY_STATUS.get(
            exc.status_code, "internal" if exc.status_code >= 500 else "validation-error"
        )
        if exc.status_code == 404:
            message = f"no such call: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return envelope_response(exc.status_code, error_envelope(code, message), dict(exc.headers or {}))

    async def request_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        fields = [
            {"path": ".".join(str(p) for p in e.get("loc", ())) or "body", "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return envelope_response(
            400, error_envelope("validation-error", "invalid request", {"fields": fields})
        )

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)

    labels = {f"{prefix}{op.path}": op.name for op in operations}
    labels.update(
        {
            f"{prefix}/stat": "stat",
            "/metrics": "metrics",
            "/openapi.json": "openapi",
            f"{prefix}/openapi.json": "openapi",
            "/docs": "docs",
            f"{prefix}/docs": "docs",
        }
    )
    app.add_middleware(RequestContextMiddleware, labels=labels)
    return app
