-- Influencer (IFM) core schema. Every table carries org_code and every key starts with it, so
-- no query can reach another org's rows by id alone. Money is bigint minor units with the
-- currency beside it; rates are basis points. CHECK constraints are the last line of defence
-- behind the domain rules (known states, non-negative amounts, clawbacks within the earning).

CREATE FUNCTION ifm_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only / immutable', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$;

-- Profiles ------------------------------------------------------------------------------------
CREATE TABLE ifm_profiles (
    org_code text NOT NULL CHECK (org_code <> ''),
    profile_id text NOT NULL,
    handle text NOT NULL CHECK (handle <> ''),
    display_name text NOT NULL CHECK (display_name <> ''),
    email text,
    country text CHECK (country ~ '^[A-Z]{2}$'),
    payout_currency text NOT NULL CHECK (payout_currency ~ '^[A-Z]{3}$'),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    status_reason text,
    payout_ready boolean NOT NULL DEFAULT false,
    payout_method jsonb,
    payout_note text,
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    PRIMARY KEY (org_code, profile_id)
);
CREATE UNIQUE INDEX ifm_profiles_handle ON ifm_profiles (org_code, lower(handle));
CREATE INDEX ifm_profiles_page ON ifm_profiles (org_code, created_at DESC, profile_id DESC);
CREATE INDEX ifm_profiles_status_page ON ifm_profiles (org_code, status, created_at DESC, profile_id DESC);
CREATE INDEX ifm_profiles_handle_prefix ON ifm_profiles (org_code, lower(handle) text_pattern_ops);

-- Referral / promo codes: unique per org case-insensitively (code_key is the upper-cased code).
CREATE TABLE ifm_profile_codes (
    org_code text NOT NULL,
    code_key text NOT NULL CHECK (code_key = upper(code_key) AND code_key <> ''),
    code text NOT NULL,
    profile_id text NOT NULL,
    position integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (org_code, code_key),
    FOREIGN KEY (org_code, profile_id) REFERENCES ifm_profiles (org_code, profile_id)
);
CREATE INDEX ifm_profile_codes_profile ON ifm_profile_codes (org_code, profile_id, position);

-- Campaigns -----------------------------------------------------------------------------------
CREATE TABLE ifm_campaigns (
    org_code text NOT NULL,
    campaign_id text NOT NULL,
    name text NOT NULL CHECK (name <> ''),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz,
    commission_type text NOT NULL CHECK (commission_type IN ('percent', 'flat')),
    rate_bps integer CHECK (rate_bps BETWEEN 0 AND 10000),
    flat_amount_minor bigint CHECK (flat_amount_minor >= 0),
    holding_days integer NOT NULL DEFAULT 30 CHECK (holding_days BETWEEN 0 AND 180),
    eligible_skus text[] NOT NULL DEFAULT '{}',
    excluded_skus text[] NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'ended')),
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    PRIMARY KEY (org_code, campaign_id),
    CHECK (ends_at IS NULL OR ends_at > starts_at),
    CHECK ((commission_type = 'percent' AND rate_bps IS NOT NULL AND flat_amount_minor IS NULL)
        OR (commission_type = 'flat' AND flat_amount_minor IS NOT NULL AND rate_bps IS NULL))
);
CREATE INDEX ifm_campaigns_page ON ifm_campaigns (org_code, created_at DESC, campaign_id DESC);
CREATE INDEX ifm_campaigns_status_page ON ifm_campaigns (org_code, status, created_at DESC, campaign_id DESC);

-- The discount-tier ladder of a campaign (replaced as a whole by /discount-tier/set).
CREATE TABLE ifm_discount_tiers (
    org_code text NOT NULL,
    campaign_id text NOT NULL,
    position integer NOT NULL CHECK (position >= 0),
    name text NOT NULL CHECK (name <> ''),
    min_orders integer NOT NULL CHECK (min_orders >= 0),
    discount_bps integer NOT NULL CHECK (discount_bps BETWEEN 0 AND 10000),
    commission_bps integer NOT NULL CHECK (commission_bps BETWEEN 0 AND 10000),
    PRIMARY KEY (org_code, campaign_id, position),
    UNIQUE (org_code, campaign_id, min_orders),
    FOREIGN KEY (org_code, campaign_id) REFERENCES ifm_campaigns (org_code, campaign_id)
);

