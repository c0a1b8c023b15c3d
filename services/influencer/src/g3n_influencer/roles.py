"""Roles of the influencer service (spec/README.md)."""

ROLES: frozenset[str] = frozenset({"inf_view", "inf_manage", "inf_campaign_admin", "inf_finance"})
