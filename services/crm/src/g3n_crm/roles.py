"""Roles of the crm service (spec/README.md)."""

ROLES: frozenset[str] = frozenset({"crm_view", "crm_manage", "crm_loyalty", "crm_giftcard"})