-- Members: counted_orders is the number of orders attributed to the profile in the campaign
-- that are not fully refunded (the tier input), maintained under the member row lock.
CREATE TABLE ifm_campaign_members (
    org_code text NOT NULL,
    campaign_id text NOT NULL,
    profile_id text NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
    counted_orders integer NOT NULL DEFAULT 0 CHECK (counted_orders >= 0),
    added_at timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_code, campaign_id, profile_id),
    FOREIGN KEY (org_code, campaign_id) REFERENCES ifm_campaigns (org_code, campaign_id),
    FOREIGN KEY (org_code, profile_id) REFERENCES ifm_profiles (org_code, profile_id)
);
CREATE INDEX ifm_members_profile ON ifm_campaign_members (org_code, profile_id) WHERE status = 'active';

-- Attributions --------------------------------------------------------------------------------
CREATE TABLE ifm_attributions (
    org_code text NOT NULL,
    attribution_id text NOT NULL,
    campaign_id text NOT NULL,
    profile_id text NOT NULL,
    order_id text NOT NULL CHECK (order_id <> ''),
    code text,
    source text NOT NULL CHECK (source IN ('api', 'scm')),
    sale_id text,
    occurred_at timestamptz NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    net_sales_minor bigint NOT NULL CHECK (net_sales_minor >= 0),
    content_hash bytea NOT NULL,
    fully_refunded boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    PRIMARY KEY (org_code, attribution_id),
    UNIQUE (org_code, campaign_id, order_id),
    FOREIGN KEY (org_code, campaign_id, profile_id)
        REFERENCES ifm_campaign_members (org_code, campaign_id, profile_id)
);
CREATE INDEX ifm_attributions_page ON ifm_attributions (org_code, created_at DESC, attribution_id DESC);
CREATE INDEX ifm_attributions_order ON ifm_attributions (org_code, order_id);
CREATE INDEX ifm_attributions_campaign ON ifm_attributions (org_code, campaign_id, created_at DESC, attribution_id DESC);
CREATE INDEX ifm_attributions_profile ON ifm_attributions (org_code, profile_id, created_at DESC, attribution_id DESC);

-- Order lines of an attribution with the earning's per-line amounts and clawbacks.
CREATE TABLE ifm_attribution_lines (
    org_code text NOT NULL,
    attribution_id text NOT NULL,
    position integer NOT NULL CHECK (position >= 0),
    line_id text NOT NULL,
    sku text NOT NULL,
    qty integer NOT NULL CHECK (qty > 0),
    net_amount_minor bigint NOT NULL CHECK (net_amount_minor >= 0),
    eligible boolean NOT NULL,
    basis_minor bigint NOT NULL CHECK (basis_minor >= 0 AND basis_minor <= net_amount_minor),
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    returned_qty integer NOT NULL DEFAULT 0 CHECK (returned_qty >= 0 AND returned_qty <= qty),
    clawed_back_minor bigint NOT NULL DEFAULT 0 CHECK (clawed_back_minor >= 0 AND clawed_back_minor <= amount_minor),
    PRIMARY KEY (org_code, attribution_id, line_id),
    FOREIGN KEY (org_code, attribution_id) REFERENCES ifm_attributions (org_code, attribution_id),
    CHECK (eligible OR (basis_minor = 0 AND amount_minor = 0))
);

