-- The SCM consumer inserts an attribution, its lines, its earning and a ledger row per sale at
-- thousands of sales per second. Per-row foreign-key triggers were about a third of the
-- database time of that path (measured with EXPLAIN ANALYZE), so the foreign keys on the rows it
-- writes are dropped: those rows are only ever written together, in one transaction, by
-- service/attribution.py:apply_attributions (lines and earning carry the attribution id it just
-- generated; the attribution carries a member it has just locked). Primary keys, unique keys and
-- CHECK constraints stay. The campaign index duplicated the unique (org, campaign, order) key's
-- leading columns.
ALTER TABLE ifm_attributions DROP CONSTRAINT ifm_attributions_org_code_campaign_id_profile_id_fkey;
ALTER TABLE ifm_attribution_lines DROP CONSTRAINT ifm_attribution_lines_org_code_attribution_id_fkey;
ALTER TABLE ifm_earnings DROP CONSTRAINT ifm_earnings_org_code_attribution_id_fkey;
ALTER TABLE ifm_applied_returns DROP CONSTRAINT ifm_applied_returns_org_code_attribution_id_fkey;
DROP INDEX ifm_attributions_campaign;
