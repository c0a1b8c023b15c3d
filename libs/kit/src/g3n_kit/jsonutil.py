"""JSON helpers for bytes a batch keeps until it writes them."""

from __future__ import annotations


def exact(data: bytes) -> bytes:
    """A copy of ``data`` in an allocation of its own size.

    ``orjson.dumps`` returns bytes that keep its output buffer (~4 KB however short the JSON):
    a consumer batch holding a change event per sale until its transaction writes them held
    tens of MB that way. The copy costs ~0.15 µs for a 700-byte event.
    """
    return bytes(memoryview(data))
