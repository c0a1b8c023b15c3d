-- Leaner rows for the SCM consumer's binary COPY (asyncpg checks every array element against
-- collections.abc on encode, and cannot COPY the kit's text-codec jsonb):
--
-- * a sale's lines become one JSON text value, [[line_id, sku, qty, net, points, returned_qty,
--   reversed_points], ...], written once per sale and rewritten only by returns;
-- * a ledger entry that moves one lot keeps it in lot_id only (the amount moved is
--   points + debt_change); lot_ids / lot_points list the movements of multi-lot entries.

ALTER TABLE scm_sales DROP CONSTRAINT scm_sales_lines_shape;
ALTER TABLE scm_sales
    DROP COLUMN line_ids,
    DROP COLUMN line_skus,
    DROP COLUMN line_qty,
    DROP COLUMN line_net,
    DROP COLUMN line_points,
    DROP COLUMN line_returned_qty,
    DROP COLUMN line_reversed_points,
    ADD COLUMN lines text NOT NULL DEFAULT '[]';

ALTER TABLE loyalty_entries
    ADD CONSTRAINT loyalty_entries_one_way_of_listing_lots
        CHECK (cardinality(lot_ids) = 0 OR (lot_id IS NULL AND cardinality(lot_ids) >= 2));
