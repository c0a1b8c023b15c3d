"""Shared harness of the service benchmarks (bench/crm_*.py, bench/ifm_*.py): the service process
and its readiness, peak RSS, the consumer children and their RESULT line, the other service's
consumer running beside, the latency table rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm_hwm_kb(pid: int | str) -> int | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def peak_rss_mb(pid: int) -> float:
    """Peak RSS of process `pid` in MB (NaN when the kernel does not say)."""
    kb = _vm_hwm_kb(pid)
    return float("nan") if kb is None else kb / 1024


def peak_rss_kb() -> int:
    """Peak RSS of this process in kB (0 when the kernel does not say)."""
    return _vm_hwm_kb("self") or 0


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


# --- HTTP services -------------------------------------------------------------------------


@contextlib.contextmanager
def http_service(
    module: str, env_prefix: str, dsn: str, bootstrap: str, port: int, *, python_args: Collection[str] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """`python [python_args] -m module` serving on `port`, configured through `G3N_<PREFIX>_*`."""
    env = {
        **os.environ,
        f"G3N_{env_prefix}_DATABASE_URL": dsn,
        f"G3N_{env_prefix}_HTTP_PORT": str(port),
        "G3N_KAFKA_BOOTSTRAP": bootstrap,
        f"G3N_{env_prefix}_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, *python_args, "-m", module], env=env)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


async def wait_ready(url: str) -> None:
    """Poll `url` until it answers 200 or 503 (up to ~30 s; the load run then shows what is wrong)."""
    async with httpx.AsyncClient(timeout=1) as probe:
        for _ in range(300):
            try:
                if (await probe.get(url)).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


async def bench_api_key(dsn: str, roles: Collection[str]) -> str:
    """An API key of org `acme` holding all of `roles`."""
    from g3n_kit.apikeys import create_api_key

    conn = await asyncpg.connect(dsn)
    try:
        _, key = await create_api_key(conn, "acme", sorted(roles), "bench", allowed_roles=roles)
    finally:
        await conn.close()
    return key


def api_headers(key: str) -> dict[str, str]:
    return {"x-orgcode": "acme", "x-api-key": key}


class Seeder:
    """POSTs with the bench key; returns the reply's `data`. At most 16 requests in flight."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.sem = asyncio.Semaphore(16)

    async def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        resp = await self.client.post(path, json=body)
        resp.raise_for_status()
        data: dict[str, Any] = resp.json()["data"]
        return data


@contextlib.asynccontextmanager
async def seeder(base: str, key: str) -> AsyncIterator[Seeder]:
    async with httpx.AsyncClient(base_url=base, headers=api_headers(key), timeout=30) as client:
        yield Seeder(client)


def latency_row(call: str, r: Mapping[str, Any]) -> str:
    """One row of the `| call | target/s | achieved/s | p50 | p90 | p99 | max | statuses |` table."""
    return (
        f"| `{call}` | {r['target_rps']:.0f} | {r['achieved_rps']} | {r['p50_ms']} | {r['p90_ms']} |"
        f" **{r['p99_ms']}** | {r['max_ms']} | {r['statuses']} |"
    )


# --- consumers -----------------------------------------------------------------------------


async def create_floor_table(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "CREATE TABLE floor_rows (event_id uuid, org_code text, order_id text, net_minor bigint)"
    )
    await conn.close()


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(HERE), **extra}


def child_args(script: str, *args: str) -> list[str]:
    """The command line of a consumer child: `python bench/<script> --child DSN BOOTSTRAP TOPIC GROUP
    MAX_BATCH N`."""
    return [sys.executable, str(HERE / script), "--child", *args]


def spawn_child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        child_args(script, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def result_line(stdout: str) -> tuple[float, int] | None:
    """The child's `RESULT <seconds> <peak RSS kB>` line."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith("RESULT")), None)
    if line is None:
        return None
    _, elapsed, rss = line.split()
    return float(elapsed), int(rss)


def applied_counter(group: str, topic: str) -> Callable[[], float]:
    """The kit loop's own count of applied events (`g3n_events_applied_total`), read directly:
    `REGISTRY.get_sample_value` collects every metric (the process collector reads /proc) and
    polling it every few ms took ~2% of the consumer's CPU."""
    from g3n_kit.metrics import EVENTS_APPLIED

    return EVENTS_APPLIED.labels(group, topic)._value.get  # type: ignore[no-any-return]


def bench_loop(db: Any, bootstrap: str, group: str, topic: str, handler: Any, max_batch: int) -> Any:
    """The kit's consumer loop as a bench child runs it; with ``max_batch`` 1 (the naive baseline:
    one event per transaction) it also commits the offset of every event."""
    from g3n_kit.consumer import ConsumerLoop

    return ConsumerLoop(
        db=db,
        bootstrap=bootstrap,
        group=group,
        handlers={topic: handler},
        max_batch=max_batch,
        commit_interval_s=0.0 if max_batch == 1 else 1.0,
    )


def print_result(elapsed: float, cpu_per_event: float | None = None) -> None:
    """What a consumer child prints last (parsed by `result_line`; `cpu_line` reads the CPU line:
    the child's own CPU time per event applied after its first batch, in µs)."""
    if cpu_per_event is not None:
        print(f"CPU {cpu_per_event * 1e6:.2f}", flush=True)
    print(f"RESULT {elapsed:.4f} {peak_rss_kb()}", flush=True)


def cpu_line(stdout: str) -> float | None:
    """The child's `CPU <µs per event>` line, if it printed one."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith("CPU ")), None)
    return None if line is None else float(line.split()[1])


async def start_beside(
    stack: Any, *, service: str, setup: str, db_name: str, script: str, args: tuple[str, ...], note: str = ""
) -> subprocess.Popen[str] | None:
    """Start the other service's consumer child (`bench/<script>`) on the same topic, its database
    set up by `setup` ("module:function", the other service's bench helper); None if that failed."""
    try:
        module, func = setup.split(":")
        dsn = await getattr(importlib.import_module(module), func)(stack, db_name)
    except Exception as exc:  # the other service's bench helper is another team's; run without it
        print(f"{service} consumer not started ({type(exc).__name__}: {exc}){note}", flush=True)
        return None
    return spawn_child(script, dsn, *args)


def child_main(
    child: Callable[[str, str, str, str, int, int], Coroutine[Any, Any, None]],
    *,
    profile_env: str,
    run_loop: Callable[[Coroutine[Any, Any, None]], None] | None = None,
) -> None:
    """The `--child DSN BOOTSTRAP TOPIC GROUP MAX_BATCH N` entry of a consumer bench script: runs
    `child` on the service's event loop (`run_loop`, by default the kit's: uvloop, as the consumer
    process runs), or under cProfile on asyncio's when `$<profile_env>` names a stats file (written
    to `<file>.<MAX_BATCH>`)."""
    dsn, bootstrap, topic, group, batch, n = sys.argv[2:8]
    args = (dsn, bootstrap, topic, group, int(batch), int(n))
    if os.environ.get(profile_env):  # cProfile the child, stats to the named file
        import cProfile

        cProfile.runctx(
            "asyncio.run(child(*args))",
            {"asyncio": asyncio, "child": child, "args": args},
            {},
            f"{os.environ[profile_env]}.{batch}",
        )
        return
    if run_loop is None:
        from g3n_kit.runtime import run_loop
    run_loop(child(*args))
