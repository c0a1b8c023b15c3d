"""Customer rules (pure): identity normalisation, status transitions, what anonymization erases.

* ``email`` is unique per org case-insensitively (compared lowercased); ``external_ref`` too
  (a POS typing ``ABC-1`` and a web shop sending ``abc-1`` mean the same customer).
* A customer needs at least one of email, phone, external_ref — also after an update.
* Status: ``active`` ⇄ ``blocked`` by `/customer/status/set`; ``anonymized`` only by
  `/customer/anonymize` and final. Blocked customers cannot earn or redeem; anonymized ones
  accept no write at all (``invalid-state``).
* Anonymization erases every personal field (below), the consent proofs and the service's own
  records that name the person (skipped SCM sales carrying their e-mail/external ref). Ids,
  ledgers, lots, balances and gift cards stay, so accounting and totals remain correct.
"""

from __future__ import annotations

from typing import Literal

from g3n_kit.errors import InvalidState, ValidationFailed

CustomerStatus = Literal["active", "blocked", "anonymized"]
SettableStatus = Literal["active", "blocked"]

PERSONAL_FIELDS: tuple[str, ...] = (
    "email",
    "phone",
    "given_name",
    "family_name",
    "external_ref",
    "locale",
    "tags",
)
IDENTIFIERS: tuple[str, ...] = ("email", "phone", "external_ref")


def norm_email(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def norm_ref(ref: str | None) -> str | None:
    return ref.strip().lower() if ref else None


def require_identifier(email: str | None, phone: str | None, external_ref: str | None) -> None:
    if not (email or phone or external_ref):
        raise ValidationFailed(
            "a customer needs at least one of email, phone, external_ref",
            [{"path": p, "message": "one of email, phone, external_ref is required"} for p in IDENTIFIERS],
        )


def require_writable(customer_id: str, status: str) -> None:
    if status == "anonymized":
        raise InvalidState(
            f"customer {customer_id} is anonymized", state="anonymized", required="active or blocked"
        )


def require_active(customer_id: str, status: str, action: str) -> None:
    if status != "active":
        raise InvalidState(
            f"customer {customer_id} is {status}: cannot {action}", state=status, required="active"
        )
