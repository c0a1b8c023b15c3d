"""List paging: opaque signed ``next_token`` plus keyset helpers for a stable newest-first order.

Order is ``(created_at DESC, id DESC)``; the next page continues strictly after the last row
returned (``(created_at, id) < (cursor)``), so concurrent inserts never shift the window the way
OFFSET does: an item that existed when paging began is returned exactly once, and items created
meanwhile (newer than the cursor) simply do not appear in later pages.

The token is ``base64url(compact JSON) "." base64url(HMAC-SHA256)[:16 bytes]``. The JSON holds
the cursor and a hash of the list's filters (and an optional scope such as the operation name),
so a tampered token, or a token replayed with different filters, fails as ``validation-error``
on ``next_token``. The HMAC key comes from ``G3N_PAGING_SECRET`` or :func:`set_paging_secret`;
without either a random per-process key is used (fine for one process; several replicas behind
a load balancer must share a configured secret).

Usage in a repository::

    cursor = start_cursor(req, scope="campaign.list")
    cond, args = keyset_condition(cursor, first_param=3)
    rows = await conn.fetch(
        f"SELECT … WHERE org_code = $1 AND ($2::text IS NULL OR status = $2) AND {cond}"
        " ORDER BY created_at DESC, id DESC LIMIT " + str(req.limit + 1), org, req.status, *args)
    items, token = page_of(rows, req=req, cursor_of=lambda r: Cursor(r["created_at"], r["id"]),
                           scope="campaign.list")
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

from g3n_kit.errors import ValidationFailed
from g3n_kit.operations import RequestModel

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LIMIT = 8
MAX_LIMIT = 256
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SIG_BYTES = 16
_VERSION = 1

_secret: bytes = os.environ.get("G3N_PAGING_SECRET", "").encode() or secrets.token_bytes(32)


def set_paging_secret(secret: str | bytes) -> None:
    """Set the HMAC key for tokens issued and accepted by this process."""
    global _secret
    value = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not value:
        raise ValueError("paging secret must not be empty")
    _secret = value


class ListRequest(RequestModel):
    """Base for list inputs: add the filters as further optional fields."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="page size, 1-256")
    next_token: str | None = Field(
        default=None, max_length=2048, description="opaque token from the previous page"
    )


class Page(BaseModel, Generic[T]):
    """``{"items": [...], "next_token": "…" | null}``."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    items: list[T]
    next_token: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Position after the last returned row: its ``created_at`` and ``id``."""

    created_at: datetime
    id: str | int


def filters_of(req: ListRequest) -> dict[str, Any]:
    """The request's filters: every field except ``limit`` and ``next_token``."""
    return req.model_dump(mode="json", exclude={"limit", "next_token"})


def _filter_digest(filters: Mapping[str, Any], scope: str) -> str:
    canonical = orjson.dumps([scope, filters], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: bytes) -> bytes:
    return hmac.new(_secret, payload, hashlib.sha256).digest()[:_SIG_BYTES]


def _micros(dt: datetime) -> int:
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


def encode_token(cursor: Cursor, *, filters: Mapping[str, Any], scope: str = "") -> str:
    payload = orjson.dumps([_VERSION, _micros(cursor.created_at), cursor.id, _filter_digest(filters, scope)])
    return f"{_b64(payload)}.{_b64(_sign(payload))}"


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(f"invalid next_token: {message}", [{"path": "next_token", "message": message}])


def decode_token(token: str, *, filters: Mapping[str, Any], scope: str = "") -> Cursor:
    """The cursor in ``token``; ``ValidationFailed`` when malformed, forged or for other filters."""
    body, sep, sig = token.partition(".")
    try:
        payload, signature = _unb64(body), _unb64(sig)
    except (binascii.Error, ValueError):
        payload, signature = b"", b""
    if not sep or not payload or not hmac.compare_digest(signature, _sign(payload)):
        raise _invalid("malformed or tampered token")
    try:
        version, micros, ident, digest = orjson.loads(payload)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise _invalid("malformed or tampered token") from None
    if version != _VERSION or not isinstance(micros, int) or not isinstance(ident, str | int):
        raise _invalid("malformed or tampered token")
    if digest != _filter_digest(filters, scope):
        raise _invalid("token was issued for different filters; start again without next_token")
    return Cursor(_EPOCH + timedelta(microseconds=micros), ident)


def start_cursor(req: ListRequest, *, scope: str = "") -> Cursor | None:
    """Decode ``req.next_token`` against ``req``'s filters (None on the first page)."""
    if req.next_token is None:
        return None
    return decode_token(req.next_token, filters=filters_of(req), scope=scope)


def keyset_condition(
    cursor: Cursor | None, *, first_param: int, created_col: str = "created_at", id_col: str = "id"
) -> tuple[str, list[Any]]:
    """SQL condition continuing after ``cursor`` in ``(created_at DESC, id DESC)`` order.

    Returns ``("TRUE", [])`` for the first page, else ``("(created_at, id) < ($n, $n+1)", [ts, id])``
    with placeholders numbered from ``first_param``. Pair with
    ``ORDER BY created_at DESC, id DESC LIMIT limit + 1`` and an index on
    ``(org_code, created_at DESC, id DESC)``.
    """
    if cursor is None:
        return "TRUE", []
    id_type = "bigint" if isinstance(cursor.id, int) else "text"
    n = first_param
    return (
        f"({created_col}, {id_col}) < (${n}::timestamptz, ${n + 1}::{id_type})",
        [cursor.created_at, cursor.id],
    )


def page_of(
    rows: Sequence[R], *, req: ListRequest, cursor_of: Callable[[R], Cursor], scope: str = ""
) -> tuple[list[R], str | None]:
    """Cut ``rows`` (fetched with ``LIMIT limit + 1``) to a page and its ``next_token``."""
    if len(rows) <= req.limit:
        return list(rows), None
    items = list(rows[: req.limit])
    return items, encode_token(cursor_of(items[-1]), filters=filters_of(req), scope=scope)
