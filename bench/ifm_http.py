"""IFM HTTP latency: `/ifm/attribution/record` at a fixed open-loop rate.

The real HTTP process (`python -m g3n_influencer.entrypoints.http`, one uvicorn worker) serves a
fresh database with 200 profiles, each an active member of one active percent campaign with a
tier ladder; every request attributes a new two-line order to one of them (by code), so each
call locks the member row, computes the tier and commission, and writes the attribution, lines,
earning, ledger row and two change events in one transaction. Latency is measured by the
open-loop generator (bench/loadgen.py) from each request's scheduled time.

Run: `uv run python bench/ifm_http.py [RATE] [SECONDS] [--write]`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from common import bench_stack, git_rev, machine, write_section
from loadgen import run_load

PROFILES = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _seed(base: str, key: str) -> str:
    headers = {"x-orgcode": "acme", "x-api-key": key}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            resp = await client.post(path, json=body)
            resp.raise_for_status()
            data: dict[str, Any] = resp.json()["data"]
            return data

        sem = asyncio.Semaphore(16)

        async def profile(i: int) -> str:
            async with sem:
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
        port = _free_port()
        env = {
            **os.environ,
            "G3N_IFM_DATABASE_URL": dsn,
            "G3N_IFM_HTTP_PORT": str(port),
            "G3N_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
            "G3N_IFM_LOG_LEVEL": "WARNING",
        }
        cmd = [sys.executable, "-m", "g3n_influencer.entrypoints.http"]
        if os.environ.get("IFM_BENCH_PROFILE"):  # cProfile the server, stats to the named file
            cmd[1:1] = ["-m", "cProfile", "-o", os.environ["IFM_BENCH_PROFILE"]]
        proc = subprocess.Popen(cmd, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(timeout=1) as probe:
                for _ in range(300):
                    try:
                        if (await probe.get(f"{base}/ifm/stat")).status_code in (200, 503):
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
            from g3n_influencer.roles import ROLES
            from g3n_kit.apikeys import create_api_key

            conn = await asyncpg.connect(dsn)
            try:
                _, key = await create_api_key(conn, "acme", sorted(ROLES), "bench", allowed_roles=ROLES)
            finally:
                await conn.close()
            cid = await _seed(base, key)
            headers = {"x-orgcode": "acme", "x-api-key": key}
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
            rss = _peak_rss_mb(proc.pid)
            print(f"server peak RSS {rss:.0f} MB, CPU {cpu_ms:.2f} ms per request", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)

    if not write:
        return
    r = summary
    row = (
        f"| `/ifm/attribution/record` | {r['target_rps']:.0f} | {r['achieved_rps']} | {r['p50_ms']} |"
        f" {r['p90_ms']} | **{r['p99_ms']}** | {r['max_ms']} | {r['statuses']} |"
    )
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
Per request: one transaction of 4 statements (campaign rule + profile by code, member lock,
existing-order check, one statement writing attribution, lines, earning, ledger row, tier counter
and both change events). Client, server, PostgreSQL and the broker share the 2 cores, so other
load on the machine shows up directly in the tail.
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
