"""Profiles: status machine and referral/promo code normalisation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from g3n_kit.errors import InvalidState

ProfileStatus = Literal["active", "suspended", "closed"]

#: ``closed`` is terminal; ``suspended`` can come back.
PROFILE_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "active": frozenset({"suspended", "closed"}),
    "suspended": frozenset({"active", "closed"}),
    "closed": frozenset(),
}


def normalize_code(code: str) -> str:
    """Codes are unique per org case-insensitively: they are compared in this form."""
    return code.strip().upper()


def duplicate_codes(codes: Sequence[str]) -> list[int]:
    """Indexes of codes that repeat an earlier one (case-insensitively)."""
    seen: set[str] = set()
    dupes: list[int] = []
    for i, code in enumerate(codes):
        key = normalize_code(code)
        if key in seen:
            dupes.append(i)
        seen.add(key)
    return dupes


def check_profile_transition(current: str, target: str, *, profile_id: str) -> None:
    if target not in PROFILE_TRANSITIONS.get(current, frozenset()):
        raise InvalidState(
            f"profile {profile_id} is {current}; it cannot move to {target}",
            state=current,
            required=sorted(s for s, t in PROFILE_TRANSITIONS.items() if target in t),
        )


def check_can_earn(profile_id: str, status: str) -> None:
    """A suspended or closed profile earns nothing new."""
    if status != "active":
        raise InvalidState(
            f"profile {profile_id} is {status}; only active profiles earn",
            state=status,
            required="active",
        )
