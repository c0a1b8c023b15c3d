-- Cost centre and sales channel of the call (x-cccode, x-channel-code), recorded on the rows each
-- write appends: ledger entries, gift card transactions, consent decisions.
ALTER TABLE loyalty_entries ADD COLUMN cc_code text, ADD COLUMN channel_code text;
ALTER TABLE giftcard_transactions ADD COLUMN cc_code text, ADD COLUMN channel_code text;
ALTER TABLE consent_log ADD COLUMN cc_code text, ADD COLUMN channel_code text;

CREATE OR REPLACE FUNCTION crm_consent_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The only change allowed: erasing the proof (anonymization).
    IF TG_OP = 'UPDATE' AND NEW.proof IS NULL AND NEW.proof_erased_at IS NOT NULL
       AND (NEW.org_code, NEW.consent_id, NEW.customer_id, NEW.channel, NEW.purpose, NEW.status,
            NEW.source, NEW.method, NEW.captured_at, NEW.actor, NEW.recorded_at, NEW.cc_code,
            NEW.channel_code)
           IS NOT DISTINCT FROM
           (OLD.org_code, OLD.consent_id, OLD.customer_id, OLD.channel, OLD.purpose, OLD.status,
            OLD.source, OLD.method, OLD.captured_at, OLD.actor, OLD.recorded_at, OLD.cc_code,
            OLD.channel_code) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent_log is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
