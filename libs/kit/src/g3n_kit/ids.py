"""Server-generated, opaque, prefixed, time-ordered ids (`cmp_01JD…`), and event ids.

An id body is 26 Crockford base32 digits: 10 for the milliseconds since the epoch (ULID layout:
48 bits, the top digit < 8), then 16 random digits (80 bits). Ids sort by creation time, which
keeps "newest first" paging stable and btree inserts at the index's right edge, and never reveal
a row count.

Ids are minted per event on the consumers' hot path, so no Python loop runs per digit: the
random digits are `os.urandom` bytes mapped through a translation table (each byte's low 5 bits;
256 is a multiple of 32, so every digit is uniform), and the time digits are computed once per
millisecond. Single ids (``new_id``, ``uuid4_text``) come from small pools refilled by one
``os.urandom`` call per 256 ids (a system call per id cost ~0.7 µs); each pooled value is handed
out once (``deque.popleft`` is atomic, so threads never share one), and a forked child empties the
pools so that it never repeats its parent's values.
"""

from __future__ import annotations

import os
import time
from collections import deque

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


_POOL = 256
_random_parts: deque[str] = deque()  # 16 random digits each
_uuid_texts: deque[str] = deque()


def _random_part() -> str:
    try:
        return _random_parts.popleft()
    except IndexError:
        rnd = os.urandom(16 * _POOL).translate(_RANDOM_DIGIT).decode()
        _random_parts.extend([rnd[i : i + 16] for i in range(16, 16 * _POOL, 16)])
        return rnd[:16]


def new_id(prefix: str) -> str:
    return f"{prefix}_{_time_digits()}{_random_part()}"


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


def uuid4_text() -> str:
    """One random (version 4) UUID as canonical text, from the pool."""
    try:
        return _uuid_texts.popleft()
    except IndexError:
        fresh = uuid4_texts(_POOL)
        _uuid_texts.extend(fresh[1:])
        return fresh[0]


def _forget_pools() -> None:
    _random_parts.clear()
    _uuid_texts.clear()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork to guard against
    os.register_at_fork(after_in_child=_forget_pools)
