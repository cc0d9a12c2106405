/**
 * The PostgreSQL schema, as an ordered list of versioned migrations with the same versions, names,
 * tables and columns as the SQLite adapter's, so one version number means the same schema on every
 * SQL backend. A database records what it has applied in `careid_schema_migrations`.
 */
import type pg from 'pg'
import type { Migration } from '../sqlite/migrations.ts'
import type { Query } from './database.ts'

// Times are BIGINT milliseconds; JSON values are JSONB, parsed by pg on the way out.
const initialSchema = `
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  client_name TEXT NOT NULL,
  redirect_uris JSONB NOT NULL,
  post_logout_redirect_uris JSONB NOT NULL,
  backchannel_logout_uri TEXT,
  token_endpoint_auth_method TEXT NOT NULL,
  client_secret_hash TEXT,
  jwks_uri TEXT,
  jwks JSONB,
  token_endpoint_auth_signing_alg TEXT,
  refresh_tokens BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  public_jwk JSONB NOT NULL,
  private_jwk_encrypted TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
  created_at BIGINT NOT NULL,
  activate_at BIGINT NOT NULL,
  remove_at BIGINT
);
-- The contract's "at most one active key", enforced by the database itself.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';

CREATE TABLE people (
  uid TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  person JSONB NOT NULL
);

CREATE TABLE credentials (
  id TEXT PRIMARY KEY,
  uid TEXT NOT NULL,
  kind TEXT NOT NULL,
  secret TEXT NOT NULL,
  state JSONB NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX credentials_by_person ON credentials (uid, created_at, id);

CREATE TABLE grants (
  grant_id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  sub TEXT NOT NULL,
  sid TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX grants_by_expiry ON grants (expires_at);

-- Refresh tokens live and die with their grant: removing expired grants removes their tokens.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES grants (grant_id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  rotated_at BIGINT
);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);

CREATE TABLE logout_outbox (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  backchannel_logout_uri TEXT NOT NULL,
  sub TEXT NOT NULL,
  sid TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  claimed_by TEXT,
  claim_expires_at BIGINT,
  delivered_at BIGINT,
  gave_up_at BIGINT,
  last_error TEXT,
  UNIQUE (client_id, sid)
);
CREATE INDEX logout_outbox_due ON logout_outbox (next_attempt_at, id)
  WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX logout_outbox_by_claimant ON logout_outbox (claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE audit_log (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  type TEXT NOT NULL,
  subject TEXT,
  client_id TEXT,
  detail JSONB
);
-- Serves "newest first" as (at DESC, seq DESC), scanned backwards.
CREATE INDEX audit_log_by_time ON audit_log (at, seq);

CREATE TABLE codes (
  code_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  payload JSONB NOT NULL,
  redeemed_at BIGINT
);
CREATE INDEX codes_by_expiry ON codes (expires_at);

CREATE TABLE sessions (
  session_hash TEXT PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  sub TEXT NOT NULL,
  amr JSONB NOT NULL,
  aal SMALLINT NOT NULL CHECK (aal IN (1, 2, 3)),
  auth_time BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  idle_expires_at BIGINT NOT NULL,
  selected_roleid TEXT,
  clients JSONB NOT NULL,
  binding TEXT
);
CREATE INDEX sessions_by_binding ON sessions (binding, created_at, sid) WHERE binding IS NOT NULL;
-- A session ends at whichever limit comes first; the sweep queries this exact expression.
CREATE INDEX sessions_by_end ON sessions ((LEAST(expires_at, idle_expires_at)));

CREATE TABLE interactions (
  id TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL,
  payload JSONB NOT NULL
);
CREATE INDEX interactions_by_expiry ON interactions (expires_at);

CREATE TABLE replay_markers (
  key TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX replay_markers_by_expiry ON replay_markers (expires_at);
`

/** Fixed-window hit counters for rate limits: one row per key and window, deleted once the window ends. */
const rateCounters = `
CREATE TABLE rate_counters (
  key TEXT NOT NULL,
  window_end BIGINT NOT NULL,
  hits BIGINT NOT NULL,
  PRIMARY KEY (key, window_end)
);
CREATE INDEX rate_counters_by_window_end ON rate_counters (window_end);
`

