/**
 * The schema, as an ordered list of versioned migrations. A database records what it has applied in
 * `schema_migrations`; opening it applies the rest, each in its own transaction, so a crash during
 * an upgrade leaves the database at the last complete version.
 *
 * The PostgreSQL adapter keeps a list with the same versions and names, so one version number means
 * the same schema on every SQL backend.
 */
import type { Sqlite } from './database.ts'

/** One schema change. */
export interface Migration {
  /** Strictly increasing, starting at 1; never renumbered once released. */
  readonly version: number
  readonly name: string
  /** the backend's SQL statements, run together in one transaction. */
  readonly sql: string
}

// Times are INTEGER milliseconds. Tables are not STRICT on purpose: a caller's computed time may
// carry a fraction (a jittered retry time), which INTEGER affinity stores exactly as REAL.
// JSON values are TEXT, parsed by the adapter.
const initialSchema = `
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  client_name TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  post_logout_redirect_uris TEXT NOT NULL,
  backchannel_logout_uri TEXT,
  token_endpoint_auth_method TEXT NOT NULL,
  client_secret_hash TEXT,
  jwks_uri TEXT,
  jwks TEXT,
  token_endpoint_auth_signing_alg TEXT,
  refresh_tokens INTEGER NOT NULL CHECK (refresh_tokens IN (0, 1)),
  created_at INTEGER NOT NULL
);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  private_jwk_encrypted TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
  created_at INTEGER NOT NULL,
  activate_at INTEGER NOT NULL,
  remove_at INTEGER
);
-- The contract's "at most one active key", enforced by the database itself.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';

CREATE TABLE people (
  uid TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  person TEXT NOT NULL
);

CREATE TABLE credentials (
  id TEXT PRIMARY KEY,
  uid TEXT NOT NULL,
  kind TEXT NOT NULL,
  secret TEXT NOT NULL,
  state TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX credentials_by_person ON credentials (uid, created_at, id);

CREATE TABLE grants (
  grant_id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  sub TEXT NOT NULL,
  sid TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX grants_by_expiry ON grants (expires_at);

-- Refresh tokens live and die with their grant: removing expired grants removes their tokens.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES grants (grant_id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  rotated_at INTEGER
);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);

CREATE TABLE logout_outbox (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  backchannel_logout_uri TEXT NOT NULL,
  sub TEXT NOT NULL,
  sid TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  claimed_by TEXT,
  claim_expires_at INTEGER,
  delivered_at INTEGER,
  gave_up_at INTEGER,
  last_error TEXT,
  UNIQUE (client_id, sid)
);
CREATE INDEX logout_outbox_due ON logout_outbox (next_attempt_at, id)
  WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX logout_outbox_by_claimant ON logout_outbox (claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  subject TEXT,
  client_id TEXT,
  detail TEXT
);
-- Serves "newest first" as (at DESC, seq DESC): the rowid is the index's last key.
CREATE INDEX audit_log_by_time ON audit_log (at);

CREATE TABLE codes (
  code_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  payload TEXT NOT NULL,
  redeemed_at INTEGER
);
CREATE INDEX codes_by_expiry ON codes (expires_at);

CREATE TABLE sessions (
  session_hash TEXT PRIMARY KEY,
  sid TEXT NOT NULL UNIQUE,
  sub TEXT NOT NULL,
  amr TEXT NOT NULL,
  aal INTEGER NOT NULL CHECK (aal IN (1, 2, 3)),
  auth_time INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  selected_roleid TEXT,
  clients TEXT NOT NULL,
  binding TEXT
);
CREATE INDEX sessions_by_binding ON sessions (binding, created_at, sid) WHERE binding IS NOT NULL;
-- A session ends at whichever limit comes first; the sweep queries this exact expression.
CREATE INDEX sessions_by_end ON sessions (min(expires_at, idle_expires_at));

CREATE TABLE interactions (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX interactions_by_expiry ON interactions (expires_at);

CREATE TABLE replay_markers (
  key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX replay_markers_by_expiry ON replay_markers (expires_at);
`

/** Fixed-window hit counters for rate limits: one row per key and window, deleted once the window ends. */
const rateCounters = `
CREATE TABLE rate_counters (
  key TEXT NOT NULL,
  window_end INTEGER NOT NULL,
  hits INTEGER NOT NULL,
  PRIMARY KEY (key, window_end)
) WITHOUT ROWID;
CREATE INDEX rate_counters_by_window_end ON rate_counters (window_end);
`

// The card registry. The passcode counter of record is here, never on the card; CARD_PASSCODE_ATTEMPTS
// (3) is the most it can reach, so the CHECK also refuses a counter pushed past the lock.
const cardsSchema = `
CREATE TABLE cards (
  serial TEXT PRIMARY KEY,
  uid TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('virtual', 'pkcs11')),
  certificate TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  revoked_at INTEGER,
  failed_attempts INTEGER NOT NULL CHECK (failed_attempts BETWEEN 0 AND 3),
  locked_at INTEGER
);
CREATE INDEX cards_by_person ON cards (uid, created_at, serial);

-- At most one row: the deployment's card authority.
CREATE TABLE card_authority (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  certificate TEXT NOT NULL,
  private_key_sealed TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`

