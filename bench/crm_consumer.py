"""CRM SCM consumer throughput: sale events with known customers fully applied (points earned,
offsets committed), against the raw ingest floor and a naive per-message handler, same run.

* floor: the kit's floor path (consume + minimal decode + COPY + commit), from bench/floor.py;
* crm: the CRM's batch handler (`g3n_crm.entrypoints.consumer_handlers.handle_scm_sales`) in the
  kit's ConsumerLoop, in a child process of its own (as in production), 1000-event batches;
* naive: the same handler and loop with one event per transaction (max_batch=1), on a subset.

Every sale names its customer by e-mail (resolved case-insensitively), has two lines and earns
points; the customers exist beforehand. The child reports its peak RSS.

Run: `uv run python bench/crm_consumer.py [N] [NAIVE_N]` (writes its section of docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from common import bench_stack, git_rev, machine, produce, sale_messages, write_section
from floor import _consume, _raw_row
from g3n_devstack.stack import Stack

HERE = Path(__file__).resolve().parent
CUSTOMERS = 20_000
# getmany's max_records spans all partitions (the kit's default, G3N_CRM_CONSUMER_MAX_BATCH=1000).
# 4000 was measured too: no faster on this machine, and the consumer's peak RSS reached 151 MB.
BATCH = int(os.environ.get("CRM_BENCH_MAX_BATCH", "1000"))


async def _child(dsn: str, bootstrap: str, topic: str, group: str, max_batch: int, n: int) -> None:
    """Consume until `n` events are in the inbox; print elapsed seconds (first event to last) and RSS."""
    from g3n_crm.entrypoints.consumer_handlers import handle_scm_sales
    from g3n_kit.consumer import ConsumerLoop
    from g3n_kit.db import Database

    db = await Database.connect(dsn, min_size=4, max_size=8)
    if os.environ.get("CRM_BENCH_GC_FREEZE"):  # experiment: what the kit runtime could do at start
        import gc

        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
    stop = asyncio.Event()
    loop = ConsumerLoop(
        db=db, bootstrap=bootstrap, group=group, handlers={topic: handle_scm_sales}, max_batch=max_batch
    )
    task = asyncio.create_task(loop.run(stop))
    t0 = 0.0
    try:
        while True:
            async with db.connection() as conn:
                seen = await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer_group = $1", group)
            if seen and not t0:
                t0 = time.perf_counter()
            if seen >= n:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - t0
    finally:
        stop.set()
        await task
        await db.close()
    print(f"RESULT {elapsed:.4f} {_peak_rss_kb()}", flush=True)


def _peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _run_child(
    dsn: str, bootstrap: str, topic: str, group: str, max_batch: int, n: int, *, gc_freeze: bool = False
) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    env.pop("CRM_BENCH_GC_FREEZE", None)
    if gc_freeze:
        env["CRM_BENCH_GC_FREEZE"] = "1"
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__)),
            "--child",
            dsn,
            bootstrap,
            topic,
            group,
            str(max_batch),
            str(n),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT"))
    _, elapsed, rss = line.split()
    return float(elapsed), int(rss)


async def _setup_crm(stack: Stack, name: str) -> str:
    from g3n_crm.bootstrap import build
    from g3n_crm.settings import Settings
    from g3n_kit.ids import new_id
    from g3n_kit.migrations import migrate

    dsn = await stack.aensure_database(name)
    await migrate(dsn, build(Settings(database_url=dsn)).all_migrations)
    conn = await asyncpg.connect(dsn)
    try:
        ids = [new_id("cus") for _ in range(CUSTOMERS)]
        now = datetime.now(UTC)
        await conn.execute(
            """INSERT INTO customers (org_code, customer_id, email, created_at, updated_at)
               SELECT 'acme', c, 'c' || (i - 1) || '@example.com', $2, $2
               FROM unnest($1::text[]) WITH ORDINALITY AS u(c, i)""",
            ids,
            now,
        )
        await conn.execute(
            """INSERT INTO loyalty_accounts (org_code, customer_id, updated_at)
               SELECT 'acme', c, $2 FROM unnest($1::text[]) c""",
            ids,
            now,
        )
    finally:
        await conn.close()
    return dsn


async def _check(dsn: str, n: int) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        earns = await conn.fetchval("SELECT count(*) FROM loyalty_entries WHERE kind = 'earn'")
        applied = await conn.fetchval("SELECT count(*) FROM scm_sales WHERE status = 'applied'")
        return int(earns), int(applied)
    finally:
        await conn.close()


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


async def run(n: int, naive_n: int) -> None:
    load = _load()  # other work on the machine skews every figure below
    with bench_stack() as stack:
        topic = f"bench.crm.sales.{uuid.uuid4().hex[:6]}"
        await stack.acreate_topics([topic], partitions=4)
        floor_dsn = await stack.aensure_database("bench_crm_floor")
        conn = await asyncpg.connect(floor_dsn)
        await conn.execute(
            "CREATE TABLE floor_rows (event_id uuid, org_code text, order_id text, net_minor bigint)"
        )
        await conn.close()
        print(f"generating {n} events for {CUSTOMERS} customers …", flush=True)
        produced = await produce(stack.kafka_bootstrap, topic, sale_messages(n, customers=CUSTOMERS))
        print(f"produced {produced:,.0f}/s", flush=True)
        floor = await _consume(stack.kafka_bootstrap, topic, n, floor_dsn, _raw_row)
        print(f"floor {floor:,.0f}/s", flush=True)

        dsn = await _setup_crm(stack, "bench_crm")
        elapsed, rss = _run_child(dsn, stack.kafka_bootstrap, topic, "crm-bench", BATCH, n)
        crm = n / elapsed
        earns, applied = await _check(dsn, n)
        assert earns == applied == n, (earns, applied)
        print(f"crm batch handler {crm:,.0f}/s, RSS {rss / 1024:.0f} MB", flush=True)

        frozen_dsn = await _setup_crm(stack, "bench_crm_frozen")
        frozen_elapsed, _ = _run_child(
            frozen_dsn, stack.kafka_bootstrap, topic, "crm-frozen", BATCH, n, gc_freeze=True
        )
        frozen = n / frozen_elapsed
        print(f"crm batch handler, gc.freeze() at start {frozen:,.0f}/s", flush=True)

        naive_dsn = await _setup_crm(stack, "bench_crm_naive")
        naive_elapsed, naive_rss = _run_child(
            naive_dsn, stack.kafka_bootstrap, topic, "crm-naive", 1, naive_n
        )
        naive = naive_n / naive_elapsed
        print(f"naive per-message {naive:,.0f}/s", flush=True)

    write_section(
        "crm-consumer",
        f"""## CRM: SCM sales applied to loyalty

