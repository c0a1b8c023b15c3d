"""Gift cards: codes, keyed hashes and balance rules (pure).

Codes are 16 characters of Crockford base32 (80 random bits), shown once at issue grouped as
``XXXX-XXXX-XXXX-XXXX``. Only ``HMAC-SHA256(secret, normalised code)`` is stored, so a database
leak does not leak spendable codes and a lookup is one index probe. Normalisation uppercases,
drops separators (``-``, spaces) and maps the Crockford look-alikes (``O``→``0``, ``I``/``L``→``1``),
so a code read aloud or retyped still matches. Everywhere but the issue response the card shows
``last4``.

Rules: a redemption never takes more than the balance (``insufficient-balance`` with the
available amount, or with ``allow_partial`` whatever is there); the currency must be the card's;
a void or expired card cannot be redeemed (``invalid-state``). A reversal puts back at most what
its redemption applied minus earlier reversals, and not onto a void card. Voiding forfeits the
balance (recorded on the void transaction) and is final.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from g3n_kit.errors import InsufficientBalance, InvalidState, ValidationFailed

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})

StoredStatus = Literal["active", "void"]
ShownStatus = Literal["active", "void", "expired"]


def generate_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(code: str) -> str:
    return code.upper().replace("-", "").replace(" ", "").translate(_LOOKALIKES)


def code_hash(code: str, secret: bytes) -> bytes:
    return hmac.new(secret, normalise_code(code).encode(), hashlib.sha256).digest()


def last4(code: str) -> str:
    return normalise_code(code)[-4:]


@dataclass(slots=True)
class GiftCard:
    giftcard_id: str
    currency: str
    balance_minor: int
    status: StoredStatus
    expires_at: datetime | None

    def shown_status(self, now: datetime) -> ShownStatus:
        if self.status == "void":
            return "void"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def redeem(self, amount_minor: int, currency: str, now: datetime, *, allow_partial: bool) -> int:
        """Debit the card; returns the amount applied."""
        if currency != self.currency:
            raise ValidationFailed(
                f"gift card is in {self.currency}, not {currency}",
                [{"path": "amount.currency", "message": f"must be {self.currency}"}],
            )
        if amount_minor <= 0:
            raise ValidationFailed("amount must be > 0", [{"path": "amount.amount_minor", "message": "> 0"}])
        state = self.shown_status(now)
        if state != "active":
            raise InvalidState(f"gift card {self.giftcard_id} is {state}", state=state, required="active")
        applied = min(amount_minor, self.balance_minor) if allow_partial else amount_minor
        if applied > self.balance_minor or applied == 0:
            raise InsufficientBalance(
                f"gift card balance {self.balance_minor} is below {amount_minor}",
                available=self.balance_minor,
            )
        self.balance_minor -= applied
        return applied

    def reverse(self, applied_minor: int, reversed_minor: int, amount_minor: int | None) -> int:
        """Credit back part of a redemption; returns the amount put back."""
        left = applied_minor - reversed_minor
        if self.status == "void":
            raise InvalidState(f"gift card {self.giftcard_id} is void", state="void", required="active")
        if left == 0:
            raise InvalidState("redemption is fully reversed", state="reversed", required="reversible amount")
        amount = left if amount_minor is None else amount_minor
        if amount <= 0:
            raise ValidationFailed("amount_minor must be > 0", [{"path": "amount_minor", "message": "> 0"}])
        if amount > left:
            raise ValidationFailed(
                f"only {left} of this redemption can be reversed",
                [{"path": "amount_minor", "message": f"must be <= {left} (redeemed and not yet reversed)"}],
            )
        self.balance_minor += amount
        return amount

    def void(self) -> int:
        """Void the card; returns the forfeited balance."""
        if self.status == "void":
            raise InvalidState(
                f"gift card {self.giftcard_id} is already void", state="void", required="active"
            )
        forfeited = self.balance_minor
        self.status = "void"
        self.balance_minor = 0
        return forfeited
