"""The batch id pool mints ids in exactly the kit's format."""

from __future__ import annotations

import re
import time

from g3n_crm.domain.idpool import IdPool
from g3n_kit.ids import id_bodies, new_id

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SHAPE = re.compile(r"^lot_[0-9A-HJKMNP-TV-Z]{26}$")


def _ms(body: str) -> int:
    value = 0
    for ch in body:
        value = value * 32 + _CROCKFORD.index(ch)
    return value >> 80


def test_same_shape_and_clock_as_the_kit() -> None:
    before = time.time_ns() // 1_000_000
    pool = IdPool(chunk=8)
    ids = [pool("lot") for _ in range(20)]  # crosses two refills
    after = time.time_ns() // 1_000_000
    kit = new_id("lot")
    assert all(_SHAPE.match(i) for i in [*ids, kit])
    assert len(set(ids)) == 20
    assert all(before <= _ms(i[4:]) <= after for i in ids)
    assert _ms(kit[4:]) >= _ms(ids[0][4:])


def test_digits_are_independent_per_id() -> None:
    bodies = id_bodies(100)
    assert len(bodies) == 100 and len(set(bodies)) == 100
    assert all(len(b) == 26 and b[0] in "01234567" for b in bodies)  # 130 bits: top 2 zero
    assert len({b[:10] for b in bodies}) == 1  # one clock read per chunk (48 bits + 2 zero bits)
