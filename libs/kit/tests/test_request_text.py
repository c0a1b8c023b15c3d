"""Request text must be storable in PostgreSQL: NUL and unpaired surrogates are 400s, not 500s."""

from __future__ import annotations

import pytest
from g3n_kit.operations import RequestModel
from pydantic import BaseModel, ValidationError


class Inner(BaseModel):
    note: str


class Body(RequestModel):
    name: str
    codes: list[str] = []
    inner: Inner | None = None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"name": "a\\u0000b"}', "name"),
        (b'{"name": "ok", "inner": {"note": "\\u0000"}}', "inner"),
    ],
)
def test_nul_and_unpaired_surrogates_are_rejected_naming_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        Body.model_validate_json(raw)
    assert [e["loc"][0] for e in err.value.errors()] == [field]


def test_unpaired_surrogates_are_rejected_from_json_and_from_python() -> None:
    with pytest.raises(ValidationError):  # the JSON parser refuses them before any field
        Body.model_validate_json(b'{"name": "ok", "codes": ["x", "\\ud998"]}')
    with pytest.raises(ValidationError) as err:  # values built in Python (MCP, CLI) are checked too
        Body.model_validate({"name": "ok", "codes": ["x", "\ud998"]})
    assert [e["loc"][0] for e in err.value.errors()] == ["codes"]


def test_ordinary_unicode_passes() -> None:
    body = Body.model_validate_json('{"name": "Zoë 🎉", "codes": ["ÅÄÖ"]}'.encode())
    assert body.name == "Zoë 🎉"
