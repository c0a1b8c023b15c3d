"""Consent: the latest captured decision per (channel, purpose) is the current one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from g3n_crm.domain.consent import ConsentState, apply, check_captured_at
from g3n_kit.errors import ValidationFailed

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _state(status: str, captured: datetime, cid: str) -> ConsentState:
    return ConsentState(status, "web", "double_opt_in", captured, NOW, cid)  # type: ignore[arg-type]


def test_a_newer_decision_replaces_the_current_state_per_channel_and_purpose() -> None:
    doc = apply({}, "email", "marketing", _state("granted", NOW - timedelta(days=2), "c1"))
    doc = apply(doc, "sms", "marketing", _state("granted", NOW - timedelta(days=2), "c2"))
    doc = apply(doc, "email", "marketing", _state("revoked", NOW - timedelta(days=1), "c3"))
    assert doc["email"]["marketing"]["status"] == "revoked"
    assert doc["sms"]["marketing"]["status"] == "granted"
    assert doc["email"]["marketing"]["captured_at"].endswith("Z")


def test_importing_an_older_opt_in_does_not_override_a_later_revoke() -> None:
    doc = apply({}, "email", "marketing", _state("revoked", NOW - timedelta(days=1), "c1"))
    doc = apply(doc, "email", "marketing", _state("granted", NOW - timedelta(days=30), "c2"))
    assert doc["email"]["marketing"]["consent_id"] == "c1"


def test_captured_at_defaults_to_now_and_may_not_be_in_the_future() -> None:
    assert check_captured_at(None, NOW) == NOW
    with pytest.raises(ValidationFailed):
        check_captured_at(NOW + timedelta(hours=1), NOW)
