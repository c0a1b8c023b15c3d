-- CRM core schema: customers + consent, loyalty ledger, gift cards, SCM bookkeeping.
-- Every table is scoped by org_code and every lookup filters by it. CHECK constraints are the
-- last line of defence behind the service's row locks: no negative lot, no overdrawn card,
-- no unknown state. Ledgers (loyalty_entries, giftcard_transactions, consent_log) are
-- append-only, enforced by triggers (consent proofs may only be erased, for GDPR).

CREATE FUNCTION crm_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

-- ---------------------------------------------------------------------------------------------
-- Customers
CREATE TABLE customers (
    org_code text NOT NULL,
    customer_id text NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'anonymized')),
    status_reason text,
    email text,
    email_norm text GENERATED ALWAYS AS (lower(email)) STORED,
    phone text,
    given_name text,
    family_name text,
    external_ref text,
    external_ref_norm text GENERATED ALWAYS AS (lower(external_ref)) STORED,
    locale text,
    tags text[] NOT NULL DEFAULT '{}',
    consents jsonb NOT NULL DEFAULT '{}'::jsonb,
    revision bigint NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    anonymized_at timestamptz,
    PRIMARY KEY (org_code, customer_id),
    CHECK (status = 'anonymized' OR email IS NOT NULL OR phone IS NOT NULL OR external_ref IS NOT NULL),
    CHECK (status <> 'anonymized' OR (email IS NULL AND phone IS NULL AND given_name IS NULL
                                      AND family_name IS NULL AND external_ref IS NULL
                                      AND anonymized_at IS NOT NULL))
);
CREATE UNIQUE INDEX customers_email_uq ON customers (org_code, email_norm) WHERE email_norm IS NOT NULL;
CREATE UNIQUE INDEX customers_external_ref_uq ON customers (org_code, external_ref_norm)
    WHERE external_ref_norm IS NOT NULL;
CREATE INDEX customers_page ON customers (org_code, created_at DESC, customer_id DESC);
CREATE INDEX customers_status_page ON customers (org_code, status, created_at DESC, customer_id DESC);
CREATE INDEX customers_email_prefix ON customers (org_code, email_norm text_pattern_ops);
CREATE INDEX customers_tags ON customers USING gin (tags);

-- Consent: one row per decision; the customer's `consents` holds the current state.
CREATE TABLE consent_log (
    org_code text NOT NULL,
    consent_id text NOT NULL,
    customer_id text NOT NULL,
    channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push', 'phone', 'mail')),
    purpose text NOT NULL CHECK (purpose IN ('marketing', 'profiling', 'analytics')),
    status text NOT NULL CHECK (status IN ('granted', 'revoked')),
    source text NOT NULL,
    method text CHECK (method IN ('single_opt_in', 'double_opt_in', 'paper', 'import')),
    captured_at timestamptz NOT NULL,
    proof jsonb,
    proof_erased_at timestamptz,
    actor text,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, consent_id),
    FOREIGN KEY (org_code, customer_id) REFERENCES customers (org_code, customer_id)
);
CREATE INDEX consent_log_page ON consent_log (org_code, customer_id, recorded_at DESC, consent_id DESC);

