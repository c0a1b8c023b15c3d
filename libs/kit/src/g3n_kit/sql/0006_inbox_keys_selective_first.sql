-- The inbox's two keys lead with the event's own identity, not the consumer group. A service's
-- database holds one or two groups, so as the first column the group compared equal at every step
-- of every B-tree descent, and PostgreSQL then located the second column past a variable-length
-- first one on each comparison. Leading with the event id (fixed width, random) settles nearly
-- every comparison on the first column. Same uniqueness, and every query names both columns.
-- Measured together with each service's migration 0007, the same change to its own keys
-- (bench/ab.py --solo, docs/benchmarks.md): PostgreSQL's CPU per SCM sale 38.8 → 30.7 µs for CRM,
-- 42.7 → 39.2 µs for IFM (medians of alternating runs).
ALTER TABLE inbox DROP CONSTRAINT inbox_pkey, ADD PRIMARY KEY (event_id, consumer_group);
DROP INDEX inbox_natural_key;
CREATE UNIQUE INDEX inbox_natural_key ON inbox (natural_key, consumer_group) WHERE natural_key IS NOT NULL;
