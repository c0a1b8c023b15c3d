"""The operation table covers every call of spec/crm.md with exactly the spec's role."""

from __future__ import annotations

from g3n_crm.entrypoints.operations import build_operations
from g3n_crm.settings import Settings

SPEC = {
    "customer.create": ("crm_manage", True),
    "customer.get": ("crm_view", False),
    "customer.list": ("crm_view", False),
    "customer.update": ("crm_manage", True),
    "customer.status.set": ("crm_manage", True),
    "customer.anonymize": ("crm_manage", True),
    "customer.consent.set": ("crm_manage", True),
    "customer.consent.list": ("crm_manage", False),
    "loyalty.policy.get": ("crm_view", False),
    "loyalty.policy.set": ("crm_loyalty", True),
    "loyalty.earn": ("crm_loyalty", True),
    "loyalty.redeem": ("crm_loyalty", True),
    "loyalty.restore": ("crm_loyalty", True),
    "loyalty.reverse": ("crm_loyalty", True),
    "loyalty.adjust": ("crm_loyalty", True),
    "loyalty.ledger.list": ("crm_view", False),
    "giftcard.issue": ("crm_giftcard", True),
    "giftcard.redeem": ("crm_giftcard", True),
    "giftcard.redemption.reverse": ("crm_giftcard", True),
    "giftcard.get": ("crm_view", False),
    "giftcard.list": ("crm_view", False),
    "giftcard.void": ("crm_giftcard", True),
}


def test_every_call_of_the_spec_is_mounted_with_its_role_and_path() -> None:
    ops = build_operations(Settings())
    assert {op.name: (op.role, op.write) for op in ops} == SPEC
    assert {op.path for op in ops} == {"/" + name.replace(".", "/") for name in SPEC}
