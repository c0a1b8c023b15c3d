-- The keys the SCM consumer inserts into or probes for every sale lead with their most selective
-- column, the organisation last. An organisation code compares equal at nearly every step of a
-- B-tree descent (a database serves few organisations), and PostgreSQL then has to locate the
-- next column past that variable-length one on each comparison; leading with the id, order or
-- customer settles nearly every comparison on the first column. Only keys that every query uses
-- with equality on all of their leading columns are reordered: the uniqueness is the same, and
-- the paging indexes, which need the organisation first to order its rows, stay as they were.
-- Measured with kit migration 0006 (the inbox's keys; bench/ab.py --solo, docs/benchmarks.md):
-- PostgreSQL's CPU per SCM sale 38.8 → 30.7 µs (medians of alternating runs).
ALTER TABLE scm_sales DROP CONSTRAINT scm_sales_pkey, ADD PRIMARY KEY (order_id, org_code, sale_id);

ALTER TABLE loyalty_lots DROP CONSTRAINT loyalty_lots_pkey, ADD PRIMARY KEY (lot_id, org_code);
DROP INDEX loyalty_lots_open;
CREATE INDEX loyalty_lots_open ON loyalty_lots (customer_id, org_code) WHERE remaining > 0;

ALTER TABLE loyalty_entries DROP CONSTRAINT loyalty_entries_pkey, ADD PRIMARY KEY (entry_id, org_code);
ALTER TABLE loyalty_entries DROP CONSTRAINT loyalty_entries_org_code_customer_id_seq_key,
    ADD CONSTRAINT loyalty_entries_customer_seq_key UNIQUE (customer_id, org_code, seq);
DROP INDEX loyalty_entries_earn_source;
CREATE UNIQUE INDEX loyalty_entries_earn_source ON loyalty_entries (source_ref, org_code)
    WHERE kind = 'earn' AND source_ref IS NOT NULL;

ALTER TABLE loyalty_accounts DROP CONSTRAINT loyalty_accounts_pkey, ADD PRIMARY KEY (customer_id, org_code);

DROP INDEX customers_email_uq;
CREATE UNIQUE INDEX customers_email_uq ON customers (email_norm, org_code) WHERE email_norm IS NOT NULL;
DROP INDEX customers_external_ref_uq;
CREATE UNIQUE INDEX customers_external_ref_uq ON customers (external_ref_norm, org_code)
    WHERE external_ref_norm IS NOT NULL;
