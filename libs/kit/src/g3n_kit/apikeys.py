"""API keys and sessions: who is calling, for which org, with which roles.

Keys look like ``g3n_<key_id>_<secret>``: ``key_id`` (16 lowercase hex chars) is the public
handle used to list and revoke; ``secret`` is 43 random alphanumerics (~256 bits). Only
``sha256(secret)`` is stored -- a fast hash is right for a high-entropy secret (nothing to brute
force) and keeps the hot path cheap; the comparison is constant-time. The plaintext is returned
once by :func:`create_api_key` and never again.

Sessions (``x-session-guid``) are bearer tokens too: a random UUID whose sha256 is stored with
the org, roles and an expiry. ``session_id`` (``ses_…``) is the public handle.

Roles are explicit: a key holds exactly the roles it was created with, and no role implies
another (a key with ``inf_finance`` but not ``inf_view`` cannot call read operations). Give a key
the view role too when it should read. Role names are checked against the service's role set
at creation (:data:`IFM_ROLES`, :data:`CRM_ROLES`).

:class:`Authenticator` caches lookups in-process for ``ttl`` seconds (default 10) so the request
path does not query the database per call. Consequence, by design: **a revoked key or session
keeps working for at most ``ttl`` seconds in processes that had it cached** (an in-process
:meth:`Authenticator.invalidate` makes it immediate there). Unknown key ids are cached as
negative entries for the same time; a new key is never affected because its id is random.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import time
import uuid
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

import asyncpg
from g3n_contracts.primitives import SLUG_PATTERN

from g3n_kit.db import Database
from g3n_kit.errors import ValidationFailed

IFM_ROLES: frozenset[str] = frozenset({"inf_view", "inf_manage", "inf_campaign_admin", "inf_finance"})
CRM_ROLES: frozenset[str] = frozenset({"crm_view", "crm_manage", "crm_loyalty", "crm_giftcard"})
SERVICE_ROLES: dict[str, frozenset[str]] = {"ifm": IFM_ROLES, "influencer": IFM_ROLES, "crm": CRM_ROLES}

KEY_PREFIX = "g3n_"
_KEY_ID_RE = re.compile(r"^[a-z0-9]{8,64}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9]{20,128}$")
# The org code travels in every event envelope: one pattern, the contracts' slug.
_ORG_RE = re.compile(SLUG_PATTERN)
_SECRET_ALPHABET = string.ascii_letters + string.digits
_SECRET_LEN = 43

_K = TypeVar("_K")
_V = TypeVar("_V")


def roles_for_service(service: str) -> frozenset[str]:
    """The role set of ``ifm``/``influencer`` or ``crm``."""
    try:
        return SERVICE_ROLES[service]
    except KeyError:
        raise ValueError(f"unknown service {service!r}; expected one of {sorted(SERVICE_ROLES)}") from None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    kind: Literal["api_key", "session"]
    id: str  # key_id or session_id
    org_code: str
    roles: frozenset[str]

    @property
    def actor(self) -> str:
        """Audit identity recorded on writes: ``api_key:<key_id>`` or ``session:<session_id>``."""
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Credential:
    """What the caller presented. An API key takes precedence over a session guid."""

    api_key: str | None = None
    session_guid: str | None = None

    @property
    def present(self) -> bool:
        return bool(self.api_key or self.session_guid)


@dataclass(frozen=True)
class ApiKeyInfo:
    key_id: str
    org_code: str
    roles: tuple[str, ...]
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewSession:
    session_id: str
    guid: str  # the bearer token; shown once
    expires_at: datetime


def validate_org_code(org_code: str, *, path: str = "org") -> str:
    if not isinstance(org_code, str) or not _ORG_RE.match(org_code):
        raise ValidationFailed(
            "invalid org code",
            [{"path": path, "message": "1-64 chars: lowercase letters, digits, '_', '-' (not first)"}],
        )
    return org_code


def validate_roles(
    roles: Collection[str], allowed_roles: Collection[str], *, path: str = "roles"
) -> frozenset[str]:
    """Check role names against the service's set; at least one role is required."""
    if not roles:
        raise ValidationFailed("at least one role is required", [{"path": path, "message": "empty"}])
    problems = [
        {"path": f"{path}.{i}", "message": f"unknown role {r!r}; allowed: {', '.join(sorted(allowed_roles))}"}
        for i, r in enumerate(roles)
        if r not in allowed_roles
    ]
    if problems:
        raise ValidationFailed("unknown role", problems)
    return frozenset(roles)


