"""CRM SCM consumer throughput: sale events with known customers fully applied (points earned,
offsets committed), against the raw ingest floor and a naive per-message handler, same run.

* floor: the kit's floor path (consume + minimal decode + COPY + commit), from bench/floor.py;
* crm: the CRM's batch handler (`g3n_crm.entrypoints.consumer_handlers.handle_scm_sales`) in the
  kit's ConsumerLoop, in a child process of its own set up as the consumer entrypoint sets itself
  up (the kit's event loop, `tune_gc`), up to 1000 records per partition per poll;
* crm with IFM running too: the same, while the IFM consumer (bench/ifm_consumer.py's child)
  applies the same events in another process (as in production, both consume `scm.sales.v1`);
* crm without the GC tuning: the first again, default collector thresholds;
* naive: the same handler and loop with one event per transaction and an offset commit per event
  (max_batch=1, commit interval 0), on a subset.

Every sale names its customer by e-mail (resolved case-insensitively), has two lines and earns
points; the customers exist beforehand. The child reports its peak RSS. Knobs for analysis:
`CRM_BENCH_STMTS=1` (per-statement wall time), `CRM_BENCH_PROFILE=<file>` (cProfile of the
child), `CRM_BENCH_MAX_BATCH`, `CRM_BENCH_GC_THRESHOLD=a,b,c`, `CRM_BENCH_ASYNCIO=1`.

Run: `uv run python bench/crm_consumer.py [N] [NAIVE_N] [--write]` (`--write` replaces its section
of docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from common import bench_stack, git_rev, machine, produce, sale_messages, write_section
from floor import _consume, _raw_row
from g3n_crm.settings import Settings
from g3n_devstack.stack import Stack
from g3n_influencer.settings import Settings as IfmSettings
from harness import (
    applied_counter,
    bench_loop,
    child_args,
    child_env,
    child_main,
    create_floor_table,
    load_average,
    print_result,
    result_line,
    start_beside,
)

CUSTOMERS = 20_000
# Records per partition per poll, the CRM's default (G3N_CRM_CONSUMER_MAX_BATCH); 4 partitions are
# applied concurrently. Measured (30,000 events, 3 runs each): 750 ~11.5k/s at ~130 MB peak RSS,
# 1000 ~11.4k/s at 140-149 MB; 500 was slower (8.2k vs 9.7k/s with earlier GC settings).
BATCH = int(os.environ.get("CRM_BENCH_MAX_BATCH") or Settings.model_fields["consumer_max_batch"].default)
IFM_BATCH = str(IfmSettings.model_fields["consumer_max_batch"].default)
LIMITS = """
What limits it (`CRM_BENCH_STMTS=1` prints per-statement wall time, `CRM_BENCH_PROFILE=<file>`
writes a cProfile of the consumer child): CPU. Alone, the consumer process is most of a core
(`bench/solo_cpu.py`, 2026-11-26: 41-58 µs of its CPU and 31-35 µs of PostgreSQL's per sale,
depending on the VM's phase): per sale ~15% of its time is contract parsing in the kit loop (~7 µs,
`bench/parse.py`), ~60% the CRM handler (resolution, ledger domain, rows, change event, and
asyncpg's encoding and decoding for its ~12 statements per batch, whose keys go as one JSON
parameter rather than parallel arrays), the rest the kit's claim (one `COPY`), aiokafka and the
event loop (`uvx py-spy record` on it, IFM consumer beside it). PostgreSQL writes 5 heap rows per
sale (inbox, `scm_sales`, lot, ledger entry; the account update is HOT) plus one packed outbox row
per batch (lz4-compressed). The keys it inserts into or probes for each sale lead with their
selective column and end with the organisation (CRM migration 0007, kit migration 0006): with the
organisation (or the consumer group) first, every comparison of a B-tree descent found it equal and
went on to the next column, and PostgreSQL spent 38.8 µs per sale against 30.7 µs now (`bench/ab.py
5f6799a --solo --rounds 3 --events 60000`, 2026-11-26, medians, lower in each round).
Concurrent partition batches often share a customer (750 sales over 20,000 customers each) and then
queue on that account's row lock, but briefly: sampling
`pg_stat_activity` every 20 ms in a pair run never caught a CRM backend waiting on a lock, and
taking the accounts without `FOR UPDATE` (a measurement only, 3 alternating rounds) did not lower
PostgreSQL's CPU per sale. The lock reads the account alone: a sale's customer comes with its status
from the resolution, and joining `customers` again there cost PostgreSQL ~3 µs per sale
(`bench/ab.py c6fd0e1 --solo --rounds 3 --events 60000`, 2026-11-26: 38.8 → 35.7 µs, medians, lower
in each round). ~2 µs of the consumer's own CPU per sale are attribute reads on the contract's
pydantic models (~100 a sale in the kit and the handler): `BaseModel` defines `__getattr__`, so
CPython 3.11 never specialises those reads (~13 ns each, ~4 ns on a plain class). Giving the
contract classes the generic attribute slot (a measurement only, through `ctypes`) took the CRM
consumer from 46.8 to 44.8 µs per sale (4 alternating rounds, each lower); not adopted, as it means
writing into CPython's type objects. Beside the IFM consumer the machine is 96-98% busy:
`bench/pair_cpu.py` (section above) splits the CPU per sale between the two consumers, PostgreSQL
and the broker. Python's cyclic GC was the largest single cost before the entrypoint's tuning (row
4). The batch size trades memory for statements: 750 records per partition is as fast as 1,000 with
~15 MB less RSS.
"""


async def _child(dsn: str, bootstrap: str, topic: str, group: str, max_batch: int, n: int) -> None:
    """Consume until `n` events are applied; print the seconds `n` events take at the rate measured
    after the first batch, and the peak RSS."""
    from g3n_crm.entrypoints.consumer_handlers import handle_scm_sales
    from g3n_kit.db import Database

    if os.environ.get("CRM_BENCH_STMTS"):  # per-statement wall time, printed at the end
        _time_statements()
    db = await Database.connect(dsn, min_size=4, max_size=8)
    if not os.environ.get("CRM_BENCH_NO_GC_TUNING"):  # as `python -m g3n_crm.entrypoints.consumer`
        from g3n_crm.settings import Settings
        from g3n_kit.runtime import tune_gc

        tune_gc(Settings().consumer_gc_threshold)
        if os.environ.get("CRM_BENCH_GC_THRESHOLD"):  # experiment: other thresholds, e.g. "200000,20,100"
            import gc

            t0_, t1_, t2_ = (int(x) for x in os.environ["CRM_BENCH_GC_THRESHOLD"].split(","))
            gc.set_threshold(t0_, t1_, t2_)
    stop = asyncio.Event()
    handler = handle_scm_sales
    if os.environ.get("CRM_BENCH_STMTS"):

        async def handler(conn: Any, events: Any) -> None:
            t0 = time.perf_counter()
            try:
                await handle_scm_sales(conn, events)
            finally:
                slot = _STMTS.setdefault("(whole handler, statements included)", [0, 0.0])
                slot[0] += 1
                slot[1] += time.perf_counter() - t0

    loop = bench_loop(db, bootstrap, group, topic, handler, max_batch)
    task = asyncio.create_task(loop.run(stop))
    # Progress from the loop's own counter (incremented once a batch's transaction committed), not
    # from a `count(*)` on the inbox every few ms: that query took PostgreSQL CPU from the consumer.
    # The clock starts when the first batch is committed; that batch is not counted in the rate.
    applied = applied_counter(group, topic)
    t0 = cpu0 = 0.0
    first = 0
    try:
        while True:
            seen = int(applied())
            if seen and not t0:
                t0, cpu0, first = time.perf_counter(), time.process_time(), seen
            if seen >= n:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        async with db.connection() as conn:  # committed, not just counted
            assert await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer_group = $1", group) >= n
    finally:
        stop.set()
        await task
        await db.close()
    if os.environ.get("CRM_BENCH_STMTS"):
        for label, (calls, total) in sorted(_STMTS.items(), key=lambda kv: -kv[1][1]):
            print(f"STMT {total * 1000:9.1f} ms {calls:6d}x  {label}", flush=True)
    # The time `n` events take at the measured rate (bench/ifm_consumer.py reads this line too).
    print_result(elapsed * n / max(1, n - first), cpu / max(1, n - first))


_STMTS: dict[str, list[float]] = {}


def _time_statements() -> None:
    """Wrap asyncpg's statement methods to sum wall time per statement (first 70 characters)."""
    import functools

    from asyncpg.connection import Connection

    def wrap(name: str) -> None:
        orig = getattr(Connection, name)

        @functools.wraps(orig)
        async def timed(self: Connection, *args: object, **kwargs: object) -> object:
            label = f"{name}: " + " ".join(str(args[0]).split())[:70] if args else name
            t0 = time.perf_counter()
            try:
                return await orig(self, *args, **kwargs)
            finally:
                slot = _STMTS.setdefault(label, [0, 0.0])
                slot[0] += 1
                slot[1] += time.perf_counter() - t0

        setattr(Connection, name, timed)

    for name in ("execute", "executemany", "fetch", "fetchval", "fetchrow", "copy_records_to_table"):
        wrap(name)