-- Earnings: one per attribution. amount_minor never changes; the rule, rate and tier in force
-- are snapshotted. held_from remembers where a hold came from (clearing returns there).
CREATE TABLE ifm_earnings (
    org_code text NOT NULL,
    earning_id text NOT NULL,
    attribution_id text NOT NULL,
    profile_id text NOT NULL,
    campaign_id text NOT NULL,
    order_id text NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    occurred_at timestamptz NOT NULL,
    basis_minor bigint NOT NULL CHECK (basis_minor >= 0),
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    clawed_back_minor bigint NOT NULL DEFAULT 0 CHECK (clawed_back_minor >= 0 AND clawed_back_minor <= amount_minor),
    rule text NOT NULL CHECK (rule IN ('percent', 'flat', 'tier')),
    rate_bps integer CHECK (rate_bps BETWEEN 0 AND 10000),
    flat_amount_minor bigint CHECK (flat_amount_minor >= 0),
    tier jsonb,
    prior_orders integer NOT NULL CHECK (prior_orders >= 0),
    holding_days integer NOT NULL CHECK (holding_days BETWEEN 0 AND 180),
    status text NOT NULL CHECK (status IN ('pending', 'released', 'held', 'paid', 'reversed')),
    held_from text CHECK (held_from IN ('pending', 'released')),
    hold_reason text,
    hold_until timestamptz,
    hold_dispute_id text,
    held_at timestamptz,
    available_at timestamptz NOT NULL,
    released_at timestamptz,
    payout_id text,
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_code, earning_id),
    UNIQUE (org_code, attribution_id),
    FOREIGN KEY (org_code, attribution_id) REFERENCES ifm_attributions (org_code, attribution_id),
    CHECK ((status = 'held') = (held_from IS NOT NULL)),
    CHECK (status <> 'held' OR hold_reason IS NOT NULL),
    CHECK ((status = 'paid') = (payout_id IS NOT NULL)),
    CHECK (status <> 'reversed' OR clawed_back_minor = amount_minor),
    CHECK ((rule = 'flat') = (flat_amount_minor IS NOT NULL)),
    CHECK ((rule = 'flat') = (rate_bps IS NULL)),
    CHECK ((rule = 'tier') = (tier IS NOT NULL))
);
CREATE INDEX ifm_earnings_page ON ifm_earnings (org_code, created_at DESC, earning_id DESC);
CREATE INDEX ifm_earnings_profile ON ifm_earnings (org_code, profile_id, status, currency);
CREATE INDEX ifm_earnings_campaign ON ifm_earnings (org_code, campaign_id, status);
CREATE INDEX ifm_earnings_payout ON ifm_earnings (org_code, payout_id) WHERE payout_id IS NOT NULL;
CREATE INDEX ifm_earnings_due ON ifm_earnings (available_at) WHERE status = 'pending';
CREATE INDEX ifm_earnings_hold_expiry ON ifm_earnings (hold_until) WHERE status = 'held' AND hold_until IS NOT NULL;

-- Carry-over per profile and currency: what clawbacks on paid earnings took back and the next
-- payout nets off (negative = a credit, see domain/payouts.py). Derivable from the ledger
-- (sum of carry_over_delta_minor); kept here so payouts lock one row.
CREATE TABLE ifm_carry_overs (
    org_code text NOT NULL,
    profile_id text NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    carry_over_minor bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_code, profile_id, currency),
    FOREIGN KEY (org_code, profile_id) REFERENCES ifm_profiles (org_code, profile_id)
);

-- Payouts -------------------------------------------------------------------------------------
CREATE TABLE ifm_payouts (
    org_code text NOT NULL,
    payout_id text NOT NULL,
    profile_id text NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    released_minor bigint NOT NULL CHECK (released_minor > 0),
    carry_over_minor bigint NOT NULL,
    earning_ids text[] NOT NULL CHECK (cardinality(earning_ids) > 0),
    payee jsonb NOT NULL,
    status text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'settled', 'failed')),
    submitted_at timestamptz NOT NULL DEFAULT now(),
    settled_at timestamptz,
    settlement_reference text,
    failed_at timestamptz,
    failure_reason text,
    history jsonb NOT NULL DEFAULT '[]'::jsonb,
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    PRIMARY KEY (org_code, payout_id),
    FOREIGN KEY (org_code, profile_id) REFERENCES ifm_profiles (org_code, profile_id),
    CHECK (amount_minor = released_minor - carry_over_minor),
    CHECK ((status = 'settled') = (settled_at IS NOT NULL)),
    CHECK ((status = 'failed') = (failed_at IS NOT NULL))
);
CREATE INDEX ifm_payouts_page ON ifm_payouts (org_code, created_at DESC, payout_id DESC);
CREATE INDEX ifm_payouts_profile ON ifm_payouts (org_code, profile_id, created_at DESC, payout_id DESC);

-- Disputes ------------------------------------------------------------------------------------
CREATE TABLE ifm_disputes (
    org_code text NOT NULL,
    dispute_id text NOT NULL,
    earning_ids text[] NOT NULL CHECK (cardinality(earning_ids) > 0),
    reason text NOT NULL CHECK (reason <> ''),
    note text,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'rejected')),
    resolution_note text,
    resolved_at timestamptz,
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    PRIMARY KEY (org_code, dispute_id),
    CHECK ((status = 'open') = (resolved_at IS NULL))
);
CREATE INDEX ifm_disputes_page ON ifm_disputes (org_code, created_at DESC, dispute_id DESC);

