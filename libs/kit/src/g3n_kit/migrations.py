"""Forward-only SQL migrations, safe against concurrent starters.

Each source is a package directory of files named ``NNNN_description.sql``. Files are applied
in order, each in its own transaction, and recorded in ``schema_migrations`` with a checksum.
A session-level advisory lock serialises concurrent migrators (two processes starting at once
both wait, the second finds everything applied). An applied file whose content changed is an
error: migrations are forward-only, fixes go into a new file.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

_LOCK_KEY = 0x6733_6E5F_6D69_67  # "g3n_mig": one lock id for every migrator on a database
_FILE_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """A migration file is malformed or an applied one was edited."""


@dataclass(frozen=True)
class Migration:
    namespace: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationSource:
    """A namespace (``kit``, ``influencer``…) and the package holding its SQL files."""

    namespace: str
    package: str

    def load(self) -> list[Migration]:
        found: list[Migration] = []
        for entry in resources.files(self.package).iterdir():
            if not entry.name.endswith(".sql"):
                continue
            m = _FILE_RE.match(entry.name)
            if m is None:
                raise MigrationError(f"{self.package}/{entry.name}: expected NNNN_name.sql")
            found.append(Migration(self.namespace, int(m.group(1)), entry.name, entry.read_text("utf-8")))
        found.sort(key=lambda mig: mig.version)
        versions = [mig.version for mig in found]
        if len(set(versions)) != len(versions):
            raise MigrationError(f"{self.package}: duplicate migration numbers {versions}")
        return found


KIT_MIGRATIONS = MigrationSource("kit", "g3n_kit.sql")


async def migrate(dsn: str, sources: list[MigrationSource]) -> list[str]:
    """Apply pending migrations of every source in order; return the names applied now."""
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       namespace text NOT NULL,
                       version integer NOT NULL,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now(),
                       PRIMARY KEY (namespace, version))"""
            )
            rows = await conn.fetch("SELECT namespace, version, checksum FROM schema_migrations")
            done = {(r["namespace"], r["version"]): r["checksum"] for r in rows}
            for source in sources:
                for mig in source.load():
                    previous = done.get((mig.namespace, mig.version))
                    if previous is not None:
                        if previous != mig.checksum:
                            raise MigrationError(
                                f"{mig.namespace}/{mig.name} changed after it was applied; "
                                "add a new migration instead"
                            )
                        continue
                    async with conn.transaction():
                        await conn.execute(mig.sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (namespace, version, name, checksum)"
                            " VALUES ($1, $2, $3, $4)",
                            mig.namespace,
                            mig.version,
                            mig.name,
                            mig.checksum,
                        )
                    log.info("migration applied", extra={"migration": f"{mig.namespace}/{mig.name}"})
                    applied_now.append(f"{mig.namespace}/{mig.name}")
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()
    return applied_now