def _sha256(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def parse_api_key(plaintext: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, else None."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = plaintext[len(KEY_PREFIX) :].partition("_")
    if not sep or not _KEY_ID_RE.match(key_id) or not _SECRET_RE.match(secret):
        return None
    return key_id, secret


async def create_api_key(
    conn: asyncpg.Connection,
    org_code: str,
    roles: Collection[str],
    label: str | None = None,
    *,
    allowed_roles: Collection[str],
) -> tuple[str, str]:
    """Create a key; returns ``(key_id, plaintext)``. The plaintext cannot be recovered later."""
    validate_org_code(org_code)
    role_set = validate_roles(list(roles), allowed_roles)
    key_id = secrets.token_hex(8)
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(_SECRET_LEN))
    await conn.execute(
        "INSERT INTO api_keys (key_id, org_code, roles, secret_hash, label) VALUES ($1, $2, $3, $4, $5)",
        key_id,
        org_code,
        sorted(role_set),
        _sha256(secret),
        label,
    )
    return key_id, f"{KEY_PREFIX}{key_id}_{secret}"


async def list_api_keys(
    conn: asyncpg.Connection, org_code: str | None = None, *, include_revoked: bool = True
) -> list[ApiKeyInfo]:
    rows = await conn.fetch(
        """SELECT key_id, org_code, roles, label, created_at, revoked_at FROM api_keys
           WHERE ($1::text IS NULL OR org_code = $1) AND ($2 OR revoked_at IS NULL)
           ORDER BY org_code, created_at DESC, key_id""",
        org_code,
        include_revoked,
    )
    return [
        ApiKeyInfo(
            r["key_id"], r["org_code"], tuple(r["roles"]), r["label"], r["created_at"], r["revoked_at"]
        )
        for r in rows
    ]


async def revoke_api_key(conn: asyncpg.Connection, key_id: str) -> bool:
    """Revoke a key; False when it does not exist or was already revoked."""
    status = await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id
    )
    return bool(status == "UPDATE 1")


async def _load_key(conn: asyncpg.Connection, key_id: str) -> tuple[bytes, Principal] | None:
    row = await conn.fetchrow(
        "SELECT org_code, roles, secret_hash FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL", key_id
    )
    if row is None:
        return None
    return bytes(row["secret_hash"]), Principal("api_key", key_id, row["org_code"], frozenset(row["roles"]))


async def authenticate(conn: asyncpg.Connection, plaintext: str) -> Principal | None:
    """Resolve an API key without caching (see :class:`Authenticator` for the request path)."""
    parsed = parse_api_key(plaintext)
    if parsed is None:
        return None
    key_id, secret = parsed
    loaded = await _load_key(conn, key_id)
    if loaded is None:
        return None
    stored_hash, principal = loaded
    return principal if hmac.compare_digest(stored_hash, _sha256(secret)) else None


def _session_hash(guid: str) -> bytes | None:
    try:
        canonical = str(uuid.UUID(guid))
    except (ValueError, AttributeError, TypeError):
        return None
    return _sha256(canonical)


async def create_session(
    conn: asyncpg.Connection,
    org_code: str,
    roles: Collection[str],
    *,
    allowed_roles: Collection[str],
    ttl: timedelta = timedelta(hours=8),
    label: str | None = None,
) -> NewSession:
    """Create a session valid for ``ttl``; the guid is returned once."""
    validate_org_code(org_code)
    role_set = validate_roles(list(roles), allowed_roles)
    if ttl <= timedelta(0):
        raise ValidationFailed("ttl must be positive", [{"path": "ttl", "message": "must be > 0"}])
    guid = str(uuid.uuid4())
    session_id = f"ses_{secrets.token_hex(8)}"
    expires_at = await conn.fetchval(
        """INSERT INTO api_sessions (session_id, token_hash, org_code, roles, label, expires_at)
           VALUES ($1, $2, $3, $4, $5, now() + $6::interval) RETURNING expires_at""",
        session_id,
        _sha256(guid),
        org_code,
        sorted(role_set),
        label,
        ttl,
    )
    assert isinstance(expires_at, datetime)
    return NewSession(session_id, guid, expires_at)


async def revoke_session(conn: asyncpg.Connection, session_id: str) -> bool:
    status = await conn.execute(
        "UPDATE api_sessions SET revoked_at = now() WHERE session_id = $1 AND revoked_at IS NULL", session_id
    )
    return bool(status == "UPDATE 1")


