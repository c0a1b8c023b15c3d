-- Shapes for the SCM consumer's hot path (binary COPY, fewer rows per sale, fewer indexes).
--
-- * Ledger lot movements become two parallel arrays instead of jsonb (binary COPY friendly).
-- * A sale's lines live on its scm_sales row as parallel arrays: one row per sale instead of
--   one per line; returns (much rarer) update the arrays of that row.
-- * The identifiers of a skipped sale become plain columns (erased by anonymization).
-- * loyalty_entries_source was never used by a query; scm_sales is keyed by order.
-- Per-line invariants (reversed <= earned, returned <= sold) are kept by the domain code under the
-- account lock; an element-wise CHECK function cost ~10 us per inserted sale, so only the array
-- shapes are checked here.

DROP INDEX loyalty_entries_source;

ALTER TABLE loyalty_entries DROP COLUMN lots;
ALTER TABLE loyalty_entries
    ADD COLUMN lot_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN lot_points bigint[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT loyalty_entries_movements_shape
        CHECK (cardinality(lot_ids) = cardinality(lot_points));

ALTER TABLE scm_sales DROP COLUMN customer_ref;
ALTER TABLE scm_sales
    ADD COLUMN ref_customer_id text,
    ADD COLUMN ref_email text,
    ADD COLUMN ref_external_ref text,
    ADD COLUMN line_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN line_skus text[] NOT NULL DEFAULT '{}',
    ADD COLUMN line_qty integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN line_net bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN line_points bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN line_returned_qty integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN line_reversed_points bigint[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT scm_sales_lines_shape CHECK (
        cardinality(line_skus) = cardinality(line_ids) AND cardinality(line_qty) = cardinality(line_ids)
        AND cardinality(line_net) = cardinality(line_ids) AND cardinality(line_points) = cardinality(line_ids)
        AND cardinality(line_returned_qty) = cardinality(line_ids)
        AND cardinality(line_reversed_points) = cardinality(line_ids));
CREATE INDEX scm_sales_ref_email ON scm_sales (org_code, lower(ref_email)) WHERE ref_email IS NOT NULL;

DROP TABLE scm_sale_lines;

-- One index on scm_sales for the hot path: the primary key serves the order lookups of returns.
ALTER TABLE scm_sales DROP CONSTRAINT scm_sales_pkey;
ALTER TABLE scm_sales ADD PRIMARY KEY (org_code, order_id, sale_id);
DROP INDEX scm_sales_order;
