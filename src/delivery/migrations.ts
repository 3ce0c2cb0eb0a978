/**
 * Numbered migrations per store; each runs once, in a transaction, guarded against two
 * migrators (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock). Append, never edit:
 * test/delivery/migrations.test.ts fails when the resulting schema drifts.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    connector_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'delivered', 'dead', 'cancelled')),
    variables TEXT NOT NULL,
    file BLOB,
    file_meta TEXT,
    idempotency_key TEXT,
    ordering_key TEXT,
    depends_on TEXT,
    policy TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    backoff_attempts INTEGER NOT NULL DEFAULT 0,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    first_attempt_at INTEGER,
    next_attempt_at INTEGER NOT NULL,
    lease_token TEXT,
    lease_expires_at INTEGER,
    result TEXT,
    last_error TEXT,
    UNIQUE (connector_id, idempotency_key)
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_leased ON deliveries (lease_expires_at) WHERE status = 'running';
  CREATE INDEX deliveries_ordering ON deliveries (ordering_key, seq) WHERE status IN ('pending', 'running');
  CREATE INDEX deliveries_depends_on ON deliveries (depends_on) WHERE depends_on IS NOT NULL;
  CREATE INDEX deliveries_status ON deliveries (status, seq);
  CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER,
    network_error TEXT,
    classification TEXT NOT NULL,
    reason TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    request TEXT,
    PRIMARY KEY (delivery_id, n)
  );
  CREATE TABLE oauth_tokens (
    connector_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );`,
  // 2: session flows (state per platform session, including the events it has seen).
  `CREATE TABLE sessions (
    connector_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    customer_key TEXT,
    ended_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (connector_id, session_id)
  );
  CREATE INDEX sessions_customer ON sessions (connector_id, customer_key, ended_at) WHERE customer_key IS NOT NULL;`,
  // 3: the unknown_outcome status (a create that may or may not have happened, for an operator
  // to resolve), and a delivery's condition and step facts as columns of their own (they were a
  // "__flow" key inside the variables). SQLite cannot change a CHECK constraint in place: the
  // table is rebuilt, with the attempts set aside first (dropping deliveries would cascade to them).
  `CREATE TEMP TABLE attempts_copy AS SELECT * FROM delivery_attempts;
  DROP TABLE delivery_attempts;
  CREATE TABLE deliveries_new (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    connector_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'delivered', 'dead', 'cancelled', 'unknown_outcome')),
    variables TEXT NOT NULL,
    file BLOB,
    file_meta TEXT,
    idempotency_key TEXT,
    ordering_key TEXT,
    depends_on TEXT,
    policy TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    backoff_attempts INTEGER NOT NULL DEFAULT 0,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    first_attempt_at INTEGER,
    next_attempt_at INTEGER NOT NULL,
    lease_token TEXT,
    lease_expires_at INTEGER,
    result TEXT,
    last_error TEXT,
    run_condition TEXT,
    step_facts TEXT,
    UNIQUE (connector_id, idempotency_key)
  );
  INSERT INTO deliveries_new SELECT *,
      CASE WHEN operation NOT IN ('resolve_account', 'resolve_record') THEN json_extract(variables, '$.__flow') END,
      CASE WHEN operation IN ('resolve_account', 'resolve_record') THEN json_extract(variables, '$.__flow') END
    FROM deliveries;
  UPDATE deliveries_new SET variables = json_remove(variables, '$.__flow') WHERE json_extract(variables, '$.__flow') IS NOT NULL;
  DROP TABLE deliveries;
  ALTER TABLE deliveries_new RENAME TO deliveries;
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_leased ON deliveries (lease_expires_at) WHERE status = 'running';
  CREATE INDEX deliveries_ordering ON deliveries (ordering_key, seq) WHERE status IN ('pending', 'running');
  CREATE INDEX deliveries_depends_on ON deliveries (depends_on) WHERE depends_on IS NOT NULL;
  CREATE INDEX deliveries_status ON deliveries (status, seq);
  CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER,
    network_error TEXT,
    classification TEXT NOT NULL,
    reason TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    request TEXT,
    PRIMARY KEY (delivery_id, n)
  );
  INSERT INTO delivery_attempts SELECT * FROM attempts_copy;
  DROP TABLE attempts_copy;`,
  // 4: OAuth tokens sealed at rest (AES-256-GCM, see src/auth/token-cipher.ts); start-up moves
  // the plaintext rows of oauth_tokens here and deletes them. Refresh locks between processes.
  `CREATE TABLE oauth_sealed_tokens (
    connector_id TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    key_id TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE oauth_refresh_locks (
    connector_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );`,
  // 5: retention: when a finished delivery's variables and file were purged; what is due for it.
  `ALTER TABLE deliveries ADD COLUMN purged_at INTEGER;
  CREATE INDEX deliveries_retention ON deliveries (updated_at) WHERE status IN ('delivered', 'dead', 'cancelled') AND purged_at IS NULL;
  CREATE INDEX sessions_updated ON sessions (updated_at);`,
  // 6: sessions waiting (for the customer's identity, or an agent) as columns, so the unidentified
  // sweep and /metrics find them without reading every session's state.
  `ALTER TABLE sessions ADD COLUMN waiting_for TEXT;
  ALTER TABLE sessions ADD COLUMN waiting_since INTEGER;
  ALTER TABLE sessions ADD COLUMN unidentified_at INTEGER;
  CREATE INDEX sessions_waiting ON sessions (waiting_for, connector_id, waiting_since) WHERE waiting_for IS NOT NULL;`,
  // 7: reconciliation watermarks of platform sources (e.g. Zoom-style webhooks): up to which
  // time (ms since epoch) everything the platform lists has been handled, and when a run last ended.
  `CREATE TABLE platform_watermarks (
    connector_id TEXT NOT NULL,
    source TEXT NOT NULL,
    watermark INTEGER NOT NULL,
    last_run_at INTEGER NOT NULL,
    PRIMARY KEY (connector_id, source)
  );`,
  // 8: (PostgreSQL only: rate_buckets, the rate-limit budget replicas share.) On SQLite a
  // connector's budget is per process, in memory; this keeps both lists numbered alike.
  'SELECT 1;',
];

export const POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE deliveries (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    connector_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'delivered', 'dead', 'cancelled')),
    variables JSONB NOT NULL,
    file BYTEA,
    file_meta JSONB,
    idempotency_key TEXT,
    ordering_key TEXT,
    depends_on TEXT,
    policy JSONB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    backoff_attempts INTEGER NOT NULL DEFAULT 0,
    ambiguous BOOLEAN NOT NULL DEFAULT false,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    first_attempt_at BIGINT,
    next_attempt_at BIGINT NOT NULL,
    lease_token TEXT,
    lease_expires_at BIGINT,
    result JSONB,
    last_error JSONB,
    UNIQUE (connector_id, idempotency_key)
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_leased ON deliveries (lease_expires_at) WHERE status = 'running';
  CREATE INDEX deliveries_ordering ON deliveries (ordering_key, seq) WHERE status IN ('pending', 'running');
  CREATE INDEX deliveries_depends_on ON deliveries (depends_on) WHERE depends_on IS NOT NULL;
  CREATE INDEX deliveries_status ON deliveries (status, seq);
  CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    at BIGINT NOT NULL,
    status INTEGER,
    network_error TEXT,
    classification TEXT NOT NULL,
    reason TEXT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    request TEXT,
    PRIMARY KEY (delivery_id, n)
  );
  CREATE TABLE oauth_tokens (
    connector_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    updated_at BIGINT NOT NULL
  );`,
  // 2: session flows (state per platform session, including the events it has seen).
  `CREATE TABLE sessions (
    connector_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    state JSONB NOT NULL,
    version INTEGER NOT NULL,
    customer_key TEXT,
    ended_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connector_id, session_id)
  );
  CREATE INDEX sessions_customer ON sessions (connector_id, customer_key, ended_at) WHERE customer_key IS NOT NULL;`,
  // 3: the unknown_outcome status (a create that may or may not have happened, for an operator to
  // resolve), and a delivery's condition and step facts as columns (they were "__flow" in the variables).
  `ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
  ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('pending', 'running', 'delivered', 'dead', 'cancelled', 'unknown_outcome'));
  ALTER TABLE deliveries ADD COLUMN run_condition JSONB, ADD COLUMN step_facts JSONB;
  UPDATE deliveries SET
      run_condition = CASE WHEN operation NOT IN ('resolve_account', 'resolve_record') THEN variables->'__flow' END,
      step_facts = CASE WHEN operation IN ('resolve_account', 'resolve_record') THEN variables->'__flow' END,
      variables = variables - '__flow'
    WHERE variables ? '__flow';`,
  // 4: OAuth tokens sealed at rest (AES-256-GCM, see src/auth/token-cipher.ts); start-up moves
  // the plaintext rows of oauth_tokens here and deletes them. Refreshes lock with an advisory lock.
  `CREATE TABLE oauth_sealed_tokens (
    connector_id TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    key_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL
  );`,
  // 5: retention: when a finished delivery's variables and file were purged; what is due for it.
  `ALTER TABLE deliveries ADD COLUMN purged_at BIGINT;
  CREATE INDEX deliveries_retention ON deliveries (updated_at) WHERE status IN ('delivered', 'dead', 'cancelled') AND purged_at IS NULL;
  CREATE INDEX sessions_updated ON sessions (updated_at);`,
  // 6: sessions waiting (for the customer's identity, or an agent) as columns, so the unidentified
  // sweep and /metrics find them without reading every session's state.
  `ALTER TABLE sessions ADD COLUMN waiting_for TEXT, ADD COLUMN waiting_since BIGINT, ADD COLUMN unidentified_at BIGINT;
  CREATE INDEX sessions_waiting ON sessions (waiting_for, connector_id, waiting_since) WHERE waiting_for IS NOT NULL;`,
  // 7: reconciliation watermarks of platform sources (see the SQLite list).
  `CREATE TABLE platform_watermarks (
    connector_id TEXT NOT NULL,
    source TEXT NOT NULL,
    watermark BIGINT NOT NULL,
    last_run_at BIGINT NOT NULL,
    PRIMARY KEY (connector_id, source)
  );`,
  // 8: rate-limit buckets shared by replicas (src/pacing/postgres-buckets.ts): one row per
  // connector and bucket ("*" or an operation), updated atomically by each call that takes a slot.
  `CREATE TABLE rate_buckets (
    connector_id TEXT NOT NULL,
    bucket TEXT NOT NULL,
    tokens DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL,
    blocked_until_ms BIGINT NOT NULL DEFAULT 0,
    cap_rate DOUBLE PRECISION,
    cap_until_ms BIGINT,
    PRIMARY KEY (connector_id, bucket)
  );`,
];
