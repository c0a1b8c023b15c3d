"""Schema upgrades that move data: a database written by an earlier version keeps every value."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from g3n_influencer.adapters import attributions as repo
from g3n_influencer.adapters import lines as lines_repo
from g3n_influencer.domain.earnings import OrderLine
from g3n_kit.migrations import KIT_MIGRATIONS, Migration, MigrationSource, migrate


@dataclass(frozen=True)
class _Before(MigrationSource):  # the influencer migrations as they were before 0005
    namespace: str = "influencer"
    package: str = "g3n_influencer.migrations"

    def load(self) -> list[Migration]:
        return [m for m in super().load() if m.version <= 4]


async def test_line_rows_move_onto_their_attribution_in_order(stack: Any) -> None:
    dsn = await stack.aensure_database(f"ifm_upgrade_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, [KIT_MIGRATIONS, _Before()])
    conn = await asyncpg.connect(dsn)
    try:
        for att, order in (("att_1", "o-1"), ("att_2", "o-2"), ("att_3", "o-3")):
            await conn.execute(
                """INSERT INTO ifm_attributions (org_code, attribution_id, campaign_id, profile_id,
                       order_id, source, occurred_at, currency, net_sales_minor, content_hash)
                   VALUES ('acme', $1, 'cmp_1', 'pro_1', $2, 'scm', now(), 'USD', 5000, '\\x00')""",
                att,
                order,
            )
        # att_1: two lines written out of position order, the second partly returned;
        # att_2: one ineligible line; att_3: no line rows at all.
        await conn.executemany(
            """INSERT INTO ifm_attribution_lines (org_code, attribution_id, position, line_id, sku, qty,
                   net_amount_minor, eligible, basis_minor, amount_minor, returned_qty, clawed_back_minor)
               VALUES ('acme', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            [
                ("att_1", 1, "l2", "SKU-2", 3, 3000, True, 3000, 300, 1, 100),
                ("att_1", 0, "l1", "SKU-1", 1, 2000, True, 2000, 200, 0, 0),
                ("att_2", 0, "x", "GIFT", 2, 500, False, 0, 0, 0, 0),
            ],
        )
        applied = await migrate(dsn, [KIT_MIGRATIONS, MigrationSource("influencer", _Before.package)])
        assert "influencer/0005_lines_on_attribution.sql" in applied
        got = {
            r["attribution_id"]: lines_repo.parse(r["lines"])
            for r in await conn.fetch("SELECT attribution_id, lines FROM ifm_attributions")
        }
        # a repeat of a moved order is compared with the moved lines, in position order
        ((_, content),) = (await repo.existing(conn, [("acme", "cmp_1", "o-1")])).values()
        assert await conn.fetchval("SELECT to_regclass('ifm_attribution_lines')") is None
    finally:
        await conn.close()
    assert got == {
        "att_1": [
            lines_repo.LineRow("l1", "SKU-1", 1, 2000, True, 2000, 200, 0, 0),
            lines_repo.LineRow("l2", "SKU-2", 3, 3000, True, 3000, 300, 1, 100),
        ],
        "att_2": [lines_repo.LineRow("x", "GIFT", 2, 500, False, 0, 0, 0, 0)],
        "att_3": [],
    }
    assert content[3] == (OrderLine("l1", "SKU-1", 1, 2000), OrderLine("l2", "SKU-2", 3, 3000))
