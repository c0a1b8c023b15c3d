"""The CRM's fast ids have the kit's format and sort by creation time with the kit's ids."""

from __future__ import annotations

import time

from g3n_crm.domain.ids import new_id
from g3n_kit import ids as kit_ids

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _millis(ident: str) -> int:
    value = 0
    for ch in ident.split("_", 1)[1][:10]:
        value = value * 32 + ALPHABET.index(ch)
    return value


def test_same_shape_and_time_encoding_as_the_kit() -> None:
    ours, theirs = new_id("lpt"), kit_ids.new_id("lpt")
    assert len(ours) == len(theirs) == 4 + 26 and ours.startswith("lpt_")
    assert set(ours[4:]) <= set(ALPHABET)
    assert abs(_millis(ours) - _millis(theirs)) <= 2
    assert abs(_millis(ours) - time.time_ns() // 1_000_000) <= 50


def test_ids_sort_by_creation_time_across_both_generators() -> None:
    kit_first = kit_ids.new_id("x")
    time.sleep(0.002)
    ours = new_id("x")
    time.sleep(0.002)
    assert kit_first < ours < kit_ids.new_id("x")
    assert len({new_id("x") for _ in range(10_000)}) == 10_000
