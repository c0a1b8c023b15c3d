"""Consent: an append-only log per (channel, purpose); the customer shows the current state.

Semantics
---------
* Absent consent means **not granted**.
* The current state of a (channel, purpose) is the record with the latest ``captured_at`` (when
  the customer gave or withdrew it), ties broken by the later recording. So importing an old
  paper opt-in after an online revoke does not re-grant consent; the log still shows both.
* ``captured_at`` defaults to the time of recording and may not lie in the future (a small clock
  skew is tolerated).
* Anonymization erases the proofs (they hold IPs, signatures, form payloads) but keeps the
  decisions, so the history of what was allowed stays auditable without identifying anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from g3n_kit.errors import ValidationFailed

Channel = Literal["email", "sms", "push", "phone", "mail"]
Purpose = Literal["marketing", "profiling", "analytics"]
ConsentStatus = Literal["granted", "revoked"]
Method = Literal["single_opt_in", "double_opt_in", "paper", "import"]

CHANNELS: tuple[Channel, ...] = ("email", "sms", "push", "phone", "mail")
PURPOSES: tuple[Purpose, ...] = ("marketing", "profiling", "analytics")

FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ConsentState:
    status: ConsentStatus
    source: str
    method: str | None
    captured_at: datetime
    recorded_at: datetime
    consent_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "source": self.source,
            "method": self.method,
            "captured_at": _iso(self.captured_at),
            "recorded_at": _iso(self.recorded_at),
            "consent_id": self.consent_id,
        }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def check_captured_at(captured_at: datetime | None, now: datetime) -> datetime:
    if captured_at is None:
        return now
    if captured_at.tzinfo is None:
        raise ValidationFailed(
            "captured_at needs a time zone", [{"path": "captured_at", "message": "ISO-8601 with Z or offset"}]
        )
    if captured_at > now + FUTURE_SKEW:
        raise ValidationFailed(
            "captured_at lies in the future", [{"path": "captured_at", "message": "in the future"}]
        )
    return captured_at


def supersedes(new: ConsentState, current: Mapping[str, Any] | None) -> bool:
    """Whether ``new`` becomes the current state over ``current`` (its stored JSON)."""
    if current is None:
        return True
    cur_captured = datetime.fromisoformat(str(current["captured_at"]).replace("Z", "+00:00"))
    return new.captured_at >= cur_captured


def apply(consents: Mapping[str, Any], channel: str, purpose: str, new: ConsentState) -> dict[str, Any]:
    """The customer's ``consents`` document after recording ``new``: ``{channel: {purpose: state}}``."""
    out: dict[str, Any] = {ch: dict(per) for ch, per in consents.items()}
    current = out.get(channel, {}).get(purpose)
    if supersedes(new, current):
        out.setdefault(channel, {})[purpose] = new.as_json()
    return out
