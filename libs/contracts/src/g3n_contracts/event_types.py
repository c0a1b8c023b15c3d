"""Event type names: the one place they are spelt (``<producer>.<object>.<fact>``, past tense)."""

from __future__ import annotations

from typing import Final

SALE_RECORDED: Final = "scm.sale.recorded"
RETURN_RECORDED: Final = "scm.return.recorded"

PAYOUT_RECORDED: Final = "ifm.payout.recorded"
PAYOUT_SETTLED: Final = "accounting.payout.settled"
PAYOUT_FAILED: Final = "accounting.payout.failed"

GIFTCARD_ISSUED: Final = "crm.giftcard.issued"
GIFTCARD_REDEEMED: Final = "crm.giftcard.redeemed"
GIFTCARD_REDEMPTION_REVERSED: Final = "crm.giftcard.redemption.reversed"
GIFTCARD_VOIDED: Final = "crm.giftcard.voided"
LOYALTY_REDEEMED: Final = "crm.loyalty.redeemed"
LOYALTY_RESTORED: Final = "crm.loyalty.restored"

CHANGE_EVENT_SERVICES: Final = ("ifm", "crm")
"""Services that publish a change event (``<service>.<object_type>.<action>``) per state change."""

STORED_VALUE_EVENT_TYPES: Final = (
    GIFTCARD_ISSUED,
    GIFTCARD_REDEEMED,
    GIFTCARD_REDEMPTION_REVERSED,
    GIFTCARD_VOIDED,
    LOYALTY_REDEEMED,
    LOYALTY_RESTORED,
)


def change_event_type(service: str, object_type: str, action: str) -> str:
    """Return the event type of a change event, e.g. ``ifm.campaign.status_changed``.

    The names above are reserved: a change event may not reuse them (``crm.giftcard.voided`` is a
    stored-value event, so the CRM's change event for a void needs another action name).
    """
    return f"{service}.{object_type}.{action}"