`uv run python bench/crm_consumer.py {n} {naive_n}` — {datetime.now(UTC):%Y-%m-%d %H:%M}Z,
commit {git_rev()}, {machine()}, load average at the start {load}.
{n:,} `scm.sale.recorded` events (two lines, customer named by e-mail, {CUSTOMERS:,} customers), 4 partitions.
Applied = customer resolved, points earned into a lot, ledger entry, sale bookkeeping, change event
in the outbox, inbox row, offsets committed. The CRM consumer runs in its own process
(`getmany` up to {BATCH} records, split per partition).

| path | events/s | vs floor |
| --- | ---: | ---: |
| floor (consume + decode + `COPY` + commit) | {floor:,.0f} | 100% |
| **CRM batch handler** (kit `ConsumerLoop`, `max_batch` {BATCH}) | **{crm:,.0f}** | {crm / floor:.0%} |
| same, `gc.freeze()` + higher GC thresholds after start-up [1] | {frozen:,.0f} | {frozen / floor:.0%} |
| naive: same handler, one event per transaction ({naive_n:,} events) | {naive:,.0f} | {naive / floor:.0%} |

[1] `gc.freeze(); gc.set_threshold(50_000, 20, 20)` once the process is up — not done by the kit yet.

Batch vs naive: {crm / naive:.1f}x. Consumer peak RSS: {rss / 1024:.0f} MB
(naive run {naive_rss / 1024:.0f} MB).
""",
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        dsn_, boot_, topic_, group_, batch_, n_ = sys.argv[2:8]
        if os.environ.get("CRM_BENCH_PROFILE"):  # cProfile the child, stats to the named file
            import cProfile

            cProfile.run(
                "asyncio.run(_child(dsn_, boot_, topic_, group_, int(batch_), int(n_)))",
                f"{os.environ['CRM_BENCH_PROFILE']}.{batch_}",
            )
        else:
            asyncio.run(_child(dsn_, boot_, topic_, group_, int(batch_), int(n_)))
    else:
        asyncio.run(
            run(
                int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
                int(sys.argv[2]) if len(sys.argv) > 2 else 5_000,
            )
        )
