-- crm service schema starts here; the kit's tables (inbox, outbox, api keys, idempotency)
-- are migrated first under the "kit" namespace.
CREATE TABLE service_info (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO service_info VALUES ('service', 'crm');
