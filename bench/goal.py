"""The 10,000 events/s goal of both consumers, run after run: GROUPS groups of the benchmarks that
measure it, then a markdown table (one row per group) and, per measurement, its range, median
and how many runs fell below 10,000 events/s.

A group, run one benchmark after the other: the host check (`bench/common.py`, a fresh process,
lower is faster), `ifm_consumer.py 50000 500` (IFM with the CRM consumer on the same events),
`crm_consumer.py 50000 500` (CRM with the IFM consumer), `pair_cpu.py 60000` twice and
`pair_cpu.py 100000` (both at once, rates while both apply). About 2.5 minutes a group on the
project's 2-core machines; the VM's speed drifts by ±10% over an hour, so spread groups over time.

Run: `uv run python bench/goal.py [GROUPS]` (default 4). Writes nothing: the table goes to stdout.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from common import fresh_host_check_ms

HERE = Path(__file__).resolve().parent
GOAL = 10_000


@dataclass
class Group:
    start: str = ""
    end: str = ""
    host_ms: list[float] = field(default_factory=list)
    rates: dict[str, list[int]] = field(default_factory=dict)  # measurement -> events/s
    cpu_per_sale: list[int] = field(default_factory=list)  # pair runs: µs per sale, all processes

    def add(self, key: str, value: int | None) -> None:
        if value is not None:
            self.rates.setdefault(key, []).append(value)


MEASUREMENTS = {  # key: what it is, in the order of the table's columns
    "ifm": "IFM in `ifm_consumer.py 50000 500` (CRM beside it)",
    "ifm_crm": "CRM beside IFM in `ifm_consumer.py`",
    "crm": "CRM in `crm_consumer.py 50000 500` (IFM running too)",
    "crm_ifm": "IFM beside CRM in `crm_consumer.py`",
    "pair60_ifm": "IFM in `pair_cpu.py 60000`",
    "pair60_crm": "CRM in `pair_cpu.py 60000`",
    "pair100_ifm": "IFM in `pair_cpu.py 100000`",
    "pair100_crm": "CRM in `pair_cpu.py 100000`",
}


def _now() -> str:
    return f"{datetime.now(UTC):%H:%M}"


def _run(*args: str) -> str:
    """A benchmark script's stdout (its stderr too when it fails, so a failure is visible)."""
    proc = subprocess.run(
        [sys.executable, *args], cwd=HERE.parent, capture_output=True, text=True, timeout=1800, check=False
    )
    if proc.returncode != 0:
        tail = proc.stdout[-1500:] + proc.stderr[-1500:]
        print(f"{' '.join(args)} exited {proc.returncode}:\n{tail}", file=sys.stderr)
    return proc.stdout


def _int(pattern: str, text: str) -> int | None:
    m = re.search(pattern, text, re.M)
    return int(m[1].replace(",", "")) if m else None


def _host_check(g: Group) -> None:
    g.host_ms.append(fresh_host_check_ms())


def run_group() -> Group:
    g = Group(start=_now())
    _host_check(g)
    out = _run(str(HERE / "ifm_consumer.py"), "50000", "500")
    g.add("ifm", _int(r"^ifm batch handler ([\d,]+)/s", out))
    g.add("ifm_crm", _int(r"^crm beside it ([\d,]+)/s", out))
    _host_check(g)
    out = _run(str(HERE / "crm_consumer.py"), "50000", "500")
    g.add("crm", _int(r"^crm with IFM running too ([\d,]+)/s", out))
    g.add("crm_ifm", _int(r"^crm with IFM running too [\d,]+/s \(IFM ([\d,]+)/s\)", out))
    for n, key in (("60000", "pair60"), ("60000", "pair60"), ("100000", "pair100")):
        _host_check(g)
        out = _run(str(HERE / "pair_cpu.py"), n)
        g.add(f"{key}_ifm", _int(r"^IFM ([\d,]+)/s, CRM [\d,]+/s over", out))
        g.add(f"{key}_crm", _int(r"^IFM [\d,]+/s, CRM ([\d,]+)/s over", out))
        total = _int(r"^total (\d+) µs per sale", out)
        if total is not None:
            g.cpu_per_sale.append(total)
    g.end = _now()
    return g


def _cell(values: list[int] | None) -> str:
    return ", ".join(f"{v:,}" for v in values) if values else "—"


def table(groups: list[Group]) -> str:
    rows = [
        "| when (UTC) | host check, ms | `ifm_consumer.py 50000 500`: IFM / CRM beside"
        " | `crm_consumer.py 50000 500`: CRM / IFM beside"
        " | `pair_cpu.py 60000` \N{MULTIPLICATION SIGN}2: IFM / CRM"
        " | `pair_cpu.py 100000`: IFM / CRM | CPU µs per sale (pair runs) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for g in groups:
        r = g.rates.get
        host = f"{min(g.host_ms):.0f}-{max(g.host_ms):.0f}" if g.host_ms else "—"
        rows.append(
            f"| {g.start}-{g.end} | {host} | {_cell(r('ifm'))} / {_cell(r('ifm_crm'))}"
            f" | {_cell(r('crm'))} / {_cell(r('crm_ifm'))}"
            f" | {_cell(r('pair60_ifm'))} / {_cell(r('pair60_crm'))}"
            f" | {_cell(r('pair100_ifm'))} / {_cell(r('pair100_crm'))} | {_cell(g.cpu_per_sale)} |"
        )
    return "\n".join(rows)


def summary(groups: list[Group]) -> str:
    lines = []
    for key, label in MEASUREMENTS.items():
        values = [v for g in groups for v in g.rates.get(key, [])]
        if not values:
            lines.append(f"- {label}: no result")
            continue
        below = sum(v < GOAL for v in values)
        lines.append(
            f"- {label}: {min(values):,}-{max(values):,}/s, median {statistics.median(values):,.0f}/s;"
            f" below {GOAL:,}/s in {below} of {len(values)}"
        )
    return "\n".join(lines)


def main(n_groups: int) -> None:
    groups = []
    for i in range(n_groups):
        groups.append(run_group())
        done = f"group {i + 1} of {n_groups} done ({groups[-1].start}-{groups[-1].end})"
        print(done, file=sys.stderr, flush=True)
    print(table(groups))
    print()
    print(summary(groups))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
