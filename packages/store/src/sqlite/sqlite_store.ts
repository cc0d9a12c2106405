/**
 * The embedded store: every contract interface over one SQLite database through libsql.
 */
import type { Store } from '@careid/ports'
import { sqliteCardStore } from './cards.ts'
import { openDatabase } from './database.ts'
import { sqliteClientStore, sqliteCredentialStore, sqliteKeyStore, sqlitePersonStore } from './directory.ts'
import { sqliteCodeStore, sqliteGrantStore, sqliteRefreshTokenStore } from './grants.ts'
import { appliedVersion, latestSchemaVersion, migrate } from './migrations.ts'
import { sqliteAuditLog, sqliteLogoutOutbox } from './outbox.ts'
import { sqliteInteractionStore, sqliteRateCounter, sqliteReplayCache, sqliteSessionStore } from './sessions.ts'

/** Where the embedded store keeps its data. */
export interface SqliteStoreOptions {
  /** A database file (created if missing), or ':memory:' for a private store that ends with the process. */
  path: string
}

/**
 * Opens the SQLite store at `options.path`, applying any pending migrations first.
 * Rejects if the database was migrated by a newer Careid.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const sqlite = openDatabase(options.path)
  try {
    migrate(sqlite)
  } catch (error) {
    sqlite.db.close()
    throw error
  }
  let closed = false

  return {
    clients: sqliteClientStore(sqlite),
    keys: sqliteKeyStore(sqlite),
    people: sqlitePersonStore(sqlite),
    credentials: sqliteCredentialStore(sqlite),
    cards: sqliteCardStore(sqlite),
    grants: sqliteGrantStore(sqlite),
    refreshTokens: sqliteRefreshTokenStore(sqlite),
    outbox: sqliteLogoutOutbox(sqlite),
    audit: sqliteAuditLog(sqlite),
    codes: sqliteCodeStore(sqlite),
    sessions: sqliteSessionStore(sqlite),
    interactions: sqliteInteractionStore(sqlite),
    replay: sqliteReplayCache(sqlite),
    rates: sqliteRateCounter(sqlite),
    async ping() {
      if (closed) return false
      try {
        return appliedVersion(sqlite) === latestSchemaVersion
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      sqlite.db.close()
    },
  }
}
