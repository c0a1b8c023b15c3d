"""OpenAPI for an operation table: request/response schemas, headers, auth and error shapes.

Endpoints read the raw body themselves (so that authentication comes before validation), which
means FastAPI cannot infer their schemas; this module writes them into ``openapi_extra`` and
adds the models to ``components.schemas``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from g3n_kit.operations import Operation

REF = "#/components/schemas/{model}"

ERROR_CODES_BY_STATUS: dict[int, tuple[str, ...]] = {
    400: ("validation-error",),
    401: ("unauthorized",),
    403: ("forbidden",),
    404: ("not-found",),
    409: ("invalid-state", "insufficient-balance", "conflict", "revision-mismatch"),
    422: ("idempotency-mismatch",),
    428: ("revision-required",),
    500: ("internal",),
}

ERROR_ENVELOPE_SCHEMA: dict[str, Any] = {
    "title": "ErrorEnvelope",
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"type": "boolean", "const": False},
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["not-found"]},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "description": "validation-error: {fields: [{path, message}]}; revision-mismatch: "
                    "{current_revision}; insufficient-balance: {available}; invalid-state: {state, required}",
                },
            },
        },
    },
}

SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "g3n_<key_id>_<secret>"},
    "Session": {"type": "apiKey", "in": "header", "name": "x-session-guid"},
}

_RESPONSE_HEADERS: dict[str, Any] = {
    "x-logical-guid": {
        "description": "the caller's correlation id (or one generated for the call)",
        "schema": {"type": "string"},
    },
}


def _header(name: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


def component_schemas(
    operations: Sequence[Operation[Any, Any]],
) -> tuple[dict[tuple[type[Any], JsonSchemaMode], dict[str, Any]], dict[str, Any]]:
    """Refs per (model, mode) and the component definitions for every model of the table."""
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for op in operations:
        wanted.append((op.input_model, "validation"))
        wanted.append((op.output_model, "serialization"))
    unique = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(unique, ref_template=REF)
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    defs["ErrorEnvelope"] = ERROR_ENVELOPE_SCHEMA
    return {k: dict(v) for k, v in refs.items()}, defs


def operation_openapi(
    op: Operation[Any, Any], in_ref: dict[str, Any], out_ref: dict[str, Any]
) -> dict[str, Any]:
    """The ``openapi_extra`` of one operation's route."""
    params = [
        _header("x-orgcode", "the organisation (tenant) the call acts in", required=True),
        _header("x-cccode", "cost-centre context, recorded on writes"),
        _header("x-channel-code", "sales channel context, recorded on writes"),
        _header("x-logical-guid", "caller correlation id; echoed back, carried into logs and events"),
    ]
    if op.write:
        params.append(
            _header(
                "idempotency-key",
                "same key + same body within 24 h replays the first response; a different body → 422",
            )
        )
    success: dict[str, Any] = {
        "type": "object",
        "required": ["success", "data"],
        "properties": {
            "success": {"type": "boolean", "const": True},
            "data": out_ref,
            "revision": {"type": "integer", "description": "present when one versioned object is returned"},
            "stats": {"type": "object", "description": "optional list statistics"},
        },
    }
    statuses = [400, 401, 403, 404, 500]
    if op.write:
        statuses = [400, 401, 403, 404, 409, 422, 428, 500]
    responses: dict[str, Any] = {
        "200": {
            "description": "success",
            "headers": {
                **_RESPONSE_HEADERS,
                "idempotent-replayed": {
                    "description": "`true` when this is a replay of an earlier idempotent response",
                    "schema": {"type": "string"},
                },
            },
            "content": {"application/json": {"schema": success}},
        }
    }
    for status in statuses:
        codes = ", ".join(f"`{c}`" for c in ERROR_CODES_BY_STATUS[status])
        responses[str(status)] = {
            "description": codes,
            "headers": _RESPONSE_HEADERS,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}},
        }
    return {
        "parameters": params,
        "requestBody": {"required": True, "content": {"application/json": {"schema": in_ref}}},
        "responses": responses,
        "security": [{"ApiKey": []}, {"Session": []}],
        "x-required-role": op.role,
    }