// What each grant's sign-in established, so a refresh states the same (NULL on grants stored
// before; see GrantRecord), and the indexes that end a session's grants with it and find a person's
// sessions (a card revoked, an administrator's end).
const grantSignIn = `
ALTER TABLE grants ADD COLUMN sign_in TEXT;
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
ALTER TABLE clients ADD COLUMN web_origins TEXT;
`

// Who made each change, and digests of the record before and after it (NULL: Careid itself
// recorded the event, or there was no record on that side; see AuditEvent).
const auditActors = `
ALTER TABLE audit_log ADD COLUMN actor TEXT;
ALTER TABLE audit_log ADD COLUMN before_digest TEXT;
ALTER TABLE audit_log ADD COLUMN after_digest TEXT;
`

// The demographics service's patients: the FHIR resource, and the columns a search compares
// (computed by the caller, see PatientRecord). A search always names a family name, exact or
// phonetic, usually with a birth date range: each index serves one of them, birth date second.
const patients = `
CREATE TABLE patients (
  nhs_number TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  resource TEXT NOT NULL,
  family TEXT NOT NULL,
  given TEXT NOT NULL,
  family_phonetic TEXT NOT NULL,
  birth_date TEXT NOT NULL,
  gender TEXT NOT NULL,
  postcode TEXT,
  restricted INTEGER NOT NULL,
  status TEXT NOT NULL,
  superseded_by TEXT
);
CREATE INDEX patients_by_family ON patients (family, birth_date);
CREATE INDEX patients_by_family_phonetic ON patients (family_phonetic, birth_date);
`

// API Platform applications (the developer portal's apps): the API key is the client_id at the
// platform's OAuth 2.0 service; the secret is kept only as a hash; callback URLs, public keys for
// signed JWT client assertions, and product subscriptions with their scopes are JSON.
const apimApplications = `
CREATE TABLE apim_applications (
  api_key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  callback_urls TEXT NOT NULL,
  jwks_uri TEXT,
  jwks TEXT,
  subscriptions TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`

// The API Platform's grants and their opaque tokens, by the SHA-256 of each token (see
// ApiGrantStore). The gateway reads a token with its grant on every API call: one lookup by each
// primary key. `sid` repeats the user's CIS2 session (NULL without a user) so that the session's
// end finds its grants by index; the expiry indexes serve the sweep. A grant's tokens go with it.
const apiGrants = `
CREATE TABLE api_grants (
  grant_id TEXT PRIMARY KEY,
  api_key TEXT NOT NULL,
  pattern TEXT NOT NULL CHECK (pattern IN ('combined', 'token_exchange', 'client_credentials')),
  scope TEXT NOT NULL,
  grant_user TEXT,
  sid TEXT,
  cis2_access_token_sealed TEXT,
  authenticated_at INTEGER NOT NULL,
  refresh_until INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX api_grants_by_sid ON api_grants (sid) WHERE sid IS NOT NULL;
CREATE INDEX api_grants_by_expiry ON api_grants (expires_at);

CREATE TABLE api_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES api_grants (grant_id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  refresh_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX api_tokens_by_grant ON api_tokens (grant_id);
CREATE INDEX api_tokens_by_expiry ON api_tokens (expires_at);
`

/** Every migration, oldest first. */
export const sqliteMigrations: readonly Migration[] = [
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

/** The version a fully migrated database is at. */
export const latestSchemaVersion: number = sqliteMigrations.at(-1)?.version ?? 0

const createLedger = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  applied_at INTEGER NOT NULL
)`

/** The highest version applied (0 for an empty database). Throws if the ledger is missing. */
export function appliedVersion(sqlite: Sqlite): number {
  const row = sqlite.db.prepare('SELECT max(version) AS version FROM schema_migrations').get() as { version: number | null }
  return row.version ?? 0
}

/**
 * Applies every migration newer than the database, each in its own transaction. Safe to run from
 * several processes at once: the version is re-read under the write lock, so each migration is
 * applied exactly once. Refuses a database migrated by a newer Careid, whose schema this code does
 * not know.
 */
export function migrate(sqlite: Sqlite): void {
  sqlite.write(() => sqlite.db.exec(createLedger))
  const record = sqlite.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
  for (const migration of sqliteMigrations) {
    sqlite.write(() => {
      if (appliedVersion(sqlite) >= migration.version) return
      sqlite.db.exec(migration.sql)
      // The one wall-clock read in the store: a record for operators, never used for a decision.
      record.run(migration.version, Date.now())
    })
  }
  const current = appliedVersion(sqlite)
  if (current > latestSchemaVersion) {
    throw new Error(`database schema version ${current} is newer than this Careid supports (${latestSchemaVersion})`)
  }
}
