"""Disputes: ``open`` → ``upheld`` (holds cleared) | ``rejected`` (earnings clawed back)."""

from __future__ import annotations

from typing import Final, Literal

from g3n_kit.errors import InvalidState

DisputeStatus = Literal["open", "upheld", "rejected"]
DISPUTE_RESOLUTIONS: Final = frozenset({"upheld", "rejected"})


def check_dispute_resolution(dispute_id: str, current: str, target: str) -> None:
    if current != "open":
        raise InvalidState(
            f"dispute {dispute_id} is already {current}",
            state=current,
            required="open",
        )
    if target not in DISPUTE_RESOLUTIONS:
        raise InvalidState(
            f"dispute {dispute_id} cannot move to {target}",
            state=current,
            required="status upheld or rejected",
        )
