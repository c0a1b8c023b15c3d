"""A small open-loop HTTP/1.1 load generator for latency benchmarks.

Requests are scheduled at a fixed rate (request i at t0 + i/rate) and latency is measured from
the *scheduled* time, so a slow server cannot hide its queueing (no coordinated omission).
Raw asyncio streams with keep-alive connections keep the client's own CPU cost low, which
matters on a 2-core machine where client, server and PostgreSQL share the cores.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson


@dataclass
class LoadResult:
    rate: float
    duration_s: float
    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        k = min(len(data) - 1, max(0, round(p / 100 * len(data)) - 1))
        return data[k]

    def summary(self) -> dict[str, float | int | dict[int, int]]:
        return {
            "target_rps": self.rate,
            "achieved_rps": round(len(self.latencies_ms) / self.duration_s, 1),
            "requests": len(self.latencies_ms),
            "p50_ms": round(self.percentile(50), 2),
            "p90_ms": round(self.percentile(90), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 2),
            "statuses": self.statuses,
            "errors": self.errors,
        }


class _Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await self.reader.readexactly(length)
        return status


def build_request(host: str, path: str, headers: dict[str, str], body: object) -> bytes:
    payload = orjson.dumps(body)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: keep-alive",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def run_load(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    body_for: Callable[[int], object],
    *,
    rate: float,
    duration_s: float,
    connections: int = 64,
) -> LoadResult:
    """Send `rate` requests/s for `duration_s` seconds; bodies come from `body_for(i)`."""
    result = LoadResult(rate=rate, duration_s=duration_s)
    total = int(rate * duration_s)
    idle: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(_Conn(host, port))
    # Pre-build requests so the client spends its time sending, not serialising.
    requests = [build_request(host, path, headers, body_for(i)) for i in range(total)]
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.1

    async def one(i: int) -> None:
        scheduled = t0 + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await idle.get()
        try:
            status = await conn.request(requests[i])
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.latencies_ms.append((loop.time() - scheduled) * 1000)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            conn = _Conn(host, port)
        finally:
            idle.put_nowait(conn)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(total)))
    result.duration_s = max(duration_s, time.perf_counter() - started - 0.1)
    return result
