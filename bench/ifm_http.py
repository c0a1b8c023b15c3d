"""IFM HTTP latency: `/ifm/attribution/record` at a fixed open-loop rate.

The real HTTP process (`python -m g3n_influencer.entrypoints.http`, one uvicorn worker) serves a
fresh database with 200 profiles, each an active member of one active percent campaign with a
tier ladder; every request attributes a new two-line order to one of them (by code), so each
call bumps the member's tier counter (its row lock), computes the tier and commission, and writes
the attribution, lines, earning, ledger row and two change events in one transaction. Latency is
measured by the open-loop generator (bench/loadgen.py) from each request's scheduled time.

Run: `uv run python bench/ifm_http.py [RATE] [SECONDS] [--write]`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import bench_stack, git_rev, machine, write_section
from harness import (
    api_headers,
    bench_api_key,
    free_port,
    http_service,
    latency_row,
    peak_rss_mb,
    seeder,
    wait_ready,
)
from loadgen import run_load

PROFILES = 200


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _seed(base: str, key: str) -> str:
    async with seeder(base, key) as api:
        post = api.post

        async def profile(i: int) -> str:
            async with api.sem:
                body = {
                    "handle": f"inf{i}",
                    "display_name": f"Inf {i}",
                    "payout_currency": "USD",
                    "codes": [f"C{i}"],
                }
                return str((await post("/ifm/profile/create", body))["profile_id"])

        ids = await asyncio.gather(*(profile(i) for i in range(PROFILES)))
        cmp = await post(
            "/ifm/campaign/create",
            {
                "name": "bench",
                "currency": "USD",
                "starts_at": "2026-01-01T00:00:00Z",
                "commission": {"type": "percent", "rate_bps": 1000},
                "profile_ids": list(ids),
            },
        )
        cid = str(cmp["campaign_id"])
        await post(
            "/ifm/campaign/status/set", {"campaign_id": cid, "expected_revision": 1, "status": "active"}
        )
        await post(
            "/ifm/discount-tier/set",
            {
                "campaign_id": cid,
                "expected_revision": 2,
                "tiers": [
                    {"name": "base", "min_orders": 0, "discount_bps": 500, "commission_bps": 1000},
                    {"name": "pro", "min_orders": 20, "discount_bps": 1000, "commission_bps": 1500},
                ],
            },
        )
    return cid


async def run(rate: float, seconds: float, write: bool) -> None:
    with bench_stack() as stack:
        dsn = await stack.aensure_database("bench_ifm_http")
        port = free_port()
        python_args: list[str] = []
        if os.environ.get("IFM_BENCH_PROFILE"):  # cProfile the server, stats to the named file
            python_args = ["-m", "cProfile", "-o", os.environ["IFM_BENCH_PROFILE"]]
        with http_service(
            "g3n_influencer.entrypoints.http",
            "IFM",
            dsn,
            stack.kafka_bootstrap,
            port,
            python_args=python_args,
        ) as proc:
            base = f"http://127.0.0.1:{port}"
            await wait_ready(f"{base}/ifm/stat")
            from g3n_influencer.roles import ROLES

            key = await bench_api_key(dsn, ROLES)
            cid = await _seed(base, key)
            headers = api_headers(key)
            run_id = datetime.now(UTC).strftime("%H%M%S")

            def body_for(prefix: str) -> Any:
                def record(i: int) -> object:
                    return {
                        "campaign_id": cid,
                        "code": f"C{i % PROFILES}",
                        "order_id": f"{prefix}-{run_id}-{i}",
                        "occurred_at": "2026-11-20T14:03:11Z",
                        "currency": "USD",
                        "lines": [
                            {
                                "line_id": "1",
                                "sku": "TSHIRT-M",
                                "qty": 1 + i % 3,
                                "net_amount_minor": 2500 + i % 700,
                            },
                            {"line_id": "2", "sku": "CAP", "qty": 1, "net_amount_minor": 1400},
                        ],
                    }

                return record

            path = "/ifm/attribution/record"
            await run_load("127.0.0.1", port, path, headers, body_for("warm"), rate=rate, duration_s=2)
            cpu0 = _cpu_s(proc.pid)
            res = await run_load(
                "127.0.0.1", port, path, headers, body_for("o"), rate=rate, duration_s=seconds
            )
            cpu_ms = (_cpu_s(proc.pid) - cpu0) * 1000 / max(1, res.sent or len(res.latencies_ms))
            summary = res.summary()
            print("attribution/record", summary, flush=True)
            rss = peak_rss_mb(proc.pid)
            print(f"server peak RSS {rss:.0f} MB, CPU {cpu_ms:.2f} ms per request", flush=True)

    if not write:
        return
    row = latency_row("/ifm/attribution/record", summary)
    write_section(
        "ifm-http",
        f"""## IFM: HTTP latency of attribution/record

`uv run python bench/ifm_http.py {rate:.0f} {seconds:.0f} --write` — {datetime.now(UTC):%Y-%m-%d %H:%M}Z,
commit {git_rev()}, {machine()}. One `g3n_influencer.entrypoints.http` process (uvicorn, one
worker), open-loop load from the same machine, latency from the scheduled send time; new two-line
orders attributed by code to {PROFILES} members of one campaign with a tier ladder.
Goal: p99 ≤ 20 ms at 500 requests/s.

| call | target/s | achieved/s | p50 ms | p90 ms | p99 ms | max ms | statuses |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
{row}

Server peak RSS: {rss:.0f} MB; server CPU {cpu_ms:.2f} ms per request (uvloop + httptools, start-up
objects frozen out of the garbage collector's sight: `g3n_kit.runtime.tune_gc`).
Per request: one transaction of 6 statements (campaign rule + profile by code, order lock,
existing-order check, member read, tier counter bump, one statement writing attribution, lines,
earning, ledger row and both change events). Client, server, PostgreSQL and the broker share the
2 cores, so other load on the machine shows up directly in the tail.
""",
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(
        run(
            float(args[0]) if args else 500.0,
            float(args[1]) if len(args) > 1 else 20.0,
            "--write" in sys.argv,
        )
    )
