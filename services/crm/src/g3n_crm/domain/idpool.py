"""Ids in the kit's format (``g3n_kit.ids.new_id``), minted a chunk at a time for batch writers.

Same layout as the kit's generator (48 bits of milliseconds + 80 random bits, Crockford base32,
26 digits after the prefix), so the ids are indistinguishable from ``new_id``'s and sort the same
way; a chunk shares one clock read, one ``os.urandom`` and one base32 encode (20 bytes per id
are a whole number of 5-byte base32 groups, so the encoded chunk is the ids side by side).
The SCM consumer mints two ids per sale (ledger entry and lot); this makes that ~0.5 µs each.
"""

from __future__ import annotations

import base64
import os
import time

_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = bytes.maketrans(_RFC4648, _CROCKFORD)


def id_digits(count: int) -> list[str]:
    """``count`` id bodies (26 Crockford base32 digits each), time-ordered by the current ms."""
    head = (time.time_ns() // 1_000_000).to_bytes(10, "big")  # 4 zero bytes + 48-bit ms
    rnd = os.urandom(10 * count)
    raw = b"".join(head + rnd[i : i + 10] for i in range(0, 10 * count, 10))
    text = base64.b32encode(raw).translate(_TO_CROCKFORD).decode()
    return [text[i + 6 : i + 32] for i in range(0, 32 * count, 32)]


class IdPool:
    """A ``new_id``-compatible factory (``pool("lot")`` → ``lot_…``) refilled ``chunk`` at a time."""

    __slots__ = ("_chunk", "_digits")

    def __init__(self, chunk: int = 256) -> None:
        self._chunk = chunk
        self._digits: list[str] = []

    def __call__(self, prefix: str) -> str:
        if not self._digits:
            self._digits = id_digits(self._chunk)
            self._digits.reverse()  # pop() from the end hands them out in minting order
        return f"{prefix}_{self._digits.pop()}"