CREATE FUNCTION crm_consent_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The only change allowed: erasing the proof (anonymization).
    IF TG_OP = 'UPDATE' AND NEW.proof IS NULL AND NEW.proof_erased_at IS NOT NULL
       AND (NEW.org_code, NEW.consent_id, NEW.customer_id, NEW.channel, NEW.purpose, NEW.status,
            NEW.source, NEW.method, NEW.captured_at, NEW.actor, NEW.recorded_at)
           IS NOT DISTINCT FROM
           (OLD.org_code, OLD.consent_id, OLD.customer_id, OLD.channel, OLD.purpose, OLD.status,
            OLD.source, OLD.method, OLD.captured_at, OLD.actor, OLD.recorded_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent_log is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER consent_log_append_only BEFORE UPDATE OR DELETE ON consent_log
    FOR EACH ROW EXECUTE FUNCTION crm_consent_log_guard();

-- ---------------------------------------------------------------------------------------------
-- Loyalty
CREATE TABLE loyalty_policies (
    org_code text PRIMARY KEY,
    points_per_currency_unit integer NOT NULL CHECK (points_per_currency_unit >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    pending_days integer NOT NULL CHECK (pending_days >= 0),
    expiry_days integer CHECK (expiry_days > pending_days),
    min_redeem_points bigint NOT NULL CHECK (min_redeem_points >= 1),
    point_value_minor bigint NOT NULL CHECK (point_value_minor >= 0),
    excluded_skus text[] NOT NULL DEFAULT '{}',
    revision bigint NOT NULL CHECK (revision >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- One row per customer: the lock every ledger write takes first, the debt and the ledger sum.
CREATE TABLE loyalty_accounts (
    org_code text NOT NULL,
    customer_id text NOT NULL,
    debt bigint NOT NULL DEFAULT 0 CHECK (debt >= 0),
    total bigint NOT NULL DEFAULT 0,
    seq bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, customer_id),
    FOREIGN KEY (org_code, customer_id) REFERENCES customers (org_code, customer_id)
);

CREATE TABLE loyalty_lots (
    org_code text NOT NULL,
    lot_id text NOT NULL,
    customer_id text NOT NULL,
    origin_entry_id text NOT NULL,
    points bigint NOT NULL CHECK (points > 0),
    remaining bigint NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    reversed bigint NOT NULL DEFAULT 0 CHECK (reversed >= 0 AND reversed <= points),
    available_at timestamptz NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, lot_id)
);
CREATE INDEX loyalty_lots_open ON loyalty_lots (org_code, customer_id) WHERE remaining > 0;
CREATE INDEX loyalty_lots_expiring ON loyalty_lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;

CREATE TABLE loyalty_entries (
    org_code text NOT NULL,
    entry_id text NOT NULL,
    customer_id text NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 1),
    kind text NOT NULL CHECK (kind IN ('earn', 'redeem', 'restore', 'reverse', 'adjust', 'expire', 'debt_settle')),
    points bigint NOT NULL,
    reason text,
    source_ref text,
    ref_entry_id text,
    lot_id text,
    lots jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{lot_id, points}] signed lot movements
    debt_change bigint NOT NULL DEFAULT 0,
    balance_after bigint NOT NULL,
    actor text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, entry_id),
    UNIQUE (org_code, customer_id, seq),
    CHECK (kind <> 'earn' OR points >= 0),
    CHECK (kind NOT IN ('redeem', 'reverse', 'expire') OR points < 0),
    CHECK (kind <> 'restore' OR points > 0),
    CHECK (kind <> 'debt_settle' OR (points = 0 AND debt_change < 0))
);
-- One earn per source_ref (an order): the repeat finds the first.
CREATE UNIQUE INDEX loyalty_entries_earn_source ON loyalty_entries (org_code, source_ref)
    WHERE kind = 'earn' AND source_ref IS NOT NULL;
CREATE INDEX loyalty_entries_source ON loyalty_entries (org_code, source_ref, kind) WHERE source_ref IS NOT NULL;
CREATE TRIGGER loyalty_entries_append_only BEFORE UPDATE OR DELETE ON loyalty_entries
    FOR EACH ROW EXECUTE FUNCTION crm_append_only();

-- What each redemption took from which lot (in taking order) and how much came back since.
CREATE TABLE loyalty_redemptions (
    org_code text NOT NULL,
    redemption_id text NOT NULL,  -- the redeem entry's id
    customer_id text NOT NULL,
    points bigint NOT NULL CHECK (points > 0),
    debt_points bigint NOT NULL DEFAULT 0 CHECK (debt_points >= 0 AND debt_points <= points),
    debt_restored bigint NOT NULL DEFAULT 0 CHECK (debt_restored >= 0 AND debt_restored <= debt_points),
    source_ref text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, redemption_id)
);
CREATE INDEX loyalty_redemptions_source ON loyalty_redemptions (org_code, source_ref) WHERE source_ref IS NOT NULL;

CREATE TABLE loyalty_redemption_lots (
    org_code text NOT NULL,
    redemption_id text NOT NULL,
    position integer NOT NULL CHECK (position >= 0),
    lot_id text NOT NULL,
    points bigint NOT NULL CHECK (points > 0),
    restored bigint NOT NULL DEFAULT 0 CHECK (restored >= 0 AND restored <= points),
    PRIMARY KEY (org_code, redemption_id, position),
    FOREIGN KEY (org_code, redemption_id) REFERENCES loyalty_redemptions (org_code, redemption_id)
);

-- ---------------------------------------------------------------------------------------------
-- Gift cards
CREATE TABLE giftcards (
    org_code text NOT NULL,
    giftcard_id text NOT NULL,
    code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    last4 text NOT NULL CHECK (last4 ~ '^\S{4}$'),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    initial_minor bigint NOT NULL CHECK (initial_minor > 0),
    balance_minor bigint NOT NULL CHECK (balance_minor >= 0),
    status text NOT NULL CHECK (status IN ('active', 'void')),
    customer_id text,
    expires_at timestamptz,
    reason text,
    void_reason text,
    revision bigint NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, giftcard_id),
    CHECK (status <> 'void' OR balance_minor = 0),
    FOREIGN KEY (org_code, customer_id) REFERENCES customers (org_code, customer_id)
);
-- Global, not per org: a code lookup is one probe, then the org check (anti-enumeration).
CREATE UNIQUE INDEX giftcards_code_hash ON giftcards (code_hash);
CREATE INDEX giftcards_page ON giftcards (org_code, created_at DESC, giftcard_id DESC);
CREATE INDEX giftcards_customer_page ON giftcards (org_code, customer_id, created_at DESC, giftcard_id DESC)
    WHERE customer_id IS NOT NULL;

