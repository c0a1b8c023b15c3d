-- Inbox: one row per consumed event per consumer group, written in the same transaction as
-- the event's effect. The primary key makes a redelivered event a no-op; natural_key catches
-- the same business event re-sent under a new event_id (e.g. a return re-emitted by SCM).
CREATE TABLE inbox (
    consumer_group text NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    natural_key text,
    topic text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('applied', 'dead_lettered')),
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);
CREATE UNIQUE INDEX inbox_natural_key ON inbox (consumer_group, natural_key) WHERE natural_key IS NOT NULL;

-- Outbox: every outgoing message (events, dead letters) is written here in the state change's
-- transaction; the relay publishes in id order and marks rows sent.
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    msg_key bytea,
    msg_value bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '[]'::jsonb,
    event_id uuid,
    event_type text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
