"""A/B the consumers' throughput against another commit, alternating runs.

One run of a consumer benchmark on this (2-core, shared) machine varies by about ±10% from the
next, so a change worth a few percent only shows in alternating runs of both versions. This
checks the other commit out as a git worktree under ~/.cache/g3n/ab/<commit> (its own
environment, `uv sync --frozen`), then runs `bench/pair_cpu.py N` there and here in turn, ROUNDS
times, and prints each version's median and range of the IFM and CRM rates with both consumers
running. The other commit must have bench/pair_cpu.py (this file's commit or later).

Run: `uv run python bench/ab.py BASE_COMMIT [--rounds 3] [--events 60000]`
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATES = re.compile(r"IFM ([\d,]+)/s, CRM ([\d,]+)/s")


def worktree(commit: str) -> Path:
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{commit}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    path = Path.home() / ".cache" / "g3n" / "ab" / sha[:12]
    if not (path / "bench" / "pair_cpu.py").exists():
        subprocess.run(
            ["git", "worktree", "add", "--force", "--detach", str(path), sha], cwd=ROOT, check=True
        )
        if not (path / "bench" / "pair_cpu.py").exists():
            sys.exit(f"{commit} has no bench/pair_cpu.py: pick a later commit")
    subprocess.run(["uv", "sync", "--frozen", "--quiet"], cwd=path, check=True)
    return path


def one_run(tree: Path, events: int) -> tuple[float, float]:
    out = subprocess.run(
        ["uv", "run", "python", "bench/pair_cpu.py", str(events)],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = RATES.search(out)
    if found is None:
        raise RuntimeError(f"no rates in the output of {tree}/bench/pair_cpu.py:\n{out[-2000:]}")
    return float(found[1].replace(",", "")), float(found[2].replace(",", ""))


def summary(name: str, runs: list[tuple[float, float]]) -> str:
    ifm, crm = [r[0] for r in runs], [r[1] for r in runs]
    return (
        f"{name:>6}: IFM median {statistics.median(ifm):,.0f}/s ({min(ifm):,.0f}-{max(ifm):,.0f}),"
        f" CRM median {statistics.median(crm):,.0f}/s ({min(crm):,.0f}-{max(crm):,.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=60_000)
    args = parser.parse_args()
    base = worktree(args.base)
    runs: dict[str, list[tuple[float, float]]] = {"base": [], "this": []}
    for i in range(args.rounds):
        for name, tree in (("base", base), ("this", ROOT)):
            runs[name].append(one_run(tree, args.events))
            print(
                f"round {i + 1} {name}: IFM {runs[name][-1][0]:,.0f}/s, CRM {runs[name][-1][1]:,.0f}/s",
                flush=True,
            )
    print(summary("base", runs["base"]))
    print(summary("this", runs["this"]))


if __name__ == "__main__":
    main()
