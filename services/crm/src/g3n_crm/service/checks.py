"""Input rules that span several fields (pydantic checks the single fields)."""

from __future__ import annotations

from g3n_kit.errors import ValidationFailed
from pydantic import BaseModel


def exactly_one(cmd: BaseModel, *names: str) -> str:
    """The one of ``names`` that ``cmd`` sets; ``validation-error`` naming them otherwise."""
    given = [n for n in names if getattr(cmd, n) is not None]
    if len(given) == 1:
        return given[0]
    choice = ", ".join(names)
    raise ValidationFailed(
        f"give exactly one of {choice}", [{"path": n, "message": f"exactly one of {choice}"} for n in names]
    )
