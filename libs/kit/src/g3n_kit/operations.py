"""Operations: one table per service drives the HTTP routes, the CLI and the MCP tools.

An :class:`Operation` names a call (``campaign.create``), its path (``/campaign/create``), its
input and output models, the role it needs and the handler. :func:`invoke` is the single,
transport-independent way to run one -- HTTP, MCP and the CLI (over HTTP) all go through it,
so authentication, org scoping, roles, validation, idempotency and error rendering are the same
on every surface. The order of checks is fixed:

1. headers (``x-orgcode`` present and well-formed, …)        → 400 ``validation-error``
2. credential present and known (API key or session)         → 401 ``unauthorized``
3. credential's org equals ``x-orgcode``                     → 404 ``not-found`` (no hint)
4. credential holds ``op.role``                              → 403 ``forbidden``
5. body valid against ``op.input_model``                     → 400 ``validation-error``
6. idempotency claim (writes with a key)                     → replay, or 422 ``idempotency-mismatch``
7. handler, in ONE database transaction                      → 200 or its ``AppError``

Bodies are validated from JSON in pydantic's *strict* mode: no float→int or str→int coercion
(``1999.0`` is not an ``amount_minor``), no str→bool; datetimes, dates, UUIDs, enums and
decimals are still read from their JSON string forms. :class:`RequestModel` also forbids
unknown fields, strips whitespace from strings and rejects NaN/Infinity.

Transactions: writes run in READ COMMITTED, reads in a read-only REPEATABLE READ transaction
(one consistent snapshot for everything the handler reads). A deadlock or serialization failure
retries the whole call up to three times, so handlers must keep side effects inside the
transaction (events go through the outbox). An uncaught ``asyncpg.UniqueViolationError`` is
rendered as ``conflict``; services should still raise :class:`~g3n_kit.errors.Conflict` with a
precise message.

Idempotency (writes with an ``idempotency-key``): the first request inserts a claim row keyed by
``(org, operation, key)`` inside the handler's transaction, so a concurrent duplicate blocks on
the primary key until the first commits and then replays its stored response. The handler runs
in a savepoint: on a business error (4xx) its effects are rolled back but the claim and the
error response are committed, so retries replay the error too. A 5xx is never stored: the claim
rolls back with everything else and a retry runs again. Replays return the stored status and
body with ``replayed=True`` (HTTP adds ``idempotent-replayed: true``). Records live 24 h;
expired ones are taken over by the next request with that key, or deleted by
:func:`purge_expired_idempotency_keys` (run it from a scheduled job).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

import asyncpg
import orjson
from g3n_contracts.primitives import SLUG_PATTERN
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import to_jsonable_python

from g3n_kit.apikeys import Authenticator, Credential, Principal, authenticator_for
from g3n_kit.db import Database
from g3n_kit.errors import (
    AppError,
    Conflict,
    Forbidden,
    IdempotencyMismatch,
    InternalError,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from g3n_kit.logging import correlation_scope, new_correlation_id

log = logging.getLogger(__name__)

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)

IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_ATTEMPTS = 3

#: Error code → HTTP status (spec/README.md). Codes outside the table render as 500.
STATUS_BY_CODE: dict[str, int] = {
    "validation-error": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not-found": 404,
    "invalid-state": 409,
    "insufficient-balance": 409,
    "conflict": 409,
    "revision-mismatch": 409,
    "idempotency-mismatch": 422,
    "revision-required": 428,
    "internal": 500,
}

# The org code travels in every event envelope: one pattern, the contracts' slug.
_ORG_RE = re.compile(SLUG_PATTERN)
_IDEM_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
_CONTEXT_CODE_RE = re.compile(r"^[\x21-\x7e]{1,64}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$")
_PATH_RE = re.compile(r"^(/[a-z0-9][a-z0-9-]*)+$")
_RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)


def _check_storable_text(value: Any) -> None:
    """PostgreSQL text cannot hold NUL, and UTF-8 cannot hold unpaired surrogates (which JSON
    escapes can express): refuse both as a validation error instead of failing in the database."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL (\\u0000) characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode (no unpaired surrogates)") from None
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_storable_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable_text(key)
            _check_storable_text(item)
    elif isinstance(value, BaseModel):  # nested models that are not RequestModels themselves
        for item in value.__dict__.values():
            _check_storable_text(item)


