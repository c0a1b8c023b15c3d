"""Server-generated, opaque, prefixed, time-ordered ids (`cmp_01JD…`).

Crockford base32 of 48 bits of milliseconds + 80 random bits (ULID layout), so ids sort by
creation time, which keeps "newest first" paging stable, and never reveal a row count.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_b32(millis, 10)}{_b32(rand, 16)}"
