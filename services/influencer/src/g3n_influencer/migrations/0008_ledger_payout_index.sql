-- A payout's ledger entries by payout id. Settling or failing a payout reads the 'paid' entries it
-- booked (adapters/payouts.py, CLAWED_WHILE_PAID_SQL), and no index led with the payout: the
-- statement read the organisation's whole ledger. Only payout entries carry a payout id, so the
-- SCM consumer's per-sale ledger rows add no entry to this partial index.
CREATE INDEX ifm_ledger_payout ON ifm_ledger (payout_id, org_code) WHERE payout_id IS NOT NULL;