-- The earning ledger: append-only. Every money movement (accrual, clawback, payout, payout
-- failure, carry-over cancellation) and every status move of an earning (release, hold, hold
-- clear, paid) is a row. Balances derive from it:
--   balance owed to a profile   = sum(balance_delta_minor)
--   carry-over of a profile     = sum(carry_over_delta_minor)
--   earning's clawed back       = sum(amount_minor) of its clawback rows
CREATE TABLE ifm_ledger (
    entry_id bigserial PRIMARY KEY,
    org_code text NOT NULL,
    profile_id text NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    kind text NOT NULL CHECK (kind IN ('accrual', 'clawback', 'release', 'hold', 'hold_clear', 'paid',
                                       'payout', 'payout_failed', 'unpaid', 'carry_over_cancelled')),
    earning_id text,
    payout_id text,
    dispute_id text,
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    balance_delta_minor bigint NOT NULL,
    carry_over_delta_minor bigint NOT NULL DEFAULT 0,
    status_from text,
    status_to text,
    reason text,
    ref text,
    source text NOT NULL CHECK (source IN ('api', 'scm', 'scheduler', 'accounting')),
    actor text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (CASE kind
        WHEN 'accrual' THEN balance_delta_minor = amount_minor AND earning_id IS NOT NULL
        WHEN 'clawback' THEN balance_delta_minor = -amount_minor AND earning_id IS NOT NULL
        WHEN 'payout' THEN balance_delta_minor = -amount_minor AND payout_id IS NOT NULL
        WHEN 'payout_failed' THEN balance_delta_minor = amount_minor AND payout_id IS NOT NULL
        ELSE balance_delta_minor = 0
    END)
);
CREATE INDEX ifm_ledger_profile ON ifm_ledger (org_code, profile_id, currency, created_at, entry_id);
CREATE INDEX ifm_ledger_earning ON ifm_ledger (org_code, earning_id, entry_id) WHERE earning_id IS NOT NULL;
CREATE TRIGGER ifm_ledger_append_only BEFORE UPDATE OR DELETE ON ifm_ledger
    FOR EACH ROW EXECUTE FUNCTION ifm_forbid_change();

-- Statements: immutable once created.
CREATE TABLE ifm_statements (
    org_code text NOT NULL,
    statement_id text NOT NULL,
    profile_id text NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    opening_balance_minor bigint NOT NULL,
    earned_minor bigint NOT NULL CHECK (earned_minor >= 0),
    clawed_back_minor bigint NOT NULL CHECK (clawed_back_minor >= 0),
    paid_minor bigint NOT NULL,
    closing_balance_minor bigint NOT NULL,
    lines jsonb NOT NULL,
    previous_statement_id text,
    revision integer NOT NULL DEFAULT 1 CHECK (revision = 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    PRIMARY KEY (org_code, statement_id),
    FOREIGN KEY (org_code, profile_id) REFERENCES ifm_profiles (org_code, profile_id),
    CHECK (period_end > period_start),
    CHECK (closing_balance_minor = opening_balance_minor + earned_minor - clawed_back_minor - paid_minor)
);
CREATE INDEX ifm_statements_profile ON ifm_statements (org_code, profile_id, currency, period_end);
CREATE TRIGGER ifm_statements_immutable BEFORE UPDATE OR DELETE ON ifm_statements
    FOR EACH ROW EXECUTE FUNCTION ifm_forbid_change();

-- Returns that arrived before their order was attributed: parked, applied when an attribution
-- for the order is recorded (any source), purged after the retention period.
CREATE TABLE ifm_parked_returns (
    org_code text NOT NULL,
    return_id text NOT NULL,
    order_id text NOT NULL,
    occurred_at timestamptz NOT NULL,
    currency text NOT NULL,
    lines jsonb NOT NULL,
    event_id uuid NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_code, return_id)
);
CREATE INDEX ifm_parked_returns_order ON ifm_parked_returns (org_code, order_id);
CREATE INDEX ifm_parked_returns_age ON ifm_parked_returns (parked_at);

-- Returns applied to an attribution (one row per return and attribution): the audit of what
-- each return clawed back, and the guard that one return is applied once per attribution.
CREATE TABLE ifm_applied_returns (
    org_code text NOT NULL,
    return_id text NOT NULL,
    attribution_id text NOT NULL,
    order_id text NOT NULL,
    clawback_minor bigint NOT NULL CHECK (clawback_minor >= 0),
    lines jsonb NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_code, return_id, attribution_id),
    FOREIGN KEY (org_code, attribution_id) REFERENCES ifm_attributions (org_code, attribution_id)
);