// The card registry; see the SQLite schema for why the counter's CHECK stops at 3.
const cardsSchema = `
CREATE TABLE cards (
  serial TEXT PRIMARY KEY,
  uid TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('virtual', 'pkcs11')),
  certificate TEXT NOT NULL,
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  revoked_at BIGINT,
  failed_attempts INTEGER NOT NULL CHECK (failed_attempts BETWEEN 0 AND 3),
  locked_at BIGINT
);
CREATE INDEX cards_by_person ON cards (uid, created_at, serial);

-- At most one row: the deployment's card authority.
CREATE TABLE card_authority (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  certificate TEXT NOT NULL,
  private_key_sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
`

// See the SQLite schema's version 4.
const grantSignIn = `
ALTER TABLE grants ADD COLUMN sign_in JSONB;
CREATE INDEX grants_by_sid ON grants (sid);
CREATE INDEX sessions_by_sub ON sessions (sub, created_at, sid);
`

// Who counts wrong passcodes. A virtual card's private key opens only with a share the provider
// releases after a passcode proof; the secrets that check the proofs and the share are kept here,
// sealed under the key-encryption key (cards issued before have none: their files are refused, to
// be reissued). A PKCS#11 card counts its own PIN tries; its authentication key (public, SPKI)
// lets it prove it is at hand when it reports its PIN locked.
const cardPasscodeChecks = `
ALTER TABLE cards ADD COLUMN unlock_secrets_sealed TEXT;
ALTER TABLE cards ADD COLUMN authentication_key TEXT;
`

// NULL: the client lists no web origins, and its redirect URIs' origins apply (CORS).
const clientWebOrigins = `
ALTER TABLE clients ADD COLUMN web_origins JSONB;
`

// Who made each change, and digests of the record before and after it (NULL: Careid itself
// recorded the event, or there was no record on that side; see AuditEvent).
const auditActors = `
ALTER TABLE audit_log ADD COLUMN actor TEXT;
ALTER TABLE audit_log ADD COLUMN before_digest TEXT;
ALTER TABLE audit_log ADD COLUMN after_digest TEXT;
`

// See the SQLite schema's version 9.
const apimApplications = `
CREATE TABLE apim_applications (
  api_key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  callback_urls JSONB NOT NULL,
  jwks_uri TEXT,
  jwks JSONB,
  subscriptions JSONB NOT NULL,
  created_at BIGINT NOT NULL
);
`

/** Every PostgreSQL migration, oldest first; `sql` is PostgreSQL, run as one transaction. */
// The demographics service's patients: the FHIR resource, and the columns a search compares
// (computed by the caller, see PatientRecord). A search always names a family name, exact or
// phonetic, usually with a birth date range: each index serves one of them, birth date second.
const patients = `
CREATE TABLE patients (
  nhs_number TEXT PRIMARY KEY,
  version BIGINT NOT NULL,
  resource JSONB NOT NULL,
  family TEXT NOT NULL,
  given TEXT NOT NULL,
  family_phonetic TEXT NOT NULL,
  birth_date TEXT NOT NULL,
  gender TEXT NOT NULL,
  postcode TEXT,
  restricted BOOLEAN NOT NULL,
  status TEXT NOT NULL,
  superseded_by TEXT
);
CREATE INDEX patients_by_family ON patients (family, birth_date);
CREATE INDEX patients_by_family_phonetic ON patients (family_phonetic, birth_date);
`

// See the SQLite schema's version 10.
const apiGrants = `
CREATE TABLE api_grants (
  grant_id TEXT PRIMARY KEY,
  api_key TEXT NOT NULL,
  pattern TEXT NOT NULL CHECK (pattern IN ('combined', 'token_exchange', 'client_credentials')),
  scope TEXT NOT NULL,
  grant_user JSONB,
  sid TEXT,
  cis2_access_token_sealed TEXT,
  authenticated_at BIGINT NOT NULL,
  refresh_until BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX api_grants_by_sid ON api_grants (sid) WHERE sid IS NOT NULL;
CREATE INDEX api_grants_by_expiry ON api_grants (expires_at);

CREATE TABLE api_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES api_grants (grant_id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  refresh_count INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX api_tokens_by_grant ON api_tokens (grant_id);
CREATE INDEX api_tokens_by_expiry ON api_tokens (expires_at);
`

export const postgresMigrations: readonly Migration[] = [
  { version: 1, name: 'initial schema', sql: initialSchema },
  { version: 2, name: 'rate counters', sql: rateCounters },
  { version: 3, name: 'smartcards', sql: cardsSchema },
  { version: 4, name: 'grant sign-in facts', sql: grantSignIn },
  { version: 5, name: 'card passcode checks', sql: cardPasscodeChecks },
  { version: 6, name: 'client web origins', sql: clientWebOrigins },
  { version: 7, name: 'audit actors and digests', sql: auditActors },
  { version: 8, name: 'patients', sql: patients },
  { version: 9, name: 'API Platform applications', sql: apimApplications },
  { version: 10, name: 'API Platform grants and tokens', sql: apiGrants },
]

