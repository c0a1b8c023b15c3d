"""A/B the consumers' throughput against another commit, alternating runs.

One run of a consumer benchmark on this (2-core, shared) machine varies by about ±10% from the
next, so a change worth a few percent only shows in alternating runs of both versions. This
checks the other commit out as a git worktree under ~/.cache/g3n/ab/<commit> (its own
environment, `uv sync --frozen`), then runs `bench/pair_cpu.py N` there and here in turn, ROUNDS
times, and prints each version's median and range of the IFM and CRM rates with both consumers
running. The other commit must have bench/pair_cpu.py (this file's commit or later).

With `--solo` it alternates `bench/solo_cpu.py N 1` instead: each consumer alone, its Python CPU
per event (steadier, ±3%; lower is better); the other commit must have bench/solo_cpu.py.

The other commit's environment runs on this process's interpreter, or with `--python PATH` on
that one (`UV_PYTHON`; one worktree per commit and interpreter, ~/.cache/g3n/ab/<commit>-<hash>):
`bench/ab.py HEAD --python /root/.pyenv/versions/3.11.7/bin/python3.11 --solo` compares
interpreters on the same code.

Run: `uv run python bench/ab.py BASE_COMMIT [--rounds 3] [--events 60000] [--solo] [--python PATH]`
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from common import interpreter

ROOT = Path(__file__).resolve().parent.parent
RATES = re.compile(r"IFM ([\d,]+)/s, CRM ([\d,]+)/s")
SOLO = re.compile(
    r"median: IFM ([\d.]+) µs/event(?: \(PostgreSQL ([\d.]+)\))?, CRM ([\d.]+) µs/event"
    r"(?: \(PostgreSQL ([\d.]+)\))?"
)


def worktree(commit: str, needs: str, env: dict[str, str]) -> Path:
    """A worktree of `commit` under ~/.cache/g3n/ab with its environment synced on the interpreter
    `env` names (UV_PYTHON); it must have `needs`."""
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{commit}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    python = hashlib.sha256(env["UV_PYTHON"].encode()).hexdigest()[:8]
    path = Path.home() / ".cache" / "g3n" / "ab" / f"{sha[:12]}-{python}"
    if not path.exists():
        subprocess.run(
            ["git", "worktree", "add", "--force", "--detach", str(path), sha], cwd=ROOT, check=True
        )
    if not (path / needs).exists():
        sys.exit(f"{commit} has no {needs}: pick a later commit")
    subprocess.run(["uv", "sync", "--all-packages", "--frozen", "--quiet"], cwd=path, env=env, check=True)
    return path


def one_run(tree: Path, events: int, solo: bool, env: dict[str, str]) -> tuple[float, ...]:
    """(IFM, CRM): rates with both running, or with `solo` each one's CPU µs per event alone,
    then PostgreSQL's CPU µs per event of each where the commit's solo_cpu.py reports it."""
    script, pattern = ("bench/solo_cpu.py", SOLO) if solo else ("bench/pair_cpu.py", RATES)
    out = subprocess.run(
        ["uv", "run", "python", script, str(events), *(["1"] if solo else [])],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = pattern.search(out)
    if found is None:
        raise RuntimeError(f"no figures in the output of {tree}/{script}:\n{out[-2000:]}")
    if solo:
        pg = (float(found[2]), float(found[4])) if found[2] is not None else ()
        return float(found[1]), float(found[3]), *pg
    return float(found[1].replace(",", "")), float(found[2].replace(",", ""))


def summary(name: str, runs: list[tuple[float, ...]], unit: str) -> str:
    ifm, crm = [r[0] for r in runs], [r[1] for r in runs]
    line = (
        f"{name:>6}: IFM median {statistics.median(ifm):,.1f}{unit} ({min(ifm):,.1f}-{max(ifm):,.1f}),"
        f" CRM median {statistics.median(crm):,.1f}{unit} ({min(crm):,.1f}-{max(crm):,.1f})"
    )
    if all(len(r) == 4 for r in runs):
        pg_ifm, pg_crm = [r[2] for r in runs], [r[3] for r in runs]
        line += (
            f"; PostgreSQL: IFM median {statistics.median(pg_ifm):.1f} ({min(pg_ifm):.1f}-{max(pg_ifm):.1f}),"
            f" CRM median {statistics.median(pg_crm):.1f} ({min(pg_crm):.1f}-{max(pg_crm):.1f})"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--solo", action="store_true", help="each consumer alone: CPU µs per event")
    parser.add_argument("--python", help="the interpreter of the other commit's environment")
    args = parser.parse_args()
    this_env = dict(os.environ)
    this_env.pop("VIRTUAL_ENV", None)
    # The other commit runs on this process's interpreter unless told otherwise: uv alone might
    # pick another one (the first on PATH), and the build of the interpreter moves the figures.
    base_env = dict(this_env, UV_PYTHON=args.python or interpreter())
    needs = "bench/solo_cpu.py" if args.solo else "bench/pair_cpu.py"
    base = worktree(args.base, needs, base_env)
    unit = " µs/event" if args.solo else "/s"
    runs: dict[str, list[tuple[float, ...]]] = {"base": [], "this": []}
    for i in range(args.rounds):
        for name, tree, env in (("base", base, base_env), ("this", ROOT, this_env)):
            figures = one_run(tree, args.events, args.solo, env)
            runs[name].append(figures)
            pg = f" (PostgreSQL {figures[2]:.1f} and {figures[3]:.1f})" if len(figures) == 4 else ""
            print(
                f"round {i + 1} {name}: IFM {figures[0]:,.1f}{unit}, CRM {figures[1]:,.1f}{unit}{pg}",
                flush=True,
            )
    print(summary("base", runs["base"], unit))
    print(summary("this", runs["this"], unit))


if __name__ == "__main__":
    main()
