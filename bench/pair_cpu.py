"""Where the CPU goes when the IFM and CRM consumers apply the same sales at once on this machine.

Both consumer children (as in bench/ifm_consumer.py and bench/crm_consumer.py: the kit's loop,
each service's batch size and GC settings, their own databases on one PostgreSQL server, one
broker) apply the same N `scm.sale.recorded` events; every second this samples the CPU time of
every process from /proc (utime + stime) and of the whole machine (/proc/stat). Only seconds
in which both children were still applying count. Reported: each process group's share of a
core and its CPU per sale applied by both services (µs), against the 200 µs per sale that
10,000 events/s each on 2 cores would allow.

Run: `uv run python bench/pair_cpu.py [N] [--write]` (`--write` replaces its section of
docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from common import bench_stack, git_rev, machine, produce, sale_messages, write_section
from crm_consumer import _setup_crm
from g3n_crm.settings import Settings as CrmSettings
from g3n_influencer.settings import Settings as IfmSettings
from harness import result_line, spawn_child
from ifm_consumer import _setup_ifm

HZ = os.sysconf("SC_CLK_TCK")
CUSTOMERS = 20_000


def _ticks(pid: str) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def _group(pid: str, children: dict[int, str]) -> str | None:
    if int(pid) in children:
        return children[int(pid)]
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if cmd.startswith("postgres"):
        return "PostgreSQL (all processes)"
    if "kafka.Kafka" in cmd:
        return "Kafka broker (JVM)"
    return None


def _machine_busy() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values), values[3] + values[4]  # total, idle + iowait


async def _sample(children: dict[int, str], done: asyncio.Event) -> tuple[Counter[str], float, float]:
    """CPU ticks per group over the seconds both children ran; (ticks, seconds, machine busy)."""
    ticks: Counter[str] = Counter()
    seconds = 0.0
    busy_sum = 0.0
    prev = {p: _ticks(p) for p in os.listdir("/proc") if p.isdigit()}
    total0, idle0 = _machine_busy()
    t0 = time.monotonic()
    while not done.is_set():
        await asyncio.sleep(1.0)
        alive = all(_ticks(str(pid)) is not None for pid in children)
        now = {p: _ticks(p) for p in os.listdir("/proc") if p.isdigit()}
        total1, idle1 = _machine_busy()
        t1 = time.monotonic()
        if alive and not done.is_set():
            seconds += t1 - t0
            busy_sum += (1 - (idle1 - idle0) / max(1, total1 - total0)) * (t1 - t0)
            for pid, value in now.items():
                before = prev.get(pid)
                group = _group(pid, children)
                if value is not None and before is not None and group is not None:
                    ticks[group] += value - before
        prev, total0, idle0, t0 = now, total1, idle1, t1
    return ticks, seconds, busy_sum / seconds if seconds else float("nan")


async def run(n: int, write: bool) -> None:
    ifm_batch = str(IfmSettings.model_fields["consumer_max_batch"].default)
    crm_batch = str(CrmSettings.model_fields["consumer_max_batch"].default)
    with bench_stack() as stack:
        topic = f"bench.pair.{uuid.uuid4().hex[:6]}"
        await stack.acreate_topics([topic], partitions=4)
        print(f"generating {n} events …", flush=True)
        await produce(stack.kafka_bootstrap, topic, sale_messages(n, customers=CUSTOMERS))
        ifm_dsn = await _setup_ifm(stack, "bench_pair_ifm")
        crm_dsn = await _setup_crm(stack, "bench_pair_crm")
        ifm = spawn_child(
            "ifm_consumer.py", ifm_dsn, stack.kafka_bootstrap, topic, "ifm-pair", ifm_batch, str(n)
        )
        crm = spawn_child(
            "crm_consumer.py", crm_dsn, stack.kafka_bootstrap, topic, "crm-pair", crm_batch, str(n)
        )
        children = {ifm.pid: "IFM consumer (Python)", crm.pid: "CRM consumer (Python)"}
        done = asyncio.Event()
        sampler = asyncio.create_task(_sample(children, done))
        outs = await asyncio.gather(*(asyncio.to_thread(p.communicate, timeout=1800) for p in (ifm, crm)))
        done.set()
        ticks, seconds, busy = await sampler
    rates = []
    for name, (out, err) in zip(("IFM", "CRM"), outs, strict=True):
        result = result_line(out)
        if result is None:
            raise RuntimeError(f"{name} child failed: {err[-2000:]}")
        rates.append(n / result[0])
    ifm_rate, crm_rate = rates
    # A consumer's CPU per event it applied; shared processes' per event at the mean of the rates.
    rate_of = {children[ifm.pid]: ifm_rate, children[crm.pid]: crm_rate}
    mean_rate = (ifm_rate + crm_rate) / 2
    rows = []
    total_us = 0.0
    for group, t in ticks.most_common():
        core = t / HZ / seconds
        us = core / rate_of.get(group, mean_rate) * 1e6
        total_us += us
        rows.append(f"| {group} | {core:.0%} | {us:.0f} |")
    print(
        f"IFM {ifm_rate:,.0f}/s, CRM {crm_rate:,.0f}/s over {seconds:.0f} s sampled, machine {busy:.0%} busy"
    )
    print("\n".join(rows))
    print(f"total {total_us:.0f} µs per sale applied by both")
    if not write:
        return
    write_section(
        "pair-cpu",
        f"""## Both consumers at once: where the CPU goes

`uv run python bench/pair_cpu.py {n} --write` — {datetime.now(UTC):%Y-%m-%d %H:%M}Z, commit {git_rev()},
{machine()}.
The IFM and CRM consumers (each as in its own benchmark below: the kit's loop, the service's batch
size — IFM {ifm_batch}, CRM {crm_batch} records per partition — and GC settings) apply the same
{n:,} sales at once; CPU time per process from /proc, every second both were applying
({seconds:.0f} s sampled; the machine was {busy:.0%} busy). IFM applied {ifm_rate:,.0f} events/s,
CRM {crm_rate:,.0f} events/s.

| process group | share of one core | CPU µs per sale |
| --- | ---: | ---: |
{chr(10).join(rows)}
| **total** | | **{total_us:.0f}** |

10,000 events/s for each service on 2 cores allows 200 µs of CPU per sale for everything on the
machine; this run spent {total_us:.0f} µs (a consumer's CPU is per event it applied, PostgreSQL's and
the broker's per event at the mean of the two rates). The machine is busy the whole time: CPU,
not waiting, is what limits the two services when they run together.
""",
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(run(int(args[0]) if args else 60_000, "--write" in sys.argv))
