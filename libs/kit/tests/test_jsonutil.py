"""exact(): same bytes, without orjson's spare output buffer."""

from __future__ import annotations

import tracemalloc

import orjson
from g3n_kit.jsonutil import exact


def test_a_copy_of_the_same_bytes_in_an_allocation_of_its_size() -> None:
    doc = {"event_id": "0b5f" * 9, "payload": {"points": 10, "reason": "scm sale s-1"}}
    tracemalloc.start()
    try:
        kept = [exact(orjson.dumps(doc)) for _ in range(1000)]
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept[0] == orjson.dumps(doc)
    assert held < 1000 * (len(kept[0]) + 200)  # orjson's own results held ~4 KB each
