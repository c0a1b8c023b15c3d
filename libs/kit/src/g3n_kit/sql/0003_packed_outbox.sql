-- Packed outbox rows: one row carries every message one transaction writes to one topic
-- (`messages`, framed by g3n_kit.outbox.pack, `message_count` of them, in order). A consumer
-- batch of 1,000 sales now writes one or two outbox rows instead of 1,000-2,000: each row cost a
-- heap tuple, two index entries and, in the relay, a fetch and an UPDATE. Rows written before
-- this migration (one message each, in msg_key/msg_value/headers) are still published as they are.
--
-- Rolling upgrades: a relay of the previous version may still lead while new writers insert
-- packed rows. Packed rows have NULL `headers`, which that relay cannot read: it fails on them
-- and retries (rows it published before failing are republished later, deduped by event_id)
-- instead of sending NULL values as tombstones and marking the rows sent.
--
-- Every statement here only changes the catalog (no table scan under the ACCESS EXCLUSIVE lock
-- while writers wait); 0004 validates the constraints without blocking writers.
ALTER TABLE outbox ALTER COLUMN msg_value DROP NOT NULL;
ALTER TABLE outbox ALTER COLUMN headers DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN messages bytea;
-- A batch's pack is ~1 MB of JSON: stored out of line WITHOUT compression (pglz on every pack
-- cost more CPU than the rows it replaces; the relay reads it once).
ALTER TABLE outbox ALTER COLUMN messages SET STORAGE EXTERNAL;
ALTER TABLE outbox ADD COLUMN message_count integer NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD CONSTRAINT outbox_message_count CHECK (message_count >= 1) NOT VALID;
ALTER TABLE outbox ADD CONSTRAINT outbox_one_form
    CHECK ((msg_value IS NULL) <> (messages IS NULL)) NOT VALID;