def _run_loop(coro: Coroutine[Any, Any, None]) -> None:
    """The event loop the service processes run on (the kit's `run_loop`: uvloop where it exists)."""
    try:
        from g3n_kit.runtime import run_loop

        if os.environ.get("CRM_BENCH_ASYNCIO"):
            raise ImportError("asked for asyncio's loop")
    except ImportError:
        asyncio.run(coro)
    else:
        run_loop(coro)


def _run_child(
    dsn: str, bootstrap: str, topic: str, group: str, max_batch: int, n: int, *, gc_tuning: bool = True
) -> tuple[float, int]:
    env = child_env()
    env.pop("CRM_BENCH_NO_GC_TUNING", None)
    if not gc_tuning:
        env["CRM_BENCH_NO_GC_TUNING"] = "1"
    out = subprocess.run(
        child_args(Path(__file__).name, dsn, bootstrap, topic, group, str(max_batch), str(n)),
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    for ln in out.stdout.splitlines():
        if ln.startswith("STMT"):
            print(ln, flush=True)
    result = result_line(out.stdout)
    if result is None:
        raise RuntimeError(f"no RESULT line from the child: {out.stdout[-2000:]}")
    return result


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


def _ifm_rate(proc: subprocess.Popen[str], n: int) -> float | None:
    out, err = proc.communicate(timeout=1800)
    result = result_line(out)
    if proc.returncode != 0 or result is None:
        print(f"IFM consumer failed ({proc.returncode}): {err[-2000:]}", flush=True)
        return None
    return n / result[0]


async def run(n: int, naive_n: int, *, write: bool = False) -> None:
    load = load_average()  # other work on the machine skews every figure below
    with bench_stack() as stack:
        topic = f"bench.crm.sales.{uuid.uuid4().hex[:6]}"
        await stack.acreate_topics([topic], partitions=4)
        floor_dsn = await stack.aensure_database("bench_crm_floor")
        await create_floor_table(floor_dsn)
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

        # As in production: the IFM consumer applies the same events at the same time, on the
        # same 2 cores (its own process and database, same broker and PostgreSQL server).
        beside_dsn = await _setup_crm(stack, "bench_crm_beside")
        ifm_proc = await start_beside(
            stack,
            service="IFM",
            setup="ifm_consumer:_setup_ifm",
            db_name="bench_crm_ifm",
            script="ifm_consumer.py",
            args=(stack.kafka_bootstrap, topic, "ifm-beside", IFM_BATCH, str(n)),
        )
        beside_elapsed, beside_rss = _run_child(
            beside_dsn, stack.kafka_bootstrap, topic, "crm-beside-ifm", BATCH, n
        )
        beside = n / beside_elapsed
        earns, applied = await _check(beside_dsn, n)
        assert earns == applied == n, (earns, applied)
        ifm = _ifm_rate(ifm_proc, n) if ifm_proc is not None else None
        print(f"crm with IFM running too {beside:,.0f}/s (IFM {ifm or 0:,.0f}/s)", flush=True)

        untuned_dsn = await _setup_crm(stack, "bench_crm_untuned")
        untuned_elapsed, _ = _run_child(
            untuned_dsn, stack.kafka_bootstrap, topic, "crm-untuned", BATCH, n, gc_tuning=False
        )
        untuned = n / untuned_elapsed
        print(f"crm batch handler without the GC tuning {untuned:,.0f}/s", flush=True)

        naive_dsn = await _setup_crm(stack, "bench_crm_naive")
        naive_elapsed, naive_rss = _run_child(
            naive_dsn, stack.kafka_bootstrap, topic, "crm-naive", 1, naive_n
        )
        naive = naive_n / naive_elapsed
        print(f"naive per-message {naive:,.0f}/s", flush=True)

    beside_row = (
        f"| **same, with the IFM consumer running too** (IFM: {ifm:,.0f} events/s) "
        f"| **{beside:,.0f}** | {beside / floor:.0%} |"
        if ifm is not None
        else f"| same, IFM consumer NOT running (it failed to start) | {beside:,.0f} | {beside / floor:.0%} |"
    )
    naive_row = (
        f"| naive: same handler, one event per transaction and offset commit ({naive_n:,} events)"
        f" | {naive:,.0f} | {naive / floor:.0%} |"
    )
    print(f"batch vs naive {crm / naive:.1f}x", flush=True)
    if not write:
        return
    write_section(
        "crm-consumer",
        f"""## CRM: SCM sales applied to loyalty

`uv run python bench/crm_consumer.py {n} {naive_n} --write` — {datetime.now(UTC):%Y-%m-%d %H:%M}Z,
commit {git_rev()}, {machine()}, load average at the start {load}.
{n:,} `scm.sale.recorded` events (two lines, customer named by e-mail, {CUSTOMERS:,} customers), 4 partitions.
Applied = customer resolved, points earned into a lot, ledger entry, sale bookkeeping, change event
in the outbox, inbox row, offsets committed (at most a second later: the kit's commit interval).
The CRM consumer runs in its own process, as
`python -m g3n_crm.entrypoints.consumer` does (the kit's event loop, the entrypoint's GC tuning),
up to {BATCH} records per partition per poll; the rate is timed from the first committed batch
(not counted) to the last, read from the loop's own counter.

| path | events/s | vs floor |
| --- | ---: | ---: |
| floor (consume + decode + `COPY` + commit) | {floor:,.0f} | 100% |
| **CRM batch handler** (kit `ConsumerLoop`, `max_batch` {BATCH}) | **{crm:,.0f}** | {crm / floor:.0%} |
{beside_row}
| same as the first, without the entrypoint's GC tuning [1] | {untuned:,.0f} | {untuned / floor:.0%} |
{naive_row}

[1] `g3n_kit.runtime.tune_gc(200_000)`: `gc.freeze()` after start-up, `gc.set_threshold(200_000, 20, 20)`.

Batch vs naive: {crm / naive:.1f}x. Consumer peak RSS: {rss / 1024:.0f} MB (beside IFM
{beside_rss / 1024:.0f} MB, naive run {naive_rss / 1024:.0f} MB).
{LIMITS}""",
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(_child, profile_env="CRM_BENCH_PROFILE", run_loop=_run_loop)
    else:
        args = [a for a in sys.argv[1:] if not a.startswith("--")]
        asyncio.run(
            run(
                int(args[0]) if args else 100_000,
                int(args[1]) if len(args) > 1 else 5_000,
                write="--write" in sys.argv,
            )
        )