async def _load_session(conn: asyncpg.Connection, token_hash: bytes) -> tuple[Principal, datetime] | None:
    row = await conn.fetchrow(
        """SELECT session_id, org_code, roles, expires_at FROM api_sessions
           WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()""",
        token_hash,
    )
    if row is None:
        return None
    principal = Principal("session", row["session_id"], row["org_code"], frozenset(row["roles"]))
    return principal, row["expires_at"]


async def authenticate_session(conn: asyncpg.Connection, guid: str) -> Principal | None:
    """Resolve a session guid without caching."""
    token_hash = _session_hash(guid)
    if token_hash is None:
        return None
    loaded = await _load_session(conn, token_hash)
    return loaded[0] if loaded else None


@dataclass(frozen=True)
class _KeyEntry:
    secret_hash: bytes | None  # None: unknown or revoked key id (negative entry)
    principal: Principal | None
    valid_until: float


@dataclass(frozen=True)
class _SessionEntry:
    principal: Principal | None
    valid_until: float


class Authenticator:
    """Credential → principal with a bounded, short-TTL in-process cache.

    One instance per (process, database): the HTTP app makes its own, and :func:`authenticator_for`
    hands out one per :class:`Database` for other surfaces, so a key cached for one service's
    database is never accepted by another's.
    """

    def __init__(
        self, *, ttl: float = 10.0, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._keys: dict[str, _KeyEntry] = {}
        self._sessions: dict[bytes, _SessionEntry] = {}

    def invalidate(self, *, key_id: str | None = None, session_guid: str | None = None) -> None:
        """Forget one key / session (or everything when both are None)."""
        if key_id is None and session_guid is None:
            self._keys.clear()
            self._sessions.clear()
            return
        if key_id is not None:
            self._keys.pop(key_id, None)
        if session_guid is not None:
            token_hash = _session_hash(session_guid)
            if token_hash is not None:
                self._sessions.pop(token_hash, None)

    def _remember(self, cache: dict[_K, _V], key: _K, value: _V) -> None:
        cache.pop(key, None)
        if len(cache) >= self.max_entries:
            # Insertion order approximates age: drop the oldest tenth in one go.
            for stale in list(cache)[: max(1, self.max_entries // 10)]:
                del cache[stale]
        cache[key] = value

    async def authenticate(self, db: Database, credential: Credential) -> Principal | None:
        if credential.api_key:
            return await self._api_key(db, credential.api_key)
        if credential.session_guid:
            return await self._session(db, credential.session_guid)
        return None

    async def _api_key(self, db: Database, plaintext: str) -> Principal | None:
        parsed = parse_api_key(plaintext)
        if parsed is None:
            return None
        key_id, secret = parsed
        now = self._clock()
        entry = self._keys.get(key_id)
        if entry is None or entry.valid_until <= now:
            async with db.connection() as conn:
                loaded = await _load_key(conn, key_id)
            entry = _KeyEntry(
                loaded[0] if loaded else None, loaded[1] if loaded else None, self._clock() + self.ttl
            )
            self._remember(self._keys, key_id, entry)
        if entry.secret_hash is None or not hmac.compare_digest(entry.secret_hash, _sha256(secret)):
            return None
        return entry.principal

    async def _session(self, db: Database, guid: str) -> Principal | None:
        token_hash = _session_hash(guid)
        if token_hash is None:
            return None
        now = self._clock()
        entry = self._sessions.get(token_hash)
        if entry is None or entry.valid_until <= now:
            async with db.connection() as conn:
                loaded = await _load_session(conn, token_hash)
            valid_until = self._clock() + self.ttl
            if loaded is None:
                entry = _SessionEntry(None, valid_until)
            else:
                remaining = (loaded[1] - datetime.now(UTC)).total_seconds()
                entry = _SessionEntry(loaded[0], min(valid_until, self._clock() + remaining))
            self._remember(self._sessions, token_hash, entry)
        return entry.principal


_by_database: weakref.WeakKeyDictionary[Database, Authenticator] = weakref.WeakKeyDictionary()


def authenticator_for(db: Database) -> Authenticator:
    """The process-wide :class:`Authenticator` for ``db`` (created on first use)."""
    found = _by_database.get(db)
    if found is None:
        found = _by_database[db] = Authenticator()
    return found
