"""Server-generated, opaque, prefixed, time-ordered ids (`cmp_01JD…`), and event ids.

An id body is 26 Crockford base32 digits: 10 for the milliseconds since the epoch (ULID layout:
48 bits, the top digit < 8), then 16 random digits (80 bits). Ids sort by creation time, which
keeps "newest first" paging stable and btree inserts at the index's right edge, and never reveal
a row count.

Ids are minted per event on the consumers' hot path, so no Python loop runs per digit: the
random digits are `os.urandom` bytes mapped through a translation table (each byte's low 5 bits;
256 is a multiple of 32, so every digit is uniform), and the time digits are computed once per
millisecond.
"""

from __future__ import annotations

import os
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_DIGIT = bytes.maketrans(bytes(range(256)), bytes(ord(CROCKFORD[b & 31]) for b in range(256)))
_clock: tuple[int, str] = (-1, "")  # the last millisecond seen and its 10 digits, swapped whole


def _time_digits() -> str:
    global _clock
    ms = time.time_ns() // 1_000_000
    seen, digits = _clock
    if ms != seen:
        digits = "".join(CROCKFORD[(ms >> shift) & 31] for shift in range(45, -1, -5))
        _clock = (ms, digits)
    return digits


def new_id(prefix: str) -> str:
    return f"{prefix}_{_time_digits()}{os.urandom(16).translate(_RANDOM_DIGIT).decode()}"


def id_bodies(count: int) -> list[str]:
    """`count` id bodies (no prefix) of the current millisecond, from one `os.urandom` call."""
    head = _time_digits()
    rnd = os.urandom(16 * count).translate(_RANDOM_DIGIT).decode()
    return [head + rnd[i : i + 16] for i in range(0, 16 * count, 16)]


def uuid4_texts(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as canonical text, from one `os.urandom` call
    (`str(uuid.uuid4())` costs ~4 µs; event ids are minted per outgoing event)."""
    raw = os.urandom(16 * count).hex()
    out = []
    for i in range(0, 32 * count, 32):
        h = raw[i : i + 32]
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}")
    return out
