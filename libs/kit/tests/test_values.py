"""``value_type``: frozen to type checkers, a cheap slots dataclass at run time."""

from __future__ import annotations

from dataclasses import field, fields, replace

import pytest
from g3n_kit.values import value_type


@value_type
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)


def test_value_types_compare_and_hash_by_value_and_have_no_instance_dict() -> None:
    a, b = Point(1, 2), Point(1, 2)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Point(1, 3)
    assert [f.name for f in fields(Point)] == ["x", "y", "tags"]
    assert Point(5).tags == () and replace(a, y=7) == Point(1, 7)
    with pytest.raises(AttributeError):
        a.z = 1  # type: ignore[attr-defined]  # slots: no stray attributes