class RequestModel(BaseModel):
    """Base for operation inputs (validated strictly from JSON by :func:`invoke`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        _check_storable_text(value)
        return value


@dataclass(frozen=True)
class CallContext:
    """What a handler gets besides its input."""

    org_code: str
    roles: frozenset[str]
    actor: str  # "api_key:<key_id>" or "session:<session_id>"
    correlation_id: str
    cc_code: str | None
    channel_code: str | None
    conn: asyncpg.Connection  # inside the call's open transaction
    idempotency_key: str | None = None
    operation: str = ""


@dataclass(frozen=True)
class OpResult(Generic[Out]):
    data: Out
    revision: int | None = None
    stats: dict[str, Any] | None = None


Handler = Callable[[CallContext, In], Awaitable[OpResult[Out]]]


@dataclass(frozen=True)
class Operation(Generic[In, Out]):
    name: str  # "campaign.create" (CLI: `campaign create`, MCP tool: "campaign_create")
    path: str  # "/campaign/create", mounted under the service prefix
    input_model: type[In]
    output_model: type[Out]
    role: str
    handler: Callable[[CallContext, In], Awaitable[OpResult[Out]]]
    write: bool = True
    summary: str = ""
    # Top-level `data` fields that are secrets shown once (a gift card's code): the first
    # response carries them, the stored idempotent replay has them as null, so no secret
    # is kept in clear in the idempotency table.
    redact_on_replay: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"operation name {self.name!r}: expected dotted lowercase words")
        if not _PATH_RE.match(self.path):
            raise ValueError(f"operation {self.name}: path {self.path!r} must look like /word/word")

    @property
    def tool_name(self) -> str:
        """MCP tool name: ``campaign_create``."""
        return self.name.replace(".", "_").replace("-", "_")

    @property
    def cli_words(self) -> tuple[str, ...]:
        """CLI command words: ``("campaign", "create")``."""
        return tuple(self.name.split("."))


@dataclass(frozen=True)
class Outcome:
    """What :func:`invoke` returns: status, envelope, its JSON bytes, and whether it is a replay.

    ``body`` is what a transport sends; for a replay it is the stored bytes of the first
    response, so replays are byte-identical.
    """

    status: int
    envelope: dict[str, Any]
    body: bytes
    replayed: bool = False

    @classmethod
    def render(cls, status: int, envelope: dict[str, Any]) -> Outcome:
        return cls(status, envelope, orjson.dumps(envelope))

    @property
    def ok(self) -> bool:
        return self.status < 400


def status_for(exc: AppError) -> int:
    status = STATUS_BY_CODE.get(exc.code)
    if status is None:
        declared = getattr(exc, "http_status", None)
        if isinstance(declared, int):
            return declared
        log.warning("error code %r has no HTTP status; rendering 500", exc.code)
        return 500
    return status


def error_envelope(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": to_jsonable_python(dict(details or {}))},
    }


def internal_envelope(correlation_id: str) -> dict[str, Any]:
    return error_envelope(
        "internal",
        f"internal error; quote correlation id {correlation_id}",
        {"correlation_id": correlation_id},
    )


def success_envelope(result: OpResult[Any]) -> dict[str, Any]:
    data = result.data
    env: dict[str, Any] = {
        "success": True,
        "data": data.model_dump(mode="json") if isinstance(data, BaseModel) else to_jsonable_python(data),
    }
    if result.revision is not None:
        env["revision"] = result.revision
    if result.stats is not None:
        env["stats"] = to_jsonable_python(result.stats)
    return env


def validation_fields(err: ValidationError) -> list[dict[str, str]]:
    """``[{path, message}]`` for each problem; paths are dotted (``lines.0.qty``)."""
    out: list[dict[str, str]] = []
    for e in err.errors(include_url=False, include_context=False, include_input=False):
        kind = e["type"]
        path = ".".join(str(p) for p in e["loc"]) or "body"
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "field required"
        elif kind == "model_type" and path == "body":
            message = "body must be a JSON object"
        else:
            message = e["msg"]
        out.append({"path": path, "message": message})
    return out


def validate_input(model: type[In], body: bytes | Mapping[str, Any]) -> In:
    """Validate a JSON body (bytes) or an already parsed mapping, strictly, as :func:`invoke` does."""
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if not raw.strip():
            raw = b"{}"
    else:
        try:
            raw = orjson.dumps(body)
        except TypeError as exc:
            raise ValidationFailed("body is not JSON", [{"path": "body", "message": str(exc)}]) from None
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        fields = validation_fields(exc)
        first = fields[0] if fields else {"path": "body", "message": "invalid"}
        more = f" (+{len(fields) - 1} more)" if len(fields) > 1 else ""
        raise ValidationFailed(
            f"invalid request: {first['path']}: {first['message']}{more}", fields
        ) from None


def _canonical_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def request_hash(model: BaseModel) -> bytes:
    """sha256 of the validated body as canonical JSON (sorted keys, sets sorted)."""
    canonical = orjson.dumps(
        model.model_dump(mode="python"),
        default=_canonical_default,
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
    )
    return hashlib.sha256(canonical).digest()


def _check_headers(
    org_code: str | None, idempotency_key: str | None, cc_code: str | None, channel_code: str | None
) -> str:
    problems: list[dict[str, str]] = []
    if not org_code:
        problems.append({"path": "header.x-orgcode", "message": "required"})
    elif not _ORG_RE.match(org_code):
        problems.append({"path": "header.x-orgcode", "message": "1-64 chars: a-z, 0-9, '_', '-'"})
    if idempotency_key is not None and not _IDEM_KEY_RE.match(idempotency_key):
        problems.append({"path": "header.idempotency-key", "message": "1-255 visible ASCII characters"})
    if cc_code is not None and not _CONTEXT_CODE_RE.match(cc_code):
        problems.append({"path": "header.x-cccode", "message": "1-64 visible ASCII characters"})
    if channel_code is not None and not _CONTEXT_CODE_RE.match(channel_code):
        problems.append({"path": "header.x-channel-code", "message": "1-64 visible ASCII characters"})
    if problems:
        raise ValidationFailed(
            f"invalid header: {problems[0]['path'][7:]}: {problems[0]['message']}", problems
        )
    assert org_code is not None
    return org_code


def _as_app_error(exc: BaseException) -> AppError | None:
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return Conflict("conflict: a value that must be unique is already taken")
    return None


@dataclass(frozen=True)
class _Idem:
    key: str
    hash: bytes


async def invoke(
    op: Operation[Any, Any],
    db: Database,
    *,
    org_code: str | None,
    credential: Credential,
    body: bytes | Mapping[str, Any],
    correlation_id: str | None = None,
    idempotency_key: str | None = None,
    cc_code: str | None = None,
    channel_code: str | None = None,
    authenticator: Authenticator | None = None,
) -> Outcome:
    """Run ``op`` for a caller and render the envelope; never raises for request problems.

    ``body`` is raw JSON bytes (HTTP) or a parsed mapping (MCP). ``authenticator`` defaults to
    the process-wide one for ``db``.
    """
    cid = correlation_id or new_correlation_id()
    with correlation_scope(cid):
        try:
            return await _invoke(
                op,
                db,
                org_code=org_code,
                credential=credential,
                body=body,
                correlation_id=cid,
                idempotency_key=idempotency_key,
                cc_code=cc_code,
                channel_code=channel_code,
                authenticator=authenticator or authenticator_for(db),
            )
        except Exception as exc:  # every failure becomes an envelope
            app_error = _as_app_error(exc)
            if app_error is not None:
                status = status_for(app_error)
                if status < 500:
                    log.debug(
                        "operation refused",
                        extra={"operation": op.name, "code": app_error.code, "status": status},
                    )
                    return Outcome.render(
                        status, error_envelope(app_error.code, app_error.message, app_error.details)
                    )
            log.error(
                "operation failed",
                exc_info=exc,
                extra={"operation": op.name, "correlation_id": cid},
            )
            return Outcome.render(500, internal_envelope(cid))


async def _invoke(
    op: Operation[Any, Any],
    db: Database,
    *,
    org_code: str | None,
    credential: Credential,
    body: bytes | Mapping[str, Any],
    correlation_id: str,
    idempotency_key: str | None,
    cc_code: str | None,
    channel_code: str | None,
    authenticator: Authenticator,
) -> Outcome:
    org = _check_headers(org_code, idempotency_key, cc_code, channel_code)
    if not credential.present:
        raise Unauthorized("missing credential: send x-api-key or x-session-guid")
    principal = await authenticator.authenticate(db, credential)
    if principal is None:
        raise Unauthorized("unknown, revoked or expired credential")
    if principal.org_code != org:
        raise NotFound(f"org {org} not found")
    if op.role not in principal.roles:
        raise Forbidden(f"{op.name} requires role {op.role}", {"required_role": op.role})
    inp = validate_input(op.input_model, body)
    idem = _Idem(idempotency_key, request_hash(inp)) if op.write and idempotency_key else None

    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await _execute(op, db, inp, principal, org, correlation_id, cc_code, channel_code, idem)
        except _RETRYABLE:
            if attempt == MAX_ATTEMPTS:
                raise
            log.warning(
                "transient database conflict; retrying", extra={"operation": op.name, "attempt": attempt}
            )
            await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")


async def _execute(
    op: Operation[Any, Any],
    db: Database,
    inp: BaseModel,
    principal: Principal,
    org: str,
    correlation_id: str,
    cc_code: str | None,
    channel_code: str | None,
    idem: _Idem | None,
) -> Outcome:
    isolation: Literal["read_committed", "repeatable_read"] = (
        "read_committed" if op.write else "repeatable_read"
    )
    async with db.connection() as conn, conn.transaction(isolation=isolation, readonly=not op.write):
        ctx = CallContext(
            org_code=org,
            roles=principal.roles,
            actor=principal.actor,
            correlation_id=correlation_id,
            cc_code=cc_code,
            channel_code=channel_code,
            conn=conn,
            idempotency_key=idem.key if idem else None,
            operation=op.name,
        )
        if idem is None:
            return Outcome.render(200, success_envelope(await op.handler(ctx, inp)))

        replay = await _claim(conn, org, op.name, idem)
        if replay is not None:
            return replay
        try:
            async with conn.transaction():  # savepoint: a business error undoes only the handler
                outcome = Outcome.render(200, success_envelope(await op.handler(ctx, inp)))
        except Exception as exc:
            app_error = _as_app_error(exc)
            if app_error is None or status_for(app_error) >= 500:
                raise
            outcome = Outcome.render(
                status_for(app_error), error_envelope(app_error.code, app_error.message, app_error.details)
            )
        await conn.execute(
            """UPDATE idempotency_keys SET status_code = $4, response_body = $5
               WHERE org_code = $1 AND operation = $2 AND idem_key = $3""",
            org,
            op.name,
            idem.key,
            outcome.status,
            _redacted(outcome, op.redact_on_replay).body,
        )
        return outcome


def _redacted(outcome: Outcome, fields: tuple[str, ...]) -> Outcome:
    data = outcome.envelope.get("data")
    if not fields or not isinstance(data, dict) or not any(f in data for f in fields):
        return outcome
    envelope = {**outcome.envelope, "data": {k: (None if k in fields else v) for k, v in data.items()}}
    return Outcome.render(outcome.status, envelope)


async def _claim(conn: asyncpg.Connection, org: str, operation: str, idem: _Idem) -> Outcome | None:
    """Claim the key (None) or return the committed response to replay."""
    for _ in range(MAX_ATTEMPTS):
        claimed = await conn.fetchval(
            """INSERT INTO idempotency_keys (org_code, operation, idem_key, request_hash, expires_at)
               VALUES ($1, $2, $3, $4, now() + $5::interval)
               ON CONFLICT (org_code, operation, idem_key) DO UPDATE
                 SET request_hash = EXCLUDED.request_hash, status_code = NULL, response_body = NULL,
                     created_at = now(), expires_at = EXCLUDED.expires_at
                 WHERE idempotency_keys.expires_at <= now()
               RETURNING true""",
            org,
            operation,
            idem.key,
            idem.hash,
            IDEMPOTENCY_TTL,
        )
        if claimed:
            return None
        row = await conn.fetchrow(
            """SELECT request_hash, status_code, response_body FROM idempotency_keys
               WHERE org_code = $1 AND operation = $2 AND idem_key = $3""",
            org,
            operation,
            idem.key,
        )
        if row is None:  # purged between the two statements: claim again
            continue
        if bytes(row["request_hash"]) != idem.hash:
            raise IdempotencyMismatch(
                "idempotency-key was already used with a different request body",
                {"idempotency_key": idem.key},
            )
        if row["status_code"] is None or row["response_body"] is None:
            raise InternalError("idempotency record without a response")
        body = bytes(row["response_body"])
        return Outcome(int(row["status_code"]), orjson.loads(body), body, replayed=True)
    raise InternalError("could not claim idempotency key")


async def purge_expired_idempotency_keys(db: Database, *, batch: int = 10_000) -> int:
    """Delete expired idempotency records in batches; returns how many were deleted.

    Shaped as a ``ScheduledJob.run``; safe when two schedulers run it at once.
    """
    total = 0
    while True:
        async with db.transaction() as conn:
            status = await conn.execute(
                """DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
                       SELECT ctid FROM idempotency_keys WHERE expires_at <= now()
                       LIMIT $1 FOR UPDATE SKIP LOCKED))""",
                batch,
            )
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch:
            return total
