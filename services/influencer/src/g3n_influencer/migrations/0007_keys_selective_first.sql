-- The keys the SCM consumer inserts into or probes for every sale lead with their most selective
-- column, the organisation after it. An organisation code compares equal at nearly every step of
-- a B-tree descent (a database serves few organisations), and PostgreSQL then has to locate the
-- next column past that variable-length one on each comparison; leading with the id, campaign or
-- order settles most comparisons on the first column. Only keys that every query uses with
-- equality on all of their leading columns are reordered: the uniqueness is the same, the
-- campaign's lookups (totals) still find the campaign first in the unique key, and the paging
-- indexes, which need the organisation first to order its rows, stay as they were.
-- Measured with kit migration 0006 (the inbox's keys; bench/ab.py --solo, docs/benchmarks.md):
-- PostgreSQL's CPU per SCM sale 42.7 → 39.2 µs (medians of alternating runs).
ALTER TABLE ifm_attributions DROP CONSTRAINT ifm_attributions_pkey, ADD PRIMARY KEY (attribution_id, org_code);
ALTER TABLE ifm_attributions DROP CONSTRAINT ifm_attributions_org_code_campaign_id_order_id_key,
    ADD CONSTRAINT ifm_attributions_campaign_order_key UNIQUE (campaign_id, org_code, order_id);
DROP INDEX ifm_attributions_order;
CREATE INDEX ifm_attributions_order ON ifm_attributions (order_id, org_code);

ALTER TABLE ifm_earnings DROP CONSTRAINT ifm_earnings_pkey, ADD PRIMARY KEY (earning_id, org_code);
ALTER TABLE ifm_earnings DROP CONSTRAINT ifm_earnings_org_code_attribution_id_key,
    ADD CONSTRAINT ifm_earnings_attribution_key UNIQUE (attribution_id, org_code);

DROP INDEX ifm_ledger_earning;
CREATE INDEX ifm_ledger_earning ON ifm_ledger (earning_id, org_code, entry_id) WHERE earning_id IS NOT NULL;