/** The version a fully migrated PostgreSQL database is at. */
export const latestPostgresSchemaVersion: number = postgresMigrations.at(-1)?.version ?? 0

/**
 * The first key of the advisory lock that serialises migrations; the second is the schema's name,
 * hashed, so Careid deployments in different schemas of one database do not wait for each other.
 */
const MIGRATION_LOCK = 0x63617265 // 'care'
/**
 * Migrations run with their own, longer statement timeout: a node may wait this long for another
 * node's migration to finish (the advisory lock) before giving up.
 */
const MIGRATION_STATEMENT_TIMEOUT_MS = 60_000

const createLedger = `
CREATE TABLE IF NOT EXISTS careid_schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`

/** The highest version applied (0 for an empty database). Throws if the ledger is missing. */
export async function appliedPostgresVersion(query: Query): Promise<number> {
  const { rows } = await query<{ version: number | null }>('SELECT max(version) AS version FROM careid_schema_migrations')
  return rows[0]?.version ?? 0
}

/**
 * Applies every migration newer than the database on one connection, each in its own transaction.
 * Safe to run from several nodes at once: each transaction first takes the advisory lock and then
 * re-reads the version, so each migration is applied exactly once. Refuses a database migrated by a
 * newer Careid, whose schema this code does not know. Returns the version the database is at.
 */
async function migrateOn(postgres: typeof pg, client: pg.Client, schema: string | undefined): Promise<number> {
  const query: Query = (text, values) => client.query(text, values)
  const locked = async <T>(fn: () => Promise<T>): Promise<T> => {
    await client.query('BEGIN')
    try {
      // A transaction-level lock: released by COMMIT or ROLLBACK, so a failed migration never leaves
      // it held. Without a configured schema the lock is named after the schema tables land in.
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext(coalesce($2::text, current_schema(), '')))", [MIGRATION_LOCK, schema ?? null])
      const result = await fn()
      await client.query('COMMIT')
      return result
    } catch (error) {
      // After any other failure the connection is closed unused, which ends the transaction too.
      if (error instanceof postgres.DatabaseError) await client.query('ROLLBACK').catch(() => undefined)
      throw error
    }
  }

  // Under the lock too: concurrent CREATE ... IF NOT EXISTS can still collide on the catalog.
  let current = await locked(async () => {
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${postgres.escapeIdentifier(schema)}`)
    await client.query(createLedger)
    return appliedPostgresVersion(query)
  })
  for (const migration of postgresMigrations) {
    if (current >= migration.version) continue
    current = await locked(async () => {
      const applied = await appliedPostgresVersion(query)
      if (applied >= migration.version) return applied
      await client.query(migration.sql)
      // The one wall-clock read in the store: a record for operators, never used for a decision.
      await client.query('INSERT INTO careid_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        Date.now(),
      ])
      return migration.version
    })
  }
  if (current > latestPostgresSchemaVersion) {
    throw new Error(`database schema version ${current} is newer than this Careid supports (${latestPostgresSchemaVersion})`)
  }
  return current
}

/**
 * Brings the database at `url` (in `schema`, if given) to the latest schema version over one
 * short-lived connection, and returns that version. Used by `openPostgresStore` on every start, and
 * on its own by an operator's migrate command. Rejects if the database was migrated by a newer
 * Careid.
 */
export async function migratePostgres(url: string, options: { schema?: string; connectionTimeoutMs?: number } = {}): Promise<number> {
  // Loaded here, not with the module: the migration list is read by code that never connects.
  const [{ default: postgres }, { connectionConfig, resolveOptions }] = await Promise.all([import('pg'), import('./database.ts')])
  const resolved = resolveOptions({ url, ...options })
  const client = new postgres.Client(connectionConfig(resolved, MIGRATION_STATEMENT_TIMEOUT_MS))
  // A connection dropped while idle emits 'error'; unhandled, it would end the process. The
  // statement in flight, if any, fails on its own.
  client.on('error', () => {})
  try {
    await client.connect()
    return await migrateOn(postgres, client, resolved.schema)
  } finally {
    await client.end().catch(() => undefined)
  }
}