CREATE TABLE giftcard_redemptions (
    org_code text NOT NULL,
    redemption_id text NOT NULL,
    giftcard_id text NOT NULL,
    order_ref text NOT NULL,
    requested_minor bigint NOT NULL CHECK (requested_minor > 0),
    applied_minor bigint NOT NULL CHECK (applied_minor > 0 AND applied_minor <= requested_minor),
    reversed_minor bigint NOT NULL DEFAULT 0 CHECK (reversed_minor >= 0 AND reversed_minor <= applied_minor),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, redemption_id),
    FOREIGN KEY (org_code, giftcard_id) REFERENCES giftcards (org_code, giftcard_id)
);

CREATE TABLE giftcard_transactions (
    org_code text NOT NULL,
    txn_id text NOT NULL,
    giftcard_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('issue', 'redeem', 'reverse', 'void')),
    amount_minor bigint NOT NULL,  -- signed: credits positive
    balance_after_minor bigint NOT NULL CHECK (balance_after_minor >= 0),
    redemption_id text,
    order_ref text,
    reason text,
    actor text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, txn_id),
    FOREIGN KEY (org_code, giftcard_id) REFERENCES giftcards (org_code, giftcard_id),
    CHECK (kind NOT IN ('issue', 'reverse') OR amount_minor > 0),
    CHECK (kind <> 'redeem' OR amount_minor < 0),
    CHECK (kind <> 'void' OR amount_minor <= 0)
);
CREATE INDEX giftcard_transactions_card ON giftcard_transactions (org_code, giftcard_id, created_at, txn_id);
CREATE TRIGGER giftcard_transactions_append_only BEFORE UPDATE OR DELETE ON giftcard_transactions
    FOR EACH ROW EXECUTE FUNCTION crm_append_only();

-- ---------------------------------------------------------------------------------------------
-- SCM bookkeeping: what each sale and return did to loyalty (or why it did nothing).
CREATE TABLE scm_sales (
    org_code text NOT NULL,
    sale_id text NOT NULL,
    order_id text NOT NULL,
    status text NOT NULL CHECK (status IN ('applied', 'skipped')),
    reason text,  -- why skipped: guest, unknown-customer, customer-blocked, …
    customer_id text,
    customer_ref jsonb,  -- the identifiers of a skipped sale (erased on anonymize)
    currency text NOT NULL,
    eligible_minor bigint NOT NULL DEFAULT 0 CHECK (eligible_minor >= 0),
    points_earned bigint NOT NULL DEFAULT 0 CHECK (points_earned >= 0),
    earn_entry_id text,
    tender_points bigint NOT NULL DEFAULT 0 CHECK (tender_points >= 0),
    redemption_id text,
    occurred_at timestamptz NOT NULL,
    processed_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, sale_id),
    CHECK (status <> 'skipped' OR reason IS NOT NULL)
);
CREATE INDEX scm_sales_order ON scm_sales (org_code, order_id);
CREATE INDEX scm_sales_skipped ON scm_sales (org_code, processed_at DESC) WHERE status = 'skipped';

CREATE TABLE scm_sale_lines (
    org_code text NOT NULL,
    order_id text NOT NULL,
    line_id text NOT NULL,
    sku text NOT NULL,
    qty integer NOT NULL CHECK (qty > 0),
    net_amount_minor bigint NOT NULL CHECK (net_amount_minor >= 0),
    points bigint NOT NULL CHECK (points >= 0),
    returned_qty integer NOT NULL DEFAULT 0 CHECK (returned_qty >= 0),
    reversed_points bigint NOT NULL DEFAULT 0 CHECK (reversed_points >= 0 AND reversed_points <= points),
    PRIMARY KEY (org_code, order_id, line_id)
);

CREATE TABLE scm_returns (
    org_code text NOT NULL,
    return_id text NOT NULL,
    order_id text NOT NULL,
    status text NOT NULL CHECK (status IN ('parked', 'applied', 'skipped')),
    reason text,
    payload jsonb NOT NULL,  -- the ReturnRecorded payload (applied later when parked)
    reversed_points bigint NOT NULL DEFAULT 0 CHECK (reversed_points >= 0),
    restored_points bigint NOT NULL DEFAULT 0 CHECK (restored_points >= 0),
    notes jsonb NOT NULL DEFAULT '[]'::jsonb,
    received_at timestamptz NOT NULL,
    applied_at timestamptz,
    PRIMARY KEY (org_code, return_id)
);
CREATE INDEX scm_returns_parked ON scm_returns (org_code, order_id) WHERE status = 'parked';
