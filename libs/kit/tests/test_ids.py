"""Ids: prefixed, 26 Crockford base32 chars, time-ordered, unique."""

from __future__ import annotations

import time

from g3n_kit.ids import new_id

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _millis(ident: str) -> int:
    value = 0
    for ch in ident.split("_", 1)[1][:10]:
        value = value * 32 + ALPHABET.index(ch)
    return value


def test_an_id_is_the_prefix_and_26_crockford_chars_encoding_the_current_millisecond() -> None:
    ident = new_id("lpt")
    assert len(ident) == 4 + 26 and ident.startswith("lpt_")
    assert set(ident[4:]) <= set(ALPHABET)
    assert abs(_millis(ident) - time.time_ns() // 1_000_000) <= 50


def test_ids_sort_by_creation_time_and_do_not_repeat() -> None:
    first = new_id("x")
    time.sleep(0.002)
    assert first < new_id("x")
    assert len({new_id("x") for _ in range(10_000)}) == 10_000
