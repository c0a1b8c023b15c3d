"""Ids in exactly the format of ``g3n_kit.ids.new_id`` (``cus_`` + 26 Crockford base32 chars: 48 bits
of milliseconds then 80 random bits), encoded with ``base64.b32encode`` + a translation table
instead of a Python loop: ~10x faster, which matters at two ids per sale in the SCM consumer.
(A candidate to replace the kit's encoder; the unit tests pin the two to the same format.)
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
