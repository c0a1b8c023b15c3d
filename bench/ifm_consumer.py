"""IFM SCM consumer throughput: sale events with a promo code fully applied (attribution, earning,
lines, ledger row and change events committed, inbox row, offsets committed), against the raw
ingest floor and a naive per-message handler, in the same run, with the CRM consumer running on
the same events at the same time (as in production both consume `scm.sales.v1`).

* floor: the kit's floor path (consume + minimal decode + COPY + commit), from bench/floor.py;
* ifm: `g3n_influencer`'s batch handler in the kit's ConsumerLoop, in a child process of its own
  (as in production: uvloop, the consumer entrypoint's GC settings), default batch size; first
  alone on the machine, then with the CRM's consumer beside it in another child;
* naive: the same handler and loop with one event per transaction and an offset commit per event
  (max_batch=1, commit interval 0), on a subset.

Run: `uv run python bench/ifm_consumer.py [N] [NAIVE_N] [--no-crm] [--write]`
(`--write` replaces its section of docs/benchmarks.md). Diagnostics: `IFM_BENCH_STDERR=1` (child
CPU, batch sizes, batches in flight), `IFM_BENCH_PROFILE=<file>` (cProfile of the child),
`IFM_BENCH_DEFAULT_GC=1` (the interpreter's default collector settings).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from common import bench_stack, git_rev, machine, produce, sale_messages, write_section
from floor import _consume, _raw_row
from g3n_crm.settings import Settings as CrmSettings
from g3n_influencer.settings import Settings as IfmSettings
from harness import (
    applied_counter,
    bench_loop,
    child_main,
    create_floor_table,
    print_result,
    result_line,
    spawn_child,
    start_beside,
)

CRM_CUSTOMERS = 20_000
# Records per partition per poll: each service's default (G3N_IFM_/G3N_CRM_CONSUMER_MAX_BATCH).
BATCH = str(IfmSettings.model_fields["consumer_max_batch"].default)
CRM_BATCH = str(CrmSettings.model_fields["consumer_max_batch"].default)
LIMITS = """
How the batch is written: binary `COPY` per table (attributions with their lines as one JSON value,
ledger, then earnings), one packed outbox row holding all the change events (`g3n_kit.outbox.pack`,
stored lz4-compressed: kit migration 0005), one statement taking the parked returns of the new
orders; change events are encoded straight to JSON with orjson; the commission is computed once per
distinct (campaign, tier, lines) in a batch. The campaign member row (its tier counter) is the one
row every batch of the benchmark's influencer writes, and its lock is held until commit: members are
read without a lock, everything that does not depend on the counter is written, and only then the
counter is bumped (`UPDATE … RETURNING`: exact `prior_orders`) and the earnings written. With the
lock taken before the writes instead, IFM's backends waited on that row 47% of the time in a pair
run (`pg_stat_activity` sampled every 20 ms) and IFM ran at 8,900-9,400/s beside CRM; with it taken
last, 6% of the time (at the bump, while another batch writes its earnings and commits). Offsets of
applied batches are committed together at most every second (the kit's commit interval).

What limits it: CPU. Alone, the consumer process is most of a core and PostgreSQL most of the other
(`bench/solo_cpu.py` on Debian's python3.11, 2026-11-26: 41-47 µs of the consumer's CPU and 37-41 µs
of PostgreSQL's per sale, depending on the VM's phase; pyenv's unoptimised build took ~51 µs, see
"Which Python"). Beside the CRM consumer the machine is 97-99% busy and `bench/pair_cpu.py` (section
above) splits the CPU per sale between the two consumers, PostgreSQL and the broker: 159-184 µs per
sale in all over 60,000 sales and 163-193 µs over 100,000 in 24 runs on 2026-11-26 09:13-09:55Z
(PostgreSQL's share grows with the tables; the range is the VM's drift, see the top of
docs/benchmarks.md), where 10,000 sales/s each allows at most ~196 µs at 98% busy. Of the consumer's
own time: contract parsing ~15% (~7 µs per event, `bench/parse.py`), the kit's loop and claim ~10%,
the event loop and asyncpg's protocol ~10%, the handler the rest (rows and change events ~12%,
asyncpg's encoding of the COPY rows ~8%). PostgreSQL writes 4 heap rows per sale (inbox,
attribution, earning, ledger) and 16 index entries, plus its share of the batch's compressed change
events (a 40,000-sale run wrote 3,560 TOAST chunks with lz4 against 24,999 without, and 122 MB of
WAL against 183 MB); an index entry costs ~1 µs of its CPU when the key appends, ~2 µs when it lands
at random (inbox event id and natural key, order id) behind an organisation column that compares
equal at every step of the descent. The keys the consumer inserts into for each sale now lead with
their selective column (IFM migration 0007, kit migration 0006): PostgreSQL per sale 42.7 → 39.2 µs
(`bench/ab.py 5f6799a --solo --rounds 3 --events 60000`, 2026-11-26, medians); the per-profile and
per-campaign indexes keep the organisation first, as queries read an organisation's rows through
them.
"""


async def _child(dsn: str, bootstrap: str, topic: str, group: str, max_batch: int, n: int) -> None:
    """Consume until `n` events are in the inbox; print elapsed seconds (first event to last) and RSS."""
    if os.environ.get("IFM_BENCH_STDERR"):
        import logging

        logging.basicConfig(level=logging.INFO)
    from g3n_influencer.entrypoints.consumer_handlers import make_scm_handler
    from g3n_kit.db import Database

    db = await Database.connect(dsn, min_size=4, max_size=8)
    if not os.environ.get("IFM_BENCH_DEFAULT_GC"):
        from g3n_influencer.settings import Settings
        from g3n_kit.runtime import tune_gc

        tune_gc(Settings().consumer_gc_threshold)  # as the consumer entrypoint does
    stop = asyncio.Event()
    handler = make_scm_handler(group)
    sizes: list[int] = []
    if os.environ.get("IFM_BENCH_STDERR"):
        inner = handler

        in_flight = [0, 0]  # now, most

        async def handler(conn: Any, events: Any) -> None:
            sizes.append(len(events))
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
            try:
                await inner(conn, events)
            finally:
                in_flight[0] -= 1

    loop = bench_loop(db, bootstrap, group, topic, handler, max_batch)
    task = asyncio.create_task(loop.run(stop))
    # Progress from the kit's own counter (incremented after each batch's transaction commits,
    # just before its offsets are committed): polling the inbox with count(*) every few ms
    # cost the measured machine ~10% of its CPU. The database is checked after the run.
    applied = applied_counter(group, topic)
    t0 = cpu0 = 0.0
    first = 0
    try:
        while True:
            seen = applied()
            if seen and not t0:
                t0, cpu0, first = time.perf_counter(), time.process_time(), seen
            if seen >= n:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        stop.set()
        await task
    async with db.connection() as conn:
        in_inbox = await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer_group = $1", group)
    await db.close()
    assert in_inbox >= n, (in_inbox, n)
    if os.environ.get("IFM_BENCH_STDERR"):
        print(
            f"child cpu {time.process_time():.2f}s (from the first event {time.process_time() - cpu0:.2f}s)"
            f" wall-from-first-event {elapsed:.2f}s",
            file=sys.stderr,
        )
    if sizes:
        print(
            f"batches {len(sizes)} mean {sum(sizes) / len(sizes):.0f}"
            f" sizes {sorted(sizes)[:: max(1, len(sizes) // 20)]} most in flight {in_flight[1]}",
            file=sys.stderr,
        )
    # the clock starts when the first batch is committed: that batch is not counted in the rate
    print_result(elapsed * n / max(1, n - first), cpu / max(1, n - first))


def _result(proc: subprocess.Popen[str]) -> tuple[float, int]:
    out, err = proc.communicate(timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {err[-3000:]}")
    if os.environ.get("IFM_BENCH_STDERR"):
        print(err[-5000:], file=sys.stderr)
    result = result_line(out)
    if result is None:
        raise RuntimeError(f"no RESULT line from the child: {out[-2000:]}")
    return result


async def _setup_ifm(stack: Any, name: str) -> str:
    """A migrated IFM database with one active campaign whose member holds code ANNA10."""
    from g3n_influencer.bootstrap import build
    from g3n_influencer.service import campaigns, profiles
    from g3n_influencer.service.context import Actor
    from g3n_influencer.service.models import CampaignCreate, CampaignStatusSet, ProfileCreate
    from g3n_influencer.settings import Settings
    from g3n_kit.db import Database
    from g3n_kit.migrations import migrate

    dsn: str = await stack.aensure_database(name)
    await migrate(dsn, build(Settings(database_url=dsn)).all_migrations)
    db = await Database.connect(dsn, min_size=1, max_size=2)
    actor = Actor("acme", "bench")
    try:
        async with db.transaction() as conn:
            prof = await profiles.create_profile(
                conn,
                actor,
                ProfileCreate(handle="anna", display_name="Anna", payout_currency="USD", codes=["ANNA10"]),
            )
            cmp = await campaigns.create_campaign(
                conn,
                actor,
                CampaignCreate.model_validate(
                    {
                        "name": "bench",
                        "currency": "USD",
                        "starts_at": "2026-01-01T00:00:00Z",
                        "commission": {"type": "percent", "rate_bps": 1000},
                        "excluded_skus": ["GIFT"],
                        "profile_ids": [prof.profile_id],
                    }
                ),
            )
            await campaigns.set_campaign_status(
                conn,
                actor,
                CampaignStatusSet(campaign_id=cmp.campaign_id, expected_revision=1, status="active"),
            )
    finally:
        await db.close()
    return dsn


async def _check(dsn: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return (
            int(await conn.fetchval("SELECT count(*) FROM ifm_attributions")),
            int(await conn.fetchval("SELECT count(*) FROM ifm_earnings WHERE amount_minor > 0")),
            int(await conn.fetchval("SELECT coalesce(sum(message_count), 0) FROM outbox")),
        )
    finally:
        await conn.close()


async def run(n: int, naive_n: int, *, with_crm: bool, write: bool) -> None:
    with bench_stack() as stack:
        topic = f"bench.ifm.sales.{uuid.uuid4().hex[:6]}"
        await stack.acreate_topics([topic], partitions=4)
        floor_dsn = await stack.aensure_database("bench_ifm_floor")
        await create_floor_table(floor_dsn)
        print(f"generating {n} events …", flush=True)
        produced = await produce(
            stack.kafka_bootstrap, topic, sale_messages(n, customers=CRM_CUSTOMERS if with_crm else 0)
        )
        print(f"produced {produced:,.0f}/s", flush=True)
        floor = await _consume(stack.kafka_bootstrap, topic, n, floor_dsn, _raw_row)
        print(f"floor {floor:,.0f}/s", flush=True)

        alone: float | None = None
        if with_crm:  # first IFM alone on the machine, then (below) with the CRM consumer beside it
            alone_dsn = await _setup_ifm(stack, "bench_ifm_alone")
            alone_elapsed, alone_rss_kb = _result(
                spawn_child(
                    "ifm_consumer.py", alone_dsn, stack.kafka_bootstrap, topic, "ifm-alone", BATCH, str(n)
                )
            )
            alone = n / alone_elapsed
            assert (await _check(alone_dsn))[:2] == (n, n)
            print(f"ifm batch handler alone {alone:,.0f}/s, RSS {alone_rss_kb / 1024:.0f} MB", flush=True)

        dsn = await _setup_ifm(stack, "bench_ifm")
        crm_proc = None
        if with_crm:
            crm_proc = await start_beside(
                stack,
                service="CRM",
                setup="crm_consumer:_setup_crm",
                db_name="bench_ifm_crm",
                script="crm_consumer.py",
                args=(stack.kafka_bootstrap, topic, "crm-beside", CRM_BATCH, str(n)),
                note="; measuring IFM alone",
            )
        ifm_proc = spawn_child(
            "ifm_consumer.py", dsn, stack.kafka_bootstrap, topic, "ifm-bench", BATCH, str(n)
        )
        elapsed, rss = _result(ifm_proc)
        crm_rate = crm_rss = None
        if crm_proc is not None:
            crm_elapsed, crm_rss = _result(crm_proc)
            crm_rate = n / crm_elapsed
        ifm = n / elapsed
        atts, earns, outbox = await _check(dsn)
        assert atts == earns == n, (atts, earns)
        print(
            f"ifm batch handler {ifm:,.0f}/s, RSS {rss / 1024:.0f} MB; outbox messages {outbox}", flush=True
        )
        if crm_rate is not None and crm_rss is not None:
            print(f"crm beside it {crm_rate:,.0f}/s, RSS {crm_rss / 1024:.0f} MB", flush=True)

        naive_dsn = await _setup_ifm(stack, "bench_ifm_naive")
        naive_elapsed, naive_rss = _result(
            spawn_child(
                "ifm_consumer.py", naive_dsn, stack.kafka_bootstrap, topic, "ifm-naive", "1", str(naive_n)
            )
        )
        naive = naive_n / naive_elapsed
        print(f"naive per-message {naive:,.0f}/s", flush=True)

    if not write:
        return
    crm_line = (
        f"The CRM consumer ran at the same time on the same events: {crm_rate:,.0f} events/s, "
        f"peak RSS {crm_rss / 1024:.0f} MB."
        if crm_rate is not None and crm_rss is not None
        else "The CRM consumer did not run beside it in this run."
    )
    alone_row = (
        f"| IFM batch handler, alone on the machine | {alone:,.0f} | {alone / floor:.0%} |\n"
        if alone is not None
        else ""
    )
    beside = ", with the CRM consumer beside it" if crm_rate is not None else ""
    main_row = (
        f"| **IFM batch handler** (kit `ConsumerLoop`, default batch size){beside}"
        f" | **{ifm:,.0f}** | {ifm / floor:.0%} |"
    )
    naive_row = (
        f"| naive: same handler, one event per transaction and offset commit ({naive_n:,} events)"
        f" | {naive:,.0f} | {naive / floor:.0%} |"
    )
    write_section(
        "ifm-consumer",
        f"""## IFM: SCM sales attributed to influencers

