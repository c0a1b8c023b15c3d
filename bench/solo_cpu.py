"""Python CPU per event of each consumer alone: the steadiest figure for comparing a change.

Rates with both consumers at once vary by about ±10% from one run to the next on this machine;
a consumer's own CPU time per event, run alone, varies by about ±3%. This produces N
`scm.sale.recorded` events (as bench/pair_cpu.py does: promo code, known customers) once, then runs
the IFM and the CRM consumer child alone on them in turn, ROUNDS times, each with a fresh database
and consumer group, and prints each run's CPU per event (the child's own `CPU` line: process time
from its first committed batch to its last, per event) and rate, then the medians.

Run: `uv run python bench/solo_cpu.py [N] [ROUNDS]` (`bench/ab.py BASE --solo` alternates it with
another commit).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import uuid
from pathlib import Path

import asyncpg
from common import bench_stack, produce, sale_messages
from crm_consumer import _setup_crm
from g3n_crm.settings import Settings as CrmSettings
from g3n_devstack.stack import Stack
from g3n_influencer.settings import Settings as IfmSettings
from harness import cpu_line, result_line, spawn_child
from ifm_consumer import _setup_ifm
from pair_cpu import CUSTOMERS  # the same events as the pair benchmark

HZ = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _is_postgres(pid: str) -> bool:
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return False
    # backends rename themselves "postgres: …"; the postmaster keeps its path
    return argv0.startswith(b"postgres") or argv0.endswith(b"/postgres")


def _postgres_ticks() -> int:
    """CPU ticks of the PostgreSQL server so far: every live postgres process, plus the exited
    backends' time that the postmaster has reaped (its cutime and cstime)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fields = _stat(pid) if _is_postgres(pid) else None
        if fields is None:
            continue
        total += int(fields[11]) + int(fields[12])
        if not _is_postgres(fields[1]):  # the postmaster
            total += int(fields[13]) + int(fields[14])
    return total


async def _checkpoint(stack: Stack) -> None:
    admin = await asyncpg.connect(stack.admin_dsn)
    try:
        await admin.execute("CHECKPOINT")
    finally:
        await admin.close()


async def _one(stack: Stack, topic: str, service: str, n: int, run: int) -> tuple[float, float, float]:
    """(CPU µs per event, PostgreSQL CPU µs per event, events/s) of one child run alone.

    PostgreSQL's figure is the server's CPU while the child runs. The setup's dirty pages are
    flushed first, and the run's database is dropped after it, so no run pays a checkpoint or an
    autovacuum left over from another; the run's own autovacuum and WAL are counted."""
    name = f"solo_{service.lower()}_{run}"
    if service == "IFM":
        dsn = await _setup_ifm(stack, name)
        script, batch = "ifm_consumer.py", IfmSettings.model_fields["consumer_max_batch"].default
    else:
        dsn = await _setup_crm(stack, name)
        script, batch = "crm_consumer.py", CrmSettings.model_fields["consumer_max_batch"].default
    await _checkpoint(stack)
    child = spawn_child(
        script, dsn, stack.kafka_bootstrap, topic, f"solo-{service}-{run}", str(batch), str(n)
    )
    pg_before = _postgres_ticks()
    out, err = await asyncio.to_thread(child.communicate)
    pg_us = (_postgres_ticks() - pg_before) / HZ * 1e6 / n
    await stack.adrop_database(name)
    cpu, result = cpu_line(out), result_line(out)
    if cpu is None or result is None:
        raise RuntimeError(f"{service} child failed: {err[-2000:]}")
    return cpu, pg_us, n / result[0]


async def run(n: int, rounds: int) -> None:
    with bench_stack() as stack:
        topic = f"bench.solo.{uuid.uuid4().hex[:6]}"
        await stack.acreate_topics([topic], partitions=4)
        await produce(stack.kafka_bootstrap, topic, sale_messages(n, customers=CUSTOMERS))
        cpus: dict[str, list[float]] = {"IFM": [], "CRM": []}
        pgs: dict[str, list[float]] = {"IFM": [], "CRM": []}
        for i in range(rounds):
            for service in ("IFM", "CRM"):
                cpu, pg_us, rate = await _one(stack, topic, service, n, i)
                cpus[service].append(cpu)
                pgs[service].append(pg_us)
                print(
                    f"run {i + 1} {service}: {cpu:.1f} µs/event, PostgreSQL {pg_us:.1f} µs/event,"
                    f" {rate:,.0f}/s",
                    flush=True,
                )
        print(
            "median: "
            + ", ".join(
                f"{s} {statistics.median(v):.1f} µs/event (PostgreSQL {statistics.median(pgs[s]):.1f})"
                for s, v in cpus.items()
            ),
            flush=True,
        )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(run(int(args[0]) if args else 40_000, int(args[1]) if len(args) > 1 else 3))
