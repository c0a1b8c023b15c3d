"""Shared benchmark plumbing: a stack to run against, event generation, result files.

Benchmarks are separate commands (`uv run python bench/<name>.py`), never part of the test
suite. With no configuration each starts its own local Kafka + PostgreSQL (the dev stack code,
durable settings: fsync and synchronous_commit stay on) in a temporary folder and stops it after.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from g3n_kit.kafka import idempotent_producer, send_all

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"


@contextlib.contextmanager
def bench_stack() -> Iterator[Any]:
    from g3n_devstack.local import LocalStack

    with tempfile.TemporaryDirectory(prefix="g3n-bench-") as home:
        os.chmod(home, 0o755)  # PostgreSQL runs as the postgres user and must reach its data dir
        stack = LocalStack(Path(home), ephemeral=True, tuned_for_tests=False)
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()


class _Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a: int, b: int) -> None:
        self.a = a
        self.b = b


def host_check_ms() -> float:
    """The best of 5 times (ms) of a fixed pure-Python workload that allocates ~100 MB (300,000
    dict entries holding lists and dicts, 300,000 small objects; the default GC settings of a fresh
    interpreter, so the collector's work is part of it, as it is of the consumers'): how fast this
    host runs right now. The machines here are VMs whose speed drifts, and every throughput figure
    with it: a first version of this loop took 415 ms at 07:40 and 475-540 ms at 08:08-08:20 on
    2026-11-26 (same interpreter); the consumers' CPU per event in `bench/pair_cpu.py` was 10-15%
    higher at 08:13-08:16 than at 08:01-08:02, same code. Compare runs together with it."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        table: dict[str, list[Any]] = {}
        for i in range(300_000):
            table[str(i)] = [i, i * 2, {"a": i}]
        total = 0
        for k, v in table.items():
            total += v[0] + len(k)
        objects = [_Slotted(i, i) for i in range(300_000)]
        total += sum(o.a for o in objects)
        del table, objects
        best = min(best, time.perf_counter() - t0)
    assert total > 0
    return best * 1000


def fresh_host_check_ms() -> float:
    """``host_check_ms`` in a fresh interpreter: in a benchmark's own process the figure would
    also measure that process (its heap, which the collector walks; its GC settings)."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__))], capture_output=True, text=True, check=True
    ).stdout
    return float(out.split()[2])


def interpreter() -> str:
    """The path of the interpreter this process runs on (the venv's python resolved)."""
    return os.path.realpath(sys._base_executable)


def machine() -> str:
    cpu = "unknown cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    # The interpreter's build matters (~10% of the consumers' CPU: docs/benchmarks.md, "Which
    # Python"), so name it, not just its version.
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()} ({interpreter()}),"
        f" host check {fresh_host_check_ms():.0f} ms (`bench/common.py`; lower is faster)"
    )


def sale_messages(
    n: int, *, org: str = "acme", promo: str | None = "ANNA10", customers: int = 0
) -> list[tuple[bytes, bytes]]:
    """`n` valid `scm.sale.recorded` events (validated by the contracts on the way)."""
    from g3n_contracts import SaleRecorded, encode_event, event_types, kafka_key, new_event

    out: list[tuple[bytes, bytes]] = []
    for i in range(n):
        qty = 1 + i % 3
        payload = SaleRecorded.model_validate(
            {
                "sale_id": f"s-{i}",
                "order_id": f"o-{i}",
                "channel": "web",
                "store_id": None,
                "occurred_at": "2026-11-20T14:03:11Z",
                "currency": "USD",
                "customer": (
                    {"customer_id": None, "email": f"c{i % customers}@example.com", "external_ref": None}
                    if customers
                    else None
                ),
                "promo_codes": [promo] if promo else [],
                "referral_code": None,
                "lines": [
                    {
                        "line_id": "1",
                        "sku": "TSHIRT-M",
                        "qty": qty,
                        "unit_price_minor": 2500,
                        "discount_minor": 0,
                        "net_amount_minor": qty * 2500,
                        "category": "apparel",
                    },
                    {
                        "line_id": "2",
                        "sku": "CAP",
                        "qty": 1,
                        "unit_price_minor": 1500,
                        "discount_minor": 100,
                        "net_amount_minor": 1400,
                        "category": "apparel",
                    },
                ],
                "tenders": [{"type": "card", "amount_minor": qty * 2500 + 1400}],
            }
        )
        env = new_event(event_types.SALE_RECORDED, payload, org_code=org, source="scm")
        out.append((kafka_key(env), encode_event(env)))
    return out


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> float:
    """Produce all messages (idempotent, acks=all); returns messages per second."""
    async with idempotent_producer(bootstrap, max_batch_size=512 * 1024) as producer:
        t0 = time.perf_counter()
        await send_all(producer, topic, messages)
        return len(messages) / (time.perf_counter() - t0)


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section between markers `<!-- bench:name -->` in docs/benchmarks.md."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    header = "# Benchmarks\n\nMeasured on this project's machines; each section says how to reproduce it.\n"
    text = RESULTS.read_text() if RESULTS.exists() else header
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    RESULTS.write_text(text)


def git_rev() -> str:
    """The commit measured, with " + uncommitted changes" when files other than
    docs/benchmarks.md (which the benchmarks write) differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    try:
        rev = git("rev-parse", "--short", "HEAD").strip()
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/benchmarks.md")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev} + uncommitted changes" if dirty.strip() else rev


if __name__ == "__main__":  # `uv run python bench/common.py`: the host check alone
    print(f"host check {host_check_ms():.1f} ms")
