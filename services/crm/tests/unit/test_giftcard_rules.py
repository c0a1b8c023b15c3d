"""Gift card rules: codes and hashes, partial redemption, no overdraw, capped reversal, void, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from g3n_crm.domain.giftcard import CODE_LENGTH, GiftCard, code_hash, generate_code, last4, normalise_code
from g3n_kit.errors import InsufficientBalance, InvalidState, ValidationFailed

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SECRET = b"k" * 32


def _card(balance: int = 5000, expires_at: datetime | None = None) -> GiftCard:
    return GiftCard("gfc_1", "USD", balance, "active", expires_at)


def test_codes_are_random_grouped_and_hash_the_same_however_they_are_typed() -> None:
    code = generate_code()
    assert len(normalise_code(code)) == CODE_LENGTH and code.count("-") == 3
    assert generate_code() != code
    typed = code.lower().replace("-", " ")
    assert code_hash(typed, SECRET) == code_hash(code, SECRET)
    assert code_hash(code, SECRET) != code_hash(code, b"other-secret")
    assert last4(code) == normalise_code(code)[-4:]
    assert normalise_code("ab-oi-l") == "AB011"


def test_redeem_debits_and_never_overdraws() -> None:
    card = _card(5000)
    assert card.redeem(2000, "USD", NOW, allow_partial=False) == 2000
    with pytest.raises(InsufficientBalance) as err:
        card.redeem(3001, "USD", NOW, allow_partial=False)
    assert err.value.details["available"] == 3000 and card.balance_minor == 3000


def test_partial_redeem_applies_what_is_there_and_an_empty_card_is_insufficient() -> None:
    card = _card(500)
    assert card.redeem(2000, "USD", NOW, allow_partial=True) == 500
    assert card.balance_minor == 0
    with pytest.raises(InsufficientBalance):
        card.redeem(1, "USD", NOW, allow_partial=True)


def test_wrong_currency_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed):
        _card().redeem(10, "EUR", NOW, allow_partial=False)


def test_expired_and_void_cards_cannot_be_redeemed() -> None:
    expired = _card(expires_at=NOW - timedelta(seconds=1))
    assert expired.shown_status(NOW) == "expired"
    with pytest.raises(InvalidState) as err:
        expired.redeem(10, "USD", NOW, allow_partial=False)
    assert err.value.details["state"] == "expired"
    void = _card()
    assert void.void() == 5000 and void.balance_minor == 0
    with pytest.raises(InvalidState):
        void.redeem(10, "USD", NOW, allow_partial=False)
    with pytest.raises(InvalidState):
        void.void()


def test_reversal_is_capped_at_what_the_redemption_applied() -> None:
    card = _card(1000)
    applied = card.redeem(800, "USD", NOW, allow_partial=False)
    assert card.reverse(applied, 0, 300) == 300
    with pytest.raises(ValidationFailed):
        card.reverse(applied, 300, 501)
    assert card.reverse(applied, 300, None) == 500
    with pytest.raises(InvalidState):
        card.reverse(applied, 800, None)
    assert card.balance_minor == 1000
