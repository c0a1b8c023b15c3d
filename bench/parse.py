"""Contract parsing per message: `parse_event` (with its SCM fast path) against the models alone.

Both consumers parse every SCM event, so this cost is paid twice per sale on the machine. The
messages are the consumer benchmarks' own (`sale_messages`: 1 to 3 units, two lines, a customer by
e-mail, a card tender). Each figure is the best of 7 passes over 2,000 messages, in µs per
message, in this process (no broker, no database).

- `parse_event`: what the consumers call (`g3n_contracts.codec`: the SCM branch validated in
  Rust, then the Python rules in one call).
- models alone: `Event[SaleRecorded].model_validate_json`, pydantic calling each Python
  validator itself (what `parse_event` did before the fast path; it still decides any message
  the fast path declines).

Run: `uv run python bench/parse.py [--write]` (`--write` replaces its section of
docs/benchmarks.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from common import git_rev, machine, sale_messages, write_section
from g3n_contracts import SaleRecorded, parse_event
from g3n_contracts.codec import envelope_model

PASSES = 7


def best_us(parse: Callable[[bytes], object], messages: list[bytes]) -> float:
    best = float("inf")
    for _ in range(PASSES):
        t0 = time.perf_counter()
        for raw in messages:
            parse(raw)
        best = min(best, (time.perf_counter() - t0) / len(messages))
    return best * 1e6


def main() -> None:
    messages = [value for _, value in sale_messages(2000, customers=100)]
    precise = envelope_model(SaleRecorded).model_validate_json
    assert all(parse_event(raw) == precise(raw) for raw in messages)  # same envelopes, both ways
    fast, alone = best_us(parse_event, messages), best_us(precise, messages)
    body = f"""## Contract parsing per SCM sale

`uv run python bench/parse.py --write` — commit {git_rev()}, {machine()}. Best of {PASSES} passes
over 2,000 of the consumer benchmarks' sale messages ({len(messages[0])} bytes each), µs per message.

| parser | µs per message |
| --- | ---: |
| `parse_event` (SCM branch validated in Rust, Python rules in one call) | **{fast:.2f}** |
| `Event[SaleRecorded].model_validate_json` (pydantic calls each Python validator) | {alone:.2f} |

Both consumers parse every sale, so the difference counts twice per sale on the machine.
"""
    print(body)
    if "--write" in sys.argv[1:]:
        write_section("parse", body)


if __name__ == "__main__":
    main()
