"""The outbox's pack format: what goes in comes out, in order, byte for byte."""

from __future__ import annotations

import pytest
from g3n_kit.outbox import OutgoingMessage, pack, packed_rows, stored_messages, unpack


def test_messages_round_trip_in_order_with_keys_values_and_headers() -> None:
    items = [
        (b"acme:o-1", b'{"a":1}', (("event_type", b"x.y.z"), ("content-type", b"application/json"))),
        (None, b"no key", ()),
        (b"", b"", (("empty", b""),)),  # an empty key is not a missing key
        (b"k" * 70_000, bytes(range(256)) * 300, (("\u00e9t\u00e9", b"\x00\xff"),)),
        (b"k", b"v", (("null-valued", None), ("after", b"x"))),  # Kafka allows null header values
    ]
    out = unpack(pack(items))
    assert [(k, v, tuple(h)) for k, v, h in out] == items


def test_an_empty_pack_has_no_messages_and_foreign_bytes_are_refused() -> None:
    assert unpack(pack([])) == []
    with pytest.raises(ValueError, match="version"):
        unpack(b'{"event_id": "legacy row"}')
    with pytest.raises(ValueError, match="truncated"):
        unpack(pack([(b"k", b"value", (("h", b"v"),))])[:-1])
    with pytest.raises(ValueError, match="truncated"):
        unpack(pack([(b"k", b"value", (("h", b"v"),))])[:5])


def test_one_row_per_topic_in_order_of_first_appearance() -> None:
    msgs = [
        OutgoingMessage("t2", b"a", b"1", []),
        OutgoingMessage("t1", b"b", b"2", [("h", b"v")]),
        OutgoingMessage("t2", None, b"3", []),
    ]
    topics, packs, counts = packed_rows(msgs)
    assert (topics, counts) == (["t2", "t1"], [2, 1])
    assert [(k, v) for k, v, _ in unpack(packs[0])] == [(b"a", b"1"), (None, b"3")]
    assert unpack(packs[1]) == [(b"b", b"2", [("h", b"v")])]


def test_a_row_whose_pack_holds_fewer_messages_than_recorded_is_refused() -> None:
    row = {"id": 7, "topic": "t", "messages": pack([(b"a", b"1", ())]), "message_count": 2, "sent_at": None}
    row |= {"msg_key": None, "msg_value": None, "headers": None}
    with pytest.raises(ValueError, match="1 messages in its pack, 2 recorded"):
        stored_messages(row)  # type: ignore[arg-type]
    row["message_count"] = 1
    assert [(m.key, m.value) for m in stored_messages(row)] == [(b"a", b"1")]  # type: ignore[arg-type]
