"""Server-generated, opaque, prefixed, time-ordered ids (`cmp_01JD…`).

Crockford base32 of 48 bits of milliseconds + 80 random bits (ULID layout), so ids sort by
creation time, which keeps "newest first" paging stable, and never reveal a row count.
Encoded with `base64.b32encode` and a translation table rather than a Python loop: ids are
minted per event on the consumers' hot path.
"""

from __future__ import annotations

import base64
import os
import time

_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = bytes.maketrans(_RFC4648, _CROCKFORD)


def new_id(prefix: str) -> str:
    value = ((time.time_ns() // 1_000_000) << 80) | int.from_bytes(os.urandom(10), "big")
    # 160 bits = 32 base32 digits; the top 30 bits are zero, the last 26 digits are the id.
    digits = base64.b32encode(value.to_bytes(20, "big")).translate(_TO_CROCKFORD)
    return f"{prefix}_{digits[6:].decode()}"