`uv run python bench/ifm_consumer.py {n} {naive_n} --write` — {datetime.now(UTC):%Y-%m-%d %H:%M}Z,
commit {git_rev()}, {machine()}.
{n:,} `scm.sale.recorded` events (two lines, promo code `ANNA10` of an active member of an active
campaign), 4 partitions. Applied = code matched, member row locked (tier counter), attribution
(its lines on it) + earning + accrual ledger row inserted, two change events in the outbox, inbox
row, offsets committed (together, at most a second later: the kit's commit interval) — a fixed
number of statements per partition batch. The IFM consumer
runs in its own process. {crm_line}

| path | events/s | vs floor |
| --- | ---: | ---: |
| floor (consume + decode + `COPY` + commit) | {floor:,.0f} | 100% |
{alone_row}{main_row}
{naive_row}

Batch vs naive: {ifm / naive:.1f}x. IFM consumer peak RSS: {rss / 1024:.0f} MB
(naive run {naive_rss / 1024:.0f} MB).
{LIMITS}""",
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(_child, profile_env="IFM_BENCH_PROFILE")
    else:
        args = [a for a in sys.argv[1:] if not a.startswith("--")]
        asyncio.run(
            run(
                int(args[0]) if args else 50_000,
                int(args[1]) if len(args) > 1 else 2_000,
                with_crm="--no-crm" not in sys.argv,
                write="--write" in sys.argv,
            )
        )
