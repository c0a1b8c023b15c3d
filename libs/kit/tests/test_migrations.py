"""Forward-only migrations: idempotent, safe when several processes start at once."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from g3n_kit.migrations import KIT_MIGRATIONS, MigrationError, MigrationSource, migrate


async def test_running_the_migrator_twice_applies_each_file_once(stack: Any) -> None:
    dsn = await stack.aensure_database(f"kit_mig_{uuid.uuid4().hex[:8]}")
    first = await migrate(dsn, [KIT_MIGRATIONS])
    second = await migrate(dsn, [KIT_MIGRATIONS])
    assert first and first[0] == "kit/0001_messaging.sql"
    assert second == []


async def test_four_concurrent_migrators_leave_one_correct_schema(stack: Any) -> None:
    dsn = await stack.aensure_database(f"kit_mig_{uuid.uuid4().hex[:8]}")
    results = await asyncio.gather(*(migrate(dsn, [KIT_MIGRATIONS]) for _ in range(4)))
    applied = [name for r in results for name in r]
    expected = [m.namespace + "/" + m.name for m in KIT_MIGRATIONS.load()]
    assert sorted(applied) == sorted(expected), "each file applied by exactly one migrator"
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT namespace, version FROM schema_migrations ORDER BY version")
        assert [(r["namespace"], r["version"]) for r in rows] == [
            ("kit", m.version) for m in KIT_MIGRATIONS.load()
        ]
        assert await conn.fetchval("SELECT to_regclass('public.inbox') IS NOT NULL")
        assert await conn.fetchval("SELECT to_regclass('public.outbox') IS NOT NULL")
    finally:
        await conn.close()


def _package(tmp_path: Path, files: dict[str, str]) -> str:
    name = f"migpkg_{uuid.uuid4().hex[:8]}"
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for fname, sql in files.items():
        (pkg / fname).write_text(sql)
    sys.path.insert(0, str(tmp_path))
    return name


def test_a_malformed_file_name_is_refused(tmp_path: Path) -> None:
    name = _package(tmp_path, {"1_create.sql": "SELECT 1;"})
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        MigrationSource("x", name).load()


async def test_an_applied_migration_that_was_edited_is_refused(stack: Any, tmp_path: Path) -> None:
    dsn = await stack.aensure_database(f"kit_mig_{uuid.uuid4().hex[:8]}")
    name = _package(tmp_path, {"0001_things.sql": "CREATE TABLE things (id int);"})
    source = MigrationSource("demo", name)
    assert await migrate(dsn, [source]) == ["demo/0001_things.sql"]
    (tmp_path / name / "0001_things.sql").write_text("CREATE TABLE things (id bigint);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(dsn, [source])
