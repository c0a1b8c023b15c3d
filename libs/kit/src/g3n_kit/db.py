"""asyncpg pool with the codecs every service needs.

`Database` is the only door to PostgreSQL for the kit and the services: it owns the pool and
hands out connections inside transactions. JSON/JSONB values are encoded with orjson so
that dicts go in and out without manual dumps/loads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal, cast

import asyncpg
import orjson

Connection = asyncpg.Connection
Record = asyncpg.Record
Isolation = Literal["read_committed", "repeatable_read", "serializable"]


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)  # binary jsonb: a version byte, then the JSON text


def _jsonb_decode(data: bytes) -> Any:
    return orjson.loads(data[1:])


def json_rows(rows: list[Any]) -> str:
    """``rows`` (lists, tuples, scalars) as JSON text for a ``$n::text::jsonb`` parameter.

    Batch statements take their keys this way rather than as parallel arrays: asyncpg checks each
    element of a ``text[]`` parameter against two ABCs (~0.2 µs a string), while orjson writes the
    whole batch in ~0.05 µs a row. Measured on 750 (org, id) pairs: 0.36 µs a row in all against
    0.63 µs as two arrays, PostgreSQL's share ~0.1 µs a row more. Typed as text, so it works on
    any connection, with or without the kit's json codecs. (IFM's HTTP lookups keep arrays: see
    ``g3n_influencer.adapters.attributions.existing``.)
    """
    return orjson.dumps(rows).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs, so json/jsonb values also work in binary COPY (copy_records_to_table).
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "json", encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog", format="binary"
    )


class Database:
    """A connection pool plus transaction helpers."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(
        cls, dsn: str, *, min_size: int = 1, max_size: int = 10, command_timeout: float = 60.0
    ) -> Database:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            command_timeout=command_timeout,
        )
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn:
            # The pool hands out a proxy that behaves as a Connection; services type against that.
            yield cast(asyncpg.Connection, conn)

    @asynccontextmanager
    async def transaction(
        self, *, isolation: Isolation = "read_committed"
    ) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn, conn.transaction(isolation=isolation):
            yield cast(asyncpg.Connection, conn)

    async def ping(self) -> bool:
        try:
            async with self.pool.acquire(timeout=2.0) as conn:
                return bool(await conn.fetchval("SELECT 1", timeout=2.0) == 1)
        except Exception:
            return False
