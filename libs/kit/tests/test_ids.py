"""Ids: prefixed, 26 Crockford base32 chars, time-ordered, unique."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from uuid import RFC_4122, UUID

from g3n_kit.ids import id_bodies, new_id, uuid4_text, uuid4_texts

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


def test_bodies_of_one_call_share_the_millisecond_and_differ_in_their_random_digits() -> None:
    before = time.time_ns() // 1_000_000
    bodies = id_bodies(1000)
    after = time.time_ns() // 1_000_000
    assert len(set(bodies)) == 1000
    assert all(len(b) == 26 and set(b) <= set(ALPHABET) and b[0] in "01234567" for b in bodies)
    assert len({b[:10] for b in bodies}) == 1
    assert before <= _millis("x_" + bodies[0]) <= after


def test_random_digits_use_the_whole_alphabet_evenly() -> None:
    counts = Counter("".join(b[10:] for b in id_bodies(20_000)))  # 320,000 digits
    assert set(counts) == set(ALPHABET)
    assert max(counts.values()) / min(counts.values()) < 1.1  # 10,000 expected per digit


def test_event_ids_are_canonical_version_4_uuids() -> None:
    ids = uuid4_texts(2000)
    assert len(set(ids)) == 2000
    assert all((UUID(i).version, UUID(i).variant, str(UUID(i))) == (4, RFC_4122, i) for i in ids)


def test_single_event_ids_from_the_pool_are_canonical_and_never_repeat() -> None:
    ids = [uuid4_text() for _ in range(2000)]  # several refills of the pool
    assert len(set(ids)) == 2000
    assert all((UUID(i).version, str(UUID(i))) == (4, i) for i in ids)


def test_threads_drawing_from_the_pools_never_get_the_same_value() -> None:
    got: list[list[str]] = [[] for _ in range(8)]

    def draw(out: list[str]) -> None:
        for _ in range(3000):
            out.append(new_id("x")[12:])  # the random digits
            out.append(uuid4_text())

    threads = [threading.Thread(target=draw, args=(out,)) for out in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    values = [v for out in got for v in out]
    assert len(values) == 8 * 6000 and len(set(values)) == len(values)


def test_a_forked_child_does_not_repeat_its_parents_pooled_values() -> None:
    new_id("x"), uuid4_text()  # the pools hold values now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it draws next, then leave at once
        os.close(read)
        os.write(write, f"{new_id('x')[12:]} {uuid4_text()}".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child_random, child_uuid = pipe.read().decode().split()
    os.waitpid(pid, 0)
    assert child_random != new_id("x")[12:] and child_uuid != uuid4_text()
