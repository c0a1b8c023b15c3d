-- API keys: one row per key, bound to one org and a set of roles. The key is shown once at
-- creation (`g3n_<key_id>_<secret>`); only sha256(secret) is kept. Revocation is a timestamp so
-- the audit trail (who held which roles when) survives.
CREATE TABLE api_keys (
    key_id text PRIMARY KEY CHECK (key_id ~ '^[a-z0-9]{8,64}$'),
    org_code text NOT NULL CHECK (org_code <> ''),
    roles text[] NOT NULL CHECK (cardinality(roles) > 0),
    secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    label text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_code, created_at DESC);

-- Sessions (`x-session-guid`): a bearer token with an expiry, bound to an org and roles like a
-- key. Only sha256 of the guid is stored; session_id is the public handle used in audit/revoke.
CREATE TABLE api_sessions (
    session_id text PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    org_code text NOT NULL CHECK (org_code <> ''),
    roles text[] NOT NULL CHECK (cardinality(roles) > 0),
    label text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX api_sessions_expiry ON api_sessions (expires_at);

-- Idempotency: the first request with a key claims the row inside its own transaction (so a
-- concurrent duplicate blocks on the primary key), and the response is written before commit.
-- status_code/response_body are NULL only while that transaction is open; a committed row
-- always has both. The body is the exact bytes sent the first time, so a replay is
-- byte-identical. Rows are valid for 24 h (expires_at); expired rows are taken over or purged.
CREATE TABLE idempotency_keys (
    org_code text NOT NULL,
    operation text NOT NULL,
    idem_key text NOT NULL,
    request_hash bytea NOT NULL,
    status_code integer CHECK (status_code BETWEEN 200 AND 499),
    response_body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (org_code, operation, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
