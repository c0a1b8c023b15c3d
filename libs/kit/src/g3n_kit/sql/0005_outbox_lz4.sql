-- Packed outbox rows compressed with lz4. A consumer batch's pack is ~1 MB of change-event JSON,
-- which 0003 stored out of line uncompressed (pglz cost more CPU than it saved). lz4 is several
-- times cheaper than pglz, and the pack shrinks several-fold: PostgreSQL then writes a fraction
-- of the TOAST chunks (a heap tuple, an index entry and their WAL each), ~1.3-2.5 µs of server
-- CPU less per sale in the consumer benchmarks (bench/ab.py --solo, 2026-11-26; docs/benchmarks.md).
-- Catalog only: rows already written keep their form; reading is unchanged.
DO $$
BEGIN
    ALTER TABLE outbox ALTER COLUMN messages SET COMPRESSION lz4;
    ALTER TABLE outbox ALTER COLUMN messages SET STORAGE EXTENDED;
EXCEPTION WHEN feature_not_supported THEN
    -- a server built without lz4: packs stay stored as 0003 left them
    RAISE NOTICE 'lz4 is not available in this PostgreSQL build: packed outbox rows stay uncompressed';
END
$$;
